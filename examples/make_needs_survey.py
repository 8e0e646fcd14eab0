"""Write examples/needs_survey.csv: a fictional needs survey in the layout of docs/needs.md.

Sixty customers of three segments and three industries, and sixteen of our own people (sales, marketing,
service, leadership), each allocating 100 points across brand, product, quality, price and service and
rating us and two competitors (Acme Analytics, Globex) 0-10 on each. The answers are drawn around planted
truths, so the analysis has something to find: customers weight service and quality most (enterprise
customers service even more, small ones price); sales believes price matters most; marketing overrates
brand; Acme, the leading competitor, is strong on brand and product and weak on service, where we are
strong; Globex is cheap and rated low on quality. Some customers did not rate Globex at all.

    python examples/make_needs_survey.py        # same seed, same file
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

NEEDS = ("brand", "product", "quality", "price", "service")
VENDORS = ("us", "Acme Analytics", "Globex")
CUSTOMER_WEIGHTS = {
    "smb": (12, 18, 20, 28, 22),
    "mid_market": (12, 20, 24, 18, 26),
    "enterprise": (10, 20, 26, 10, 34),
}
BELIEVED = {
    "sales": (12, 18, 15, 40, 15),
    "marketing": (32, 22, 16, 15, 15),
    "service": (10, 18, 22, 18, 32),
    "leadership": (14, 34, 20, 16, 16),
}
TRUE_RATINGS = {
    "us": (6.0, 6.8, 7.2, 5.8, 8.4),
    "Acme Analytics": (8.6, 8.0, 7.0, 6.0, 5.0),
    "Globex": (5.0, 5.5, 4.6, 8.2, 5.8),
}
BELIEVED_US = (7.5, 7.5, 7.5, 5.0, 8.0)
"""What our people believe customers rate us: about right on service, too kind on brand and product."""
INDUSTRIES = ("retail", "manufacturing", "healthcare")
FIRST = ("Ana", "Ben", "Chloe", "Dev", "Ela", "Finn", "Gia", "Hugo", "Ines", "Jon", "Kai", "Lena")
LAST = ("Berg", "Costa", "Diaz", "Evans", "Fox", "Grant", "Hale", "Ito", "Jensen", "Khan")
COMPANIES = ("Brightmart", "Lumen Retail", "Corvid Tools", "Mariner Parts", "Helios Health", "Oakline Care")
"""Two accounts per industry, in the order of INDUSTRIES."""


def _points(rng: np.random.Generator, mean: tuple[int, ...]) -> list[int]:
    """100 whole points drawn around ``mean`` (largest remainders keep the sum at 100)."""
    share = rng.dirichlet(np.array(mean, dtype=float) / 100 * 12) * 100
    whole = np.floor(share).astype(int)
    for index in np.argsort(whole - share)[: 100 - whole.sum()]:
        whole[index] += 1
    return [int(p) for p in whole]


def _rating(rng: np.random.Generator, mean: float) -> str:
    return str(int(np.clip(np.rint(rng.normal(mean, 1.3)), 0, 10)))


def rows(seed: int = 2026) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    found = []
    for number in range(60):
        segment = ("smb", "mid_market", "enterprise")[number % 3]
        industry = INDUSTRIES[(number % len(COMPANIES)) // 2]
        first, last = FIRST[number % len(FIRST)], LAST[number % len(LAST)]
        company = COMPANIES[number % len(COMPANIES)]
        row = {
            "respondent": f"C{number + 1:03d}",
            "respondent_type": "customer",
            "function": "",
            "email": f"{first.lower()}.{last.lower()}@{company.lower().replace(' ', '')}.example",
            "account": company,
            "segment": segment,
            "industry": industry,
        }
        row |= {
            f"points: {n}": str(p)
            for n, p in zip(NEEDS, _points(rng, CUSTOMER_WEIGHTS[segment]), strict=True)
        }
        knows_globex = rng.random() > 0.2
        for vendor in VENDORS:
            for need, mean in zip(NEEDS, TRUE_RATINGS[vendor], strict=True):
                known = vendor != "Globex" or knows_globex
                row[f"{vendor}: {need}"] = _rating(rng, mean) if known else ""
        found.append(row)
    people = {"sales": 6, "marketing": 4, "service": 4, "leadership": 2}
    count = 0
    for function, many in people.items():
        for _ in range(many):
            count += 1
            row = {"respondent": f"I{count:02d}", "respondent_type": "internal", "function": function}
            row |= {"email": "", "account": "", "segment": "", "industry": ""}
            row |= {
                f"points: {n}": str(p) for n, p in zip(NEEDS, _points(rng, BELIEVED[function]), strict=True)
            }
            for vendor in VENDORS:
                means = BELIEVED_US if vendor == "us" else TRUE_RATINGS[vendor]
                for need, mean in zip(NEEDS, means, strict=True):
                    row[f"{vendor}: {need}"] = _rating(rng, mean)
            found.append(row)
    return found


def main() -> None:
    target = Path(__file__).with_name("needs_survey.csv")
    found = rows()
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(found[0]))
        writer.writeheader()
        writer.writerows(found)
    print(f"wrote {target} ({len(found)} respondents)")


if __name__ == "__main__":
    main()
