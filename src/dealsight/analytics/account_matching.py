"""Finding accounts that are the same company under different names ("Acme Inc.", "ACME Corporation",
"acme.com").

Pure computation: the caller passes :class:`AccountProfile` records and gets :class:`CandidatePair`
records back, each with a score from 0 to 100 and its evidence in plain words. Nothing is merged here.

Decisions:

- **Evidence kinds and their scores** (the strongest counts, each further kind adds 2, capped at 100):
  same name apart from case and punctuation (97); same web domain (95); same name once legal suffixes
  are removed (95, or 86 when the name is nothing but generic words such as "Global Systems"); same name
  once spaces and hyphens are removed (93); the web domain of one is the name of the other, e.g.
  ``acme.com`` and "Acme" (92); a contact's e-mail domain is the other account's web domain (92);
  contacts of both share an e-mail domain (88); similar names (see below).
- **Similar names** are compared on their *distinctive* words, the words left once legal suffixes and
  generic business words (:data:`GENERIC_WORDS`: "global", "systems", "solutions", "studios", ...) are
  removed: similarity = 0.75 x ratio(distinctive words) + 0.25 x token-sort ratio(whole names), both from
  rapidfuzz. So "Acme Studios" and "Acne Studios" (distinctive words 'acme' and 'acne', 75% alike) score
  79, below the default threshold, while "Umbrela Corp" and "Umbrella Corporation" score 93. Names made
  only of generic words never match on similarity alone (capped at 70), nor do short names (4 letters or
  fewer) that differ by a letter (capped at 80): "Acme" and "Acne" are different companies.
- **Counter-evidence**: when both accounts have web domains whose names differ (``acme.com`` against
  ``acme-robotics.com``) the score drops by 10; when both have countries and they differ, by 5.
- Free e-mail providers (gmail.com, outlook.com, ...) are never evidence.
- Scores depend on the two accounts only (no corpus statistics), so a pair scores the same on import,
  on demand and when merged.
- **Scale**: candidate pairs come from blocking, never from comparing every pair in Python: accounts
  sharing a domain, a name key or a compact key form exact blocks; for similar names, accounts sharing the
  first three or last three letters of their distinctive name, or the first three letters of one
  distinctive word, are compared with ``rapidfuzz.process.cpdist`` (all cores) and only pairs that can
  reach the threshold are scored in full. A typo in both the first three and the last three letters of a
  name is missed; that is the price of speed.
- Accounts merged into another (``merged_into_id`` set) are never candidates, nor are an account and its
  parent (subsidiaries often share a name). Pairs come ordered by score
  (highest first), then by ids; in each pair ``left_id < right_id``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from dealsight.domain.names import company_key, domain_of, name_key

DEFAULT_THRESHOLD = 85.0
"""Pairs scoring at least this are reported; at 85 a pair needs exact evidence or names ~90% alike."""

GENERIC_WORDS = frozenset(
    {
        "global", "international", "intl", "national", "world", "worldwide", "united", "american",
        "america", "europe", "european", "usa", "north", "south", "east", "west", "new", "first",
        "general", "advanced", "system", "systems", "solution", "solutions", "technology", "technologies",
        "tech", "software", "service", "services", "consulting", "consultants", "partners", "partner",
        "capital", "industries", "industrial", "enterprise", "enterprises", "studio", "studios", "lab",
        "labs", "media", "health", "healthcare", "financial", "finance", "bank", "insurance", "network",
        "networks", "digital", "data", "energy", "logistics", "manufacturing", "products", "associates",
        "resources", "management", "marketing", "communications", "trading", "ventures", "investments",
        "development", "design", "engineering", "pharma", "pharmaceuticals", "medical", "foods", "retail",
        "motors", "electronics", "electric", "of", "and", "a", "an", "for", "de", "la", "le", "et", "und",
    }
)  # fmt: skip
"""Words too common in company names to tell two companies apart."""

FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "msn.com",
        "aol.com", "icloud.com", "me.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "web.de",
        "mail.com", "yandex.ru", "zoho.com", "qq.com", "163.com", "example.com",
    }
)  # fmt: skip

_LONG_GENERIC = sorted(w for w in GENERIC_WORDS if len(w) >= 6)
_SIMILAR_WEIGHT = 0.75  # weight of the distinctive words in a name similarity
_SHORT = 5  # distinctive names this short must match exactly
_EXTRA_EVIDENCE = 2.0


@dataclass(frozen=True)
class AccountProfile:
    """What the matcher knows about one account."""

    id: int
    name: str
    domain: str | None = None
    email_domains: frozenset[str] = frozenset()
    country: str | None = None
    merged_into_id: int | None = None
    parent_id: int | None = None


@dataclass(frozen=True)
class CandidatePair:
    """Two accounts that may be the same company (``left_id < right_id``)."""

    left_id: int
    right_id: int
    score: float
    evidence: tuple[str, ...]

    @property
    def explanation(self) -> str:
        return "; ".join(self.evidence)


@dataclass(frozen=True)
class _Features:
    profile: AccountProfile
    name_key: str
    key: str  # legal suffixes and TLDs removed
    compact: str
    distinctive: str  # distinctive words in their order, space-separated
    sorted_words: str  # the same, sorted
    domain: str | None
    domain_stem: str | None
    email_domains: frozenset[str] = field(default_factory=frozenset)


@lru_cache(maxsize=200_000)
def _misspelt_generic(word: str) -> bool:
    """A generic word of 6 letters or more with one letter wrong, missing or extra ("Technolgies")."""
    if len(word) < 6:
        return False
    found = process.extractOne(word, _LONG_GENERIC, scorer=fuzz.ratio, score_cutoff=80)
    return (
        found is not None and abs(len(found[0]) - len(word)) <= 1 and found[1] >= 100 - 100 / len(word) - 1e-6
    )


def _distinctive_words(key: str) -> list[str]:
    """The words of a company key that tell it apart; misspelt generic words count as generic only when
    something distinctive is left ("Zotware" is a name, not a misspelling of "software")."""
    words = [w for w in key.split() if w not in GENERIC_WORDS]
    kept = [w for w in words if not _misspelt_generic(w)]
    return kept or words


def _features(profile: AccountProfile) -> _Features:
    key = company_key(profile.name)
    words = _distinctive_words(key)
    domain = (domain_of(profile.domain) if profile.domain else None) or (
        domain_of(profile.name) if "." in profile.name else None
    )
    if domain in FREE_MAIL_DOMAINS:
        domain = None
    stem = company_key(domain).replace(" ", "") if domain else None
    emails = frozenset(d.lower() for d in profile.email_domains) - FREE_MAIL_DOMAINS
    return _Features(
        profile=profile,
        name_key=name_key(profile.name),
        key=key,
        compact=key.replace(" ", ""),
        distinctive=" ".join(words),
        sorted_words=" ".join(sorted(words)),
        domain=domain,
        domain_stem=stem if stem and len(stem) >= 3 else None,
        email_domains=emails,
    )


def _name_similarity(a: _Features, b: _Features) -> float:
    whole = fuzz.token_sort_ratio(a.key, b.key)
    if not a.distinctive or not b.distinctive:
        return min(whole, 70.0)
    words = max(fuzz.ratio(a.distinctive, b.distinctive), fuzz.ratio(a.sorted_words, b.sorted_words))
    similarity = _SIMILAR_WEIGHT * words + (1 - _SIMILAR_WEIGHT) * whole
    shortest = min(len(a.distinctive.replace(" ", "")), len(b.distinctive.replace(" ", "")))
    if shortest <= _SHORT and words < 100:
        similarity = min(similarity, 80.0)
    return float(similarity)


def _evidence(a: _Features, b: _Features) -> list[tuple[float, str]]:
    found: list[tuple[float, str]] = []
    if a.name_key == b.name_key:
        found.append((97.0, "same name apart from case and punctuation"))
    elif a.key == b.key:
        score = 95.0 if a.distinctive else 86.0
        found.append((score, f"same name once legal suffixes are removed: '{a.key}'"))
    elif a.compact == b.compact and len(a.compact) >= 3:
        found.append((93.0, f"same name once spaces and hyphens are removed: '{a.compact}'"))
    if a.domain and a.domain == b.domain:
        found.append((95.0, f"same web domain {a.domain}"))
    for x, y in ((a, b), (b, a)):
        if x.domain and x.domain_stem and x.domain != y.domain and x.domain_stem == y.compact:
            found.append((92.0, f"web domain {x.domain} matches the name '{y.profile.name}'"))
    for x, y in ((a, b), (b, a)):
        if y.domain and y.domain != x.domain and y.domain in x.email_domains:
            found.append((92.0, f"contacts of '{x.profile.name}' have e-mail addresses at {y.domain}"))
    shared = sorted(a.email_domains & b.email_domains - {a.domain, b.domain})
    if shared:
        found.append((88.0, f"contacts share the e-mail domain {', '.join(shared[:3])}"))
    if a.key != b.key and a.compact != b.compact:
        similarity = _name_similarity(a, b)
        if similarity >= 50:
            if a.distinctive and a.sorted_words == b.sorted_words:
                text = f"same name apart from generic words: '{a.distinctive}'"
            else:
                text = f"names {similarity:.0f}% similar"
            found.append((similarity, text))
    return found


def _score(a: _Features, b: _Features) -> CandidatePair:
    found = sorted(_evidence(a, b), key=lambda item: -item[0])
    left, right = sorted((a.profile.id, b.profile.id))
    if not found:
        return CandidatePair(left, right, 0.0, ())
    score = found[0][0] + _EXTRA_EVIDENCE * (len(found) - 1)
    texts = [text for _, text in found]
    if a.domain and b.domain and a.domain_stem != b.domain_stem:
        score -= 10
        texts.append(f"but web domains differ: {a.domain}, {b.domain}")
    if a.profile.country and b.profile.country and name_key(a.profile.country) != name_key(b.profile.country):
        score -= 5
        texts.append(f"but countries differ: {a.profile.country}, {b.profile.country}")
    return CandidatePair(left, right, round(min(max(score, 0.0), 100.0), 1), tuple(texts))


def _related(a: _Features, b: _Features) -> bool:
    """Parent and child accounts often share a name ("Acme Holdings", "Acme Inc."): not duplicates."""
    return a.profile.parent_id == b.profile.id or b.profile.parent_id == a.profile.id


def score_pair(a: AccountProfile, b: AccountProfile) -> CandidatePair:
    """The score and evidence of one pair, whatever the threshold (0 and no evidence when unrelated)."""
    return _score(_features(a), _features(b))


def _exact_blocks(feats: Sequence[_Features]) -> dict[str, list[int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(feats):
        keys = {"k:" + f.key, "c:" + f.compact}
        if f.domain:
            keys.add("d:" + f.domain)
        if f.domain_stem:
            keys.add("c:" + f.domain_stem)
        keys.update("d:" + d for d in f.email_domains)
        for key in keys:
            blocks[key].append(i)
    return blocks


def _fuzzy_blocks(feats: Sequence[_Features]) -> dict[str, list[int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(feats):
        compact = f.distinctive.replace(" ", "")
        if len(compact) < 3:
            continue
        keys = {"p:" + compact[:3], "s:" + compact[-3:]}
        keys.update("t:" + word[:3] for word in f.distinctive.split() if len(word) >= 3)
        for key in keys:
            blocks[key].append(i)
    return blocks


_SMALL_BLOCK = 48  # larger fuzzy blocks are compared inside rapidfuzz (cdist), not pair by pair
_MAX_EXACT_BLOCK = 50  # a domain or name shared by more accounts than this is no evidence of one company

Pairs = np.ndarray  # shape (k, 2), int64, left index < right index


def _pairs_in(blocks: Iterable[list[int]], new: np.ndarray | None, largest: int) -> Pairs:
    """Every pair of accounts sharing a block of at most ``largest`` members (with a new account, when
    ``new`` is given); blocks of one size are expanded together, in numpy."""
    by_size: dict[int, list[list[int]]] = defaultdict(list)
    for members in blocks:
        if 2 <= len(members) <= largest and (new is None or new[members].any()):
            by_size[len(members)].append(members)
    parts = [np.empty((0, 2), dtype=np.int64)]
    for size, groups in by_size.items():
        matrix = np.asarray(groups, dtype=np.int64)  # members are in increasing order
        left, right = np.triu_indices(size, 1)
        parts.append(np.stack([matrix[:, left].ravel(), matrix[:, right].ravel()], axis=1))
    pairs = np.concatenate(parts)
    if new is not None:
        pairs = pairs[new[pairs[:, 0]] | new[pairs[:, 1]]]
    return _unique(pairs)


def _unique(pairs: Pairs) -> Pairs:
    """The distinct pairs, sorted (through one int64 code per pair: far faster than rows)."""
    if not len(pairs):
        return pairs
    codes = np.unique((pairs[:, 0] << 32) | pairs[:, 1])
    return np.stack([codes >> 32, codes & 0xFFFFFFFF], axis=1)


def _similar_pairs(
    words: tuple[np.ndarray, np.ndarray], blocks: Iterable[list[int]], new: np.ndarray | None, floor: float
) -> Pairs:
    """Pairs sharing a fuzzy block whose distinctive words (in either order) are at least ``floor`` alike."""
    blocks = list(blocks)
    found = [np.empty((0, 2), dtype=np.int64)]
    for members in blocks:
        if len(members) <= _SMALL_BLOCK or (new is not None and not new[members].any()):
            continue
        index = np.asarray(members, dtype=np.int64)
        matrix = np.zeros((len(members), len(members)), dtype=bool)
        for keys in words:
            chosen = keys[index]
            matrix |= process.cdist(chosen, chosen, scorer=fuzz.ratio, score_cutoff=floor, dtype=np.uint8) > 0
        left, right = np.nonzero(np.triu(matrix, 1))
        pairs = np.stack([index[left], index[right]], axis=1)
        if new is not None:
            pairs = pairs[new[pairs[:, 0]] | new[pairs[:, 1]]]
        found.append(pairs)
    small = _pairs_in(blocks, new, _SMALL_BLOCK)
    if len(small):
        passing = np.zeros(len(small), dtype=bool)
        for keys in words:
            ratios = process.cpdist(
                keys[small[:, 0]], keys[small[:, 1]], scorer=fuzz.ratio, score_cutoff=floor, workers=-1
            )
            passing |= ratios > 0
        found.append(small[passing])
    return np.concatenate(found)


def find_candidates(
    accounts: Sequence[AccountProfile],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    among: Collection[int] | None = None,
    similar_names: bool = True,
) -> list[CandidatePair]:
    """Pairs of accounts scoring at least ``threshold``, best first (then by ids).

    With ``among`` (account ids), only pairs involving at least one of those accounts are considered:
    how an import checks the accounts it created against everything in the store, in one pass. With
    ``similar_names=False`` only exact evidence (domain, name keys, contacts' e-mail domains) proposes
    pairs: the fuzzy comparison of names, the costly part, is skipped.
    """
    seen: set[int] = set()
    live: list[AccountProfile] = []
    for profile in sorted(accounts, key=lambda p: p.id):
        if profile.merged_into_id is None and profile.id not in seen:
            seen.add(profile.id)
            live.append(profile)
    feats = [_features(p) for p in live]
    new: np.ndarray | None = None
    if among is not None:
        wanted = set(among)
        new = np.fromiter((p.id in wanted for p in live), dtype=bool, count=len(live))
        if not new.any():
            return []
    exact = _pairs_in(_exact_blocks(feats).values(), new, _MAX_EXACT_BLOCK)
    if similar_names:
        # the similarity of distinctive words a pair needs to reach the threshold on names alone
        floor = min(100.0, max(0.0, (threshold - (1 - _SIMILAR_WEIGHT) * 100) / _SIMILAR_WEIGHT - 0.5))
        words = (
            np.array([f.distinctive for f in feats], dtype=object),
            np.array([f.sorted_words for f in feats], dtype=object),
        )
        similar = _similar_pairs(words, _fuzzy_blocks(feats).values(), new, max(floor, 1.0))
        exact = np.concatenate([exact, similar])
    candidates = _unique(exact).tolist()
    found = [_score(feats[i], feats[j]) for i, j in candidates if not _related(feats[i], feats[j])]
    found = [pair for pair in found if pair.score >= threshold]
    found.sort(key=lambda p: (-p.score, p.left_id, p.right_id))
    return found


__all__ = [
    "DEFAULT_THRESHOLD",
    "FREE_MAIL_DOMAINS",
    "GENERIC_WORDS",
    "AccountProfile",
    "CandidatePair",
    "find_candidates",
    "score_pair",
]
