"""What the customer value routes accept and answer (subscriptions, churn events, value evidence, RIQ
answers, booked vs delivered), in the conventions of :mod:`dealsight.api.schemas` (money as a decimal
string, days ``YYYY-MM-DD``, timestamps UTC) and :mod:`dealsight.api.inputs` (known fields only, strict
ids and flags; the services apply every rule and name the field of each problem)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from dealsight.api import analytics_schemas
from dealsight.api.inputs import Amount, Body, Count, Day, Id, ListParams, QueryText, Text
from dealsight.api.schemas import Money, Out, Page, UtcDateTime
from dealsight.domain.customer_value import (
    BillingFrequency,
    ChurnReason,
    ContactLevel,
    RecoveryEffort,
    RiqImpact,
    SubscriptionStatus,
)

Measure = Annotated[float, Field(description="A metric's value (a number).", ge=-1e15, le=1e15)]
FloatMoney = analytics_schemas.Money
CURRENCY = "Three-letter currency code (`USD` unless given)."


# subscriptions ---------------------------------------------------------------------------------------------
class Subscription(Out):
    """A contract of an account: what it buys, for how much, for which term, and when it renews."""

    id: int
    external_id: str | None = Field(description="The subscription's id in the system it came from.")
    account_id: int
    account_name: str
    product: str | None
    plan: str | None
    seats: int | None
    arr: Money = Field(description="Annual recurring revenue.")
    mrr: Money = Field(description="Monthly recurring revenue (ARR / 12).")
    currency: str
    term_start: date
    term_end: date | None = Field(description="The end of the current term, when known.")
    billing_frequency: BillingFrequency
    auto_renew: bool | None
    renewal_date: date = Field(
        description="The end of the current term: as given, else the term end, else start + a billing term."
    )
    next_renewal_date: date = Field(
        description="The first renewal on or after today (an active, auto-renewing subscription whose "
        "renewal date passed renews for whole billing terms)."
    )
    is_trial: bool
    status: SubscriptionStatus
    upgraded: bool | None = Field(description="The plan or seats went up during the term.")
    downgraded: bool | None = Field(description="The plan or seats went down during the term.")
    plan_changed_on: date | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class SubscriptionPage(Page[Subscription]):
    pass


class SubscriptionUpdate(Body):
    """Fields of a subscription to change; a field left out is unchanged. Sending ARR alone re-derives MRR
    (and the other way round); changing the term or billing frequency without a `renewal_date`
    re-derives the renewal date."""

    external_id: Text | None = None
    product: Text | None = None
    plan: Text | None = None
    seats: Count | None = None
    arr: Amount | None = Field(None, description="0 or more.")
    mrr: Amount | None = Field(None, description="0 or more.")
    currency: Text | None = Field(None, description=CURRENCY)
    term_start: Day | None = None
    term_end: Day | None = Field(None, description="On or after `term_start`.")
    billing_frequency: BillingFrequency | None = None
    auto_renew: StrictBool | None = None
    renewal_date: Day | None = None
    is_trial: StrictBool | None = None
    status: SubscriptionStatus | None = None
    upgraded: StrictBool | None = None
    downgraded: StrictBool | None = None
    plan_changed_on: Day | None = None


class SubscriptionCreate(SubscriptionUpdate):
    """A new subscription: `term_start`, and `arr` or `mrr` (the other is derived); billed annually,
    active, in USD unless given."""

    term_start: Day


class SubscriptionParams(ListParams):
    sort: QueryText | None = Field(
        None,
        description="Sort by `term_start`, `renewal_date`, `arr`, `account_name` or `id`; `-field` for "
        "descending. Default `-term_start`; ties by id.",
    )
    status: SubscriptionStatus | None = None


class AllSubscriptionParams(SubscriptionParams):
    account_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(None, description="One account's.")


# churn events ----------------------------------------------------------------------------------------------
class ChurnEvent(Out):
    """A customer leaving: when, why, what they said, any refund."""

    id: int
    external_id: str | None
    account_id: int
    subscription_id: int | None
    churned_on: date
    reason: ChurnReason
    feedback: str | None
    refund_amount: Money | None
    currency: str
    was_reactivated: bool | None = Field(description="The account had come back after an earlier churn.")
    created_at: UtcDateTime


class ChurnEventPage(Page[ChurnEvent]):
    pass


class ChurnEventCreate(Body):
    churned_on: Day
    reason: ChurnReason = ChurnReason.UNKNOWN
    subscription_id: Id | None = Field(None, description="A subscription of the account.")
    feedback: Text | None = None
    refund_amount: Amount | None = Field(None, description="0 or more.")
    currency: Text | None = Field(None, description=CURRENCY)
    was_reactivated: StrictBool | None = None
    external_id: Text | None = None


# value evidence --------------------------------------------------------------------------------------------
class ValueEvidence(Out):
    """An outcome the customer confirmed: a metric moved from a baseline to an achieved value, worth a
    monetary value to them, confirmed by someone at the customer on a day."""

    id: int
    external_id: str | None
    account_id: int
    subscription_id: int | None
    metric: str
    unit: str | None
    baseline: float | None
    achieved: float | None
    monetary_value: Money | None
    currency: str
    confirmed_by_id: int | None = Field(description="The contact who confirmed it.")
    confirmed_by_name: str | None
    confirmer_title: str | None
    confirmer_level: ContactLevel | None
    confirmed_by_executive: bool
    confirmed_on: date
    note: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ValueEvidencePage(Page[ValueEvidence]):
    pass


class ValueEvidenceUpdate(Body):
    """Fields of a confirmed value to change; `null` clears an optional one."""

    metric: Text | None = None
    unit: Text | None = None
    baseline: Measure | None = None
    achieved: Measure | None = None
    monetary_value: Amount | None = Field(None, description="0 or more.")
    currency: Text | None = Field(None, description=CURRENCY)
    confirmed_by_id: Id | None = Field(None, description="A contact of the account.")
    confirmer_title: Text | None = Field(None, description="Defaults to the contact's title.")
    confirmer_level: ContactLevel | None = Field(None, description="Executive when the contact is one.")
    confirmed_on: Day | None = Field(None, description="Not after today.")
    subscription_id: Id | None = Field(None, description="A subscription of the account.")
    note: Text | None = None
    external_id: Text | None = None


class ValueEvidenceCreate(ValueEvidenceUpdate):
    """A confirmed value: `metric` required; confirmed today unless `confirmed_on` says otherwise."""

    metric: Text


# RIQ answers -----------------------------------------------------------------------------------------------
class RiqAnswer(Out):
    """An answer to "If we turned this service off right now, what impact would it have on your business,
    and how would you recover?"."""

    id: int
    external_id: str | None
    account_id: int
    impact: RiqImpact
    recovery: RecoveryEffort | None
    answer: str | None = Field(description="The answer in the customer's words.")
    answered_by_id: int | None = Field(description="The contact who answered.")
    answered_by_name: str | None
    answered_by_executive: bool | None
    answered_on: date
    asked_by_id: int | None = Field(description="The user who asked.")
    asked_by_name: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class RiqAnswerPage(Page[RiqAnswer]):
    pass


class RiqAnswerUpdate(Body):
    impact: RiqImpact | None = None
    recovery: RecoveryEffort | None = None
    answer: Text | None = None
    answered_by_id: Id | None = Field(None, description="A contact of the account.")
    answered_on: Day | None = Field(None, description="Not after today.")
    asked_by_id: Id | None = Field(None, description="A user.")
    external_id: Text | None = None


class RiqAnswerCreate(RiqAnswerUpdate):
    """An answer: `impact` required; answered today and asked by the caller unless given."""

    impact: RiqImpact


# booked vs delivered ---------------------------------------------------------------------------------------
class QuarterValue(Out):
    quarter: str = Field(description="`2025-Q3`.")
    start: date
    end: date = Field(description="The quarter's last day, or `as_of` for the running quarter.")
    arr_booked: FloatMoney = Field(description="ARR in force on `end`.")
    value_confirmed: FloatMoney = Field(description="Value confirmed in the quarter.")
    value_12m: FloatMoney = Field(description="Value confirmed in the 12 months up to `end`.")
    ratio_12m: float | None = Field(description="`value_12m` / `arr_booked`; null without ARR.")


class BookedValue(Out):
    """The ARR booked beside the value confirmed, as of a day (docs/customer-value.md)."""

    as_of: date
    arr_booked: FloatMoney = Field(description="ARR of the subscriptions in force on `as_of` (no trials).")
    value_12m: FloatMoney = Field(description="Value confirmed in the 12 months up to `as_of`.")
    value_all_time: FloatMoney
    ratio_12m: float | None = Field(description="`value_12m` / `arr_booked`: 2.0 is twice the annual price.")
    last_confirmed_on: date | None
    accounts_booked: int = Field(description="Accounts with ARR booked.")
    accounts_without_value: int = Field(
        description="Of those, the ones with no value confirmed in 12 months."
    )
    arr_without_value: FloatMoney = Field(description="Their ARR.")
    currencies: list[str] = Field(description="Currencies added together (never converted).")
    trend: list[QuarterValue]


class AccountValue(Out):
    account_id: int
    account_name: str
    arr_booked: FloatMoney
    value_12m: FloatMoney
    value_all_time: FloatMoney
    ratio_12m: float | None
    last_confirmed_on: date | None


class PortfolioValue(Out):
    """Booked vs delivered of the accounts the caller sees; `accounts` lists those with the least value
    behind their ARR first (none in 12 months, by ARR; then by ratio)."""

    summary: BookedValue
    accounts: list[AccountValue]
    accounts_total: int = Field(description="Accounts with ARR booked.")


class BookedValueParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: Annotated[date, Field(ge=date(1900, 1, 1), le=date(9999, 12, 30))] | None = Field(
        None, description="As of the end of this day (default today)."
    )
    quarters: int = Field(8, ge=1, le=40, description="Quarters of trend, up to the one of `as_of`.")


class PortfolioParams(BookedValueParams):
    limit: int = Field(20, ge=1, le=500, description="The most accounts listed.")


__all__ = [
    "AccountValue",
    "AllSubscriptionParams",
    "BookedValue",
    "BookedValueParams",
    "ChurnEvent",
    "ChurnEventCreate",
    "ChurnEventPage",
    "PortfolioParams",
    "PortfolioValue",
    "RiqAnswer",
    "RiqAnswerCreate",
    "RiqAnswerPage",
    "RiqAnswerUpdate",
    "Subscription",
    "SubscriptionCreate",
    "SubscriptionPage",
    "SubscriptionParams",
    "SubscriptionUpdate",
    "ValueEvidence",
    "ValueEvidenceCreate",
    "ValueEvidencePage",
    "ValueEvidenceUpdate",
]
