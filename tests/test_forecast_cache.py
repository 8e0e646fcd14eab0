"""Forecasts served from the store (``read_forecast``, ``read_movement``) on SQLite and PostgreSQL: a second
read computes nothing and serves the stored forecast, equal to a fresh computation for every view; a deal
changed through the product makes the next read compute again and show the new figure (and replace the
day's stored set); a rep gets their own row and nothing else, a view that is no stored group is computed
and never stored; the data version moves with every write through the product and not with reads.

"Computed" is counted by the deals being loaded (every computation loads them, a stored read never does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.domain.access import Principal, Scope
from dealsight.domain.clock import utc_now
from dealsight.services import forecast_movement, forecasts
from dealsight.services.access import scope_of
from dealsight.services.demo import create_demo
from dealsight.services.forecast_cache import data_version, forget
from dealsight.services.forecasts import (
    forecast_movement_report,
    forecast_period,
    read_forecast,
    read_movement,
)
from dealsight.services.opportunities import update_opportunity
from dealsight.services.quotas import update_quota
from dealsight.services.users import find_user
from dealsight.store.database import connect, upgrade
from dealsight.store.quotas import quotas_for_period
from dealsight.store.schema import forecast_snapshots, opportunities
from tests.conftest import _drop_postgres, _fresh_postgres

pytestmark = pytest.mark.storage
FAST = "competing_risks"
ALL = Scope(None, False)


@dataclass
class Org:
    engine: Engine
    principals: dict[str, Principal]

    def scope(self, role: str) -> Scope:
        return scope_of(self.engine, self.principals[role])

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(forecast_snapshots)).scalar_one())


@pytest.fixture(params=["sqlite", "postgresql"])
def org(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    """The demo (about 750 deals, today as its today) on each back end, and the process's memory empty."""
    if request.param == "sqlite":
        engine = connect(f"sqlite:///{tmp_path_factory.mktemp('cache') / 'demo.db'}")
        upgrade(engine)
        name = None
    else:
        cluster = request.getfixturevalue("pg_cluster")
        engine, name = _fresh_postgres(cluster)
    summary = create_demo(engine, seed=11, scale=0.15, today=utc_now().date())
    principals = {}
    for login in summary.logins:
        user = find_user(engine, login.email)
        principals[login.role.value] = Principal(user.id, user.name, login.role)
    forget()
    try:
        yield Org(engine, principals)
    finally:
        forget()
        engine.dispose()
        if name is not None:
            _drop_postgres(request.getfixturevalue("pg_cluster"), name)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[date]:
    """The as-of day of every computation of a forecast or a movement (each loads the deals)."""
    found: list[date] = []
    for module in (forecasts, forecast_movement):
        original = module.load_deals

        def counted(conn: sa.Connection, day: date, original=original) -> object:  # type: ignore[no-untyped-def]
            found.append(day)
            return original(conn, day)

        monkeypatch.setattr(module, "load_deals", counted)
    return found


def _rep_deal_open_a_week(org: Org) -> int:
    """An open deal of the demo's rep, open for more than a week."""
    o = opportunities
    with org.engine.connect() as conn:
        deal = conn.execute(
            sa.select(o.c.id)
            .where(
                o.c.outcome.is_(None),
                o.c.closed_date.is_(None),
                o.c.owner_id == org.principals["rep"].user_id,
                o.c.created_date < utc_now().date() - timedelta(days=10),
            )
            .order_by(o.c.id)
        ).first()
    assert deal is not None, "the demo rep has a deal open for more than a week"
    return int(deal.id)


def test_a_second_read_serves_the_stored_forecast(org: Org, loads: list[date]) -> None:
    first = read_forecast(org.engine, ALL, method=FAST)
    assert len(loads) == 1 and first.stored == 1 + len(first.teams) + len(first.reps) == org.count()
    second = read_forecast(org.engine, ALL, method=FAST)
    assert len(loads) == 1, "the second read computed the forecast again"
    assert second.stored == 0 and org.count() == first.stored
    assert second == dataclasses.replace(first, stored=0)
    for role in ("executive", "manager", "rep"):
        served = read_forecast(org.engine, org.scope(role), method=FAST)
        assert served.stored == 0
        computed = forecast_period(org.engine, org.scope(role), method=FAST, store=False)
        assert served == computed, role
    assert len(loads) == 1 + 3, "only the three fresh computations above loaded the deals"


def test_a_deal_changed_through_the_product_is_forecast_again(org: Org, loads: list[date]) -> None:
    before = read_forecast(org.engine, ALL, method=FAST)
    rows, version = org.count(), _version(org)
    deal = _rep_deal_open_a_week(org)
    admin = org.principals["admin"]
    with org.engine.connect() as conn:
        amount = conn.execute(
            sa.select(opportunities.c.amount).where(opportunities.c.id == deal)
        ).scalar_one()
    changes = {"amount": str(Decimal(amount or 1000) * 40), "stage": "Negotiation"}
    update_opportunity(org.engine, admin, Scope(None, True), deal, changes, "api")
    assert _version(org) != version
    after = read_forecast(org.engine, ALL, method=FAST)
    assert len(loads) == 2 and after.stored == rows, "computed and stored again"
    assert org.count() == rows, "the new set replaced the day's older one"
    assert after.total.amount.expected > before.total.amount.expected
    assert after == dataclasses.replace(
        forecast_period(org.engine, ALL, method=FAST, store=False), stored=rows
    )
    assert read_forecast(org.engine, ALL, method=FAST) == dataclasses.replace(after, stored=0)
    assert len(loads) == 3, "the check above computed once; the last read was served"


def test_a_changed_quota_is_forecast_again(org: Org, loads: list[date]) -> None:
    before = read_forecast(org.engine, org.scope("rep"), method=FAST)
    mine = before.reps[0]
    with org.engine.connect() as conn:
        quota = next(
            q
            for q in quotas_for_period(conn, before.period_start, before.period_end)
            if q.user_id == mine.user_id
        )
    update_quota(org.engine, org.principals["admin"], quota.id, {"amount": str(quota.amount * 2)})
    after = read_forecast(org.engine, org.scope("rep"), method=FAST)
    assert len(loads) == 2, "computed again"
    assert mine.quota == float(quota.amount) and after.reps[0].quota == float(quota.amount * 2)
    assert after.reps[0].amount == mine.amount


def test_a_rep_never_gets_another_scopes_figures(org: Org, loads: list[date]) -> None:
    everyone = read_forecast(org.engine, ALL, method=FAST)
    rep = org.principals["rep"].user_id
    own = next(r for r in everyone.reps if r.user_id == rep)
    mine = read_forecast(org.engine, org.scope("rep"), method=FAST)
    assert len(loads) == 1, "served from the stored rows"
    assert mine.teams == [] and mine.reps == [own]
    assert mine.total.level == "view" and mine.total.quota is None
    assert (mine.total.won_amount, mine.total.amount, mine.total.count) == (
        own.won_amount,
        own.amount,
        own.count,
    )
    assert mine.total.amount != everyone.total.amount
    managed = read_forecast(org.engine, org.scope("manager"), method=FAST)
    assert {r.user_id for r in managed.reps} <= set(org.scope("manager").owner_ids or ())
    assert managed.total.amount != mine.total.amount
    # two reps of different teams: no stored group has exactly their deals, so it is computed, never stored
    other = next(r.user_id for r in everyone.reps if r.user_id not in (org.scope("manager").owner_ids or ()))
    pair = Scope(frozenset({rep, other}), False)
    rows = org.count()
    both = read_forecast(org.engine, pair, method=FAST)
    assert len(loads) == 2 and both.stored == 0 and org.count() == rows
    assert {r.user_id for r in both.reps} == {rep, other} and both.teams == []
    assert both == forecast_period(org.engine, pair, method=FAST, store=False)


def test_the_movement_is_computed_once_per_data_version(org: Org, loads: list[date]) -> None:
    today = utc_now().date()
    read_forecast(org.engine, ALL, method=FAST)
    for role in ("admin", "manager", "rep"):
        served = read_movement(org.engine, org.scope(role), method=FAST)
        assert served == forecast_movement_report(org.engine, org.scope(role), method=FAST), role
    week_ago = today - timedelta(days=7)
    assert loads.count(week_ago) == 1 + 3, "one load for every view's movement, three for the checks"
    update_opportunity(
        org.engine,
        org.principals["admin"],
        Scope(None, True),
        _rep_deal_open_a_week(org),
        {"stage": "Closed Won"},
        "api",
    )
    moved = read_movement(org.engine, org.scope("rep"), method=FAST)
    assert loads.count(week_ago) == 5 and moved.steps[0].key == "won" and moved.steps[0].deals >= 1


def test_the_data_version_moves_with_writes_not_reads(org: Org) -> None:
    start = _version(org)
    read_forecast(org.engine, ALL, method=FAST)  # stores snapshots: not an input of a forecast
    read_movement(org.engine, ALL, method=FAST)
    assert _version(org) == start
    update_opportunity(
        org.engine,
        org.principals["admin"],
        Scope(None, True),
        _rep_deal_open_a_week(org),
        {"expected_close_date": (utc_now().date() + timedelta(days=400)).isoformat()},
        "api",
    )
    assert _version(org) != start


def _version(org: Org) -> str:
    with org.engine.connect() as conn:
        return data_version(conn)
