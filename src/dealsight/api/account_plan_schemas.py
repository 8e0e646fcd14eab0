"""What the account plan routes accept and answer, in the conventions of :mod:`dealsight.api.schemas` (money
as a decimal string, days ``YYYY-MM-DD``, timestamps UTC) and :mod:`dealsight.api.inputs` (known fields
only, strict ids; the services apply every rule and name the field of each problem)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from dealsight.analytics.account_plans import GapKind
from dealsight.api.inputs import Body, Day, Id, Text
from dealsight.api.schemas import Money, Out, UtcDateTime
from dealsight.domain.account_plans import ContactLevel, GoalPriority, GoalStatus
from dealsight.domain.enums import DealRole, Influence, Outcome, Stance


class Goal(Out):
    """A goal of the customer's executives, with who owns it on both sides and the deals serving it."""

    id: int
    external_id: str | None = Field(description="The goal's id in the system it came from.")
    account_id: int
    goal: str = Field(description="The goal in the customer's words.")
    executive_id: int | None = Field(description="The contact at the customer who owns the goal.")
    executive_name: str | None
    executive_title: str | None
    owner_id: int | None = Field(description="Our owner of the goal (a user).")
    owner_name: str | None
    target_date: date | None
    priority: GoalPriority
    measure: str | None = Field(description="How the customer will know the goal is reached.")
    status: GoalStatus
    note: str | None
    deal_ids: list[int] = Field(description="The deals serving the goal that the caller can see.")
    created_at: UtcDateTime
    updated_at: UtcDateTime


class GoalUpdate(Body):
    """Fields of a goal to change; a field left out is unchanged, `null` clears an optional one."""

    goal: Text | None = Field(None, description="At most 300 characters.")
    executive_id: Id | None = Field(None, description="A contact of the account.")
    owner_id: Id | None = Field(None, description="An active user.")
    target_date: Day | None = None
    priority: GoalPriority | None = None
    measure: Text | None = Field(None, description="At most 300 characters.")
    status: GoalStatus | None = None
    note: Text | None = None
    external_id: Text | None = None


class GoalCreate(GoalUpdate):
    """A new goal: `goal` required; medium priority and `identified` unless given."""

    goal: Text = Field(description="The goal in the customer's words, at most 300 characters.")


class PlanDeal(Out):
    id: int
    name: str
    stage: str
    amount: Money | None
    currency: str
    expected_close_date: date | None
    closed_date: date | None
    outcome: Outcome | None = Field(description="`null` while the deal is open.")
    owner_id: int | None
    owner_name: str | None
    goal_ids: list[int] = Field(description="The goals the deal serves.")


class GoalLine(Out):
    """A goal with the deals serving it and their totals (a deal serving two goals counts under both)."""

    goal: Goal
    deals: list[PlanDeal]
    open_deals: int
    open_amount: Money
    won_deals: int
    won_amount: Money
    next_close: date | None = Field(description="The earliest expected close of its open deals.")


class CoveringUser(Out):
    id: int
    name: str


class MapContact(Out):
    """A contact on the relationship map."""

    id: int
    name: str
    title: str | None
    level: ContactLevel = Field(description="Executive, manager or staff: from the executive flag and title.")
    deal_role: DealRole | None
    influence: Influence | None
    stance: Stance
    is_executive: bool
    covered_by: list[CoveringUser] = Field(description="Who on our side covers the contact.")
    goal_ids: list[int] = Field(description="The goals the contact owns.")
    last_interaction: date | None = Field(description="The day of the latest activity with the contact.")
    days_since_interaction: int | None


class Gap(Out):
    kind: GapKind
    severity: str = Field(description="`high` or `medium`.")
    message: str
    action: str = Field(description="What usually helps.")
    contact_id: int | None
    goal_id: int | None


class WhitespaceProduct(Out):
    product: str
    series: str | None
    list_price: Money | None
    adopters: int = Field(description="Customers of the peer group who have the product.")
    peers: int
    share: float | None = Field(description="adopters / peers.")
    in_pipeline: bool = Field(description="An open deal of the account pursues it.")


class Whitespace(Out):
    owned: list[str] = Field(description="The products the account has (won deals, live subscriptions).")
    products: list[WhitespaceProduct] = Field(
        description="The products it does not have, most adopted first."
    )
    peer_group: str
    peers: int


class AccountPlan(Out):
    """An account's plan: the top-down pipeline, the relationship map with its gaps, the whitespace."""

    account_id: int
    account_name: str
    industry: str | None
    segment: str | None
    owner_id: int | None
    owner_name: str | None
    as_of: date
    goals: list[GoalLine] = Field(description="Active goals first (by priority, target date).")
    uncovered_goals: list[Goal] = Field(description="Active goals no deal serves.")
    unaligned_deals: list[PlanDeal] = Field(description="Open deals that serve no goal.")
    deals: list[PlanDeal] = Field(description="The deals a goal may be linked to: open, won, linked.")
    open_amount: Money
    aligned_amount: Money = Field(description="Open pipeline serving at least one goal (counted once).")
    unaligned_amount: Money
    aligned_share: float | None
    currencies: list[str]
    contacts: list[MapContact]
    gaps: list[Gap] = Field(description="Relationship gaps, high severity first.")
    team: list[CoveringUser] = Field(description="Everyone on our side who covers a contact of the account.")
    whitespace: Whitespace


class ContactCoverage(Out):
    contact_id: int
    contact_name: str
    account_id: int | None
    covered_by: list[CoveringUser]


__all__ = [
    "AccountPlan",
    "ContactCoverage",
    "Goal",
    "GoalCreate",
    "GoalLine",
    "GoalUpdate",
]
