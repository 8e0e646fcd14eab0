"""The pipeline analytics routes (``/api/v1/analytics/...``) on the demo organisation: what each role
sees, the figures against the service called directly, filters, bad input and too little data.

A rep's figures are those of their own deals (the funnel's first stage counts exactly the deals they can
list), a manager's those of everyone below them, executives and admins every deal; a team or owner outside
the view is 404, worded as one that does not exist. The shared demo world is only read here.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from dealsight.domain.clock import utc_now
from dealsight.services.pipeline_analytics import (
    DealFilters,
    changes_report,
    funnel_report,
    outcome_report,
    stage_duration_report,
    velocity_report,
)
from dealsight.store.schema import opportunities
from tests import api_fixtures
from tests.api_fixtures import ROLES, World

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world
pg_world = api_fixtures.pg_world

TODAY = utc_now().date()
FROM = TODAY - timedelta(days=60)
ROUTES = {
    "velocity": {"by": "owner"},
    "funnel": {},
    "stage-durations": {"by_segment": "true"},
    "win-loss": {"window": "1y"},
    "pipeline-changes": {"from": FROM.isoformat()},
}


def report(world: World, role: str, route: str, filters: DealFilters = DealFilters()) -> Any:
    """The service's result for ``route`` with the parameters of :data:`ROUTES`, for ``role``'s scope."""
    engine, scope = world.engine, world.scope(role)
    if route == "velocity":
        return velocity_report(engine, scope, by="owner", filters=filters)
    if route == "funnel":
        return funnel_report(engine, scope, filters=filters)
    if route == "stage-durations":
        return stage_duration_report(engine, scope, by_segment=True, filters=filters)
    if route == "win-loss":
        return outcome_report(engine, scope, window_days=365, filters=filters)
    return changes_report(engine, scope, from_date=FROM, filters=filters)


def same_figures(answer: Any, expected: Any, where: str = "") -> None:
    """The API's JSON holds the service's figures: money as decimal strings of the cent, days as ISO."""
    if isinstance(expected, dict):
        assert isinstance(answer, dict) and set(answer) == set(expected), where
        for key, value in expected.items():
            same_figures(answer[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(answer, list) and len(answer) == len(expected), where
        for index, (got, value) in enumerate(zip(answer, expected, strict=True)):
            same_figures(got, value, f"{where}[{index}]")
    elif isinstance(expected, date):
        assert answer == expected.isoformat(), where
    elif isinstance(answer, str) and isinstance(expected, float):
        assert Decimal(answer) == Decimal(str(expected)).quantize(Decimal("0.01")), where
        assert len(answer.split(".")[1]) == 2, where
    else:
        assert answer == expected, where


def analytics(world: World, role: str | None, route: str, **params: Any) -> Any:
    return world.call(role, "GET", f"/analytics/{route}", params=params)


def visible_deals(world: World, role: str) -> int:
    page = world.call(role, "GET", "/opportunities", params={"status": "all", "limit": 1})
    assert page.status_code == 200, page.text
    return int(page.json()["total"])


def assert_error(response: Any, status: int, fields: list[str] | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["message"]
    if fields is not None:
        assert [problem["field"] for problem in body["problems"]] == fields, body
    return body


def team_of_other_deal(world: World) -> str:
    """The team of the owner of a deal neither the rep nor the manager can see."""
    deal = world.call("admin", "GET", f"/opportunities/{world.ids['other_deal']}").json()
    owner = world.call("admin", "GET", f"/users/{deal['owner_id']}").json()
    assert owner["team_name"], owner
    return str(owner["team_name"])


# the role matrix -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_each_role_gets_the_figures_of_its_own_view(sqlite_world: World, role: str, route: str) -> None:
    response = analytics(sqlite_world, role, route, **ROUTES[route])
    assert response.status_code == 200, response.text
    same_figures(response.json(), asdict(report(sqlite_world, role, route)))


@pytest.mark.parametrize("route", list(ROUTES))
def test_anonymous_callers_get_401_with_a_bearer_challenge(sqlite_world: World, route: str) -> None:
    response = analytics(sqlite_world, None, route, **ROUTES[route])
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="dealsight"')


@pytest.mark.parametrize("role", ROLES)
def test_the_funnels_first_stage_counts_exactly_the_deals_the_role_sees(
    sqlite_world: World, role: str
) -> None:
    funnel = analytics(sqlite_world, role, "funnel").json()
    seen = visible_deals(sqlite_world, role)
    assert funnel["deals"] == funnel["stages"][0]["reached"] == seen
    assert funnel["won"] + funnel["lost"] + funnel["no_decision"] + funnel["still_open"] == seen
    everything = sqlite_world.count(opportunities)
    assert (seen == everything) is (role in ("admin", "executive"))


def test_a_reps_win_loss_rows_are_theirs_alone(sqlite_world: World) -> None:
    breakdown = analytics(sqlite_world, "rep", "win-loss", window="1y").json()
    rep = sqlite_world.call("rep", "GET", f"/users/{sqlite_world.users['rep']}").json()
    assert {row["value"] for row in breakdown["by"]["owner"]} == {rep["name"]}
    assert {row["value"] for row in breakdown["by"]["team"]} == {rep["team_name"]}
    manager = analytics(sqlite_world, "manager", "win-loss", window="1y").json()
    assert len(manager["by"]["owner"]) > 1
    assert manager["total"][0]["closed"] > breakdown["total"][0]["closed"]


# filters ---------------------------------------------------------------------------------------------------
def test_an_owner_filter_narrows_a_managers_view_to_that_rep(sqlite_world: World) -> None:
    rep = sqlite_world.call("rep", "GET", f"/users/{sqlite_world.users['rep']}").json()
    narrowed = analytics(sqlite_world, "manager", "funnel", owner=rep["name"].upper()).json()
    assert narrowed["deals"] == visible_deals(sqlite_world, "rep")
    by_team = analytics(sqlite_world, "manager", "velocity", team=rep["team_name"], by="team").json()
    assert {row["group"] for row in by_team["groups"]} == {rep["team_name"]}


def test_filters_and_parameters_give_the_services_figures(sqlite_world: World) -> None:
    filters = DealFilters(segment="enterprise")
    engine, scope = sqlite_world.engine, sqlite_world.scope("manager")
    cases: dict[str, tuple[dict[str, str], Any]] = {
        "velocity": (
            {"segment": "Enterprise", "window": "12w", "qualifying_stage": "discovery", "as_of": str(FROM)},
            velocity_report(
                engine, scope, as_of=FROM, window_days=84, qualifying_stage="discovery", filters=filters
            ),
        ),
        "funnel": (
            {"segment": "enterprise", "created_from": "2025-01-01", "created_to": FROM.isoformat()},
            funnel_report(engine, scope, created_from=date(2025, 1, 1), created_to=FROM, filters=filters),
        ),
        "stage-durations": (
            {"segment": "enterprise", "ended_from": "2025-06-01"},
            stage_duration_report(engine, scope, ended_from=date(2025, 6, 1), filters=filters),
        ),
        "win-loss": (
            {"segment": "enterprise", "window": "180", "as_of": FROM.isoformat()},
            outcome_report(engine, scope, as_of=FROM, window_days=180, filters=filters),
        ),
        "pipeline-changes": (
            {"segment": "enterprise", "from": "2026-01-31", "to": FROM.isoformat()},
            changes_report(engine, scope, from_date=date(2026, 1, 31), to_date=FROM, filters=filters),
        ),
    }
    for route, (params, expected) in cases.items():
        response = analytics(sqlite_world, "manager", route, **params)
        assert response.status_code == 200, (route, response.text)
        same_figures(response.json(), asdict(expected), route)


@pytest.mark.parametrize("role", ["rep", "manager"])
@pytest.mark.parametrize("route", list(ROUTES))
def test_a_team_outside_the_view_is_not_found_like_one_that_does_not_exist(
    sqlite_world: World, role: str, route: str
) -> None:
    other = team_of_other_deal(sqlite_world)
    assert analytics(sqlite_world, "admin", route, team=other, **ROUTES[route]).status_code == 200
    outside = assert_error(analytics(sqlite_world, role, route, team=other, **ROUTES[route]), 404, [])
    missing = assert_error(analytics(sqlite_world, role, route, team="No Such Team", **ROUTES[route]), 404)
    assert outside["message"].replace(other, "X") == missing["message"].replace("No Such Team", "X")


def test_an_owner_outside_the_view_is_not_found(sqlite_world: World) -> None:
    deal = sqlite_world.call("admin", "GET", f"/opportunities/{sqlite_world.ids['other_deal']}").json()
    body = assert_error(analytics(sqlite_world, "manager", "funnel", owner=deal["owner_name"]), 404, [])
    assert body["message"] == f"no deal owner named {deal['owner_name']!r}"
    assert analytics(sqlite_world, "executive", "funnel", owner=deal["owner_name"]).status_code == 200


# bad input and too little data -----------------------------------------------------------------------------
BAD_INPUT = [
    ("velocity", {"window": "ninety days"}, ["query.window"]),
    ("velocity", {"window": "0d"}, ["query.window"]),
    ("win-loss", {"window": "11y"}, ["query.window"]),
    ("velocity", {"by": "colour"}, ["query.by"]),
    ("velocity", {"qualifying_stage": "Closed Won"}, ["query.qualifying_stage"]),
    ("velocity", {"as_of": "31/12/2026"}, ["query.as_of"]),
    ("velocity", {"as_of": "1899-12-31"}, ["query.as_of"]),
    ("funnel", {"created_from": "2026-05-02", "created_to": "2026-05-01"}, ["query.created_from"]),
    ("stage-durations", {"ended_from": "2026-05-02", "ended_to": "2026-05-01"}, ["query.ended_from"]),
    ("stage-durations", {"by_segment": "perhaps"}, ["query.by_segment"]),
    ("win-loss", {"segment": "government"}, ["query.segment"]),
    ("win-loss", {"team": ""}, ["query.team"]),
    ("pipeline-changes", {}, ["query.from"]),
    ("pipeline-changes", {"from": "2026-05-02", "to": "2026-05-01"}, ["query.from"]),
    ("funnel", {"colour": "red"}, ["query.colour"]),
    ("pipeline-changes", {"from": "2026-05-01", "window": "90d"}, ["query.window"]),
]


@pytest.mark.parametrize(("route", "params", "fields"), BAD_INPUT)
def test_bad_input_is_422_naming_the_parameter(
    sqlite_world: World, route: str, params: dict[str, str], fields: list[str]
) -> None:
    body = assert_error(analytics(sqlite_world, "manager", route, **params), 422, fields)
    assert "--" not in body["message"]  # worded for the API, not the command line


def test_a_bad_window_says_what_a_window_looks_like(sqlite_world: World) -> None:
    body = assert_error(analytics(sqlite_world, "rep", "win-loss", window="soon"), 422, ["query.window"])
    assert body["message"] == "window 'soon': expected a length such as 90d, 12w, 3m or 1y (1 to 3660 days)"


@pytest.mark.parametrize(
    ("route", "params", "says"),
    [
        ("velocity", {"as_of": "1990-01-01"}, "no deals existed by 1990-01-01"),
        ("funnel", {"as_of": "1990-01-01"}, "no deals created"),
        ("stage-durations", {"as_of": "1990-01-01"}, "no deal had left a stage"),
        ("win-loss", {"as_of": "1990-01-01"}, "no deals closed from 1989-10-04 to 1990-01-01"),
        ("pipeline-changes", {"from": "1990-01-01", "to": "1990-02-01"}, "no deal was open"),
    ],
)
def test_too_little_data_is_422_with_the_services_message_and_no_problem(
    sqlite_world: World, route: str, params: dict[str, str], says: str
) -> None:
    body = assert_error(analytics(sqlite_world, "admin", route, **params), 422, [])
    assert body["message"].startswith(says), body


# the figures themselves ------------------------------------------------------------------------------------
def test_the_waterfall_adds_up_to_the_cent(sqlite_world: World) -> None:
    changes = analytics(sqlite_world, "manager", "pipeline-changes", **{"from": FROM.isoformat()}).json()
    assert changes["from_date"] == FROM.isoformat() and changes["to_date"] == TODAY.isoformat()
    for fall in changes["waterfalls"]:
        steps = sum(Decimal(step["delta"]) for step in fall["steps"])
        assert Decimal(fall["start_amount"]) + steps == Decimal(fall["end_amount"])
        assert [step["category"] for step in fall["steps"]][:3] == ["new", "reopened", "won"]


def test_velocity_is_the_product_of_its_terms(sqlite_world: World) -> None:
    velocity = analytics(sqlite_world, "executive", "velocity", window="1y").json()
    assert velocity["window"]["days"] == 365 and velocity["as_of"] == TODAY.isoformat()
    for row in velocity["overall"]:
        terms = row["current"]
        assert terms["velocity_per_day"] is not None
        product = (
            terms["qualified_deals"]
            * float(terms["average_won_amount"])
            * terms["win_rate"]
            / terms["average_cycle_days"]
        )
        assert float(terms["velocity_per_day"]) == pytest.approx(product, abs=0.02)


def test_the_document_describes_every_analytics_route(sqlite_world: World) -> None:
    document = sqlite_world.client.get("/openapi.json").json()
    for route in ROUTES:
        operation = document["paths"][f"/api/v1/analytics/{route}"]["get"]
        assert operation["tags"] == ["analytics"]
        assert {"200", "401", "404", "422", "500"} <= set(operation["responses"])
        assert "too little data" in operation["responses"]["422"]["description"]
    names = [p["name"] for p in document["paths"]["/api/v1/analytics/pipeline-changes"]["get"]["parameters"]]
    assert names[:2] == ["from", "to"]


# PostgreSQL ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["rep", "admin"])
def test_the_routes_on_postgresql(pg_world: World, role: str) -> None:
    for route, params in ROUTES.items():
        response = analytics(pg_world, role, route, **params)
        assert response.status_code == 200, (route, response.text)
        same_figures(response.json(), asdict(report(pg_world, role, route)), route)
    assert analytics(pg_world, role, "funnel").json()["deals"] == visible_deals(pg_world, role)
