"""Customer value: subscriptions and their renewals, churn, the delivered value ledger and the RIQ.

Standard library only. The glossary (DESIGN.md): subscription revenue is *booked* once and collected over
years; a renewal is at risk when value is not *delivered*, whatever was booked. Delivered value is what the
customer confirms (a metric moved from a baseline to an achieved value, worth a monetary value, confirmed
by someone at the customer on a day); the **RIQ** (really important question) asks "If we turned this
service off right now, what impact would it have on your business, and how would you recover?".

Renewal dates (docs/customer-value.md, "Renewal date"):

- a subscription's **renewal date** is the day its current term ends: the ``renewal_date`` given, else the
  ``term_end`` given, else ``term_start`` plus one billing term (a month, a quarter, half a year or a year,
  :data:`TERM_MONTHS`); a month-end start keeps to month ends (31 January + 1 month = 28/29 February);
- as of a day, an active subscription that renews automatically and whose renewal date has passed renews
  for whole terms: :func:`next_renewal` rolls the date forward to the first one on or after that day. A
  churned subscription, or one that does not renew automatically, keeps its renewal date.
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")


class BillingFrequency(StrEnum):
    """How often a subscription is billed; one billing term is also the default contract term."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"


TERM_MONTHS: dict[BillingFrequency, int] = {
    BillingFrequency.MONTHLY: 1,
    BillingFrequency.QUARTERLY: 3,
    BillingFrequency.SEMIANNUAL: 6,
    BillingFrequency.ANNUAL: 12,
}


class SubscriptionStatus(StrEnum):
    """Whether a subscription still runs (``active``) or ended without renewal (``churned``)."""

    ACTIVE = "active"
    CHURNED = "churned"


class ChurnReason(StrEnum):
    """Why a customer left, in the words most churn surveys use."""

    PRICING = "pricing"
    BUDGET = "budget"
    FEATURES = "features"
    SUPPORT = "support"
    COMPETITOR = "competitor"
    NO_VALUE = "no_value"
    BUSINESS_CHANGE = "business_change"
    OTHER = "other"
    UNKNOWN = "unknown"


class RiqImpact(StrEnum):
    """The RIQ's first half: the impact on the customer's business if the service were turned off now."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class RecoveryEffort(StrEnum):
    """The RIQ's second half: how long the customer would need to recover (``cannot``: they could not)."""

    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"
    CANNOT = "cannot"


class ContactLevel(StrEnum):
    """The seniority of the person at the customer who confirmed a value (an executive's word counts most)."""

    EXECUTIVE = "executive"
    MANAGER = "manager"
    STAFF = "staff"


class TicketPriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months; a day past the target month's end is its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def term_months(frequency: BillingFrequency) -> int:
    return TERM_MONTHS[BillingFrequency(frequency)]


def renewal_date_of(
    term_start: date,
    frequency: BillingFrequency,
    *,
    term_end: date | None = None,
    renewal_date: date | None = None,
) -> date:
    """The renewal date of a subscription: the one given, else its term end, else start + one term."""
    if renewal_date is not None:
        return renewal_date
    if term_end is not None:
        return term_end
    return add_months(term_start, term_months(frequency))


def next_renewal(
    renewal_date: date,
    frequency: BillingFrequency,
    as_of: date,
    *,
    auto_renew: bool | None,
    status: SubscriptionStatus,
) -> date:
    """The first renewal on or after ``as_of``: an active, automatically renewing subscription whose
    renewal date has passed renews for whole billing terms (counted from the renewal date, so a month end
    stays a month end); any other keeps ``renewal_date``."""
    if renewal_date >= as_of or SubscriptionStatus(status) is not SubscriptionStatus.ACTIVE or not auto_renew:
        return renewal_date
    step = term_months(frequency)
    elapsed = (as_of.year - renewal_date.year) * 12 + as_of.month - renewal_date.month
    terms = max(elapsed // step, 1)
    candidate = add_months(renewal_date, terms * step)
    while candidate < as_of:
        terms += 1
        candidate = add_months(renewal_date, terms * step)
    return candidate


def arr_and_mrr(arr: Decimal | None, mrr: Decimal | None) -> tuple[Decimal, Decimal] | None:
    """Annual and monthly recurring revenue, the missing one derived from the other (ARR = 12 x MRR, MRR
    rounded to the cent); ``None`` when neither is given."""
    if arr is None and mrr is None:
        return None
    if arr is None:
        assert mrr is not None
        return mrr * 12, mrr
    if mrr is None:
        return arr, (arr / 12).quantize(CENT, rounding=ROUND_HALF_UP)
    return arr, mrr


__all__ = [
    "TERM_MONTHS",
    "BillingFrequency",
    "ChurnReason",
    "ContactLevel",
    "RecoveryEffort",
    "RiqImpact",
    "SubscriptionStatus",
    "TicketPriority",
    "add_months",
    "arr_and_mrr",
    "next_renewal",
    "renewal_date_of",
    "term_months",
]
