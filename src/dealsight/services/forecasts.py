"""Period forecasts: the use case behind ``dealsight forecast``, ``/api/v1/forecast`` and the forecast page,
and the one place to import the forecast services from (it re-exports the fan chart's series and the
movement report).

The work is split by what it is about: :mod:`~dealsight.services.forecast_state` (periods, checks, the
organisation, the deals and their state at an as-of day), :mod:`~dealsight.services.forecast_groups` (each
group's figures), :mod:`~dealsight.services.forecast_series` (stored snapshots: writing them, the earlier
forecasts, the fan chart's series) and :mod:`~dealsight.services.forecast_movement` (the waterfall).

A **period forecast** (:func:`forecast_period`) is, for the month or quarter containing ``as_of``, per
company, team (sub-teams rolled up) and rep: the amount and count already won in the period, plus the
range of what the deals open at ``as_of`` and the deals not yet created will win by the period end
(:func:`~dealsight.analytics.backtest.horizon_forecast` with the horizon set to the days left, then
:func:`~dealsight.analytics.forecast_simulation.period_ranges` with the new deals of
:func:`~dealsight.analytics.new_deals.new_deals_from_history`); beside it the CRM's stage-weighted
pipeline, the commit and best-case roll-ups and the model's own forecast a week, a month and a quarter
earlier (stored snapshots).

Decisions:

- **Company-wide computation, scoped views.** The forecast is always computed for the whole organisation
  (the model learns from every closed deal, the range's shock is shared by all); the caller's
  :class:`~dealsight.domain.access.Scope` only filters what is shown: reps in the scope, teams whose every
  member is in it, the company row only with full sight. A restricted view gets a ``total`` of its own
  deals instead (never stored). So stored snapshots are always company-wide and the same for everyone.
- **Stored when made, by the command line.** ``dealsight forecast`` stores every group's snapshot
  (``store=True``); reads through the API and pages never write (a GET is safe). ``--backfill`` replays
  the weeks of the period so far, so the fan chart has a history from the first run.
- **Figures for the period include what is already won**: the range, the stage-weighted figure
  (won so far + sum of the CRM stage probability x amount of open deals whose expected close falls in the
  period), commit (won so far + commit deals in the period) and best case (commit + best-case deals) are
  comparable; commit and best case are ``None`` when the data records no forecast category.
- **Dispersion** (the sd of the common shock that makes ranges honest) comes from the newest stored
  backtest: the last date's calibrated dispersion of the method for won amount; without a stored
  backtest (or one without this method), :data:`~dealsight.analytics.backtest.PRIOR_DISPERSION`. The
  backtest's horizon (28 days by default) is not the period's: the note says which was used.
- **Quotas** of exactly the period (:func:`~dealsight.store.quotas.quotas_for_period`); the company's is
  the sum of the top-level teams' quotas when each has one. The chance to reach a quota counts what is
  already won.
- **Too little history** (no deal won before ``as_of``) is :class:`InsufficientDataError`; an ``as_of``
  after today is a :class:`ValidationError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy.engine import Engine

from dealsight.domain.access import Scope
from dealsight.domain.clock import utc_now
from dealsight.errors import InsufficientDataError
from dealsight.services.forecast_groups import (
    EarlierForecast,
    Figures,
    GroupForecast,
    PeriodForecast,
    all_groups,
    dispersion_of,
    group_figures,
    group_forecast,
    visible_teams,
)
from dealsight.services.forecast_movement import MovementReport, forecast_movement_report
from dealsight.services.forecast_series import (
    EARLIER,
    SnapshotSeries,
    earlier_forecasts,
    forecast_snapshots,
    snapshot_of,
)
from dealsight.services.forecast_state import (
    PERIODS,
    Period,
    as_of_day,
    check_method,
    instant,
    load_deals,
    period_bounds,
)
from dealsight.store.forecast_snapshots import save_forecast_snapshots

Progress = Callable[[str], None]


def forecast_period(
    engine: Engine,
    scope: Scope,
    *,
    period: str = "quarter",
    as_of: date | None = None,
    method: str = "model",
    store: bool = True,
    progress: Progress | None = None,
) -> PeriodForecast:
    """The forecast of the period containing ``as_of`` (default today) for the caller's view; stores the
    company-wide snapshots when ``store`` (module docstring)."""
    check_method(method)
    day = as_of_day(as_of)
    bounds = period_bounds(day, period)
    say = progress or (lambda _step: None)
    with engine.connect() as conn:
        say("loading deals")
        data = load_deals(conn, day)
        dispersion, source = dispersion_of(conn, method)
        say(f"forecasting with {method}")
        groups = all_groups(conn, data, day, period, method, dispersion)
    company, teams, reps, state, org = groups.company, groups.teams, groups.reps, groups.state, groups.org
    stored = 0
    if store:
        made_at = utc_now()
        at = instant(day).to_pydatetime()
        snapshots = [
            snapshot_of(g, made_at=made_at, as_of=at, bounds=bounds, method=method)
            for g in [company, *teams, *reps]
        ]
        with engine.begin() as conn:
            stored = save_forecast_snapshots(conn, snapshots)
    notes = [f"dispersion {dispersion:.2f}: {source}"]
    with engine.connect() as conn:
        if scope.owner_ids is None:
            total = company
        else:
            ranges, side = group_figures(
                state, data, set(scope.owner_ids), period_end=bounds[1], dispersion=dispersion, quota=None
            )
            total = group_forecast("view", "Your view", ranges, side, None)
        teams = visible_teams(teams, org, scope)
        reps = [r for r in reps if scope.covers(r.user_id)]
        with_earlier = []
        for group in [total, *teams, *reps]:
            earlier = earlier_forecasts(conn, group, day, bounds, method) if group.level != "view" else {}
            with_earlier.append(replace(group, earlier=earlier))
    total, teams, reps = with_earlier[0], with_earlier[1 : 1 + len(teams)], with_earlier[1 + len(teams) :]
    if not state.has_categories:
        notes.append("the data records no forecast categories: no commit or best case")
    return PeriodForecast(
        as_of=day,
        period=period,
        period_start=bounds[0],
        period_end=bounds[1],
        days_left=(bounds[1] - day).days,
        method=method,
        dispersion=dispersion,
        dispersion_source=source,
        total=total,
        teams=teams,
        reps=reps,
        notes=notes,
        stored=stored,
    )


def backfill_snapshots(
    engine: Engine,
    *,
    period: str = "quarter",
    as_of: date | None = None,
    method: str = "model",
    every_days: int = 7,
    progress: Progress | None = None,
) -> int:
    """Store the company-wide forecasts of the period containing ``as_of`` as of its first day and every
    ``every_days`` after it up to ``as_of`` (each with only what was known then); returns the snapshots
    stored."""
    check_method(method)
    day = as_of_day(as_of)
    start, _end = period_bounds(day, period)
    days = [start + timedelta(days=k) for k in range(0, (day - start).days + 1, every_days)]
    if days and days[-1] != day:
        days.append(day)
    stored = 0
    for number, past in enumerate(days, 1):
        if progress:
            progress(f"as of {past.isoformat()} ({number} of {len(days)})")
        try:
            stored += forecast_period(
                engine, Scope(None, False), period=period, as_of=past, method=method, store=True
            ).stored
        except InsufficientDataError:
            continue
    return stored


__all__ = [
    "EARLIER",
    "PERIODS",
    "EarlierForecast",
    "Figures",
    "GroupForecast",
    "MovementReport",
    "Period",
    "PeriodForecast",
    "SnapshotSeries",
    "backfill_snapshots",
    "check_method",
    "forecast_movement_report",
    "forecast_period",
    "forecast_snapshots",
    "period_bounds",
]
