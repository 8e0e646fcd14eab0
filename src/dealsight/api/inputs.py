"""What the API accepts: request bodies and the query parameters of list routes.

These models check the *shape* of a request (known fields only: ``extra="forbid"``; JSON types; required
fields present) and hand the values to the services, which apply every rule of the domain (lengths,
amounts, stages, who may be owner, ...) and name the field of each problem. Nothing here repeats a rule
of a service:

- bodies of ``PATCH`` routes are read with ``exclude_unset``: a field left out is unchanged, a field sent
  as ``null`` is cleared (the service refuses to clear a required one);
- a few limits keep a request within what the store can take: ids and counts fit 32 bits, days lie
  between 0001-01-02 and 9999-12-30, text holds no NUL character, a list has at most :data:`MAX_LIST`
  items (PostgreSQL takes at most 65,535 parameters in a statement);
- ids, flags and texts are strict (``"5"`` is not an id, ``1`` not a flag); amounts accept a number or a
  decimal string; days are ``YYYY-MM-DD``; timestamps ISO 8601 (UTC unless they carry an offset);
- the paging bounds written into the OpenAPI document (``limit`` 1..500) are the services' own constants,
  checked by the services.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from dealsight.domain.enums import (
    ActivityType,
    BuyerPhase,
    DealRole,
    ForecastCategory,
    ImpactLevel,
    Influence,
    Outcome,
    Segment,
    Stance,
    UserRole,
)
from dealsight.services.opportunities import DEFAULT_SORT as DEAL_SORT
from dealsight.services.opportunities import DealStatus
from dealsight.services.records import DEFAULT_LIMIT, MAX_LIMIT

MAX_INT = 2**31 - 1
"""Ids and counts are stored as 32-bit integers: a larger number can name nothing and store nothing."""
MAX_LIST = 200
"""The most items of a list field (competitors, contacts of an activity) one request may set."""


def _storable(value: str) -> str:
    """Text the database can hold: no NUL character (PostgreSQL refuses it), no lone surrogate."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


Id = Annotated[StrictInt, Field(ge=1, le=MAX_INT)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_INT)]
Text = Annotated[StrictStr, AfterValidator(_storable)]
QueryText = Annotated[str, AfterValidator(_storable)]
QueryId = Annotated[int, Field(ge=1, le=MAX_INT)]
Day = Annotated[date, Field(ge=date(1, 1, 2), le=date(9999, 12, 30))]


def _in_range(moment: datetime) -> datetime:
    """A timestamp whose UTC time and next day can be computed (not at the ends of the calendar)."""
    if not date(1, 1, 2) <= moment.date() <= date(9999, 12, 30):
        raise ValueError("must be between 0001-01-02 and 9999-12-30")
    return moment


Moment = Annotated[datetime, AfterValidator(_in_range)]
Amount = Annotated[
    Decimal, Field(description="An amount: a number or a decimal string (`12500.00`), at most two decimals.")
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def given(self) -> dict[str, Any]:
        """The fields the client sent (``null`` included, left-out fields not)."""
        return self.model_dump(exclude_unset=True)


# opportunities ---------------------------------------------------------------------------------------------
class OpportunityUpdate(Body):
    """Fields of a deal to change; a field left out is unchanged, `null` clears it."""

    name: Text | None = None
    external_id: Text | None = None
    account_id: Id | None = None
    owner_id: Id | None = Field(None, description="A user inside the caller's view.")
    stage: Text | None = Field(None, description="A stage name of the sales process (any case).")
    amount: Amount | None = None
    currency: Text | None = Field(None, description="Three-letter currency code.")
    forecast_category: ForecastCategory | None = None
    probability: float | None = Field(None, description="The rep's own win probability, 0..1.")
    expected_close_date: Day | None = None
    created_date: Day | None = None
    closed_date: Day | None = Field(None, description="Only for a closed stage; defaults to today.")
    outcome: Outcome | None = Field(None, description="Follows the stage; `no_decision` for a lost stage.")
    loss_reason: Text | None = None
    competitors: Annotated[list[Text], Field(max_length=MAX_LIST)] | None = Field(
        None, description=f"Competitors' names (at most {MAX_LIST})."
    )
    product: Text | None = None
    source: Text | None = None
    business_problem: Text | None = None
    problem_impact: ImpactLevel | None = None
    executive_sponsor_id: Id | None = Field(None, description="A contact of the deal's account.")
    compelling_event: Text | None = None
    decision_criteria: Text | None = None
    buyer_phase: BuyerPhase | None = None
    engaged_before_preference: StrictBool | None = None
    preferred_competitor: Text | None = None
    unique_business_value: Text | None = None
    list_price: Amount | None = None
    discount: float | None = Field(None, description="A share: 0.15 is 15%.")
    margin: float | None = Field(None, description="A share, -1..1.")


class OpportunityCreate(OpportunityUpdate):
    """A new deal: `name`, `account_id` and `stage` are required; it belongs to the caller unless
    `owner_id` says otherwise, and is created today unless `created_date` says otherwise."""

    name: Text
    account_id: Id
    stage: Text = Field(description="A stage name of the sales process (any case).")


class QualificationAnswer(Body):
    answer: Literal["yes", "no", "unknown"] | None = Field(
        description="`yes`, `no` or `unknown`; `null` withdraws the answer."
    )
    note: Text | None = Field(None, description="Left out: the note is kept; empty text removes it.")


# accounts and contacts -------------------------------------------------------------------------------------
class AccountUpdate(Body):
    """Fields of an account to change; a field left out is unchanged, `null` clears it."""

    name: Text | None = None
    external_id: Text | None = None
    domain: Text | None = Field(None, description="Its web domain, e.g. `example.com`.")
    industry: Text | None = None
    segment: Segment | None = None
    country: Text | None = None
    employees: Count | None = None
    annual_revenue: Amount | None = None
    parent_id: Id | None = None
    owner_id: Id | None = None


class AccountCreate(AccountUpdate):
    """A new account (`name` required); owned by the caller unless `owner_id` says otherwise."""

    name: Text


class ContactUpdate(Body):
    account_id: Id | None = None
    name: Text | None = None
    external_id: Text | None = None
    email: Text | None = None
    title: Text | None = None
    deal_role: DealRole | None = None
    influence: Influence | None = None
    stance: Stance | None = None
    is_executive: StrictBool | None = None


class ContactCreate(ContactUpdate):
    """A new contact of an account the caller can see (`account_id` and `name` required)."""

    account_id: Id
    name: Text


# activities ------------------------------------------------------------------------------------------------
class ActivityUpdate(Body):
    type: ActivityType | None = None
    occurred_at: Moment | None = Field(None, description="ISO 8601; UTC unless it carries an offset.")
    opportunity_id: Id | None = None
    account_id: Id | None = Field(None, description="Left out with a deal given: the deal's account.")
    user_id: Id | None = Field(None, description="Who did it; the caller unless given.")
    subject: Text | None = None
    notes: Text | None = None
    contact_ids: Annotated[list[Id], Field(max_length=MAX_LIST)] | None = Field(
        None, description=f"Contacts who took part (at most {MAX_LIST})."
    )
    external_id: Text | None = None


class ActivityCreate(ActivityUpdate):
    """A new activity with a deal, an account or both (`type` and `occurred_at` required)."""

    type: ActivityType
    occurred_at: Moment = Field(description="ISO 8601; UTC unless it carries an offset.")


# people ----------------------------------------------------------------------------------------------------
class UserCreate(Body):
    name: Text
    email: Text
    role: UserRole = UserRole.REP
    password: Text | None = Field(None, description="At least 10 characters; left out: cannot sign in yet.")
    team_id: Id | None = None
    manager_id: Id | None = None


class UserUpdate(Body):
    name: Text | None = None
    email: Text | None = None
    role: UserRole | None = None
    team_id: Id | None = None
    manager_id: Id | None = None
    active: StrictBool | None = Field(None, description="False stops sign-in and the user's API tokens.")


class PasswordChange(Body):
    password: Text = Field(description="At least 10 characters.")


class TeamCreate(Body):
    name: Text
    parent_id: Id | None = None
    manager_id: Id | None = None


class TeamUpdate(Body):
    name: Text | None = None
    parent_id: Id | None = None
    manager_id: Id | None = None


class TokenCreate(Body):
    name: Text = Field(description="What the token is for, e.g. `nightly export`.")
    user_id: Id | None = Field(None, description="Admins only: issue the token for this user.")


# list queries ----------------------------------------------------------------------------------------------
def _sort(fields: str, default: str) -> Any:
    return Field(
        None,
        description=f"Sort by {fields}; `-field` for descending, several separated by commas "
        f"(`stage,-amount`). Default `{default}`; ties by id.",
    )


LIMIT = Field(
    DEFAULT_LIMIT,
    description=f"The most records on a page (1 to {MAX_LIMIT}).",
    json_schema_extra={"minimum": 1, "maximum": MAX_LIMIT},
)
OFFSET = Field(
    0, le=MAX_INT, description="How many matching records to skip.", json_schema_extra={"minimum": 0}
)


class Paging(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = LIMIT
    offset: int = OFFSET


class ListParams(Paging):
    sort: QueryText | None = None


class OpportunityParams(ListParams):
    sort: QueryText | None = _sort(
        "`name`, `account_name`, `owner_name`, `amount`, `stage` (the sales process order), "
        "`forecast_category`, `expected_close_date`, `created_date`, `closed_date`, `updated_at`, "
        "`days_in_stage`, `win_probability`, `risk_count` or `id`",
        DEAL_SORT,
    )
    status: DealStatus = Field(DealStatus.OPEN, description="Which deals: open by default, or `all`.")
    team: QueryId | None = Field(None, description="A team id; its sub-teams included.")
    owner_id: QueryId | None = None
    stage: QueryText | None = Field(None, description="A stage name (any case).")
    forecast_category: ForecastCategory | None = None
    close_from: Day | None = Field(None, description="Expected close on or after this day.")
    close_to: Day | None = Field(None, description="Expected close on or before this day.")
    account_id: QueryId | None = None
    q: QueryText | None = Field(None, description="Text in the deal's or its account's name (any case).")
    created_from: Day | None = None
    created_to: Day | None = None


class AccountParams(ListParams):
    sort: QueryText | None = _sort(
        "`name`, `industry`, `segment`, `country`, `employees`, `annual_revenue`, `owner_name` or `id`",
        "name",
    )
    q: QueryText | None = Field(None, description="Text in the name or web domain (any case).")
    industry: QueryText | None = Field(None, description="Any case.")
    segment: QueryText | None = Field(None, description="Any case.")
    country: QueryText | None = None
    owner_id: QueryId | None = None


class ContactParams(ListParams):
    sort: QueryText | None = _sort("`name`, `title`, `email`, `account_name` or `id`", "name")
    account_id: QueryId | None = None
    q: QueryText | None = Field(None, description="Text in the name, e-mail or title (any case).")
    is_executive: bool | None = None
    stance: Stance | None = None


class ActivityParams(ListParams):
    sort: QueryText | None = _sort("`occurred_at`, `type` or `subject`", "-occurred_at")
    opportunity_id: QueryId | None = None
    account_id: QueryId | None = None
    user_id: QueryId | None = None
    type: ActivityType | None = None
    occurred_from: Day | None = Field(None, description="On or after this day.")
    occurred_to: Day | None = Field(None, description="On or before this day.")


class AuditParams(Paging):
    entity: QueryText | None = Field(
        None, description="`opportunity`, `account`, `contact`, `activity`, `user`, ..."
    )
    entity_id: QueryId | None = None
    actor_id: QueryId | None = None
    since: Day | None = Field(None, description="On or after this day.")
    until: Day | None = Field(None, description="On or before this day.")


class UserParams(Paging):
    role: UserRole | None = None
    team_id: QueryId | None = None
    active: bool | None = None


class TokenParams(Paging):
    user_id: QueryId | None = Field(None, description="Admins only: another user's tokens.")


__all__ = [
    "AccountCreate",
    "AccountParams",
    "AccountUpdate",
    "ActivityCreate",
    "ActivityParams",
    "ActivityUpdate",
    "AuditParams",
    "ContactCreate",
    "ContactParams",
    "ContactUpdate",
    "OpportunityCreate",
    "OpportunityParams",
    "OpportunityUpdate",
    "Paging",
    "PasswordChange",
    "QualificationAnswer",
    "TeamCreate",
    "TeamUpdate",
    "TokenCreate",
    "TokenParams",
    "UserCreate",
    "UserParams",
    "UserUpdate",
]


class RiskParams(Paging):
    owner_id: QueryId | None = None
    severity: Literal["high", "medium", "low"] | None = Field(
        None, description="At least this severe: `high` only high risks, `medium` high and medium."
    )
    health: Literal["good", "watch", "at_risk"] | None = None
