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
- **Stored when made; read without computing again.** ``dealsight forecast`` stores every group's
  snapshot (``store=True``) with the version of the data it was made from; ``--backfill`` replays the
  weeks of the period so far, so the fan chart has a history from the first run. The page and
  ``GET /api/v1/forecast`` call :func:`read_forecast`: the stored forecast of the same as-of day, period
  and method when the data has not changed since it was made, else computed and stored (still
  company-wide, the same for everyone; the data version and how a view is served:
  :mod:`dealsight.services.forecast_cache`). :func:`forecast_period` always computes.
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

from sqlalchemy.engine import Connection, Engine

from dealsight.domain.access import Scope
from dealsight.domain.clock import utc_now
from dealsight.errors import InsufficientDataError
from dealsight.services.forecast_cache import (
    StoredGroups,
    data_version,
    one_at_a_time,
    remembered_state,
    stored_groups,
    stored_view_total,
)
from dealsight.services.forecast_groups import (
    AllGroups,
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
from dealsight.services.forecast_movement import (
    MovementReport,
    forecast_movement_report,
    read_movement,
)
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
from dealsight.store.forecast_snapshots import drop_snapshots_of, save_forecast_snapshots

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
    """The forecast of the period containing ``as_of`` (default today) for the caller's view, always
    computed; stores the company-wide snapshots when ``store`` (module docstring)."""
    return _computed(engine, scope, period=period, as_of=as_of, method=method, store=store, progress=progress)


def read_forecast(
    engine: Engine,
    scope: Scope,
    *,
    period: str = "quarter",
    as_of: date | None = None,
    method: str = "model",
) -> PeriodForecast:
    """The forecast of the period containing ``as_of`` (default today) for the caller's view as the page
    and the API show it: the stored forecast when it was made from the data as it is now, else computed
    and stored (``stored``: the snapshots this call wrote; :mod:`~dealsight.services.forecast_cache`)."""
    check_method(method)
    day = as_of_day(as_of)
    found, stored = _from_store(engine, scope, day=day, period=period, method=method)
    if found is not None:
        return found
    # one thread of the process computes; the others wait, then read what it stored
    with one_at_a_time((str(engine.url), day, period, method)):
        found, stored = _from_store(engine, scope, day=day, period=period, method=method)
        if found is not None:
            return found
        # nothing stored from this data: compute and store; a view that is no stored group: compute it
        return _computed(
            engine, scope, period=period, as_of=day, method=method, store=not stored, remember=True
        )


def _from_store(
    engine: Engine, scope: Scope, *, day: date, period: str, method: str
) -> tuple[PeriodForecast | None, bool]:
    """The stored forecast for the caller's view if it was made from the data as it is now, and whether
    one is stored at all (it may not have the caller's view: :func:`stored_view_total`)."""
    bounds = period_bounds(day, period)
    with engine.connect() as conn:
        version = data_version(conn)
        groups = stored_groups(conn, version=version, day=day, bounds=bounds, method=method)
        if groups is None:
            return None, False
        total = stored_view_total(groups, scope)
        if total is None:
            return None, True
        shown = _shown(conn, scope, groups, total, day, period, method, dispersion_of(conn, method, day), 0)
        return shown, True


def _computed(
    engine: Engine,
    scope: Scope,
    *,
    period: str,
    as_of: date | None,
    method: str,
    store: bool,
    progress: Progress | None = None,
    remember: bool = False,
) -> PeriodForecast:
    """The forecast computed for the whole organisation, stored when ``store``; ``remember``: the deal
    state is kept in (and taken from) the process's memory for the data version."""
    check_method(method)
    day = as_of_day(as_of)
    bounds = period_bounds(day, period)
    say = progress or (lambda _step: None)
    with engine.connect() as conn:
        version = data_version(conn)  # before the deals: a change made meanwhile never looks older
        say("loading deals")
        data = load_deals(conn, day)
        dispersion = dispersion_of(conn, method, day)
        say(f"forecasting with {method}")
        state = remembered_state(engine, version, data, day, bounds, method) if remember else None
        groups = all_groups(conn, data, day, period, method, dispersion[0], state=state)
    every = [groups.company, *groups.teams, *groups.reps]
    stored = 0
    if store:
        made_at = utc_now()
        at = instant(day).to_pydatetime()
        snapshots = [
            snapshot_of(g, made_at=made_at, as_of=at, bounds=bounds, method=method, data_version=version)
            for g in every
        ]
        with engine.begin() as conn:  # the new set replaces those of the same day, period and method
            drop_snapshots_of(conn, period_start=bounds[0], period_end=bounds[1], as_of=at, method=method)
            stored = save_forecast_snapshots(conn, snapshots)
    if scope.owner_ids is None:
        total = groups.company
    else:
        ranges, side = group_figures(
            groups.state,
            data,
            set(scope.owner_ids),
            period_end=bounds[1],
            dispersion=dispersion[0],
            quota=None,
        )
        total = group_forecast("view", "Your view", ranges, side, None)
    with engine.connect() as conn:
        return _shown(conn, scope, groups, total, day, period, method, dispersion, stored)


def _shown(
    conn: Connection,
    scope: Scope,
    groups: AllGroups | StoredGroups,
    total: GroupForecast,
    day: date,
    period: str,
    method: str,
    dispersion: tuple[float, str],
    stored: int,
) -> PeriodForecast:
    """What the caller's scope shows of every group (company, teams, reps), with earlier forecasts."""
    bounds = period_bounds(day, period)
    teams = visible_teams(groups.teams, groups.org, scope)
    shown = [total, *teams, *(r for r in groups.reps if scope.covers(r.user_id))]
    earlier = earlier_forecasts(conn, shown, day, bounds, method)
    with_earlier = [
        replace(g, earlier=found if g.level != "view" else {})
        for g, found in zip(shown, earlier, strict=True)
    ]
    n_teams = len(teams)
    notes = [f"dispersion {dispersion[0]:.2f}: {dispersion[1]}"]
    if groups.company.commit is None:  # commit and best case are None when the data has no categories
        notes.append("the data records no forecast categories: no commit or best case")
    return PeriodForecast(
        as_of=day,
        period=period,
        period_start=bounds[0],
        period_end=bounds[1],
        days_left=(bounds[1] - day).days,
        method=method,
        dispersion=dispersion[0],
        dispersion_source=dispersion[1],
        total=with_earlier[0],
        teams=with_earlier[1 : 1 + n_teams],
        reps=with_earlier[1 + n_teams :],
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
    "read_forecast",
    "read_movement",
]
