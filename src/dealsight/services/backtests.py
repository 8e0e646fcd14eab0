"""Backtests of the forecast on the team's own history: run one and store it (``dealsight backtest``),
read the newest (``/api/v1/backtest``, the forecast page).

Decisions: the command line runs company-wide and stores every run (table ``backtest_runs``); the newest
run is what the page shows and where :func:`dealsight.services.forecasts.forecast_period` takes its
dispersion from. Its metrics (percentages) are shown to every role; its rows (company-wide won figures per
date) only to callers with full sight (executives, admins). Default dates: the 26 weeks ending
``horizon_days`` before the last day the data knows of, so every horizon has ended (any imported
organisation, whatever its dates).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from dealsight.analytics.backtest import DEFAULT_METHODS, BacktestResult, backtest
from dealsight.analytics.deal_data import DealData
from dealsight.domain.access import Scope
from dealsight.domain.clock import utc_now
from dealsight.errors import InsufficientDataError, NotFoundError
from dealsight.services.forecasts import check_method
from dealsight.store.backtest_runs import BacktestRun, latest_backtest_run, save_backtest_run
from dealsight.store.deal_frames import load_deal_data

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BacktestReport:
    """A stored backtest run: its parameters, metrics per method and measure (percent), and rows per date
    (``None`` for a caller without full sight: they are company-wide figures)."""

    id: int
    made_at: datetime
    params: dict[str, Any]
    start: str
    end: str
    every_days: int
    horizon_days: int
    dates: int
    results: dict[str, Any]
    skipped: dict[str, str]
    notes: list[str]
    rows: list[dict[str, Any]] | None


def _last_day(data: DealData) -> date:
    """The last day the data knows of (a close, a creation or a change)."""
    days = [
        pd.to_datetime(data.opportunities[c], errors="coerce").max() for c in ("created_date", "closed_date")
    ]
    days.append(pd.to_datetime(data.history["changed_at"], errors="coerce").max())
    known = [d for d in days if pd.notna(d)]
    if not known:
        raise InsufficientDataError("No deal has a date: there is no history to replay.")
    return max(known).date()


def run_backtest(
    engine: Engine,
    *,
    start: date | None = None,
    end: date | None = None,
    every_days: int = 7,
    horizon_days: int = 28,
    methods: Sequence[str] = DEFAULT_METHODS,
    store: bool = True,
    progress: Progress | None = None,
) -> tuple[BacktestResult, int | None]:
    """Replay history (:func:`~dealsight.analytics.backtest.backtest`): by default the 26 weekly dates
    ending ``horizon_days`` before the last day the data knows of (so every horizon has ended); stores
    the run when ``store``; returns the result and the stored run's id."""
    say = progress or (lambda _step: None)
    for method in methods:
        check_method(method)
    with engine.connect() as conn:
        say("loading deals")
        data = load_deal_data(conn)
    if not len(data.opportunities):
        raise InsufficientDataError("No deals: import an organisation first.")
    last = end or (_last_day(data) - timedelta(days=horizon_days))
    first = start or (last - timedelta(weeks=26))
    say(f"replaying {first.isoformat()} to {last.isoformat()} ({', '.join(methods)})")
    result = backtest(
        data,
        start=pd.Timestamp(first),
        end=pd.Timestamp(last),
        every_days=every_days,
        horizon_days=horizon_days,
        methods=methods,
    )
    if result.rows.empty:
        raise InsufficientDataError("The backtest scored no date: the history is too thin for it.")
    run_id = None
    if store:
        say("storing the run")
        params = {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "every_days": every_days,
            "horizon_days": horizon_days,
            "methods": list(methods),
        }
        with engine.begin() as conn:
            run_id = save_backtest_run(conn, made_at=utc_now(), params=params, result=result.to_json())
    return result, run_id


def latest_backtest(engine: Engine, scope: Scope) -> BacktestReport:
    """The newest stored backtest; rows per date only with full sight. :class:`NotFoundError` when none."""
    with engine.connect() as conn:
        run: BacktestRun | None = latest_backtest_run(conn)
    if run is None:
        raise NotFoundError("No backtest has been run yet: run `dealsight backtest` first.")
    result = run.result
    return BacktestReport(
        id=run.id,
        made_at=run.made_at,
        params=run.params,
        start=str(result.get("start")),
        end=str(result.get("end")),
        every_days=int(result.get("every_days", 0)),
        horizon_days=int(result.get("horizon_days", 0)),
        dates=int(result.get("dates", 0)),
        results=result.get("results", {}),
        skipped=result.get("skipped", {}),
        notes=list(result.get("notes", [])),
        rows=list(result.get("rows", [])) if scope.owner_ids is None else None,
    )


__all__ = ["BacktestReport", "latest_backtest", "run_backtest"]
