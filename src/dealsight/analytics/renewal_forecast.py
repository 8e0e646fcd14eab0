"""Renewals in the forecast: the ARR each coming quarter's renewals will bring back, and their expansion,
as ranges (P10/P50/P90 and the expected value), and a backtest of those ranges on quarters already past.

Pure computation on frames. Decisions (docs/renewals.md, "Renewals in the forecast"):

- **Renewed ARR**: each renewal due in the quarter renews its ARR with its chance of renewal (the renewal
  model's, as of the day); the range is the forecast's own engine
  (:func:`~dealsight.analytics.forecast_simulation.period_ranges`: exact for few renewals, cumulants for
  many, one group per quarter) with the same common shock (``dispersion``) that makes deals of one period
  move together.
- **Expansion ARR**: learnt from the renewals decided before the day: the share of renewals whose next
  term was larger (:func:`expansion_terms`: the next subscription of the same account and product that
  starts within 31 days of the renewal) and their mean uplift as a share of the ARR. A renewal expands
  with chance (renewal chance x that share) by ARR x that uplift. With fewer than
  :data:`MIN_EXPANSION_HISTORY` decided renewals it is left out (None), never guessed.
- **Backtest** (:func:`backtest_quarters`): for each past quarter, the ranges made on its first day (the
  model learnt only from renewals decided before it) against the ARR actually renewed in it: the error of
  the P50 and whether the outcome fell between P10 and P90.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from dealsight.analytics.booked_value import quarter_of
from dealsight.analytics.forecast_simulation import Range, period_ranges
from dealsight.domain.customer_value import add_months

MIN_EXPANSION_HISTORY = 30
DISPERSION = 0.3
"""The common log-odds shock of one quarter's renewals (the forecast's prior for deals)."""
NEXT_TERM_DAYS = 31


@dataclass(frozen=True)
class Expansion:
    """How often a renewal grew, and by how much (a share of its ARR), in the renewals decided so far."""

    renewals: int
    rate: float
    uplift: float


@dataclass(frozen=True)
class QuarterRenewals:
    """One quarter's renewals as a range."""

    quarter: str
    start: date
    end: date
    renewals: int
    arr_due: float
    renewed_arr: Range
    churned_arr_expected: float
    expansion_arr: Range | None


def quarters_from(day: date, count: int) -> list[tuple[date, date]]:
    """``count`` calendar quarters from the one holding ``day``: (first day, last day)."""
    first, _ = quarter_of(day)
    return [quarter_of(add_months(first, 3 * k)) for k in range(count)]


def expansion_terms(subscriptions: pd.DataFrame, before: date) -> Expansion | None:
    """The expansion learnt from subscriptions renewed before ``before`` (see the module docstring)."""
    if not len(subscriptions):
        return None
    frame = subscriptions[["account_id", "arr", "term_start", "renewal_date"]].copy()
    frame["product"] = subscriptions.get("product", None)
    frame["term_start"] = pd.to_datetime(frame["term_start"])
    frame["renewal_date"] = pd.to_datetime(frame["renewal_date"])
    frame["product"] = frame["product"].fillna("")
    frame = frame.sort_values(["account_id", "product", "term_start"], kind="stable")
    following = frame.groupby(["account_id", "product"], sort=False).shift(-1)
    gap = (following["term_start"] - frame["renewal_date"]).dt.days
    renewed = gap.between(-NEXT_TERM_DAYS, NEXT_TERM_DAYS) & (following["term_start"] < pd.Timestamp(before))
    if int(renewed.sum()) < MIN_EXPANSION_HISTORY:
        return None
    before_arr, after_arr = (
        frame.loc[renewed, "arr"].to_numpy(float),
        following.loc[renewed, "arr"].to_numpy(float),
    )
    grew = after_arr > before_arr
    uplift = float(((after_arr[grew] - before_arr[grew]) / before_arr[grew]).mean()) if grew.any() else 0.0
    return Expansion(int(renewed.sum()), float(grew.mean()), uplift)


def quarter_ranges(
    renewals: pd.DataFrame,
    quarters: list[tuple[date, date]],
    expansion: Expansion | None,
    *,
    dispersion: float = DISPERSION,
    seed: int = 0,
) -> list[QuarterRenewals]:
    """Each quarter's renewed and expansion ARR as ranges, from ``renewals`` (``renewal_date``, ``arr``,
    ``probability``: the chance of renewal)."""
    due = pd.to_datetime(renewals["renewal_date"])
    group = np.full(len(renewals), -1)
    for k, (start, end) in enumerate(quarters):
        group[((due >= pd.Timestamp(start)) & (due <= pd.Timestamp(end))).to_numpy()] = k
    chosen = group >= 0
    p = renewals["probability"].to_numpy(float)[chosen]
    arr = renewals["arr"].to_numpy(float)[chosen]
    codes = group[chosen]
    n = len(quarters)
    renewed = period_ranges(p, arr, codes, n, dispersion=dispersion, seed=seed)
    grown = None
    if expansion is not None:
        grown = period_ranges(
            p * expansion.rate, arr * expansion.uplift, codes, n, dispersion=dispersion, seed=seed + 1
        )
    result = []
    for k, (start, end) in enumerate(quarters):
        mine = codes == k
        result.append(
            QuarterRenewals(
                quarter=f"{start.year}-Q{(start.month - 1) // 3 + 1}",
                start=start,
                end=end,
                renewals=int(mine.sum()),
                arr_due=float(arr[mine].sum()),
                renewed_arr=renewed.groups[k].amount,
                churned_arr_expected=float((arr[mine] * (1 - p[mine])).sum()),
                expansion_arr=None if grown is None else grown.groups[k].amount,
            )
        )
    return result


@dataclass(frozen=True)
class BacktestQuarter:
    quarter: str
    renewals: int
    renewed_arr: Range
    actual_renewed_arr: float
    error: float | None
    """(P50 - actual) / actual; None when nothing renewed"""
    covered: bool
    """the actual between P10 and P90"""


def backtest_row(forecast: QuarterRenewals, actual: float) -> BacktestQuarter:
    r = forecast.renewed_arr
    return BacktestQuarter(
        quarter=forecast.quarter,
        renewals=forecast.renewals,
        renewed_arr=r,
        actual_renewed_arr=actual,
        error=(r.p50 - actual) / actual if actual > 0 else None,
        covered=bool(r.p10 <= actual <= r.p90),
    )


def actual_renewed(events: pd.DataFrame, start: date, end: date) -> float:
    """ARR renewed by the renewals due in [start, end] (decided ones, from the events)."""
    due = pd.to_datetime(events["renewal_date"])
    inside = (due >= pd.Timestamp(start)) & (due <= pd.Timestamp(end)) & events["renewed"].eq(True)
    return float(events.loc[inside, "arr"].sum())


def past_quarters(first_day: date, last_day: date) -> list[tuple[date, date]]:
    """The whole calendar quarters starting on or after ``first_day`` and ending before ``last_day``."""
    start, _ = quarter_of(first_day)
    if start < first_day:
        start = add_months(start, 3)
    found: list[tuple[date, date]] = []
    while True:
        _, end = quarter_of(start)
        if end >= last_day:
            return found
        found.append((start, end))
        start = end + timedelta(days=1)


__all__ = [
    "DISPERSION",
    "MIN_EXPANSION_HISTORY",
    "BacktestQuarter",
    "Expansion",
    "QuarterRenewals",
    "actual_renewed",
    "backtest_row",
    "expansion_terms",
    "past_quarters",
    "quarter_ranges",
    "quarters_from",
]
