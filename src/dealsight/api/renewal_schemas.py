"""What ``/renewals`` answers: the upcoming renewals of :mod:`dealsight.services.renewals` as response
models, field for field (``render(Model, page)`` reads them by attribute). Money is a decimal string with
two decimals; chances are shares of 1 (0.72 is 72%)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from dealsight.api.analytics_schemas import Money, Share
from dealsight.api.schemas import Out

Group = Literal["value", "riq", "sponsor", "usage", "support"]


class RenewalReason(Out):
    """Why a renewal is at risk (or what speaks for it), in plain words, with what usually helps."""

    group: Group = Field(
        description="The kind of evidence, in the order of weight: value, riq, sponsor, usage, support."
    )
    severity: Literal["high", "medium", "low"]
    reason: str
    next_action: str


class RenewalRisk(Out):
    """One upcoming renewal of a subscription."""

    subscription_id: int
    account_id: int
    account_name: str
    owner_id: int | None = Field(description="The account's owner.")
    owner_name: str | None
    product: str | None
    renewal_date: date
    days_to_renewal: int
    arr: Money
    currency: str
    renewal_probability: Share = Field(description="The calibrated chance that the subscription renews.")
    arr_at_risk: Money = Field(description="ARR x (1 - renewal_probability).")
    reasons: list[RenewalReason] = Field(description="What puts the renewal at risk, strongest kind first.")
    strengths: list[RenewalReason] = Field(description="What speaks for the renewal.")
    signals: dict[str, float | None] = Field(
        description="The features as of the day (null: unknown, e.g. no value ever confirmed); "
        "docs/renewals.md lists them."
    )


class RenewalModelInfo(Out):
    method: Literal["learned", "scorecard"] = Field(
        description="`learned`: calibrated gradient boosting from the renewals decided before the day; "
        "`scorecard`: hand-set weights, when too few renewals were decided."
    )
    note: str
    decided_renewals: int = Field(description="Renewals decided before the day (what the model learnt from).")
    renewal_rate: Share | None = Field(description="The share of them that renewed.")


class RenewalPage(Out):
    """A page of the upcoming renewals the caller sees, with the totals of all that match."""

    items: list[RenewalRisk]
    total: int = Field(description="How many renewals match the filters in all.")
    limit: int
    offset: int
    as_of: date
    within_days: int
    arr: Money = Field(description="ARR of every matching renewal.")
    arr_at_risk: Money = Field(description="ARR at risk of every matching renewal.")
    model: RenewalModelInfo


__all__ = ["RenewalModelInfo", "RenewalPage", "RenewalReason", "RenewalRisk"]
