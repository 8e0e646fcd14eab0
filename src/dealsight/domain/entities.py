"""Entities of the domain: plain dataclasses, standard library only.

Identity: ``id`` is the store's key (``None`` until stored); ``external_id`` is the key in the system the
record came from (a CRM id), which makes re-imports update instead of duplicate.

Room is left for the customer-value entities that a later issue adds (subscriptions, delivered value,
needs surveys, buying roadmaps, account plans): they hang off :class:`Account` and :class:`Contact` by id
and need nothing changed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from dealsight.domain.enums import (
    ActivityType,
    BuyerPhase,
    DealRole,
    ForecastCategory,
    HistoryField,
    ImpactLevel,
    Influence,
    Outcome,
    Stance,
    UserRole,
)


@dataclass
class Team:
    name: str
    id: int | None = None
    external_id: str | None = None
    parent_id: int | None = None
    manager_id: int | None = None


@dataclass
class User:
    name: str
    role: UserRole = UserRole.REP
    id: int | None = None
    external_id: str | None = None
    email: str | None = None
    team_id: int | None = None
    manager_id: int | None = None
    active: bool = True


@dataclass
class Account:
    name: str
    id: int | None = None
    external_id: str | None = None
    domain: str | None = None
    industry: str | None = None
    segment: str | None = None
    country: str | None = None
    employees: int | None = None
    annual_revenue: Decimal | None = None
    parent_id: int | None = None
    owner_id: int | None = None
    merged_into_id: int | None = None


@dataclass
class Contact:
    name: str
    id: int | None = None
    external_id: str | None = None
    account_id: int | None = None
    email: str | None = None
    title: str | None = None
    deal_role: DealRole | None = None
    influence: Influence | None = None
    stance: Stance = Stance.UNKNOWN
    is_executive: bool = False


@dataclass
class Stage:
    """A step of a team's sales process. Closed stages carry the outcome they mean."""

    name: str
    position: int
    probability: float | None = None
    outcome: Outcome | None = None
    id: int | None = None

    @property
    def is_closed(self) -> bool:
        return self.outcome is not None


@dataclass
class Opportunity:
    name: str
    stage: str
    id: int | None = None
    external_id: str | None = None
    account_id: int | None = None
    owner_id: int | None = None
    amount: Decimal | None = None
    currency: str = "USD"
    forecast_category: ForecastCategory | None = None
    probability: float | None = None
    """A user's manual probability; a model never overwrites it."""
    expected_close_date: date | None = None
    created_date: date | None = None
    closed_date: date | None = None
    outcome: Outcome | None = None
    loss_reason: str | None = None
    competitors: list[str] = field(default_factory=list)
    product: str | None = None
    source: str | None = None
    business_problem: str | None = None
    problem_impact: ImpactLevel | None = None
    executive_sponsor_id: int | None = None
    compelling_event: str | None = None
    decision_criteria: str | None = None
    buyer_phase: BuyerPhase | None = None
    engaged_before_preference: bool | None = None
    preferred_competitor: str | None = None
    unique_business_value: str | None = None
    list_price: Decimal | None = None
    discount: float | None = None
    """Share of list price given away, 0..1."""
    margin: float | None = None
    """Gross margin as a share of amount, -1..1."""

    @property
    def is_closed(self) -> bool:
        return self.outcome is not None


@dataclass(frozen=True)
class OpportunityChange:
    """One change of one tracked field of an opportunity, with when it happened.

    Values are stored as text in their canonical form: stage name, decimal amount, ISO date,
    forecast category value.
    """

    opportunity_id: int
    field: HistoryField
    changed_at: datetime
    old_value: str | None
    new_value: str | None
    changed_by_id: int | None = None


@dataclass
class Activity:
    type: ActivityType
    occurred_at: datetime
    id: int | None = None
    external_id: str | None = None
    opportunity_id: int | None = None
    account_id: int | None = None
    user_id: int | None = None
    contact_ids: list[int] = field(default_factory=list)
    subject: str | None = None
    notes: str | None = None


@dataclass
class QualificationQuestion:
    """A question of a team's qualification set; ``stage`` is where it should be answered by."""

    key: str
    text: str
    stage: str | None = None
    essential: bool = False
    position: int = 0
    id: int | None = None
    question_set_id: int | None = None


@dataclass
class QuestionSet:
    name: str
    questions: list[QualificationQuestion] = field(default_factory=list)
    id: int | None = None
    team_id: int | None = None


@dataclass
class QualificationAnswer:
    """A rep's answer to a qualification question for one deal. ``answer`` is yes / no / unknown."""

    opportunity_id: int
    question_id: int
    answer: str
    answered_at: datetime
    note: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class AccountMerge:
    """The record kept when one account is merged into another."""

    kept_id: int
    merged_id: int
    merged_name: str
    merged_at: datetime
    moved_opportunities: int
    moved_contacts: int
    score: float | None = None
    evidence: str | None = None
