"""Stored forecasts (:mod:`dealsight.store.forecast_snapshots`) as the product reads them: a group's
forecast turned into a snapshot row, the model's own forecast a week, a month and a quarter before as-of
(the newest stored with knowledge up to then), and a group's series over a period (the fan chart).

Snapshots are company-wide (the same for everyone); a group outside the caller's view is
:class:`~dealsight.errors.NotFoundError`, worded as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Connection, Engine

from dealsight.domain.access import Scope
from dealsight.domain.clock import utc_now
from dealsight.errors import FieldProblem, NotFoundError, ValidationError
from dealsight.services.forecast_groups import EarlierForecast, Figures, GroupForecast
from dealsight.services.forecast_state import check_method, instant, organisation, period_bounds
from dealsight.store.forecast_snapshots import (
    ForecastSnapshot,
    forecast_snapshots_of,
    latest_snapshots_before,
)

EARLIER = (("week", 7), ("month", 30), ("quarter", 91))
"""The model's own earlier forecasts shown beside the current one: (name, days before as-of)."""


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


# writing ---------------------------------------------------------------------------------------------------
def snapshot_of(
    group: GroupForecast,
    *,
    made_at: datetime,
    as_of: datetime,
    bounds: tuple[date, date],
    method: str,
    data_version: str | None = None,
) -> ForecastSnapshot:
    """The snapshot row of one group's forecast, made from the data of ``data_version``."""
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
        won_amount=group.won_amount,
        won_count=group.won_count,
        data_version=data_version,
    )


# earlier forecasts -----------------------------------------------------------------------------------------
def earlier_forecasts(
    conn: Connection, groups: list[GroupForecast], day: date, bounds: tuple[date, date], method: str
) -> list[dict[str, EarlierForecast | None]]:
    """For each of ``groups`` (in order), its newest stored forecast of the period made with knowledge up
    to each of :data:`EARLIER` before ``day``: one statement per earlier date, whatever the groups."""
    found: dict[str, dict[tuple[str, int | None, int | None], ForecastSnapshot]] = {}
    for name, days in EARLIER:
        before = instant(day - timedelta(days=days)).to_pydatetime()
        rows = latest_snapshots_before(
            conn, period_start=bounds[0], period_end=bounds[1], before=before, method=method
        )
        found[name] = {(r.level, r.team_id, r.user_id): r for r in rows}
    return [
        {name: _earlier(found[name].get((g.level, g.team_id, g.user_id))) for name, _days in EARLIER}
        for g in groups
    ]


def _earlier(found: ForecastSnapshot | None) -> EarlierForecast | None:
    if found is None:
        return None
    return EarlierForecast(
        found.as_of.date(),
        Figures(found.won_amount_p10, found.won_amount_p50, found.won_amount_p90, found.won_amount_expected),
        found.reach_probability,
    )


# the fan chart ---------------------------------------------------------------------------------------------
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
    org = organisation(conn)
    if level == "rep":
        if user_id in org.user_name and scope.covers(user_id):
            return
        raise NotFoundError(f"No rep #{user_id} in your view.")
    if team_id in org.team_name and (
        scope.owner_ids is None or ((m := org.members(team_id)) and m <= scope.owner_ids)
    ):
        return
    raise NotFoundError(f"No team #{team_id} in your view.")


__all__ = [
    "EARLIER",
    "SnapshotPoint",
    "SnapshotSeries",
    "earlier_forecasts",
    "forecast_snapshots",
    "snapshot_of",
]
