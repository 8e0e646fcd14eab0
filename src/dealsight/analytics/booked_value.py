"""Booked vs delivered: the ARR customers are booked for beside the value they confirmed receiving.

Pure computation on two frames (see :mod:`dealsight.store.customer_value`): subscriptions (``account_id``,
``arr``, ``currency``, ``term_start``, ``term_end``, ``auto_renew``, ``is_trial``, ``status``) and
confirmed values (``id``, ``account_id``, ``metric``, ``monetary_value``, ``currency``,
``confirmed_on``). Everything is as of a day, using only what was true on that day: a subscription counts
once it started, a value once it was confirmed, so the same numbers can be replayed for any past day.

Definitions (docs/customer-value.md, "Booked vs delivered"):

- **ARR booked** on a day: the ARR of the subscriptions *in force* that day: started on or before it, not
  a trial, and either without a term end and still active, or with a term end on or after the day, or
  active and renewing automatically past their term end. A churned subscription without a term end is
  not counted (when it ended is not known).
- **Value confirmed**: the monetary value of the outcomes confirmed in the 12 months up to the day (after
  the same day a year before, up to and including the day), and all time up to the day. An outcome is an
  account's metric (case and spacing ignored): confirmed again, its latest monetary value replaces the
  earlier one instead of adding to it (:func:`outcome_values`), so a value re-confirmed every quarter is
  counted once.
- **Ratio**: value confirmed in 12 months / ARR booked (``None`` without ARR): 2.0 means the customer
  confirmed twice what they pay a year.
- **Trend**: per calendar quarter up to the day's quarter, ARR booked at the quarter's end (or on the day,
  for the running quarter), value confirmed in the quarter and in the 12 months to its end, and the ratio.
- Amounts are added as they are: with several currencies the result lists them and converts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from dealsight.domain.customer_value import SubscriptionStatus, add_months

DEFAULT_QUARTERS = 8
BY_ACCOUNT_COLUMNS = (
    "account_id",
    "arr_booked",
    "value_12m",
    "value_all_time",
    "ratio_12m",
    "last_confirmed_on",
)


@dataclass(frozen=True)
class QuarterValue:
    """One quarter of the trend."""

    quarter: str
    """``2025-Q3``"""
    start: date
    end: date
    arr_booked: float
    value_confirmed: float
    value_12m: float
    ratio_12m: float | None


@dataclass(frozen=True)
class BookedValue:
    """Booked vs delivered for one account or a portfolio, as of a day."""

    as_of: date
    arr_booked: float
    value_12m: float
    value_all_time: float
    ratio_12m: float | None
    last_confirmed_on: date | None
    accounts_booked: int
    """Accounts with ARR booked on the day."""
    accounts_without_value: int
    """Of those, the ones with no value confirmed in the 12 months."""
    arr_without_value: float
    """Their ARR: booked revenue with no delivered value behind it."""
    currencies: tuple[str, ...]
    trend: tuple[QuarterValue, ...]


def _days(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column, errors="coerce")


def in_force(subscriptions: pd.DataFrame, day: date) -> pd.Series:
    """Which subscriptions are in force on ``day`` (see the module docstring)."""
    when = pd.Timestamp(day)
    start, end = _days(subscriptions["term_start"]), _days(subscriptions["term_end"])
    active = subscriptions["status"].astype(str) == SubscriptionStatus.ACTIVE.value
    renews = active & subscriptions["auto_renew"].fillna(False).astype(bool)
    running = (end.isna() & active) | (end >= when) | (end.notna() & renews)
    trial = subscriptions["is_trial"].fillna(False).astype(bool)
    return (start <= when) & ~trial & running


def outcome_values(values: pd.DataFrame, after: date | None, until: date) -> pd.DataFrame:
    """The value of each outcome confirmed after ``after`` (none: from the start) up to and including
    ``until``: per account and metric (case and spacing ignored), the latest confirmation that gave a
    monetary value. A re-confirmed outcome updates its value, it does not add to it."""
    if not len(values):
        return values.assign(outcome=pd.Series(dtype=str))
    day = _days(values["confirmed_on"])
    chosen = (day <= pd.Timestamp(until)) & values["monetary_value"].notna()
    if after is not None:
        chosen &= day > pd.Timestamp(after)
    picked = values[chosen]
    outcome = picked["metric"].astype(str).str.casefold().str.split().str.join(" ")
    picked = picked.assign(outcome=outcome.to_numpy(), day=day[chosen].to_numpy())
    latest = picked.sort_values(["day", "id"]).drop_duplicates(["account_id", "outcome"], keep="last")
    return latest.drop(columns="day")


def _total(values: pd.DataFrame) -> float:
    return float(values["monetary_value"].sum()) if len(values) else 0.0


def _by_account(values: pd.DataFrame) -> pd.Series:
    return values.groupby("account_id")["monetary_value"].sum() if len(values) else pd.Series(dtype=float)


def _ratio(value: float, arr: float) -> float | None:
    return value / arr if arr > 0 else None


def quarter_of(day: date) -> tuple[date, date]:
    """The first and last day of ``day``'s calendar quarter."""
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return first, add_months(first, 3) - timedelta(days=1)


def _arr(subscriptions: pd.DataFrame, day: date) -> pd.DataFrame:
    return subscriptions[in_force(subscriptions, day)] if len(subscriptions) else subscriptions


def by_account(subscriptions: pd.DataFrame, values: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """One row per account with a subscription or a value: :data:`BY_ACCOUNT_COLUMNS`, largest ARR first."""
    live = _arr(subscriptions, as_of)
    arr = live.groupby("account_id")["arr"].sum() if len(live) else pd.Series(dtype=float)
    last_year = _by_account(outcome_values(values, add_months(as_of, -12), as_of))
    total = _by_account(outcome_values(values, None, as_of))
    known = values[_days(values["confirmed_on"]) <= pd.Timestamp(as_of)] if len(values) else values
    latest = _days(known["confirmed_on"]).groupby(known["account_id"]).max() if len(known) else pd.Series()
    ids = sorted(set(subscriptions["account_id"]) | set(values["account_id"]))
    frame = pd.DataFrame({"account_id": ids})
    frame["arr_booked"] = frame["account_id"].map(arr).fillna(0.0).astype(float)
    frame["value_12m"] = frame["account_id"].map(last_year).fillna(0.0).astype(float)
    frame["value_all_time"] = frame["account_id"].map(total).fillna(0.0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = frame["value_12m"] / frame["arr_booked"]
    frame["ratio_12m"] = ratio.where(frame["arr_booked"] > 0)
    frame["last_confirmed_on"] = frame["account_id"].map(latest).dt.date if len(latest) else None
    return frame.sort_values(["arr_booked", "account_id"], ascending=[False, True]).reset_index(drop=True)


def _quarter(subscriptions: pd.DataFrame, values: pd.DataFrame, start: date, end: date) -> QuarterValue:
    live = _arr(subscriptions, end)
    arr = float(live["arr"].sum()) if len(live) else 0.0
    in_quarter = _total(outcome_values(values, start - timedelta(days=1), end))
    last_year = _total(outcome_values(values, add_months(end, -12), end))
    label = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return QuarterValue(label, start, end, arr, in_quarter, last_year, _ratio(last_year, arr))


def booked_vs_delivered(
    subscriptions: pd.DataFrame, values: pd.DataFrame, as_of: date, *, quarters: int = DEFAULT_QUARTERS
) -> BookedValue:
    """Booked vs delivered of the subscriptions and values given (one account's, or a portfolio's)."""
    accounts = by_account(subscriptions, values, as_of)
    booked = accounts[accounts["arr_booked"] > 0]
    without = booked[booked["value_12m"] <= 0]
    arr, value_12m = float(booked["arr_booked"].sum()), float(accounts["value_12m"].sum())
    dates = accounts["last_confirmed_on"].dropna()
    first, _ = quarter_of(as_of)
    trend = []
    for back in range(quarters - 1, -1, -1):
        start = add_months(first, -3 * back)
        _, end = quarter_of(start)
        trend.append(_quarter(subscriptions, values, start, min(end, as_of)))
    currencies = sorted({*subscriptions.get("currency", []), *values.get("currency", [])} - {None})
    return BookedValue(
        as_of=as_of,
        arr_booked=arr,
        value_12m=value_12m,
        value_all_time=float(accounts["value_all_time"].sum()),
        ratio_12m=_ratio(value_12m, arr),
        last_confirmed_on=max(dates) if len(dates) else None,
        accounts_booked=len(booked),
        accounts_without_value=len(without),
        arr_without_value=float(without["arr_booked"].sum()),
        currencies=tuple(str(c) for c in currencies),
        trend=tuple(trend),
    )


__all__ = [
    "BY_ACCOUNT_COLUMNS",
    "DEFAULT_QUARTERS",
    "BookedValue",
    "QuarterValue",
    "booked_vs_delivered",
    "by_account",
    "in_force",
    "outcome_values",
    "quarter_of",
]
