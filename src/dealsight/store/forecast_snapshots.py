"""Storing forecast snapshots: every period forecast as it was made, to show how the forecast of a period
moved and what the model said a week, a month or a quarter ago.

A snapshot is one forecast of one group for one period by one method: the group is the whole company
(``level="company"``), a team (``level="team"``, ``team_id``) or a rep (``level="rep"``, ``user_id``);
``as_of`` is the instant whose knowledge the forecast used (a past day when replayed), ``made_at`` when it
was computed. Figures are floats (a forecast is an estimate, not booked money).

- :func:`save_forecast_snapshots` writes many at once on the caller's connection and transaction (the
  importers' bulk path, :func:`dealsight.store.bulk.insert_many`), so a forecast run stores all its
  groups or none.
- :func:`forecast_snapshots_of` reads one group's snapshots of a period, oldest ``as_of`` first.
- :func:`latest_snapshot_before` is the newest of those made with knowledge up to a given instant.
- :func:`latest_snapshots_before` is the same for every group at once (the earlier forecasts of a page).
- :func:`snapshot_set_of_version` is the newest set (every group, one ``made_at``) of a period, as-of
  instant and method made from a given ``data_version``: what the forecast page serves instead of
  computing again (:mod:`dealsight.services.forecast_cache`).
- :func:`drop_snapshots_of` removes the sets of a period, as-of instant and method that a new one
  replaces: every reader takes the newest of an as-of instant, and the page stores a set each time the
  data changed, so the older ones would only pile up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealsight.errors import ValidationError
from dealsight.store.bulk import insert_many
from dealsight.store.schema import forecast_snapshots

Level = Literal["company", "team", "rep"]
LEVELS: tuple[Level, ...] = ("company", "team", "rep")


@dataclass(frozen=True)
class ForecastSnapshot:
    """One stored forecast (see the module docstring); ``id`` is the store's."""

    made_at: datetime
    as_of: datetime
    period_start: date
    period_end: date
    level: str
    method: str
    won_count_p10: float
    won_count_p50: float
    won_count_p90: float
    won_count_expected: float
    won_amount_p10: float
    won_amount_p50: float
    won_amount_p90: float
    won_amount_expected: float
    stage_weighted: float
    open_deals: int
    team_id: int | None = None
    user_id: int | None = None
    commit_amount: float | None = None
    best_case_amount: float | None = None
    quota: float | None = None
    reach_probability: float | None = None
    new_deals_expected: float | None = None
    won_amount: float | None = None
    won_count: int | None = None
    data_version: str | None = None
    id: int | None = None


SNAPSHOT_COLUMNS = tuple(f.name for f in fields(ForecastSnapshot) if f.name != "id")


def _row(snapshot: ForecastSnapshot | Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = (
        {name: getattr(snapshot, name) for name in SNAPSHOT_COLUMNS}
        if isinstance(snapshot, ForecastSnapshot)
        else {name: snapshot.get(name) for name in SNAPSHOT_COLUMNS}
    )
    _check_group(values["level"], values["team_id"], values["user_id"])
    return values


def _check_group(level: str, team_id: int | None, user_id: int | None) -> None:
    """A company snapshot names no team or rep, a team snapshot its team, a rep snapshot its rep."""
    expected = {"company": (False, False), "team": (True, False), "rep": (False, True)}
    if level not in expected:
        raise ValidationError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if expected[level] != (team_id is not None, user_id is not None):
        raise ValidationError(
            f"a {level} forecast snapshot takes "
            + {"company": "neither team_id nor user_id", "team": "team_id only", "rep": "user_id only"}[level]
            + f" (got team_id={team_id}, user_id={user_id})"
        )


def save_forecast_snapshots(
    conn: Connection, snapshots: Iterable[ForecastSnapshot | Mapping[str, Any]]
) -> int:
    """Store ``snapshots`` (dataclasses or mappings by column name) in the caller's transaction; returns how
    many. A snapshot whose level and group disagree (a team snapshot without ``team_id``) is a
    :class:`ValidationError` and nothing of the call is written."""
    rows = [_row(snapshot) for snapshot in snapshots]
    insert_many(conn, forecast_snapshots, rows)
    return len(rows)


def _group_query(
    *,
    period_start: date,
    period_end: date,
    level: str,
    team_id: int | None,
    user_id: int | None,
    method: str | None,
) -> sa.Select[Any]:
    _check_group(level, team_id, user_id)
    t = forecast_snapshots
    query = sa.select(t).where(
        t.c.period_start == period_start,
        t.c.period_end == period_end,
        t.c.level == level,
        t.c.team_id == team_id if team_id is not None else t.c.team_id.is_(None),
        t.c.user_id == user_id if user_id is not None else t.c.user_id.is_(None),
    )
    return query if method is None else query.where(t.c.method == method)


def forecast_snapshots_of(
    conn: Connection,
    *,
    period_start: date,
    period_end: date,
    level: str,
    team_id: int | None = None,
    user_id: int | None = None,
    method: str | None = None,
) -> list[ForecastSnapshot]:
    """One group's snapshots of one period (every method unless ``method`` is given), oldest first: by
    ``as_of``, then ``made_at``, then id."""
    query = _group_query(
        period_start=period_start,
        period_end=period_end,
        level=level,
        team_id=team_id,
        user_id=user_id,
        method=method,
    )
    t = forecast_snapshots
    ordered = query.order_by(t.c.as_of, t.c.made_at, t.c.id)
    return [ForecastSnapshot(**row) for row in conn.execute(ordered).mappings()]


def latest_snapshot_before(
    conn: Connection,
    *,
    period_start: date,
    period_end: date,
    level: str,
    before: datetime,
    team_id: int | None = None,
    user_id: int | None = None,
    method: str | None = None,
) -> ForecastSnapshot | None:
    """The newest snapshot of the group and period whose ``as_of`` is at or before ``before`` (the
    model's own forecast "a week ago" is ``before=now - 7 days``); ``None`` when there is none. Among
    snapshots of the same ``as_of``, the last made wins."""
    query = _group_query(
        period_start=period_start,
        period_end=period_end,
        level=level,
        team_id=team_id,
        user_id=user_id,
        method=method,
    )
    t = forecast_snapshots
    newest = query.where(t.c.as_of <= before).order_by(t.c.as_of.desc(), t.c.made_at.desc(), t.c.id.desc())
    row = conn.execute(newest.limit(1)).mappings().first()
    return None if row is None else ForecastSnapshot(**row)


def latest_snapshots_before(
    conn: Connection, *, period_start: date, period_end: date, before: datetime, method: str
) -> list[ForecastSnapshot]:
    """Each group's newest snapshot of the period and method whose ``as_of`` is at or before ``before``
    (the order of :func:`latest_snapshot_before`), one per group, in one statement."""
    t = forecast_snapshots
    newest_first = sa.func.row_number().over(
        partition_by=(t.c.level, t.c.team_id, t.c.user_id),
        order_by=(t.c.as_of.desc(), t.c.made_at.desc(), t.c.id.desc()),
    )
    ranked = (
        sa.select(t, newest_first.label("rank"))
        .where(
            t.c.period_start == period_start,
            t.c.period_end == period_end,
            t.c.method == method,
            t.c.as_of <= before,
        )
        .subquery()
    )
    query = sa.select(*(ranked.c[c.name] for c in t.c)).where(ranked.c.rank == 1)
    return [ForecastSnapshot(**row) for row in conn.execute(query).mappings()]


def drop_snapshots_of(
    conn: Connection, *, period_start: date, period_end: date, as_of: datetime, method: str
) -> int:
    """Delete every snapshot of the period, ``as_of`` instant and method (in the caller's transaction,
    before storing the set that replaces them); returns how many."""
    t = forecast_snapshots
    gone = conn.execute(
        sa.delete(t).where(
            t.c.period_start == period_start,
            t.c.period_end == period_end,
            t.c.as_of == as_of,
            t.c.method == method,
        )
    )
    return int(gone.rowcount or 0)


def snapshot_set_of_version(
    conn: Connection,
    *,
    period_start: date,
    period_end: date,
    as_of: datetime,
    method: str,
    data_version: str,
) -> list[ForecastSnapshot]:
    """The newest set of snapshots (every group stored together, one ``made_at``) of the period, as-of
    instant and method made from ``data_version``; empty when there is none."""
    t = forecast_snapshots
    same = (
        t.c.period_start == period_start,
        t.c.period_end == period_end,
        t.c.as_of == as_of,
        t.c.method == method,
        t.c.data_version == data_version,
    )
    newest = sa.select(sa.func.max(t.c.made_at)).where(*same).scalar_subquery()
    query = sa.select(t).where(*same, t.c.made_at == newest).order_by(t.c.id)
    return [ForecastSnapshot(**row) for row in conn.execute(query).mappings()]


__all__ = [
    "LEVELS",
    "SNAPSHOT_COLUMNS",
    "ForecastSnapshot",
    "Level",
    "drop_snapshots_of",
    "forecast_snapshots_of",
    "latest_snapshot_before",
    "latest_snapshots_before",
    "save_forecast_snapshots",
    "snapshot_set_of_version",
]
