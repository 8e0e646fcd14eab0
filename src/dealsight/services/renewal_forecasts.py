"""Renewals in the forecast: the renewed and expansion ARR of the coming quarters as ranges for the
renewals a scope sees, and the backtest of those ranges on past quarters (the whole organisation).

The computation is :mod:`dealsight.analytics.renewal_forecast`; chances come from the renewal model
learnt from the renewals decided before the day (:func:`~dealsight.services.renewals.fit_renewal_model`),
and every figure of a past day is made with only what was known on it: the renewals due in a quarter are
those still undecided on its first day, their features read evidence dated before it, and the model and
the expansion learn only from renewals decided before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy.engine import Engine

from dealsight.analytics.renewal_features import RenewalEvidence, renewal_events, renewal_features
from dealsight.analytics.renewal_forecast import (
    BacktestQuarter,
    Expansion,
    QuarterRenewals,
    actual_renewed,
    backtest_row,
    expansion_terms,
    past_quarters,
    quarter_ranges,
    quarters_from,
)
from dealsight.analytics.renewal_risk import RenewalModel
from dealsight.domain.access import Scope
from dealsight.domain.clock import utc_now
from dealsight.errors import FieldProblem, InsufficientDataError, ValidationError
from dealsight.services.renewals import cached_renewal_model, fit_renewal_model, visible_accounts
from dealsight.store.renewal_frames import renewal_evidence

MAX_QUARTERS = 12


@dataclass(frozen=True)
class RenewalForecast:
    as_of: date
    quarters: tuple[QuarterRenewals, ...]
    expansion: Expansion | None
    """what expansion was learnt from (None: too few renewals decided, expansion left out)"""


@dataclass(frozen=True)
class RenewalBacktest:
    quarters: tuple[BacktestQuarter, ...]
    coverage: float | None
    """share of quarters whose renewed ARR fell between P10 and P90"""
    mean_absolute_error: float | None
    """mean |P50 - actual| / actual"""


def _undecided_on(events: pd.DataFrame, day: date) -> pd.DataFrame:
    """The renewals not yet decided on ``day`` (due on or after it; a customer's earlier notice counts)."""
    due = pd.to_datetime(events["renewal_date"]) >= pd.Timestamp(day)
    known = pd.to_datetime(events["decided_on"]) < pd.Timestamp(day)
    return events[due & ~(events["renewed"].eq(False) & known)]


def _ranges(
    evidence: RenewalEvidence,
    model: RenewalModel,
    at: date,
    quarters: list[tuple[date, date]],
    accounts: set[int] | None,
) -> tuple[list[QuarterRenewals], Expansion | None]:
    """The quarters' ranges for the renewals undecided at the start of day ``at``, scored by ``model``."""
    events = renewal_events(evidence.subscriptions, evidence.churn_events, at)
    upcoming = _undecided_on(events, at)
    if accounts is not None:
        upcoming = upcoming[upcoming["account_id"].isin(accounts)]
    upcoming = upcoming.reset_index(drop=True).assign(at=pd.Timestamp(at))
    X = renewal_features(upcoming, evidence)
    scored = upcoming.assign(probability=model.renewal_probability(X) if len(X) else [])
    expansion = expansion_terms(evidence.subscriptions, at)
    return quarter_ranges(scored, quarters, expansion), expansion


def renewal_forecast(
    engine: Engine, scope: Scope, *, as_of: date | None = None, quarters: int = 4
) -> RenewalForecast:
    """The renewed and expansion ARR of ``quarters`` quarters from the one holding ``as_of`` (today by
    default; the current quarter counts the renewals still due in it), for the accounts the scope sees."""
    today = utc_now().date()
    as_of = as_of or today
    if as_of > today or not 1 <= quarters <= MAX_QUARTERS:
        problems = [FieldProblem("as_of", f"must be on or before today ({today})")] if as_of > today else []
        if not 1 <= quarters <= MAX_QUARTERS:
            problems.append(FieldProblem("quarters", f"expected 1 to {MAX_QUARTERS}"))
        raise ValidationError("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    with engine.connect() as conn:
        evidence = renewal_evidence(conn)
        allowed = visible_accounts(conn, scope)
        events = renewal_events(evidence.subscriptions, evidence.churn_events, as_of)
        model = cached_renewal_model(engine, conn, events, evidence, as_of)  # the one the renewals list uses
    later = as_of + timedelta(days=1)  # the end of the day: whatever is dated on it is known
    found, expansion = _ranges(evidence, model, later, quarters_from(as_of, quarters), allowed)
    return RenewalForecast(as_of, tuple(found), expansion)


def renewal_backtest(
    engine: Engine, *, first: date | None = None, last: date | None = None
) -> RenewalBacktest:
    """Each whole quarter from ``first`` (default: a year after the first subscription started, so the
    model has renewals to learn from) to ``last`` (default today): its renewed ARR forecast on its first
    day against what renewed in it."""
    with engine.connect() as conn:
        evidence = renewal_evidence(conn)
    subscriptions = evidence.subscriptions
    if not len(subscriptions):
        raise InsufficientDataError("no subscription yet: import subscriptions (or run the demo) first")
    today = utc_now().date()
    first = first or min(pd.to_datetime(subscriptions["term_start"])).date() + timedelta(days=365)
    now = renewal_events(subscriptions, evidence.churn_events, today)
    rows = []
    for start, end in past_quarters(first, min(last or today, today)):
        model = fit_renewal_model(
            renewal_events(subscriptions, evidence.churn_events, start), evidence, start
        )
        forecast, _ = _ranges(evidence, model, start, [(start, end)], None)
        rows.append(backtest_row(forecast[0], actual_renewed(now, start, end)))
    errors = [abs(r.error) for r in rows if r.error is not None]
    return RenewalBacktest(
        quarters=tuple(rows),
        coverage=sum(r.covered for r in rows) / len(rows) if rows else None,
        mean_absolute_error=sum(errors) / len(errors) if errors else None,
    )


__all__ = ["RenewalBacktest", "RenewalForecast", "renewal_backtest", "renewal_forecast"]
