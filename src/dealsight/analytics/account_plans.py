"""An account plan's computations, pure: the top-down pipeline and the relationship map with its gaps.

**Top-down pipeline.** Each of the customer's goals with the deals that serve it: open deals and their
amount, won deals and their amount, the next expected close. Two lists come out of it:

- **uncovered goals**: active goals (not achieved, not dropped) that no deal serves: pipeline to create;
- **unaligned deals**: open deals that serve no goal (a dropped goal does not count): deals whose case to
  the customer's executives is unmade, or that should not be pursued.

A deal serving two goals counts in full under each goal; the account's totals count it once (aligned
pipeline: open deals serving at least one goal; its share of the open pipeline). Amounts are added as
they are: several currencies are listed, never converted.

**Relationship map.** Each contact with their level (executive, manager, staff: from the executive flag
and the title), who on our side covers them, the goals they own and the days since the last recorded
interaction; then the **gaps**, each said in plain words with a next action:

- ``no_executive`` (high): the account has no executive contact at all;
- ``goal_owner_uncovered`` (high): an active goal's executive owner whom nobody on our side covers;
- ``detractor`` (high): a contact who opposes us and has high influence;
- ``goal_owner_cold`` (medium): a covered goal owner with no recorded interaction in :data:`COLD_DAYS`;
- ``goal_without_executive`` (medium): an active goal with no executive owner recorded;
- ``executives_uncovered`` (medium): the account has executives and nobody on our side covers any.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from dealsight.domain.account_plans import (
    PRIORITY_ORDER,
    ContactLevel,
    GoalPriority,
    GoalStatus,
    contact_level,
)
from dealsight.domain.enums import DealRole, Influence, Outcome, Stance

COLD_DAYS = 90
"""A goal owner not met for this many days is a cold relationship."""
LEVEL_ORDER = {ContactLevel.EXECUTIVE: 0, ContactLevel.MANAGER: 1, ContactLevel.STAFF: 2}
INFLUENCE_ORDER = {Influence.HIGH: 0, Influence.MEDIUM: 1, Influence.LOW: 2, None: 3}
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PlanGoal:
    """A goal of the customer as the plan needs it."""

    id: int
    goal: str
    status: GoalStatus
    priority: GoalPriority
    executive_id: int | None = None
    owner_id: int | None = None
    target_date: date | None = None


@dataclass(frozen=True)
class PlanDeal:
    """A deal of the account (``outcome`` None: open)."""

    id: int
    name: str
    stage: str
    amount: Decimal | None
    currency: str = "USD"
    outcome: Outcome | None = None
    expected_close_date: date | None = None

    @property
    def is_open(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True)
class PlanContact:
    """A contact of the account with the last day we interacted with them (None: never recorded)."""

    id: int
    name: str
    title: str | None = None
    is_executive: bool = False
    deal_role: DealRole | None = None
    influence: Influence | None = None
    stance: Stance = Stance.UNKNOWN
    last_interaction: date | None = None


@dataclass(frozen=True)
class GoalPipeline:
    goal: PlanGoal
    deals: tuple[PlanDeal, ...]
    """The deals serving the goal: open ones first (by expected close), then the closed ones."""
    open_deals: int
    open_amount: Decimal
    won_deals: int
    won_amount: Decimal
    next_close: date | None

    @property
    def has_deal(self) -> bool:
        return bool(self.deals)


@dataclass(frozen=True)
class TopDownPipeline:
    goals: tuple[GoalPipeline, ...]
    """Active goals first (by priority, then target date), then achieved and dropped ones."""
    uncovered_goals: tuple[PlanGoal, ...]
    unaligned_deals: tuple[PlanDeal, ...]
    open_amount: Decimal
    aligned_amount: Decimal
    unaligned_amount: Decimal
    currencies: tuple[str, ...]

    @property
    def aligned_share(self) -> float | None:
        """Share of the open pipeline (amount) that serves at least one goal; None without pipeline."""
        if self.open_amount <= 0:
            return None
        return float(self.aligned_amount / self.open_amount)


class GapKind(StrEnum):
    NO_EXECUTIVE = "no_executive"
    GOAL_OWNER_UNCOVERED = "goal_owner_uncovered"
    DETRACTOR = "detractor"
    GOAL_OWNER_COLD = "goal_owner_cold"
    GOAL_WITHOUT_EXECUTIVE = "goal_without_executive"
    EXECUTIVES_UNCOVERED = "executives_uncovered"


SEVERITY = {
    GapKind.NO_EXECUTIVE: "high",
    GapKind.GOAL_OWNER_UNCOVERED: "high",
    GapKind.DETRACTOR: "high",
    GapKind.GOAL_OWNER_COLD: "medium",
    GapKind.GOAL_WITHOUT_EXECUTIVE: "medium",
    GapKind.EXECUTIVES_UNCOVERED: "medium",
}
_GAP_ORDER = {kind: number for number, kind in enumerate(GapKind)}


@dataclass(frozen=True)
class RelationshipGap:
    kind: GapKind
    message: str
    action: str
    contact_id: int | None = None
    goal_id: int | None = None

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]


@dataclass(frozen=True)
class MappedContact:
    contact: PlanContact
    level: ContactLevel
    covered_by: tuple[int, ...]
    """Our users who cover the contact (ids, in the order given)."""
    goal_ids: tuple[int, ...]
    """The goals the contact owns (any status)."""
    days_since_interaction: int | None


@dataclass(frozen=True)
class RelationshipMap:
    contacts: tuple[MappedContact, ...]
    """By level (executives first), then influence (high first), then name."""
    gaps: tuple[RelationshipGap, ...]
    """High severity first."""


# the top-down pipeline -------------------------------------------------------------------------------------
def _goal_order(goal: PlanGoal) -> tuple[int, int, date, int]:
    return (0 if goal.status.is_active else 1, PRIORITY_ORDER[goal.priority], goal.target_date or date.max,
            goal.id)  # fmt: skip


def _deal_order(deal: PlanDeal) -> tuple[int, date, int]:
    return (0 if deal.is_open else 1, deal.expected_close_date or date.max, deal.id)


def _amount(deals: Iterable[PlanDeal]) -> Decimal:
    return sum((deal.amount or ZERO for deal in deals), ZERO)


def top_down_pipeline(
    goals: Sequence[PlanGoal], deals: Sequence[PlanDeal], links: Iterable[tuple[int, int]]
) -> TopDownPipeline:
    """The goals with the deals serving them (``links``: (goal id, deal id); links to deals not given are
    left out), the uncovered goals and the unaligned open deals."""
    by_id = {deal.id: deal for deal in deals}
    served: dict[int, list[PlanDeal]] = {goal.id: [] for goal in goals}
    status = {goal.id: goal.status for goal in goals}
    aligned: set[int] = set()
    for goal_id, deal_id in links:
        deal = by_id.get(deal_id)
        if deal is None or goal_id not in served or deal in served[goal_id]:
            continue
        served[goal_id].append(deal)
        if status[goal_id] is not GoalStatus.DROPPED:
            aligned.add(deal_id)
    rows = []
    for goal in sorted(goals, key=_goal_order):
        mine = sorted(served[goal.id], key=_deal_order)
        open_deals = [d for d in mine if d.is_open]
        won = [d for d in mine if d.outcome is Outcome.WON]
        closes = [d.expected_close_date for d in open_deals if d.expected_close_date is not None]
        rows.append(
            GoalPipeline(
                goal,
                tuple(mine),
                len(open_deals),
                _amount(open_deals),
                len(won),
                _amount(won),
                min(closes, default=None),
            )
        )
    open_deals = sorted((d for d in deals if d.is_open), key=_deal_order)
    unaligned = tuple(d for d in open_deals if d.id not in aligned)
    total = _amount(open_deals)
    unaligned_amount = _amount(unaligned)
    return TopDownPipeline(
        goals=tuple(rows),
        uncovered_goals=tuple(r.goal for r in rows if r.goal.status.is_active and not r.has_deal),
        unaligned_deals=unaligned,
        open_amount=total,
        aligned_amount=total - unaligned_amount,
        unaligned_amount=unaligned_amount,
        currencies=tuple(sorted({d.currency for d in open_deals})),
    )


# the relationship map --------------------------------------------------------------------------------------
def _who(contact: PlanContact) -> str:
    return f"{contact.name} ({contact.title})" if contact.title else contact.name


def _contact_order(mapped: MappedContact) -> tuple[int, int, str, int]:
    c = mapped.contact
    return (LEVEL_ORDER[mapped.level], INFLUENCE_ORDER[c.influence], c.name.casefold(), c.id)


def _goal_gaps(
    goals: Sequence[PlanGoal], people: Mapping[int, MappedContact], today: date
) -> list[RelationshipGap]:
    gaps = []
    for goal in goals:
        if not goal.status.is_active:
            continue
        owner = people.get(goal.executive_id) if goal.executive_id is not None else None
        if owner is None:
            gaps.append(
                RelationshipGap(
                    GapKind.GOAL_WITHOUT_EXECUTIVE,
                    f"the goal '{goal.goal}' has no executive owner at the customer recorded",
                    "ask your champion which executive owns this goal and ask for a meeting with them",
                    goal_id=goal.id,
                )
            )
        elif not owner.covered_by:
            gaps.append(
                RelationshipGap(
                    GapKind.GOAL_OWNER_UNCOVERED,
                    f"nobody on our side covers {_who(owner.contact)}, who owns the goal '{goal.goal}'",
                    "name someone of matching seniority on our side to cover them (an executive sponsor "
                    "for an executive) and ask for a meeting about this goal",
                    contact_id=owner.contact.id,
                    goal_id=goal.id,
                )
            )
        elif owner.days_since_interaction is None or owner.days_since_interaction > COLD_DAYS:
            since = (
                "no interaction with them is recorded"
                if owner.days_since_interaction is None
                else f"the last interaction was {owner.days_since_interaction} days ago"
            )
            gaps.append(
                RelationshipGap(
                    GapKind.GOAL_OWNER_COLD,
                    f"{_who(owner.contact)} owns the goal '{goal.goal}' but {since}",
                    "review progress on the goal with them: bring what has been delivered and what comes "
                    "next",
                    contact_id=owner.contact.id,
                    goal_id=goal.id,
                )
            )
    return gaps


def _people_gaps(mapped: Sequence[MappedContact]) -> list[RelationshipGap]:
    gaps = []
    executives = [m for m in mapped if m.level is ContactLevel.EXECUTIVE]
    if not executives:
        gaps.append(
            RelationshipGap(
                GapKind.NO_EXECUTIVE,
                "no executive contact at this account: the people who own the goals and the budget are "
                "unknown",
                "ask your champion to introduce the executive who owns the problem you solve",
            )
        )
    elif not any(m.covered_by for m in executives):
        gaps.append(
            RelationshipGap(
                GapKind.EXECUTIVES_UNCOVERED,
                f"nobody on our side covers any of the account's {len(executives)} executive"
                f"{'' if len(executives) == 1 else 's'}",
                "name an executive sponsor on our side for the account's most senior contact",
            )
        )
    for m in mapped:
        c = m.contact
        if c.stance is Stance.OPPONENT and c.influence is Influence.HIGH:
            covered = "; nobody on our side covers them" if not m.covered_by else ""
            gaps.append(
                RelationshipGap(
                    GapKind.DETRACTOR,
                    f"{_who(c)} opposes us and has high influence{covered}",
                    "learn what they object to and whom they listen to; let a supporter or one of our "
                    "executives answer it before the decision, never go around them",
                    contact_id=c.id,
                )
            )
    return gaps


def relationship_map(
    contacts: Sequence[PlanContact],
    coverage: Iterable[tuple[int, int]],
    goals: Sequence[PlanGoal],
    today: date,
) -> RelationshipMap:
    """The account's contacts with their level, coverage (``coverage``: (contact id, user id)), the goals
    they own and the days since the last interaction as of ``today``, and the gaps in the map."""
    covered: dict[int, list[int]] = {contact.id: [] for contact in contacts}
    for contact_id, user_id in coverage:
        if contact_id in covered and user_id not in covered[contact_id]:
            covered[contact_id].append(user_id)
    owned: dict[int, list[int]] = {contact.id: [] for contact in contacts}
    for goal in sorted(goals, key=_goal_order):
        if goal.executive_id in owned:
            owned[goal.executive_id].append(goal.id)
    mapped = sorted(
        (
            MappedContact(
                contact=c,
                level=contact_level(c.is_executive, c.title),
                covered_by=tuple(covered[c.id]),
                goal_ids=tuple(owned[c.id]),
                days_since_interaction=None
                if c.last_interaction is None
                else max(0, (today - c.last_interaction).days),
            )
            for c in contacts
        ),
        key=_contact_order,
    )
    people = {m.contact.id: m for m in mapped}
    gaps = _people_gaps(mapped) + _goal_gaps(sorted(goals, key=_goal_order), people, today)
    gaps.sort(key=lambda gap: (0 if gap.severity == "high" else 1, _GAP_ORDER[gap.kind]))
    return RelationshipMap(tuple(mapped), tuple(gaps))


__all__ = [
    "COLD_DAYS",
    "GapKind",
    "GoalPipeline",
    "MappedContact",
    "PlanContact",
    "PlanDeal",
    "PlanGoal",
    "RelationshipGap",
    "RelationshipMap",
    "TopDownPipeline",
    "relationship_map",
    "top_down_pipeline",
]
