"""Storing forecast snapshots (:mod:`dealsight.store.forecast_snapshots`), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.errors import ValidationError
from dealsight.store.forecast_snapshots import (
    ForecastSnapshot,
    forecast_snapshots_of,
    latest_snapshot_before,
    save_forecast_snapshots,
)
from dealsight.store.schema import forecast_snapshots, teams, users

pytestmark = pytest.mark.storage

Q_START, Q_END = date(2026, 10, 1), date(2026, 12, 31)


def _org(engine: Engine) -> tuple[int, int]:
    with engine.begin() as conn:
        team = conn.execute(teams.insert().values(name="East").returning(teams.c.id)).scalar_one()
        rep = conn.execute(
            users.insert().values(name="Ann Rep", name_key="ann rep", team_id=team).returning(users.c.id)
        ).scalar_one()
    return int(team), int(rep)


def _snapshot(as_of: datetime, level: str = "company", **changes: object) -> ForecastSnapshot:
    base = ForecastSnapshot(
        made_at=as_of + timedelta(minutes=5),
        as_of=as_of,
        period_start=Q_START,
        period_end=Q_END,
        level=level,
        method="model",
        won_count_p10=3.0,
        won_count_p50=5.0,
        won_count_p90=8.0,
        won_count_expected=5.2,
        won_amount_p10=100_000.0,
        won_amount_p50=180_000.0,
        won_amount_p90=260_000.0,
        won_amount_expected=181_500.5,
        stage_weighted=240_000.0,
        open_deals=42,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(forecast_snapshots)).scalar_one())


def test_snapshots_round_trip_in_time_order_per_group(engine: Engine) -> None:
    team, rep = _org(engine)
    week = [datetime(2026, 10, 5) + timedelta(days=7 * i) for i in range(3)]
    rows = [
        _snapshot(week[2]),  # written out of order: read back by as_of
        _snapshot(week[0], commit_amount=50_000.0, best_case_amount=90_000.0, quota=200_000.0,
                  reach_probability=0.41, new_deals_expected=1.5),
        _snapshot(week[1]),
        _snapshot(week[1], method="stage_weighted"),
        _snapshot(week[0], "team", team_id=team),
        _snapshot(week[0], "rep", user_id=rep, open_deals=7),
        _snapshot(week[0], period_start=date(2027, 1, 1), period_end=date(2027, 3, 31)),
    ]  # fmt: skip
    with engine.begin() as conn:
        assert save_forecast_snapshots(conn, rows) == 7
    with engine.connect() as conn:
        company = forecast_snapshots_of(conn, period_start=Q_START, period_end=Q_END, level="company")
        model = forecast_snapshots_of(
            conn, period_start=Q_START, period_end=Q_END, level="company", method="model"
        )
        team_rows = forecast_snapshots_of(
            conn, period_start=Q_START, period_end=Q_END, level="team", team_id=team
        )
        rep_rows = forecast_snapshots_of(
            conn, period_start=Q_START, period_end=Q_END, level="rep", user_id=rep
        )
    assert [s.as_of for s in model] == week
    assert len(company) == 4 and {s.method for s in company} == {"model", "stage_weighted"}
    first = model[0]
    assert first.id is not None
    assert dataclasses.replace(first, id=None) == rows[1]  # every column as written, NULLs included
    assert model[1].commit_amount is None and model[1].quota is None
    assert [(s.level, s.team_id, s.user_id) for s in team_rows] == [("team", team, None)]
    assert [(s.user_id, s.open_deals) for s in rep_rows] == [(rep, 7)]


def test_the_latest_snapshot_before_an_instant(engine: Engine) -> None:
    days = [datetime(2026, 10, 1) + timedelta(days=7 * i) for i in range(4)]
    rows = [_snapshot(day, won_amount_p50=1000.0 * i) for i, day in enumerate(days)]
    # a second forecast of the same as_of, made later, replaces the first in "latest"
    rows.append(_snapshot(days[1], made_at=days[1] + timedelta(hours=3), won_amount_p50=1111.0))
    with engine.begin() as conn:
        save_forecast_snapshots(conn, rows)
    group = {"period_start": Q_START, "period_end": Q_END, "level": "company"}
    with engine.connect() as conn:
        assert latest_snapshot_before(conn, before=days[0] - timedelta(seconds=1), **group) is None  # type: ignore[arg-type]
        on_the_day = latest_snapshot_before(conn, before=days[2], **group)  # type: ignore[arg-type]
        between = latest_snapshot_before(conn, before=days[2] - timedelta(days=1), **group)  # type: ignore[arg-type]
        other_method = latest_snapshot_before(conn, before=days[3], method="commit", **group)  # type: ignore[arg-type]
    assert on_the_day is not None and on_the_day.won_amount_p50 == 2000.0
    assert between is not None and between.as_of == days[1] and between.won_amount_p50 == 1111.0
    assert other_method is None


def test_a_snapshot_whose_group_disagrees_with_its_level_writes_nothing(engine: Engine) -> None:
    team, _ = _org(engine)
    good = _snapshot(datetime(2026, 10, 5))
    bad = _snapshot(datetime(2026, 10, 5), "team")  # no team_id
    with pytest.raises(ValidationError, match="team_id"), engine.begin() as conn:
        save_forecast_snapshots(conn, [good, bad])
    with pytest.raises(ValidationError, match="level"), engine.begin() as conn:
        save_forecast_snapshots(conn, [_snapshot(datetime(2026, 10, 5), "region")])
    with pytest.raises(ValidationError), engine.connect() as conn:
        forecast_snapshots_of(conn, period_start=Q_START, period_end=Q_END, level="company", team_id=team)
    assert _count(engine) == 0


def test_mappings_are_accepted_and_snapshots_go_with_their_team(engine: Engine) -> None:
    team, _ = _org(engine)
    row = {**dataclasses.asdict(_snapshot(datetime(2026, 11, 2), "team", team_id=team)), "id": None}
    with engine.begin() as conn:
        save_forecast_snapshots(conn, [row])
    assert _count(engine) == 1
    with engine.begin() as conn:
        conn.execute(teams.delete().where(teams.c.id == team))
    assert _count(engine) == 0  # a deleted team's snapshots go with it (foreign keys on, both back ends)
