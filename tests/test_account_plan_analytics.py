"""The account plan's pure computations on hand-made accounts: the top-down pipeline (uncovered goals,
unaligned deals, amounts per goal and once in total), the relationship map's levels and gaps, and the
whitespace with its peer groups and adoption shares."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from dealsight.analytics.account_plans import (
    COLD_DAYS,
    GapKind,
    PlanContact,
    PlanDeal,
    PlanGoal,
    relationship_map,
    top_down_pipeline,
)
from dealsight.analytics.whitespace import CatalogueProduct, Profile, peer_group, whitespace
from dealsight.domain.account_plans import ContactLevel, GoalPriority, GoalStatus, contact_level
from dealsight.domain.enums import Influence, Outcome, Stance

TODAY = date(2026, 6, 30)


def goal(goal_id: int, status: GoalStatus = GoalStatus.IN_PROGRESS, **fields: object) -> PlanGoal:
    values: dict[str, object] = {"priority": GoalPriority.MEDIUM, **fields}
    return PlanGoal(goal_id, f"goal {goal_id}", status, **values)  # type: ignore[arg-type]


def deal(deal_id: int, amount: str, outcome: Outcome | None = None, close: date | None = None) -> PlanDeal:
    return PlanDeal(deal_id, f"deal {deal_id}", "Proposal", Decimal(amount), "USD", outcome, close)


def test_goals_without_deals_and_deals_without_goals() -> None:
    goals = [
        goal(1, priority=GoalPriority.LOW),
        goal(2, priority=GoalPriority.HIGH),
        goal(3),  # no deal: uncovered
        goal(4, GoalStatus.ACHIEVED),  # no deal, but achieved: not uncovered
        goal(5, GoalStatus.DROPPED),  # its deal does not count as aligned
    ]
    deals = [
        deal(10, "100000", close=date(2026, 9, 1)),
        deal(11, "50000", close=date(2026, 8, 1)),
        deal(12, "30000", Outcome.WON),
        deal(13, "20000"),  # serves only the dropped goal
        deal(14, "7000"),  # serves nothing
        deal(15, "9000", Outcome.LOST),
    ]
    links = [(1, 10), (2, 10), (2, 11), (2, 12), (5, 13), (1, 999), (9, 10)]  # unknown deal and goal ignored
    pipeline = top_down_pipeline(goals, deals, links)

    assert [row.goal.id for row in pipeline.goals] == [2, 3, 1, 4, 5]  # active by priority, then closed ones
    by_id = {row.goal.id: row for row in pipeline.goals}
    assert (by_id[2].open_deals, by_id[2].open_amount, by_id[2].won_deals, by_id[2].won_amount) == (
        2,
        Decimal("150000"),
        1,
        Decimal("30000"),
    )
    assert by_id[2].next_close == date(2026, 8, 1)
    assert [d.id for d in by_id[2].deals] == [11, 10, 12]  # open by close date, then closed
    assert by_id[1].open_amount == Decimal("100000")  # a deal serving two goals counts under both
    assert [g.id for g in pipeline.uncovered_goals] == [3]
    assert [d.id for d in pipeline.unaligned_deals] == [13, 14]
    assert pipeline.open_amount == Decimal("177000")  # ... and once in the total
    assert pipeline.aligned_amount == Decimal("150000") and pipeline.unaligned_amount == Decimal("27000")
    assert abs((pipeline.aligned_share or 0) - 150000 / 177000) < 1e-9


def test_no_open_pipeline_has_no_aligned_share() -> None:
    pipeline = top_down_pipeline([goal(1)], [deal(1, "5", Outcome.WON)], [(1, 1)])
    assert pipeline.aligned_share is None and pipeline.uncovered_goals == ()


def person(contact_id: int, **fields: object) -> PlanContact:
    return PlanContact(contact_id, f"person {contact_id}", **fields)  # type: ignore[arg-type]


def test_contact_levels_read_the_flag_and_the_title() -> None:
    assert contact_level(True, "Business Analyst") is ContactLevel.EXECUTIVE
    assert contact_level(False, "VP Sales") is ContactLevel.EXECUTIVE
    assert contact_level(False, "Chief Financial Officer") is ContactLevel.EXECUTIVE
    assert contact_level(False, "Account Executive") is ContactLevel.STAFF
    assert contact_level(False, "Executive Assistant") is ContactLevel.STAFF
    assert contact_level(False, "Head of Revenue Operations") is ContactLevel.MANAGER
    assert contact_level(False, "Procurement Manager") is ContactLevel.MANAGER
    assert contact_level(False, None) is ContactLevel.STAFF


def test_relationship_gaps() -> None:
    contacts = [
        person(1, title="Chief Financial Officer", is_executive=True, influence=Influence.HIGH,
               last_interaction=date(2026, 6, 1)),
        person(2, title="VP Operations", is_executive=True, influence=Influence.HIGH, stance=Stance.OPPONENT),
        person(3, title="Chief Executive Officer", is_executive=True, influence=Influence.HIGH,
               last_interaction=date(2026, 1, 2)),
        person(4, title="Head of IT", influence=Influence.MEDIUM, stance=Stance.OPPONENT),  # not influential
        person(5, title="Analyst", influence=Influence.LOW),
    ]  # fmt: skip
    goals = [
        goal(1, executive_id=1),  # covered, met 29 days ago: no gap
        goal(2, executive_id=2),  # nobody covers the owner
        goal(3, executive_id=3),  # covered, not met for 179 days: cold
        goal(4),  # no executive owner
        goal(5, GoalStatus.ACHIEVED, executive_id=2),  # achieved: no gap of its own
    ]
    coverage = [(1, 100), (1, 100), (3, 101), (5, 102), (99, 100)]  # a repeat and an unknown contact ignored
    mapped = relationship_map(contacts, coverage, goals, TODAY)

    assert [m.contact.id for m in mapped.contacts] == [1, 2, 3, 4, 5]
    assert [m.level for m in mapped.contacts][:4] == [ContactLevel.EXECUTIVE] * 3 + [ContactLevel.MANAGER]
    first = mapped.contacts[0]
    assert first.covered_by == (100,) and first.goal_ids == (1,) and first.days_since_interaction == 29
    assert mapped.contacts[1].goal_ids == (2, 5)
    found = [(g.kind, g.contact_id, g.goal_id) for g in mapped.gaps]
    assert found == [
        (GapKind.GOAL_OWNER_UNCOVERED, 2, 2),
        (GapKind.DETRACTOR, 2, None),
        (GapKind.GOAL_OWNER_COLD, 3, 3),
        (GapKind.GOAL_WITHOUT_EXECUTIVE, None, 4),
    ]
    assert [g.severity for g in mapped.gaps] == ["high", "high", "medium", "medium"]
    assert "person 2 (VP Operations) opposes us and has high influence; nobody" in mapped.gaps[1].message
    assert "179 days ago" in mapped.gaps[2].message and COLD_DAYS < 179


def test_an_account_without_executives_or_with_none_covered() -> None:
    nobody_senior = relationship_map([person(1, title="Analyst")], [(1, 7)], [], TODAY)
    assert [g.kind for g in nobody_senior.gaps] == [GapKind.NO_EXECUTIVE]
    uncovered = relationship_map([person(1, is_executive=True), person(2)], [(2, 7)], [], TODAY)
    assert [g.kind for g in uncovered.gaps] == [GapKind.EXECUTIVES_UNCOVERED]
    assert "any of the account's 1 executive" in uncovered.gaps[0].message


def test_a_goal_owner_never_met_is_cold() -> None:
    mapped = relationship_map([person(1, is_executive=True)], [(1, 7)], [goal(1, executive_id=1)], TODAY)
    assert [g.kind for g in mapped.gaps] == [GapKind.GOAL_OWNER_COLD]
    assert "no interaction with them is recorded" in mapped.gaps[0].message


CATALOGUE = [
    CatalogueProduct("platform", "Platform", "Platform", Decimal("96000")),
    CatalogueProduct("add on", "Add-on", "Add-ons", Decimal("14000")),
    CatalogueProduct("support", "Support", "Services", Decimal("7500")),
]


def test_whitespace_shares_among_same_industry_and_segment() -> None:
    profiles = {
        1: Profile("Software", "enterprise"),
        **{i: Profile("software", "Enterprise") for i in range(2, 8)},  # 6 peers, any case
        8: Profile("Retail", "enterprise"),
        9: Profile("Software", "enterprise"),  # a prospect: no products, not a customer
    }
    ownership = {
        1: frozenset({"platform"}),
        2: frozenset({"platform", "add on"}),
        3: frozenset({"add on"}),
        4: frozenset({"add on", "support"}),
        5: frozenset({"platform"}),
        6: frozenset({"platform"}),
        7: frozenset({"platform", "add on"}),
        8: frozenset({"support"}),
        9: frozenset(),
    }
    space = whitespace(1, CATALOGUE, ownership, profiles, pipeline=["support"])
    assert space.peer_group == "customers in Software, segment enterprise" and space.peers == 6
    assert [p.name for p in space.owned] == ["Platform"]
    assert [(p.product.name, p.adopters, p.share, p.in_pipeline) for p in space.products] == [
        ("Add-on", 4, 4 / 6, False),
        ("Support", 1, 1 / 6, True),
    ]


def test_a_small_peer_group_widens_to_the_segment_then_everyone() -> None:
    profiles = {1: Profile("Energy", "smb"), 2: Profile("Energy", "smb"), 3: Profile("Retail", "smb")}
    profiles |= {i: Profile("Retail", "smb") for i in range(4, 8)}
    profiles |= {i: Profile("Retail", "enterprise") for i in range(8, 20)}
    customers = list(profiles)
    peers, label = peer_group(1, profiles, customers)
    assert label == "customers in segment smb" and sorted(peers) == list(range(2, 8))
    peers, label = peer_group(1, profiles, customers, min_peers=50)
    assert label == "all customers" and len(peers) == 18
    unknown, label = peer_group(99, profiles, customers)
    assert label == "all customers" and len(unknown) == 19


def test_whitespace_without_peers_has_no_share() -> None:
    space = whitespace(1, CATALOGUE, {1: frozenset({"support"})}, {1: Profile(None, None)})
    assert space.peers == 0 and all(p.share is None for p in space.products)
    assert [p.product.name for p in space.products] == ["Add-on", "Platform"]  # by name when no share
