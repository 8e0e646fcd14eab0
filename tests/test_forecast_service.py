"""The forecast service on SQLite and PostgreSQL: ranges ordered and above what is already won, scope
(a rep sees only their own figures), snapshots stored company-wide and read back as earlier forecasts, no
look-ahead (a forecast as of a day does not change when later history is added), the movement's steps add
up exactly, and the pure waterfall by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.analytics.forecast_movement import forecast_movement
from dealsight.domain.access import Scope
from dealsight.services.demo import create_demo
from dealsight.services.forecasts import (
    forecast_movement_report,
    forecast_period,
    forecast_snapshots,
    period_bounds,
)
from dealsight.store.schema import forecast_snapshots as snapshot_table
from dealsight.store.schema import opportunities

TODAY = date(2026, 11, 24)
ALL = Scope(None, False)
FAST = "competing_risks"


@pytest.fixture
def demo(engine: Engine) -> Engine:
    create_demo(engine, seed=11, scale=0.15, today=TODAY)
    return engine


def test_period_bounds() -> None:
    assert period_bounds(date(2026, 11, 24), "quarter") == (date(2026, 10, 1), date(2026, 12, 31))
    assert period_bounds(date(2026, 2, 10), "month") == (date(2026, 2, 1), date(2026, 2, 28))


@pytest.mark.storage
def test_ranges_scope_and_snapshots(demo: Engine) -> None:
    as_of = TODAY - timedelta(days=7)
    first = forecast_period(demo, ALL, as_of=as_of, method=FAST, store=True)
    for group in [first.total, *first.teams, *first.reps]:
        assert group.amount.p10 <= group.amount.p50 <= group.amount.p90
        assert group.count.p10 <= group.count.p50 <= group.count.p90
        assert group.amount.p10 >= group.won_amount
        assert group.reach_probability is None or 0 <= group.reach_probability <= 1
    assert first.stored == 1 + len(first.teams) + len(first.reps)
    now = forecast_period(demo, ALL, as_of=TODAY, method=FAST, store=False)
    assert now.total.earlier["week"] is not None
    assert now.total.earlier["week"].amount.p50 == pytest.approx(first.total.amount.p50)
    rep = now.reps[0]
    mine = forecast_period(
        demo, Scope(frozenset({rep.user_id}), False), as_of=TODAY, method=FAST, store=False
    )
    assert [r.user_id for r in mine.reps] == [rep.user_id] and mine.teams == []
    assert mine.total.level == "view" and mine.total.won_amount == pytest.approx(rep.won_amount)
    series = forecast_snapshots(demo, ALL, level="company", as_of=TODAY, method=FAST)
    assert [p.as_of for p in series.points] == [as_of]


@pytest.mark.storage
def test_no_look_ahead(demo: Engine) -> None:
    as_of = TODAY - timedelta(days=30)
    before = forecast_period(demo, ALL, as_of=as_of, method=FAST, store=False)
    with demo.begin() as conn:  # later history: every deal open today is won tomorrow... as of today
        conn.execute(
            sa.update(opportunities)
            .where(opportunities.c.closed_date.is_(None), opportunities.c.created_date > as_of)
            .values(amount=opportunities.c.amount * 3)
        )
    after = forecast_period(demo, ALL, as_of=as_of, method=FAST, store=False)
    assert after.total.amount == before.total.amount
    assert after.total.won_amount == before.total.won_amount


@pytest.mark.storage
def test_movement_steps_add_up(demo: Engine) -> None:
    report = forecast_movement_report(demo, ALL, as_of=TODAY, method=FAST)
    assert abs(report.start + sum(s.amount for s in report.steps) - report.end) < 1e-6
    assert abs(report.unexplained) < 1e-6
    assert sum(s.deals for s in report.steps) >= 1
    assert snapshot_table.name == "forecast_snapshots"


def test_waterfall_by_hand() -> None:
    frame = lambda rows: pd.DataFrame(rows, columns=["opportunity_id", "probability", "amount", "in_period"])  # noqa: E731
    start = frame(
        [
            (1, 0.5, 100, True),
            (2, 0.5, 200, True),
            (3, 0.2, 50, True),
            (4, 0.4, 100, True),
            (5, 0.1, 80, False),
        ]
    )
    end = frame([(3, 0.1, 50, False), (4, 0.5, 120, True), (5, 0.6, 80, True), (6, 0.3, 10, True)])
    closed = pd.DataFrame(
        [(1, True, 110, True), (2, False, 200, True)],
        columns=["opportunity_id", "won", "amount", "in_period"],
    )
    moved = forecast_movement(start, end, closed, won_to_date_start=1000, won_to_date_end=1110)
    steps = {s.key: s.amount for s in moved.steps}
    assert steps["won"] == pytest.approx(110 - 50)
    assert steps["lost"] == pytest.approx(-100)
    assert steps["new"] == pytest.approx(3)
    assert steps["slipped"] == pytest.approx(5 - 10)
    assert steps["pulled_in"] == pytest.approx(48 - 8)
    assert steps["amount"] == pytest.approx(20 * 0.4)
    assert steps["probability"] == pytest.approx(0.1 * 120)
    assert moved.start == pytest.approx(1000 + 50 + 100 + 10 + 40 + 8)
    assert moved.start + sum(steps.values()) == pytest.approx(moved.end)
    assert moved.unexplained == pytest.approx(0)
