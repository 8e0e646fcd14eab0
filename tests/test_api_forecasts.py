"""The forecast routes (``/api/v1/forecast``, ``/forecast/snapshots``, ``/forecast/movement``,
``/backtest``) on the shared demo organisation: what each role sees, ranges ordered, the waterfall adds
up, groups outside the view are 404, reads never store, and the backtest is 404 until one was run."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from dealsight.services.backtests import run_backtest
from dealsight.services.forecasts import forecast_period
from dealsight.store.schema import backtest_runs, forecast_snapshots
from tests import api_fixtures
from tests.api_fixtures import ROLES, World

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world
pg_world = api_fixtures.pg_world

FAST = {"method": "competing_risks"}
ROUTES = ("/forecast", "/forecast/snapshots", "/forecast/movement", "/backtest")


def get(world: World, role: str | None, path: str, **params: Any) -> Any:
    return world.call(role, "GET", path, params=params)


def ordered(figures: dict[str, Any]) -> None:
    p10, p50, p90 = (Decimal(str(figures[k])) for k in ("p10", "p50", "p90"))
    assert p10 <= p50 <= p90, figures


@pytest.mark.parametrize("path", ROUTES)
def test_anonymous_callers_get_401(sqlite_world: World, path: str) -> None:
    response = get(sqlite_world, None, path)
    assert response.status_code == 401
    assert "message" in response.json()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_own_groups(sqlite_world: World, role: str) -> None:
    response = get(sqlite_world, role, "/forecast", **FAST)
    assert response.status_code == 200, response.text
    body = response.json()
    scope = sqlite_world.scope(role)
    reps = {r["user_id"] for r in body["reps"]}
    if scope.sees_all:
        assert body["total"]["level"] == "company"
        assert body["teams"], "executives and admins see every team"
    else:
        assert body["total"]["level"] == "view"
        assert reps <= set(scope.owner_ids or ())
    if role == "rep":
        assert reps <= {sqlite_world.users["rep"]}
        assert body["teams"] == []
    for group in [body["total"], *body["teams"], *body["reps"]]:
        ordered(group["amount"])
        ordered(group["count"])
        assert Decimal(group["amount"]["p10"]) >= Decimal(group["won_amount"])
    assert body["stored"] == 0


def test_the_company_row_is_the_services(sqlite_world: World) -> None:
    body = get(sqlite_world, "executive", "/forecast", **FAST).json()
    direct = forecast_period(
        sqlite_world.engine, sqlite_world.scope("executive"), method="competing_risks", store=False
    )
    assert Decimal(body["total"]["amount"]["p50"]) == Decimal(str(direct.total.amount.p50)).quantize(
        Decimal("0.01")
    )
    assert len(body["reps"]) == len(direct.reps)


def test_reads_never_store_snapshots(sqlite_world: World) -> None:
    before = sqlite_world.count(forecast_snapshots)
    assert get(sqlite_world, "admin", "/forecast", **FAST).status_code == 200
    assert sqlite_world.count(forecast_snapshots) == before


def test_snapshots_are_scoped(sqlite_world: World) -> None:
    forecast_period(sqlite_world.engine, sqlite_world.scope("admin"), method="competing_risks", store=True)
    rep_id = sqlite_world.users["rep"]
    own = get(sqlite_world, "rep", "/forecast/snapshots", level="rep", user_id=rep_id, **FAST)
    assert own.status_code == 200, own.text
    assert own.json()["points"], "the stored forecast is there"
    ordered(own.json()["points"][-1]["amount"])
    assert get(sqlite_world, "rep", "/forecast/snapshots", level="company", **FAST).status_code == 404
    other = get(sqlite_world, "executive", "/forecast", **FAST).json()["reps"]
    stranger = next(
        r["user_id"] for r in other if r["user_id"] not in (sqlite_world.scope("rep").owner_ids or ())
    )
    refused = get(sqlite_world, "rep", "/forecast/snapshots", level="rep", user_id=stranger, **FAST)
    assert refused.status_code == 404
    company = get(sqlite_world, "admin", "/forecast/snapshots", level="company", **FAST)
    assert company.status_code == 200 and company.json()["points"]


@pytest.mark.parametrize("role", ROLES)
def test_movement_steps_add_up(sqlite_world: World, role: str) -> None:
    response = get(sqlite_world, role, "/forecast/movement", **FAST)
    assert response.status_code == 200, response.text
    body = response.json()
    total = sum(Decimal(s["amount"]) for s in body["steps"])
    assert abs(Decimal(body["start"]) + total - Decimal(body["end"])) <= Decimal("0.05") * len(body["steps"])
    assert [s["key"] for s in body["steps"]][:3] == ["won", "lost", "new"]


def test_bad_input_is_422(sqlite_world: World) -> None:
    assert get(sqlite_world, "admin", "/forecast", period="year").status_code == 422
    assert get(sqlite_world, "admin", "/forecast", as_of="9999-01-01").status_code == 422
    thin = get(sqlite_world, "admin", "/forecast", as_of="1990-01-01", **FAST)
    assert thin.status_code == 422 and "thin" in thin.json()["message"]
    assert get(sqlite_world, "admin", "/forecast/movement", days=0).status_code == 422


def test_backtest_is_404_until_run_then_rows_for_full_sight_only(sqlite_world: World) -> None:
    with sqlite_world.engine.begin() as conn:
        conn.execute(sa.delete(backtest_runs))
    missing = get(sqlite_world, "admin", "/backtest")
    assert missing.status_code == 404
    assert "dealsight backtest" in missing.json()["message"]
    run_backtest(sqlite_world.engine, methods=("competing_risks", "stage_weighted"), every_days=28)
    for role in ROLES:
        body = get(sqlite_world, role, "/backtest").json()
        assert set(body["results"]) == {"competing_risks", "stage_weighted"}
        assert body["results"]["competing_risks"]["amount"]["dates"] >= 1
        assert (body["rows"] is None) == (role in ("manager", "rep"))
