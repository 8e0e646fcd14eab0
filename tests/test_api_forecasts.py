"""The forecast routes (``/api/v1/forecast``, ``/forecast/snapshots``, ``/forecast/movement``,
``/backtest``) on the shared demo organisation, on SQLite and on PostgreSQL: the role matrix (rep, manager,
executive, admin, anonymous) on every route, ranges ordered, the figures are the service's, the waterfall
adds up, groups outside the view are 404 worded as missing ones, a repeated read stores nothing, the
backtest is 404 until one was run, every forecast method is accepted, and bad input (unknown method,
period or level, bad or future dates, unknown team, unknown parameter) gets the API's one JSON error shape
naming the parameter."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from dealsight.analytics.time_to_close import METHODS
from dealsight.services.backtests import run_backtest
from dealsight.services.forecasts import forecast_period
from dealsight.store.schema import backtest_runs, forecast_snapshots, opportunities
from tests import api_fixtures
from tests.api_fixtures import ROLES, World

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world
pg_world = api_fixtures.pg_world
world = api_fixtures.world

FAST = {"method": "competing_risks"}
ROUTES = ("/forecast", "/forecast/snapshots", "/forecast/movement", "/backtest")
GROUPS = ("company", "own_rep", "colleague", "other_rep", "led_team", "other_team")
SEES = {
    "company": {"rep": 404, "manager": 404, "executive": 200, "admin": 200},
    "own_rep": {"rep": 200, "manager": 200, "executive": 200, "admin": 200},
    "colleague": {"rep": 404, "manager": 200, "executive": 200, "admin": 200},
    "other_rep": {"rep": 404, "manager": 404, "executive": 200, "admin": 200},
    "led_team": {"rep": 404, "manager": 200, "executive": 200, "admin": 200},
    "other_team": {"rep": 404, "manager": 404, "executive": 200, "admin": 200},
}
_stored: dict[str, dict[str, dict[str, Any]]] = {}


def get(world: World, role: str | None, path: str, **params: Any) -> Any:
    return world.call(role, "GET", path, params=params)


def ordered(figures: dict[str, Any]) -> None:
    p10, p50, p90 = (Decimal(str(figures[k])) for k in ("p10", "p50", "p90"))
    assert p10 <= p50 <= p90, figures


def error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """The API's one error shape: status, message, problems naming the input at fault (none: ``[]``)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"status", "message", "problems"}, body
    assert body["status"] == status and isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in response.text
    fields = [problem["field"] for problem in body["problems"]]
    assert all(set(p) == {"field", "message"} and p["message"] for p in body["problems"]), body
    assert fields == ([] if field is None else [field]), body
    return body


def _owner(world: World, deal: str) -> int:
    with world.engine.connect() as conn:
        query = sa.select(opportunities.c.owner_id).where(opportunities.c.id == world.ids[deal])
        return int(conn.execute(query).scalar_one())


def groups(world: World) -> dict[str, dict[str, Any]]:
    """The snapshot query of each group of the matrix; the company-wide forecast is stored once per back
    end (as ``dealsight forecast`` does), so the groups have points to read."""
    if world.backend not in _stored:
        forecast_period(world.engine, world.scope("admin"), method="competing_risks", store=True)
        managed = get(world, "manager", "/forecast", **FAST).json()["teams"]
        everyone = get(world, "executive", "/forecast", **FAST).json()["teams"]
        assert managed, "the demo manager sees a whole team"
        outside = [t for t in everyone if t["team_id"] not in {m["team_id"] for m in managed}]
        _stored[world.backend] = {
            "company": {"level": "company"},
            "own_rep": {"level": "rep", "user_id": world.users["rep"]},
            "colleague": {"level": "rep", "user_id": _owner(world, "team_deal")},
            "other_rep": {"level": "rep", "user_id": _owner(world, "other_deal")},
            "led_team": {"level": "team", "team_id": managed[0]["team_id"]},
            "other_team": {"level": "team", "team_id": outside[0]["team_id"]},
        }
    return _stored[world.backend]


# anonymous callers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ROUTES)
def test_anonymous_callers_get_401(world: World, path: str) -> None:
    response = get(world, None, path)
    error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# /forecast -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_own_groups(world: World, role: str) -> None:
    response = get(world, role, "/forecast", **FAST)
    assert response.status_code == 200, response.text
    body = response.json()
    scope = world.scope(role)
    reps = {r["user_id"] for r in body["reps"]}
    if scope.sees_all:
        assert body["total"]["level"] == "company"
        assert body["teams"], "executives and admins see every team"
    else:
        assert body["total"]["level"] == "view"
        assert reps <= set(scope.owner_ids or ())
    if role == "rep":
        assert reps == {world.users["rep"]}
        assert body["teams"] == []
    if role == "manager":
        assert world.users["rep"] in reps and _owner(world, "team_deal") in reps
        assert _owner(world, "other_deal") not in reps
    for group in [body["total"], *body["teams"], *body["reps"]]:
        ordered(group["amount"])
        ordered(group["count"])
        assert Decimal(group["amount"]["p10"]) >= Decimal(group["won_amount"])
        assert group["reach_probability"] is None or 0 <= group["reach_probability"] <= 1


def test_the_company_row_and_a_reps_view_are_the_services(world: World) -> None:
    body = get(world, "executive", "/forecast", **FAST).json()
    direct = forecast_period(world.engine, world.scope("executive"), method="competing_risks", store=False)
    cents = Decimal("0.01")
    for key in ("p10", "p50", "p90"):
        assert Decimal(body["total"]["amount"][key]) == Decimal(
            str(getattr(direct.total.amount, key))
        ).quantize(cents)
    assert [r["user_id"] for r in body["reps"]] == [r.user_id for r in direct.reps]
    mine = get(world, "rep", "/forecast", **FAST).json()
    row = next(r for r in body["reps"] if r["user_id"] == world.users["rep"])
    assert mine["reps"] == [row], "a rep's own row is the one everyone else sees"
    assert Decimal(mine["total"]["won_amount"]) == Decimal(row["won_amount"])


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_forecast_method_is_accepted(world: World, method: str) -> None:
    response = get(world, "admin", "/forecast/snapshots", level="company", method=method)
    assert response.status_code == 200, response.text


def test_the_seasonal_method_forecasts(world: World) -> None:
    response = get(world, "manager", "/forecast", method="competing_risks_seasonal")
    assert response.status_code == 200, response.text
    assert response.json()["method"] == "competing_risks_seasonal"
    ordered(response.json()["total"]["amount"])


def test_reads_store_nothing_twice_and_the_other_routes_never(world: World) -> None:
    """``/forecast`` may store the company-wide forecast it had to compute (once per data version, as
    ``dealsight forecast`` would); reading it again writes nothing and gives the same figures. The
    snapshots, the movement and the backtest are only read."""
    groups(world)
    first = {role: get(world, role, "/forecast", **FAST).json() for role in ROLES}
    before = world.counts(forecast_snapshots, backtest_runs)
    for role in ROLES:
        again = get(world, role, "/forecast", **FAST).json()
        assert again["stored"] == 0
        assert again["total"] == first[role]["total"] and again["reps"] == first[role]["reps"]
        for path, params in (
            ("/forecast/snapshots", {"level": "rep", "user_id": world.users["rep"], **FAST}),
            ("/forecast/movement", FAST),
            ("/backtest", {}),
        ):
            assert get(world, role, path, **params).status_code in (200, 404)
    assert world.counts(forecast_snapshots, backtest_runs) == before


# /forecast/snapshots ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("group", GROUPS)
def test_snapshots_by_role(world: World, role: str, group: str) -> None:
    query = groups(world)[group]
    response = get(world, role, "/forecast/snapshots", **query, **FAST)
    if SEES[group][role] == 404:
        body = error(response, 404)
        assert body["message"].startswith("No "), body
        missing = {**query, **{k: 999999 for k in ("team_id", "user_id") if k in query}}
        if query["level"] != "company":  # worded as a group that does not exist
            other = error(get(world, role, "/forecast/snapshots", **missing, **FAST), 404)["message"]
            assert other.replace("999999", "N") == body["message"].replace(
                str(query.get("team_id") or query.get("user_id")), "N"
            )
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["level"] == query["level"]
    assert body["team_id"] == query.get("team_id") and body["user_id"] == query.get("user_id")
    assert body["points"], "the stored forecast is there"
    days = [p["as_of"] for p in body["points"]]
    assert days == sorted(days)
    for point in body["points"]:
        ordered(point["amount"])
        ordered(point["count"])


# /forecast/movement ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_movement_steps_add_up_over_the_callers_deals(world: World, role: str) -> None:
    response = get(world, role, "/forecast/movement", **FAST)
    assert response.status_code == 200, response.text
    body = response.json()
    total = sum(Decimal(s["amount"]) for s in body["steps"])
    assert abs(Decimal(body["start"]) + total - Decimal(body["end"])) <= Decimal("0.05") * len(body["steps"])
    assert [s["key"] for s in body["steps"]][:3] == ["won", "lost", "new"]
    moved = [d["opportunity_id"] for d in body["top_deals"]]
    with world.engine.connect() as conn:
        owners = set(
            conn.execute(
                sa.select(opportunities.c.owner_id).where(opportunities.c.id.in_(moved)).distinct()
            ).scalars()
        )
    scope = world.scope(role)
    assert scope.sees_all or owners <= set(scope.owner_ids or ()), (role, owners)


def test_a_longer_movement_window_starts_earlier(world: World) -> None:
    week = get(world, "admin", "/forecast/movement", **FAST).json()
    month = get(world, "admin", "/forecast/movement", days=30, **FAST).json()
    assert month["from_date"] < week["from_date"] and month["as_of"] == week["as_of"]


# bad input -------------------------------------------------------------------------------------------------
BAD = [
    ("/forecast", {"method": "crystal_ball"}, 422, "query.method"),
    ("/forecast", {"period": "year"}, 422, "query.period"),
    ("/forecast", {"as_of": "2026-13-45"}, 422, "query.as_of"),
    ("/forecast", {"as_of": "yesterday"}, 422, "query.as_of"),
    ("/forecast", {"as_of": "9999-01-01"}, 422, "query.as_of"),
    ("/forecast", {"as_of": "0761-01-01"}, 422, "query.as_of"),
    ("/forecast", {"colour": "red"}, 422, "query.colour"),
    ("/forecast/snapshots", {"level": "team", "team_id": 999999}, 404, None),
    ("/forecast/snapshots", {"level": "rep", "user_id": 999999}, 404, None),
    ("/forecast/snapshots", {"level": "team"}, 422, "query.team_id"),
    ("/forecast/snapshots", {"level": "team", "team_id": "sales"}, 422, "query.team_id"),
    ("/forecast/snapshots", {"level": "planet"}, 422, "query.level"),
    ("/forecast/snapshots", {"method": "crystal_ball"}, 422, "query.method"),
    ("/forecast/movement", {"days": 0}, 422, "query.days"),
    ("/forecast/movement", {"days": "week"}, 422, "query.days"),
    ("/forecast/movement", {"as_of": "2026-02-30"}, 422, "query.as_of"),
    ("/forecast/movement", {"method": "crystal_ball"}, 422, "query.method"),
]


@pytest.mark.parametrize(("path", "params", "status", "field"), BAD)
def test_bad_input_gets_the_one_error_shape(
    world: World, path: str, params: dict[str, Any], status: int, field: str | None
) -> None:
    before = world.counts(forecast_snapshots)
    error(get(world, "admin", path, **params), status, field)
    assert world.counts(forecast_snapshots) == before


def test_too_little_history_is_422_without_a_problem(world: World) -> None:
    for path in ("/forecast", "/forecast/movement"):
        body = error(get(world, "admin", path, as_of="1990-01-01", **FAST), 422)
        assert "thin" in body["message"]


# /backtest -------------------------------------------------------------------------------------------------
def test_backtest_is_404_until_run_then_rows_for_full_sight_only(world: World) -> None:
    with world.engine.begin() as conn:
        conn.execute(sa.delete(backtest_runs))
    for role in ROLES:
        missing = error(get(world, role, "/backtest"), 404)
        assert "dealsight backtest" in missing["message"]
    run_backtest(world.engine, methods=("competing_risks", "stage_weighted"), every_days=28)
    for role in ROLES:
        response = get(world, role, "/backtest")
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body["results"]) == {"competing_risks", "stage_weighted"}
        for measures in body["results"].values():
            assert measures["amount"]["dates"] >= 1 and measures["count"]["dates"] >= 1
            assert 0 <= measures["amount"]["coverage_p10_p90"] <= 100
        assert (body["rows"] is None) == (role in ("manager", "rep"))
        if body["rows"] is not None:
            assert {r["method"] for r in body["rows"]} == {"competing_risks", "stage_weighted"}
    error(get(world, None, "/backtest"), 401)
