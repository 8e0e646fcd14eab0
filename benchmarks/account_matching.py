"""Duplicate-account matching speed: synthetic accounts, median of several runs.

Run from the repository root::

    .venv/bin/python -m benchmarks.account_matching                 # 5,000 and 20,000 accounts, 3 runs
    .venv/bin/python benchmarks/account_matching.py --sizes 50000 --runs 1

The accounts are seeded, made-up company names (one or two invented words of 2-3 random syllables,
sometimes a generic word such as "Systems", a legal suffix), half of them with a web domain; 3% are
planted duplicates of another account (suffix changed, upper case, the domain as the name, or one
letter changed). Each run calls
:func:`dealsight.analytics.account_matching.find_candidates` on all accounts at the default threshold,
then in the import mode (``among`` = the last 10% of accounts). Printed: median (min-max) seconds, and the
precision and recall of the pairs found against the planted duplicates, so a speed-up that loses matches
shows. Typos are planted only in names of 8 letters or more: shorter names one letter apart are treated
as different companies by design ("Acme" and "Acne").
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dealsight.analytics.account_matching import AccountProfile, CandidatePair, find_candidates

_CONSONANTS = "bcdfghklmnprstvwxz"
_VOWELS = "aeiouy"
_GENERIC = ("Systems", "Solutions", "Global", "Technologies", "Labs", "Media", "Partners", "Capital")
_SUFFIXES = ("Inc.", "Corp.", "Ltd", "LLC", "GmbH", "Corporation", "")


def _syllable(rng: random.Random) -> str:
    tail = rng.choice(_CONSONANTS) if rng.random() < 0.4 else ""
    return rng.choice(_CONSONANTS) + rng.choice(_VOWELS) + tail


def _word(rng: random.Random) -> str:
    return "".join(_syllable(rng) for _ in range(rng.randint(2, 3))).capitalize()


def _variant(rng: random.Random, name: str, domain: str | None) -> tuple[str, str | None]:
    core = " ".join(w for w in name.split() if w not in _SUFFIXES)
    kind = rng.randrange(4)
    if kind == 0:
        return f"{core} {rng.choice(_SUFFIXES[:-1])}", None
    if kind == 1:
        return name.upper(), domain
    if kind == 2 and domain:
        return domain, None
    spots = [i for i, c in enumerate(core) if c.isalpha() and 2 <= i < len(core) - 2]
    if len(core.replace(" ", "")) < 8 or not spots:
        return core.lower(), domain
    letters = list(core)
    spot = rng.choice(spots)
    letters[spot] = rng.choice([c for c in "aeiouy" if c != letters[spot].lower()])
    return "".join(letters), None


def synthetic_accounts(n: int, seed: int = 7) -> tuple[list[AccountProfile], dict[int, int]]:
    """``n`` accounts and, for each, the company it stands for (planted duplicates share a company)."""
    rng = random.Random(seed)
    accounts: list[AccountProfile] = []
    company: dict[int, int] = {}
    names: set[str] = set()
    while len(accounts) < n:
        account_id = len(accounts) + 1
        if accounts and rng.random() < 0.03:
            original = rng.choice(accounts)
            name, domain = _variant(rng, original.name, original.domain)
            accounts.append(AccountProfile(account_id, name, domain))
            company[account_id] = company[original.id]
            continue
        words = [_word(rng) for _ in range(rng.choice((1, 1, 2)))]
        core = " ".join(words)
        if core.lower() in names:
            continue
        names.add(core.lower())
        domain = f"{core.replace(' ', '').lower()}.com" if rng.random() < 0.5 else None
        if rng.random() < 0.3:
            core += " " + rng.choice(_GENERIC)
        accounts.append(AccountProfile(account_id, f"{core} {rng.choice(_SUFFIXES)}".strip(), domain))
        company[account_id] = account_id
    return accounts, company


def quality(pairs: list[CandidatePair], company: dict[int, int]) -> tuple[float, float]:
    """Precision of the pairs found and recall of the planted duplicate pairs."""
    members: dict[int, list[int]] = {}
    for account_id, owner in company.items():
        members.setdefault(owner, []).append(account_id)
    planted = sum(len(ids) * (len(ids) - 1) // 2 for ids in members.values())
    true = sum(company[p.left_id] == company[p.right_id] for p in pairs)
    return (true / len(pairs) if pairs else 1.0), (true / planted if planted else 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'accounts':>9} {'all pairs: median s (min-max)':>30} {'import mode':>12} {'pairs':>6}"
        f" {'precision':>10} {'recall':>7}"
    )
    for size in args.sizes:
        accounts, company = synthetic_accounts(size)
        new_ids = {a.id for a in accounts[-size // 10 :]}
        full: list[float] = []
        mode: list[float] = []
        pairs: list[CandidatePair] = []
        for _ in range(args.runs):
            started = time.perf_counter()
            pairs = find_candidates(accounts)
            full.append(time.perf_counter() - started)
            started = time.perf_counter()
            find_candidates(accounts, among=new_ids)
            mode.append(time.perf_counter() - started)
        precision, recall = quality(pairs, company)
        print(
            f"{size:>9,} {statistics.median(full):>12.2f} ({min(full):.2f}-{max(full):.2f}){'':>8}"
            f" {statistics.median(mode):>12.2f} {len(pairs):>6,} {precision:>10.1%} {recall:>7.1%}"
        )


if __name__ == "__main__":
    main()
