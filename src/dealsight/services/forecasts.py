"""Period forecasts, their movement and backtests: the use cases behind ``dealsight forecast``,
``dealsight backtest``, ``/api/v1/forecast*``, ``/api/v1/backtest`` and the forecast page.

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
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.analytics.backtest import PRIOR_DISPERSION, horizon_forecast
from dealsight.analytics.deal_data import DealData
from dealsight.analytics.deal_timelines import NAT
from dealsight.analytics.forecast_movement import Movement, forecast_movement
from dealsight.analytics.forecast_replay import (
    as_of_grid,
    deal_lives,
    replay_snapshots,
)
from dealsight.analytics.forecast_simulation import PeriodRange, period_ranges
from dealsight.analytics.new_deals import new_deals_from_history
from dealsight.analytics.time_to_close import METHODS
from dealsight.domain.access import Scope
from dealsight.domain.clock import utc_now
from dealsight.errors import FieldProblem, InsufficientDataError, NotFoundError, ValidationError
from dealsight.store import schema
from dealsight.store.backtest_runs import latest_backtest_run
from dealsight.store.deal_frames import load_deal_data
from dealsight.store.forecast_snapshots import (
    ForecastSnapshot,
    forecast_snapshots_of,
    latest_snapshot_before,
    save_forecast_snapshots,
)
from dealsight.store.quotas import quotas_for_period

Period = Literal["quarter", "month"]
PERIODS: tuple[str, ...] = ("quarter", "month")
EARLIER = (("week", 7), ("month", 30), ("quarter", 91))
"""The model's own earlier forecasts shown beside the current one: (name, days before as-of)."""
DRAWS = 4000
SEED = 0
Progress = Callable[[str], None]


# results ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    """P10, P50, P90 and the expected value, what is already won included."""

    p10: float
    p50: float
    p90: float
    expected: float


@dataclass(frozen=True)
class EarlierForecast:
    """A stored forecast of the same group and period made with knowledge up to ``as_of``."""

    as_of: date
    amount: Figures
    reach_probability: float | None


@dataclass(frozen=True)
class GroupForecast:
    """One group's forecast: ``level`` company, team, rep, or view (a restricted caller's own deals)."""

    level: str
    team_id: int | None
    user_id: int | None
    name: str
    won_amount: float
    won_count: int
    open_deals: int
    amount: Figures
    count: Figures
    quota: float | None
    reach_probability: float | None
    new_deals_expected: float
    stage_weighted: float
    commit: float | None
    best_case: float | None
    earlier: dict[str, EarlierForecast | None] = field(default_factory=dict)


@dataclass(frozen=True)
class PeriodForecast:
    """The forecast of a period as of a day for the caller's view (module docstring)."""

    as_of: date
    period: str
    period_start: date
    period_end: date
    days_left: int
    method: str
    dispersion: float
    dispersion_source: str
    total: GroupForecast
    teams: list[GroupForecast]
    reps: list[GroupForecast]
    notes: list[str]
    stored: int


@dataclass(frozen=True)
class SnapshotPoint:
    """One stored forecast of a group, as the fan chart draws it."""

    as_of: date
    made_at: datetime
    method: str
    amount: Figures
    count: Figures
    quota: float | None
    reach_probability: float | None
    stage_weighted: float
    commit: float | None
    best_case: float | None


@dataclass(frozen=True)
class SnapshotSeries:
    level: str
    team_id: int | None
    user_id: int | None
    period_start: date
    period_end: date
    points: list[SnapshotPoint]


@dataclass(frozen=True)
class MovementStepOut:
    key: str
    label: str
    amount: float
    deals: int


@dataclass(frozen=True)
class DealMove:
    opportunity_id: int
    name: str
    step: str
    change: float


@dataclass(frozen=True)
class MovementReport:
    """The change of the expected won amount of the period between ``from_date`` and ``as_of``."""

    from_date: date
    as_of: date
    period_start: date
    period_end: date
    method: str
    start: float
    end: float
    steps: list[MovementStepOut]
    unexplained: float
    top_deals: list[DealMove]


# periods and checks ----------------------------------------------------------------------------------------
def period_bounds(day: date, period: str) -> tuple[date, date]:
    """The first and last day of the calendar month or quarter containing ``day``."""
    if period not in PERIODS:
        raise ValidationError(
            f"period {period!r}: expected quarter or month", [FieldProblem("period", "quarter or month")]
        )
    first_month = day.month if period == "month" else 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    months = 1 if period == "month" else 3
    year, month = divmod(first_month - 1 + months, 12)
    return start, date(day.year + year, month + 1, 1) - timedelta(days=1)


def check_method(method: str) -> None:
    if method not in METHODS:
        names = ", ".join(METHODS)
        raise ValidationError(
            f"method {method!r}: expected one of {names}", [FieldProblem("method", f"one of {names}")]
        )


def _as_of_day(as_of: date | None) -> date:
    today = utc_now().date()
    day = as_of or today
    if day > today:
        raise ValidationError(
            f"as_of {day.isoformat()} is in the future: a forecast knows only the past",
            [FieldProblem("as_of", "must not be after today")],
        )
    return day


def _instant(day: date) -> pd.Timestamp:
    return as_of_grid(pd.Timestamp(day), pd.Timestamp(day), 1)[0]


# organisation ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Org:
    user_team: dict[int, int | None]
    user_name: dict[int, str]
    team_name: dict[int, str]
    team_parent: dict[int, int | None]

    def subtree(self, team_id: int) -> set[int]:
        found, todo = set(), [team_id]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo += [t for t, p in self.team_parent.items() if p == current]
        return found

    def members(self, team_id: int) -> set[int]:
        teams = self.subtree(team_id)
        return {u for u, t in self.user_team.items() if t in teams}


def _org(conn: Connection) -> _Org:
    u, t = schema.users, schema.teams
    users = conn.execute(sa.select(u.c.id, u.c.name, u.c.team_id)).all()
    teams = conn.execute(sa.select(t.c.id, t.c.name, t.c.parent_id)).all()
    return _Org(
        {int(r.id): None if r.team_id is None else int(r.team_id) for r in users},
        {int(r.id): str(r.name) for r in users},
        {int(r.id): str(r.name) for r in teams},
        {int(r.id): None if r.parent_id is None else int(r.parent_id) for r in teams},
    )


# the per-deal state at an as-of ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _State:
    """The deals open at the end of ``day`` with their probability of being won by the period end, and
    what was won in the period by then."""

    day: date
    deals: pd.DataFrame  # opportunity_id, owner_id, probability, amount, in_period, crm, category, crm_amount
    won: pd.DataFrame  # opportunity_id, owner_id, amount (won in the period by day)
    has_categories: bool


def _state(data: DealData, day: date, period_start: date, period_end: date, method: str) -> _State:
    instant = _instant(day)
    days_left = (period_end - day).days
    frame = horizon_forecast(data, pd.Timestamp(day), horizon_days=max(days_left, 1), method=method)
    if frame["probability"].isna().all() and len(frame):
        raise InsufficientDataError(
            f"The method {method} has nothing to forecast from here: the data records no forecast "
            "categories. Try --method model or competing_risks."
        )
    probability = frame["probability"].fillna(0.0).to_numpy(np.float64)
    if days_left <= 0:
        probability = np.zeros(len(frame))
    rows = replay_snapshots(data, [instant]).at(instant).set_index("opportunity_id")
    ids = frame["opportunity_id"].to_numpy()
    replayed = rows.reindex(ids)
    to_close = pd.to_numeric(replayed["days_to_expected_close"], errors="coerce").to_numpy(np.float64)
    owners = data.opportunities.set_index("id")["owner_id"]
    deals = pd.DataFrame(
        {
            "opportunity_id": ids,
            "owner_id": owners.reindex(ids).to_numpy(),
            "probability": probability,
            "amount": pd.to_numeric(frame["amount"], errors="coerce").fillna(0.0).to_numpy(np.float64),
            "in_period": np.isfinite(to_close) & (to_close <= days_left),
            "crm": pd.to_numeric(replayed["crm_stage_probability"], errors="coerce").fillna(0.0).to_numpy(),
            "category": replayed["forecast_category"].astype(object).to_numpy(),
            "crm_amount": pd.to_numeric(replayed["amount"], errors="coerce").fillna(0.0).to_numpy(),
        }
    )
    lives = deal_lives(data)
    lower = _instant(period_start - timedelta(days=1)).value
    closed = (lives.closed_ns != NAT) & (lives.closed_ns > lower) & (lives.closed_ns <= instant.value)
    won_rows = np.flatnonzero(closed & lives.won)
    won_ids = lives.opportunity_id[won_rows]
    won = pd.DataFrame(
        {
            "opportunity_id": won_ids,
            "owner_id": owners.reindex(won_ids).to_numpy(),
            "amount": np.nan_to_num(lives.final_amount[won_rows]),
        }
    )
    categories = data.opportunities["forecast_category"].dropna().astype(str)
    has_categories = bool((categories != "closed").any())
    return _State(day, deals, won, has_categories)


def _owned(frame: pd.DataFrame, owners: set[int] | None) -> np.ndarray:
    if owners is None:
        return np.ones(len(frame), dtype=bool)
    return np.asarray(frame["owner_id"].isin(list(owners)).to_numpy(), dtype=bool)


# the forecast ----------------------------------------------------------------------------------------------
def _dispersion(conn: Connection, method: str) -> tuple[float, str]:
    run = latest_backtest_run(conn)
    if run is None:
        return PRIOR_DISPERSION, "prior (no stored backtest: run `dealsight backtest`)"
    rows = [
        r
        for r in run.result.get("rows", [])
        if r.get("method") == method and r.get("measure") == "amount" and r.get("dispersion") is not None
    ]
    if not rows:
        return PRIOR_DISPERSION, f"prior (the stored backtest has no {method} figures)"
    last = max(rows, key=lambda r: str(r.get("as_of")))
    return float(last["dispersion"]), (
        f"backtest #{run.id} of {run.made_at:%Y-%m-%d} (as of {last.get('as_of')}, "
        f"horizon {run.result.get('horizon_days')} days)"
    )


def _group_figures(
    state: _State,
    data: DealData,
    owners: set[int] | None,
    *,
    period_end: date,
    dispersion: float,
    quota: float | None,
) -> tuple[PeriodRange, dict[str, Any]]:
    """The range of one group (deals of ``owners``; None: every deal) and its side figures."""
    mask = _owned(state.deals, owners)
    deals = state.deals[mask]
    won = state.won[_owned(state.won, owners)]
    won_amount = float(won["amount"].sum())
    days_left = (period_end - state.day).days
    new = None
    if days_left > 0:
        codes = np.where(_owned(data.opportunities, owners), 0, -1)
        new = new_deals_from_history(
            data.opportunities,
            _instant(state.day),
            _instant(period_end),
            group_codes=codes,
            n_groups=1,
        )
    target = None if quota is None else np.array([max(quota - won_amount, 0.0)])
    ranges = period_ranges(
        np.clip(deals["probability"].to_numpy(np.float64), 0.0, 1.0),
        deals["amount"].to_numpy(np.float64),
        dispersion=0.0 if _binary(state.deals) else dispersion,
        new_deals=new,
        targets=target,
        draws=DRAWS,
        seed=SEED,
    ).total
    inside = deals[deals["in_period"].to_numpy(dtype=bool)]
    category = inside["category"].astype(str)
    commit = won_amount + float(inside["crm_amount"][category == "commit"].sum())
    side = {
        "won_amount": won_amount,
        "won_count": len(won),
        "open_deals": len(deals),
        "new_deals_expected": 0.0 if new is None else float(new.expected_count.sum()),
        "stage_weighted": won_amount + float((inside["crm"] * inside["crm_amount"]).sum()),
        "commit": commit if state.has_categories else None,
        "best_case": (commit + float(inside["crm_amount"][category == "best_case"].sum()))
        if state.has_categories
        else None,
    }
    return ranges, side


def _binary(deals: pd.DataFrame) -> bool:
    p = deals["probability"].to_numpy(np.float64)
    return bool(len(p)) and bool(np.all((p == 0) | (p == 1)))


def _plus(figure: Any, won: float) -> Figures:
    return Figures(figure.p10 + won, figure.p50 + won, figure.p90 + won, figure.expected + won)


def _group(
    level: str,
    name: str,
    ranges: PeriodRange,
    side: dict[str, Any],
    quota: float | None,
    *,
    team_id: int | None = None,
    user_id: int | None = None,
) -> GroupForecast:
    return GroupForecast(
        level=level,
        team_id=team_id,
        user_id=user_id,
        name=name,
        won_amount=side["won_amount"],
        won_count=side["won_count"],
        open_deals=side["open_deals"],
        amount=_plus(ranges.amount, side["won_amount"]),
        count=_plus(ranges.count, side["won_count"]),
        quota=quota,
        reach_probability=ranges.reach_probability,
        new_deals_expected=side["new_deals_expected"],
        stage_weighted=side["stage_weighted"],
        commit=side["commit"],
        best_case=side["best_case"],
    )


def _all_groups(
    conn: Connection, data: DealData, day: date, period: str, method: str, dispersion: float
) -> tuple[GroupForecast, list[GroupForecast], list[GroupForecast], _State, _Org]:
    """Every group of the organisation (company, teams, reps) as of ``day``."""
    period_start, period_end = period_bounds(day, period)
    state = _state(data, day, period_start, period_end, method)
    org = _org(conn)
    quotas = quotas_for_period(conn, period_start, period_end)
    rep_quota = {q.user_id: float(q.amount) for q in quotas if q.user_id is not None}
    team_quota = {q.team_id: float(q.amount) for q in quotas if q.team_id is not None}
    roots = [t for t, parent in org.team_parent.items() if parent is None]
    company_quota = (
        sum(team_quota[t] for t in roots) if roots and all(t in team_quota for t in roots) else None
    )
    kwargs = {"period_end": period_end, "dispersion": dispersion}
    ranges, side = _group_figures(state, data, None, quota=company_quota, **kwargs)  # type: ignore[arg-type]
    company = _group("company", "Company", ranges, side, company_quota)
    teams = []
    for team_id in sorted(org.team_name, key=lambda t: org.team_name[t].casefold()):
        quota = team_quota.get(team_id)
        ranges, side = _group_figures(state, data, org.members(team_id), quota=quota, **kwargs)  # type: ignore[arg-type]
        teams.append(_group("team", org.team_name[team_id], ranges, side, quota, team_id=team_id))
    active = set(state.deals["owner_id"].dropna().astype(int)) | set(
        state.won["owner_id"].dropna().astype(int)
    )
    reps = []
    for user_id in sorted(active | set(rep_quota), key=lambda u: org.user_name.get(u, "").casefold()):
        quota = rep_quota.get(user_id)
        ranges, side = _group_figures(state, data, {user_id}, quota=quota, **kwargs)  # type: ignore[arg-type]
        name = org.user_name.get(user_id, f"user #{user_id}")
        reps.append(_group("rep", name, ranges, side, quota, user_id=user_id))
    return company, teams, reps, state, org


def _snapshot(
    group: GroupForecast, *, made_at: datetime, as_of: datetime, bounds: tuple[date, date], method: str
) -> ForecastSnapshot:
    return ForecastSnapshot(
        made_at=made_at,
        as_of=as_of,
        period_start=bounds[0],
        period_end=bounds[1],
        level=group.level,
        method=method,
        won_count_p10=group.count.p10,
        won_count_p50=group.count.p50,
        won_count_p90=group.count.p90,
        won_count_expected=group.count.expected,
        won_amount_p10=group.amount.p10,
        won_amount_p50=group.amount.p50,
        won_amount_p90=group.amount.p90,
        won_amount_expected=group.amount.expected,
        stage_weighted=group.stage_weighted,
        open_deals=group.open_deals,
        team_id=group.team_id,
        user_id=group.user_id,
        commit_amount=group.commit,
        best_case_amount=group.best_case,
        quota=group.quota,
        reach_probability=group.reach_probability,
        new_deals_expected=group.new_deals_expected,
    )


def _earlier(
    conn: Connection, group: GroupForecast, day: date, bounds: tuple[date, date], method: str
) -> dict[str, EarlierForecast | None]:
    out: dict[str, EarlierForecast | None] = {}
    for name, days in EARLIER:
        before = _instant(day - timedelta(days=days)).to_pydatetime()
        found = latest_snapshot_before(
            conn,
            period_start=bounds[0],
            period_end=bounds[1],
            level=group.level,
            before=before,
            team_id=group.team_id,
            user_id=group.user_id,
            method=method,
        )
        out[name] = (
            None
            if found is None
            else EarlierForecast(
                found.as_of.date(),
                Figures(
                    found.won_amount_p10,
                    found.won_amount_p50,
                    found.won_amount_p90,
                    found.won_amount_expected,
                ),
                found.reach_probability,
            )
        )
    return out


def _visible_teams(teams: list[GroupForecast], org: _Org, scope: Scope) -> list[GroupForecast]:
    if scope.owner_ids is None:
        return teams
    allowed = scope.owner_ids
    return [t for t in teams if t.team_id is not None and (m := org.members(t.team_id)) and m <= allowed]


def _load(conn: Connection, day: date) -> DealData:
    data = load_deal_data(conn)
    closed = pd.to_datetime(data.opportunities["closed_date"], errors="coerce")
    won_before = (data.opportunities["outcome"].astype(object) == "won") & (closed <= pd.Timestamp(day))
    if not bool(won_before.any()):
        raise InsufficientDataError(
            f"No deal was won by {day.isoformat()}: the history is too thin to forecast from "
            "(import closed deals with their history, or pick a later --as-of)."
        )
    return data


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
    day = _as_of_day(as_of)
    bounds = period_bounds(day, period)
    say = progress or (lambda _step: None)
    with engine.connect() as conn:
        say("loading deals")
        data = _load(conn, day)
        dispersion, source = _dispersion(conn, method)
        say(f"forecasting with {method}")
        company, teams, reps, state, org = _all_groups(conn, data, day, period, method, dispersion)
    stored = 0
    if store:
        made_at = utc_now()
        instant = _instant(day).to_pydatetime()
        snapshots = [
            _snapshot(g, made_at=made_at, as_of=instant, bounds=bounds, method=method)
            for g in [company, *teams, *reps]
        ]
        with engine.begin() as conn:
            stored = save_forecast_snapshots(conn, snapshots)
    notes = [f"dispersion {dispersion:.2f}: {source}"]
    with engine.connect() as conn:
        if scope.owner_ids is None:
            total = company
        else:
            ranges, side = _group_figures(
                state, data, set(scope.owner_ids), period_end=bounds[1], dispersion=dispersion, quota=None
            )
            total = _group("view", "Your view", ranges, side, None)
        teams = _visible_teams(teams, org, scope)
        reps = [r for r in reps if scope.covers(r.user_id)]
        with_earlier = []
        for group in [total, *teams, *reps]:
            earlier = _earlier(conn, group, day, bounds, method) if group.level != "view" else {}
            with_earlier.append(_replace_earlier(group, earlier))
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


def _replace_earlier(group: GroupForecast, earlier: dict[str, EarlierForecast | None]) -> GroupForecast:
    from dataclasses import replace

    return replace(group, earlier=earlier)


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
    day = _as_of_day(as_of)
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


# snapshots for the fan chart -------------------------------------------------------------------------------
def forecast_snapshots(
    engine: Engine,
    scope: Scope,
    *,
    level: str = "company",
    team_id: int | None = None,
    user_id: int | None = None,
    period: str = "quarter",
    as_of: date | None = None,
    method: str = "model",
) -> SnapshotSeries:
    """One group's stored forecasts of the period containing ``as_of``, oldest first (the newest made of
    each as-of day). A group outside the caller's view is :class:`NotFoundError`, worded as one that does
    not exist."""
    check_method(method)
    bounds = period_bounds(as_of or utc_now().date(), period)
    if level not in ("company", "team", "rep"):
        raise ValidationError(
            "level: expected company, team or rep", [FieldProblem("level", "company, team or rep")]
        )
    with engine.connect() as conn:
        _check_group_visible(conn, scope, level, team_id, user_id)
        found = forecast_snapshots_of(
            conn,
            period_start=bounds[0],
            period_end=bounds[1],
            level=level,
            team_id=team_id if level == "team" else None,
            user_id=user_id if level == "rep" else None,
            method=method,
        )
    by_day: dict[date, ForecastSnapshot] = {}
    for snapshot in found:
        by_day[snapshot.as_of.date()] = snapshot
    points = [
        SnapshotPoint(
            as_of=d,
            made_at=s.made_at,
            method=s.method,
            amount=Figures(s.won_amount_p10, s.won_amount_p50, s.won_amount_p90, s.won_amount_expected),
            count=Figures(s.won_count_p10, s.won_count_p50, s.won_count_p90, s.won_count_expected),
            quota=s.quota,
            reach_probability=s.reach_probability,
            stage_weighted=s.stage_weighted,
            commit=s.commit_amount,
            best_case=s.best_case_amount,
        )
        for d, s in sorted(by_day.items())
    ]
    return SnapshotSeries(
        level,
        team_id if level == "team" else None,
        user_id if level == "rep" else None,
        bounds[0],
        bounds[1],
        points,
    )


def _check_group_visible(
    conn: Connection, scope: Scope, level: str, team_id: int | None, user_id: int | None
) -> None:
    missing = {"team": team_id is None, "rep": user_id is None}.get(level, False)
    if missing:
        name = "team_id" if level == "team" else "user_id"
        raise ValidationError(
            f"a {level} forecast needs {name}", [FieldProblem(name, f"required with level={level}")]
        )
    if level == "company":
        if scope.owner_ids is None:
            return
        raise NotFoundError("No forecast of the whole company in your view.")
    org = _org(conn)
    if level == "rep":
        if user_id in org.user_name and scope.covers(user_id):
            return
        raise NotFoundError(f"No rep #{user_id} in your view.")
    if team_id in org.team_name and (
        scope.owner_ids is None or ((m := org.members(team_id)) and m <= scope.owner_ids)
    ):
        return
    raise NotFoundError(f"No team #{team_id} in your view.")


# movement --------------------------------------------------------------------------------------------------
def forecast_movement_report(
    engine: Engine,
    scope: Scope,
    *,
    period: str = "quarter",
    as_of: date | None = None,
    days: int = 7,
    method: str = "model",
    top: int = 10,
) -> MovementReport:
    """What changed the expected won amount of the period (containing ``as_of``) over the ``days`` before
    ``as_of``, for the caller's deals (:mod:`dealsight.analytics.forecast_movement`)."""
    check_method(method)
    if not 1 <= days <= 366:
        raise ValidationError("days: expected 1 to 366", [FieldProblem("days", "1 to 366")])
    day = _as_of_day(as_of)
    first = day - timedelta(days=days)
    bounds = period_bounds(day, period)
    with engine.connect() as conn:
        data = _load(conn, first)

        names = _deal_names(conn)
    before = _state(data, first, bounds[0], bounds[1], method)
    after = _state(data, day, bounds[0], bounds[1], method)
    owners = None if scope.owner_ids is None else set(scope.owner_ids)
    lives = deal_lives(data)
    low, high = _instant(first).value, _instant(day).value
    shut = np.flatnonzero((lives.closed_ns != NAT) & (lives.closed_ns > low) & (lives.closed_ns <= high))
    period_low = _instant(bounds[0] - timedelta(days=1)).value
    owner_of = data.opportunities.set_index("id")["owner_id"]
    closed = pd.DataFrame(
        {
            "opportunity_id": lives.opportunity_id[shut],
            "won": lives.won[shut],
            "amount": np.nan_to_num(lives.final_amount[shut]),
            "in_period": lives.closed_ns[shut] > period_low,
        }
    )
    closed["owner_id"] = owner_of.reindex(closed["opportunity_id"]).to_numpy()
    moved: Movement = forecast_movement(
        before.deals[_owned(before.deals, owners)],
        after.deals[_owned(after.deals, owners)],
        closed[_owned(closed, owners)],
        won_to_date_start=float(before.won[_owned(before.won, owners)]["amount"].sum()),
        won_to_date_end=float(after.won[_owned(after.won, owners)]["amount"].sum()),
    )
    top_deals = [
        DealMove(int(deal), names.get(int(deal), f"#{deal}"), str(step), float(change))
        for deal, step, change in zip(
            moved.deals["opportunity_id"].head(top).tolist(),
            moved.deals["step"].head(top).tolist(),
            moved.deals["change"].head(top).tolist(),
            strict=True,
        )
    ]
    return MovementReport(
        from_date=first,
        as_of=day,
        period_start=bounds[0],
        period_end=bounds[1],
        method=method,
        start=moved.start,
        end=moved.end,
        steps=[MovementStepOut(s.key, s.label, s.amount, s.deals) for s in moved.steps],
        unexplained=moved.unexplained,
        top_deals=top_deals,
    )


def _deal_names(conn: Connection) -> dict[int, str]:
    o = schema.opportunities
    return {int(i): str(n) for i, n in conn.execute(sa.select(o.c.id, o.c.name))}


__all__ = [
    "EARLIER",
    "PERIODS",
    "EarlierForecast",
    "Figures",
    "GroupForecast",
    "MovementReport",
    "PeriodForecast",
    "SnapshotSeries",
    "backfill_snapshots",
    "check_method",
    "forecast_movement_report",
    "forecast_period",
    "forecast_snapshots",
    "period_bounds",
]
