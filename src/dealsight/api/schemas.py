"""What the API answers: response models, read from the services' records by attribute.

Conventions of every answer:

- **Money** (``amount``, ``list_price``, ``annual_revenue``, totals) is a decimal *string* with two
  decimals (``"12500.00"``), so amounts stay exact; requests accept a number or such a string.
- **Timestamps** are UTC in ISO 8601 with a ``Z`` (``"2026-03-01T09:30:00Z"``); days are ``YYYY-MM-DD``.
- **Lists** are pages: ``{"items": [...], "total": <all matches>, "limit": ..., "offset": ...}``.

:func:`render` validates a service result against its model once and serialises it in one step (both in
pydantic-core), bypassing FastAPI's second validation pass: the route's ``response_model`` documents the
same model, so what is sent is what the OpenAPI document says.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.responses import Response

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


def _as_utc(moment: datetime) -> datetime:
    """Stored timestamps are naive UTC: say so."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
DealHealth = Literal["good", "watch", "at_risk"]
Money = Annotated[Decimal, Field(description="An exact amount as a decimal string, e.g. `12500.00`.")]
T = TypeVar("T")


class Out(BaseModel):
    """Response models read the services' dataclasses by attribute."""

    model_config = ConfigDict(from_attributes=True)


class Page(Out, Generic[T]):
    items: list[T] = Field(description="This page's records, in the order asked for.")
    total: int = Field(description="How many records match the filters in all.")
    limit: int = Field(description="The most records a page holds.")
    offset: int = Field(description="How many matching records come before this page.")


def render(model: type[BaseModel], value: object, status_code: int = 200) -> Response:
    """``value`` (a service record) as ``model``, serialised to JSON."""
    body = model.model_validate(value, from_attributes=True).model_dump_json()
    return Response(body, status_code=status_code, media_type="application/json")


# opportunities ---------------------------------------------------------------------------------------------
class Opportunity(Out):
    """A deal as the pipeline list shows it."""

    id: int
    external_id: str | None = Field(description="The deal's id in the CRM it was imported from.")
    name: str
    account_id: int | None
    account_name: str | None
    owner_id: int | None
    owner_name: str | None
    team_name: str | None = Field(description="The owner's team.")
    amount: Money | None
    currency: str = Field(description="Three-letter currency code.")
    stage: str
    forecast_category: ForecastCategory | None
    expected_close_date: date | None
    created_date: date | None
    closed_date: date | None
    days_in_stage: int | None = Field(description="Days since the deal entered its stage.")
    outcome: Outcome | None = Field(description="How a closed deal ended; null while open.")
    updated_at: UtcDateTime
    win_probability: float | None = Field(
        description="The win model's probability (0-1) at the latest scoring run (`dealsight score`); null "
        "until the deal is scored. Never the deal's own `probability`, which is the user's or the CRM's."
    )
    health: DealHealth | None = Field(description="What the deal's risks add up to when last scored.")
    risk_count: int | None = Field(description="How many risks the playbook found at the latest scoring run.")
    top_risk: str | None = Field(description="The most severe risk, in plain words.")


class DealContact(Out):
    """A contact on a deal: ``role`` is their role in this deal (else their usual role)."""

    id: int
    name: str
    title: str | None
    email: str | None
    role: DealRole | None
    influence: Influence | None
    stance: Stance
    is_executive: bool
    is_sponsor: bool


class HistoryEntry(Out):
    """One recorded change of a deal's stage, amount, close date or forecast category."""

    field: HistoryField
    changed_at: UtcDateTime
    old_value: str | None
    new_value: str | None
    changed_by_id: int | None
    changed_by_name: str | None


class QualificationItem(Out):
    """A question of the deal's question set with the deal's answer (null: not answered yet); ``due`` once
    the deal has reached the stage by which it should be answered."""

    question_id: int
    key: str
    text: str
    stage: str | None
    essential: bool
    due: bool
    answer: str | None = Field(description="`yes`, `no`, `unknown`, or null when not answered.")
    answered_at: UtcDateTime | None
    note: str | None


class ContactRef(Out):
    id: int
    name: str


class Activity(Out):
    """A call, e-mail, meeting, demo, ... with a deal, an account or both."""

    id: int
    external_id: str | None
    type: ActivityType
    occurred_at: UtcDateTime
    opportunity_id: int | None
    opportunity_name: str | None
    account_id: int | None
    account_name: str | None
    user_id: int | None
    user_name: str | None
    subject: str | None
    notes: str | None
    contacts: list[ContactRef]


class OpportunityDetail(Opportunity):
    """Everything about one deal."""

    probability: float | None = Field(description="The rep's own win probability, 0..1.")
    loss_reason: str | None
    competitors: list[str]
    product: str | None
    source: str | None
    business_problem: str | None = Field(description="The customer's business problem.")
    problem_impact: ImpactLevel | None
    executive_sponsor_id: int | None
    executive_sponsor_name: str | None
    compelling_event: str | None
    decision_criteria: str | None
    buyer_phase: BuyerPhase | None
    engaged_before_preference: bool | None = Field(
        description="Did we engage before the buyer formed a preference?"
    )
    preferred_competitor: str | None
    unique_business_value: str | None
    list_price: Money | None
    discount: float | None = Field(description="A share: 0.15 is 15%.")
    margin: float | None
    created_at: UtcDateTime
    contacts: list[DealContact]
    history: list[HistoryEntry] = Field(description="Oldest first.")
    activities: list[Activity] = Field(description="The newest 100, newest first.")
    activities_total: int
    question_set: str | None
    qualification: list[QualificationItem]


class OpportunityPage(Page[Opportunity]):
    pass


class History(Out):
    """A deal's recorded changes, oldest first."""

    items: list[HistoryEntry]


class Qualification(Out):
    """The deal's question set and each question's answer."""

    question_set: str | None
    items: list[QualificationItem]


# accounts and contacts -------------------------------------------------------------------------------------
class Account(Out):
    """An account; ``open_deals`` and ``open_amount`` count only the open deals the caller can see."""

    id: int
    external_id: str | None
    name: str
    domain: str | None
    industry: str | None
    segment: str | None
    country: str | None
    employees: int | None
    annual_revenue: Money | None
    parent_id: int | None
    owner_id: int | None
    owner_name: str | None
    merged_into_id: int | None = Field(description="Set when this account was merged into another.")
    open_deals: int
    open_amount: Money


class AccountRef(Out):
    id: int
    name: str


class Contact(Out):
    id: int
    external_id: str | None
    account_id: int | None
    account_name: str | None
    name: str
    email: str | None
    title: str | None
    deal_role: DealRole | None
    influence: Influence | None
    stance: Stance
    is_executive: bool


class AccountDetail(Account):
    """The account page: the record, its family, contacts and the visible deals with their totals."""

    parent: AccountRef | None
    children: list[AccountRef]
    contacts: list[Contact]
    opportunities: list[Opportunity] = Field(
        description="Visible deals, open ones first (by close date), then the rest (newest first); "
        "at most 100."
    )
    opportunities_total: int
    won_deals: int
    won_amount: Money
    lost_deals: int
    no_decision_deals: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


class DealRef(Out):
    id: int
    name: str
    stage: str
    role: DealRole | None


class ContactDetail(Contact):
    """A contact with the visible deals they take part in."""

    opportunities: list[DealRef]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class AccountPage(Page[Account]):
    pass


class ContactPage(Page[Contact]):
    pass


class ActivityPage(Page[Activity]):
    pass


# people, tokens, audit -------------------------------------------------------------------------------------
class User(Out):
    """A user (never their password or its hash)."""

    id: int
    name: str
    email: str | None
    role: UserRole
    team_id: int | None
    team_name: str | None
    manager_id: int | None
    active: bool
    has_password: bool = Field(description="Can the user sign in to the web pages?")
    last_login_at: UtcDateTime | None = Field(
        description="The last web sign-in; shown to admins and to the user themself only (else null)."
    )


class Me(User):
    """The caller, and what their role lets them do."""

    can_write: bool = Field(description="False for executives (read only).")
    sees_all: bool = Field(description="True for admins and executives.")


class Team(Out):
    id: int
    name: str
    parent_id: int | None
    manager_id: int | None
    manager_name: str | None
    members: int


class UserPage(Page[User]):
    pass


class TeamPage(Page[Team]):
    pass


class ApiToken(Out):
    """An API token as listed: never its secret."""

    id: int
    user_id: int
    user_email: str | None
    name: str
    prefix: str = Field(description="The public part, to tell tokens apart.")
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None = Field(description="To the minute.")
    revoked_at: UtcDateTime | None
    active: bool


class NewApiToken(Out):
    """A new API token; ``token`` is the secret, shown this once and never again."""

    id: int
    token: str
    prefix: str
    name: str
    user_id: int
    created_at: UtcDateTime


class ApiTokenPage(Page[ApiToken]):
    pass


class AuditEntry(Out):
    """One changed field of one record: who changed it, when, from where (`api`, `web` or `cli`)."""

    id: int
    at: UtcDateTime
    actor_id: int | None
    actor_name: str = Field(description="`system` for imports and the command line.")
    via: str
    entity: str
    entity_id: int
    action: str = Field(description="`create`, `update` or `delete`.")
    field: str | None
    old_value: str | None
    new_value: str | None


class AuditPage(Page[AuditEntry]):
    pass


class Health(BaseModel):
    """Is the product able to serve."""

    status: str = Field(description="`ok`, `schema_out_of_date` or `error`.")
    version: str
    database: str | None = None
    schema_revision: str | None = None
    opportunities: int | None = None
    problem: str | None = None


# deal intelligence -----------------------------------------------------------------------------------------
Severity = Literal["high", "medium", "low"]


class Risk(Out):
    """A rule of the team's playbook that fired for the deal."""

    rule_id: str = Field(description="The playbook rule's id.")
    severity: Severity
    risk: str = Field(description="The risk in plain words.")
    action: str = Field(description="The suggested next action.")


class Factor(Out):
    """Something that moved the win probability."""

    feature: str = Field(description="The indicator's name (see docs/indicators.md).")
    label: str = Field(description="The indicator in plain words.")
    value: float | str | None = Field(description="The indicator's value for this deal.")
    weight: float = Field(
        description="Its contribution in log-odds: positive for the deal, negative against."
    )


class ModelRef(Out):
    id: int
    kind: Literal["gradient_boosting", "stage_win_rates"] = Field(
        description="`gradient_boosting`: learned from the team's closed deals; `stage_win_rates`: the "
        "fallback when history is too thin."
    )
    trained_at: UtcDateTime
    trained_as_of: UtcDateTime


class DealInsight(Out):
    """A deal's latest insight: the model's win probability beside the baselines and the deal's own
    probability (the user's or the CRM's, which the model never overwrites)."""

    opportunity_id: int
    scored_at: UtcDateTime
    model: ModelRef | None
    win_probability: float | None
    no_decision_probability: float | None = Field(description="Where the data keeps no decision apart.")
    stage_win_rate: float | None = Field(description="Baseline: historical win rate of deals in this stage.")
    crm_probability: float | None = Field(description="Baseline: the CRM's probability for this stage.")
    naive_bayes_probability: float | None = Field(description="Baseline: a naive Bayes frequency model.")
    manual_probability: float | None = Field(description="The deal's own probability (user or CRM).")
    health: DealHealth
    risks: list[Risk]
    factors_for: list[Factor]
    factors_against: list[Factor]
    indicators: dict[str, float | str | None] = Field(description="The leading indicators, by name.")
    trend: list[tuple[UtcDateTime, float | None]] = Field(
        description="(scored at, win probability) of each scoring run, oldest first."
    )


class DealRisks(Out):
    """An open deal and its risks at the latest scoring run."""

    opportunity_id: int
    name: str
    owner_id: int | None
    owner_name: str | None
    stage: str
    amount: Money | None
    currency: str
    win_probability: float | None
    health: DealHealth
    risks: list[Risk]


class DealRisksPage(Page[DealRisks]):
    pass


class WinModel(Out):
    """A version of the win model with its time-ordered evaluation against the baselines."""

    id: int
    kind: Literal["gradient_boosting", "stage_win_rates"]
    active: bool
    trained_at: UtcDateTime
    trained_as_of: UtcDateTime = Field(description="Learned from the deals closed by this instant.")
    outcomes: list[str]
    features: list[str]
    closed_deals: int
    snapshots: int
    note: str | None = Field(description="Why the fallback is used, or other caveats.")
    evaluation: dict[str, Any] | None = Field(description="Metrics per method and stage; see docs.")


class WinModels(Out):
    items: list[WinModel]
