"""The pure duplicate-account matcher: evidence, false positives it must avoid, quality on real names."""

from __future__ import annotations

import csv

from hypothesis import given, settings
from hypothesis import strategies as st

from dealsight.analytics.account_matching import (
    DEFAULT_THRESHOLD,
    AccountProfile,
    CandidatePair,
    find_candidates,
    score_pair,
)
from tests.conftest import shared_data

ACME = [
    AccountProfile(1, "Acme Inc.", "acme.com"),
    AccountProfile(2, "ACME Corporation", "https://www.acme.com/"),
    AccountProfile(3, "acme.com"),
    AccountProfile(4, "Acme"),
]


def _pairs(found: list[CandidatePair]) -> set[tuple[int, int]]:
    return {(p.left_id, p.right_id) for p in found}


def test_acme_variants_are_found_with_evidence() -> None:
    found = find_candidates(ACME)
    assert _pairs(found) == {(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)}
    by_pair = {(p.left_id, p.right_id): p for p in found}
    assert "same web domain acme.com" in by_pair[(1, 2)].evidence
    assert "same name once legal suffixes are removed: 'acme'" in by_pair[(1, 2)].evidence
    assert "web domain acme.com matches the name 'Acme'" in by_pair[(1, 4)].evidence
    assert all(p.score >= 95 for p in found)


def test_shared_email_domain_and_similar_names_are_evidence() -> None:
    accounts = [
        AccountProfile(1, "Northwind Traders", email_domains=frozenset({"northwind.io", "gmail.com"})),
        AccountProfile(2, "NW Trading Partners", email_domains=frozenset({"northwind.io", "gmail.com"})),
        AccountProfile(3, "Umbrella Corporation"),
        AccountProfile(4, "Umbrela Corp"),
    ]
    by_pair = {(p.left_id, p.right_id): p for p in find_candidates(accounts)}
    assert by_pair[(1, 2)].evidence == ("contacts share the e-mail domain northwind.io",)
    assert by_pair[(3, 4)].evidence == ("names 93% similar",)
    # a free mail provider alone is no evidence
    alone = score_pair(AccountProfile(5, "Foo", email_domains=frozenset({"gmail.com"})),
                       AccountProfile(6, "Bar", email_domains=frozenset({"gmail.com"})))  # fmt: skip
    assert alone.score == 0 and alone.evidence == ()


def test_generic_and_short_names_are_not_matched() -> None:
    accounts = [
        AccountProfile(1, "Global Systems"),
        AccountProfile(2, "Global Solutions"),
        AccountProfile(3, "Acme"),
        AccountProfile(4, "Acne Studios"),
        AccountProfile(5, "Acme Studios Ltd"),
        AccountProfile(6, "Acne"),
    ]
    found = _pairs(find_candidates(accounts))
    assert (1, 2) not in found
    assert (3, 4) not in found and (3, 6) not in found and (4, 5) not in found
    assert score_pair(accounts[0], accounts[1]).score < DEFAULT_THRESHOLD
    assert score_pair(accounts[2], accounts[3]).score < DEFAULT_THRESHOLD
    assert score_pair(accounts[3], accounts[4]).score < DEFAULT_THRESHOLD


def test_counter_evidence_lowers_the_score() -> None:
    same = score_pair(AccountProfile(1, "Acme Robotics"), AccountProfile(2, "Acme Robotic"))
    other_domains = score_pair(
        AccountProfile(1, "Acme Robotics", "acme.com"), AccountProfile(2, "Acme Robotic", "acmebots.de")
    )
    assert other_domains.score == same.score - 10
    assert "but web domains differ: acme.com, acmebots.de" in other_domains.evidence


def test_merged_accounts_are_never_candidates() -> None:
    accounts = [*ACME[:2], AccountProfile(3, "Acme Corp", "acme.com", merged_into_id=1)]
    assert _pairs(find_candidates(accounts)) == {(1, 2)}


def test_among_restricts_to_pairs_with_new_accounts() -> None:
    accounts = [*ACME, AccountProfile(5, "Initech"), AccountProfile(6, "Initech LLC")]
    found = find_candidates(accounts, among={6})
    assert _pairs(found) == {(5, 6)}
    assert find_candidates(accounts, among={99}) == []


def test_order_is_deterministic_and_independent_of_input_order() -> None:
    accounts = [*ACME, AccountProfile(5, "Initech"), AccountProfile(6, "Initech LLC"),
                AccountProfile(7, "Umbrella Corporation"), AccountProfile(8, "Umbrela Corp")]  # fmt: skip
    first = find_candidates(accounts)
    assert find_candidates(list(reversed(accounts))) == first
    keys = [(-p.score, p.left_id, p.right_id) for p in first]
    assert keys == sorted(keys)


_names = st.text(alphabet=st.sampled_from("acmeinto .-&"), min_size=0, max_size=14)
_domains = st.one_of(st.none(), st.sampled_from(["acme.com", "acme.co.uk", "initech.io", "x"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_names, _domains), min_size=0, max_size=12), st.floats(0, 100))
def test_scores_are_bounded_and_pairs_unique(rows: list[tuple[str, str | None]], threshold: float) -> None:
    accounts = [AccountProfile(i + 1, name or "x", domain) for i, (name, domain) in enumerate(rows)]
    found = find_candidates(accounts, threshold=threshold)
    assert all(0 <= p.score <= 100 and p.score >= threshold for p in found)
    assert all(p.left_id < p.right_id for p in found)
    assert len(_pairs(found)) == len(found)


# quality on real account names ------------------------------------------------------------------------
PLANTED = {  # original maven account -> variants a CRM would hold
    "Acme Corporation": ["ACME Corp.", "acme.com"],
    "Betatech": ["BetaTech Inc."],
    "Bluth Company": ["Bluth Co"],
    "Codehow": ["codehow.io"],
    "Dalttechnology": ["Dalttechnology LLC", "Daltechnology"],
    "Gekko & Co": ["Gekko and Co."],
    "Genco Pura Olive Oil Company": ["Genco Pura Olive Oil Co."],
    "Globex Corporation": ["GLOBEX"],
    "Massive Dynamic": ["Massive Dynamics, Inc."],
    "Umbrella Corporation": ["Umbrela Corp"],
    "The New York Inquirer": ["New York Inquirer"],
    "Vehement Capital Partners": ["Vehement Capital Partners LLC"],
    "Green-Plus": ["Greenplus Ltd"],
    "Initech": ["Initech, LLC"],
    "Zotware": ["Zotware GmbH"],
    "Konmatfix": ["Konmatfixx"],
}


def test_quality_on_maven_accounts_with_planted_variants() -> None:
    with shared_data("maven_crm", "accounts.csv").open(newline="") as handle:
        names = [row["account"] for row in csv.DictReader(handle)]
    assert len(names) == 85
    accounts = [AccountProfile(i + 1, name) for i, name in enumerate(names)]
    company = {a.id: a.name for a in accounts}
    for original, variants in PLANTED.items():
        assert original in names
        for variant in variants:
            account = AccountProfile(len(accounts) + 1, variant)
            accounts.append(account)
            company[account.id] = original
    found = find_candidates(accounts)
    true = [p for p in found if company[p.left_id] == company[p.right_id]]
    groups: dict[str, int] = {}
    for owner in company.values():
        groups[owner] = groups.get(owner, 0) + 1
    planted = sum(n * (n - 1) // 2 for n in groups.values())
    precision = len(true) / len(found)
    recall = len(true) / planted
    print(f"maven + planted: {len(found)} pairs, precision {precision:.1%}, recall {recall:.1%}")
    assert recall >= 0.9, sorted((p.left_id, p.right_id) for p in found)
    assert precision >= 0.9, [(company[p.left_id], company[p.right_id]) for p in found if p not in true]
