"""Bad input to every write and list route: a clear 4xx in the one error shape naming the field, and nothing
written (the touched table and the audit log are counted before and after). Runs on both back ends."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from dealsight.store.schema import accounts, activities, contacts, opportunities, teams, users
from tests import api_fixtures
from tests.api_fixtures import World

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world
pg_world = api_fixtures.pg_world
world = api_fixtures.world

NEW_DEAL = {"name": "Input deal", "account_id": "@own_account", "stage": "Prospecting"}
BAD_WRITES: list[tuple[str, str, str, Any, sa.Table, int, list[str]]] = [
    # (case, method, path, body, table, status, fields named)
    (
        "deal: wrong types",
        "PATCH",
        "/opportunities/@own_deal",
        {
            "amount": "lots",
            "account_id": "5",
            "engaged_before_preference": "yes",
            "expected_close_date": "soon",
        },
        opportunities,
        422,
        ["body.amount", "body.account_id", "body.engaged_before_preference", "body.expected_close_date"],
    ),
    (
        "deal: unknown field",
        "PATCH",
        "/opportunities/@own_deal",
        {"colour": "red"},
        opportunities,
        422,
        ["body.colour"],
    ),
    (
        "deal: missing fields",
        "POST",
        "/opportunities",
        {},
        opportunities,
        422,
        ["body.name", "body.account_id", "body.stage"],
    ),
    (
        "deal: rules of the service",
        "POST",
        "/opportunities",
        {**NEW_DEAL, "amount": -5, "stage": "Nowhere", "probability": 3},
        opportunities,
        422,
        ["body.amount", "body.stage", "body.probability"],
    ),
    (
        "deal: unknown account",
        "POST",
        "/opportunities",
        {**NEW_DEAL, "account_id": 999999},
        opportunities,
        422,
        ["body.account_id"],
    ),
    (
        "deal: required field cleared",
        "PATCH",
        "/opportunities/@own_deal",
        {"name": None},
        opportunities,
        422,
        ["body.name"],
    ),
    (
        "deal: owner outside the view",
        "PATCH",
        "/opportunities/@own_deal",
        {"owner_id": "@admin"},
        opportunities,
        422,
        ["body.owner_id"],
    ),
    ("deal: unknown id", "PATCH", "/opportunities/999999", {"amount": 5}, opportunities, 404, []),
    (
        "deal: id not a number",
        "PATCH",
        "/opportunities/abc",
        {"amount": 5},
        opportunities,
        422,
        ["path.opportunity_id"],
    ),
    (
        "deal: id too large",
        "GET",
        "/opportunities/99999999999999999999",
        None,
        opportunities,
        422,
        ["path.opportunity_id"],
    ),
    (
        "deal: NUL in text",
        "PATCH",
        "/opportunities/@own_deal",
        {"loss_reason": "a\x00b"},
        opportunities,
        422,
        ["body.loss_reason"],
    ),
    (
        "deal: list of the wrong things",
        "PATCH",
        "/opportunities/@own_deal",
        {"competitors": [1, 2]},
        opportunities,
        422,
        ["body.competitors.0", "body.competitors.1"],
    ),
    (
        "answer: not an answer",
        "PUT",
        "/opportunities/@own_deal/qualification/@own_question",
        {"answer": "maybe"},
        opportunities,
        422,
        ["body.answer"],
    ),
    (
        "answer: missing",
        "PUT",
        "/opportunities/@own_deal/qualification/@own_question",
        {"note": "x"},
        opportunities,
        422,
        ["body.answer"],
    ),
    (
        "answer: question of another set",
        "PUT",
        "/opportunities/@own_deal/qualification/999999",
        {"answer": "yes"},
        opportunities,
        404,
        [],
    ),
    (
        "account: wrong types",
        "PATCH",
        "/accounts/@own_account",
        {"employees": -3, "segment": "huge"},
        accounts,
        422,
        ["body.employees", "body.segment"],
    ),
    (
        "account: rules of the service",
        "POST",
        "/accounts",
        {"name": "Input account", "domain": "not a domain"},
        accounts,
        422,
        ["body.domain"],
    ),
    ("account: missing name", "POST", "/accounts", {"industry": "Retail"}, accounts, 422, ["body.name"]),
    ("account: unknown id", "PATCH", "/accounts/999999", {"industry": "Retail"}, accounts, 404, []),
    (
        "contact: bad e-mail",
        "POST",
        "/contacts",
        {"name": "Input", "account_id": "@own_account", "email": "x"},
        contacts,
        422,
        ["body.email"],
    ),
    (
        "contact: unknown field",
        "PATCH",
        "/contacts/@own_contact",
        {"phone": "555"},
        contacts,
        422,
        ["body.phone"],
    ),
    ("contact: unknown id", "PATCH", "/contacts/999999", {"title": "CEO"}, contacts, 404, []),
    (
        "activity: missing fields",
        "POST",
        "/activities",
        {"subject": "call"},
        activities,
        422,
        ["body.type", "body.occurred_at"],
    ),
    (
        "activity: neither deal nor account",
        "POST",
        "/activities",
        {"type": "call", "occurred_at": "2026-01-05T10:00:00Z"},
        activities,
        422,
        ["body.opportunity_id"],
    ),
    (
        "activity: bad type and time",
        "PATCH",
        "/activities/@own_activity",
        {"type": "telegram", "occurred_at": "yesterday"},
        activities,
        422,
        ["body.type", "body.occurred_at"],
    ),
    (
        "activity: contacts not a list of ids",
        "PATCH",
        "/activities/@own_activity",
        {"contact_ids": "1,2"},
        activities,
        422,
        ["body.contact_ids"],
    ),
    (
        "activity: too many contacts",
        "PATCH",
        "/activities/@own_activity",
        {"contact_ids": list(range(1, 100_000))},
        activities,
        422,
        ["body.contact_ids"],
    ),
    (
        "user: bad role and e-mail",
        "POST",
        "/users",
        {"name": "X", "email": "nope", "role": "king"},
        users,
        422,
        ["body.role"],
    ),
    (
        "user: e-mail of the service",
        "POST",
        "/users",
        {"name": "X", "email": "nope"},
        users,
        422,
        ["body.email"],
    ),
    (
        "user: taken e-mail",
        "POST",
        "/users",
        {"name": "X", "email": "admin@demo.dealsight.test"},
        users,
        409,
        [],
    ),
    (
        "user: manager loop",
        "PATCH",
        "/users/@manager",
        {"manager_id": "@rep"},
        users,
        422,
        ["body.manager_id"],
    ),
    ("user: unknown team", "PATCH", "/users/@rep", {"team_id": 999999}, users, 422, ["body.team_id"]),
    (
        "user: password too short",
        "PUT",
        "/users/@rep/password",
        {"password": "short"},
        users,
        422,
        ["body.password"],
    ),
    ("team: missing name", "POST", "/teams", {"parent_id": 1}, teams, 422, ["body.name"]),
    ("team: unknown id", "PATCH", "/teams/999999", {"name": "Nowhere"}, teams, 404, []),
    ("token: empty name", "POST", "/tokens", {"name": "  "}, users, 422, ["body.name"]),
    ("token: not an object", "POST", "/tokens", ["name"], users, 422, ["body"]),
]


def _fill(world: World, value: Any) -> Any:
    """``@own_deal`` and the like replaced by the world's ids (``@admin``: the admin's user id)."""
    if isinstance(value, str) and value.startswith("@") and "/" not in value:
        key = value[1:]
        return world.users[key] if key in world.users else world.ids[key]
    if isinstance(value, str) and "@" in value and value.startswith("/"):
        return "/".join(str(_fill(world, part)) for part in value.split("/"))
    if isinstance(value, dict):
        return {k: _fill(world, v) for k, v in value.items()}
    return value


def _check_refused(response: Any, status: int, fields: list[str]) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["message"]
    named = [problem["field"] for problem in body["problems"]]
    assert sorted(set(named)) == sorted(fields), body
    assert all(problem["message"] for problem in body["problems"])


@pytest.mark.parametrize(
    ("method", "path", "body", "table", "status", "fields"),
    [case[1:] for case in BAD_WRITES],
    ids=[case[0] for case in BAD_WRITES],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(
    world: World, method: str, path: str, body: Any, table: sa.Table, status: int, fields: list[str]
) -> None:
    role = "rep" if path.startswith(("/opportunities", "/accounts", "/contacts", "/activities")) else "admin"
    before = world.counts(table)
    response = world.call(role, method, _fill(world, path), json=_fill(world, body))
    _check_refused(response, status, fields)
    assert world.counts(table) == before


BAD_QUERIES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("unknown sort field", "/opportunities", {"sort": "colour"}, ["query.sort"]),
    ("one bad field among several", "/opportunities", {"sort": "stage,-nope"}, ["query.sort"]),
    ("limit 0", "/opportunities", {"limit": 0}, ["query.limit"]),
    ("limit too large", "/accounts", {"limit": 501}, ["query.limit"]),
    ("limit not a number", "/contacts", {"limit": "ten"}, ["query.limit"]),
    ("negative offset", "/activities", {"offset": -1}, ["query.offset"]),
    ("unknown status", "/opportunities", {"status": "sleeping"}, ["query.status"]),
    ("not a date", "/opportunities", {"close_from": "2026-13-01"}, ["query.close_from"]),
    ("unknown stage", "/opportunities", {"stage": "Nowhere"}, ["query.stage"]),
    ("unknown team", "/opportunities", {"team": 999999}, ["query.team"]),
    ("unknown parameter", "/accounts", {"colour": "red"}, ["query.colour"]),
    ("bad flag", "/contacts", {"is_executive": "perhaps"}, ["query.is_executive"]),
    ("bad enum", "/activities", {"type": "telegram"}, ["query.type"]),
    ("contacts sort", "/contacts", {"sort": "-amount"}, ["query.sort"]),
    ("users limit", "/users", {"limit": 0}, ["query.limit"]),
    ("teams offset", "/teams", {"offset": -5}, ["query.offset"]),
    ("audit paging", "/opportunities/@own_deal/audit", {"limit": 1000}, ["query.limit"]),
    ("NUL in a search", "/accounts", {"q": "a\x00b"}, ["query.q"]),
    ("unknown parameter of a record", "/opportunities/@own_deal", {"expand": "history"}, ["query.expand"]),
    ("unknown parameter of /me", "/me", {"verbose": 1, "x": 2}, ["query.verbose", "query.x"]),
]


@pytest.mark.parametrize(
    ("path", "params", "fields"), [case[1:] for case in BAD_QUERIES], ids=[case[0] for case in BAD_QUERIES]
)
def test_bad_list_parameters_are_refused_naming_the_parameter(
    world: World, path: str, params: dict[str, Any], fields: list[str]
) -> None:
    response = world.call("rep", "GET", _fill(world, path), params=params)
    _check_refused(response, 422, fields)


@pytest.mark.parametrize("sort", ["name", "-amount", "stage,-amount", "days_in_stage", "-owner_name", "id"])
def test_every_documented_sort_works(world: World, sort: str) -> None:
    page = world.call("admin", "GET", "/opportunities", params={"sort": sort, "status": "all", "limit": 20})
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert len(items) == 20
    if sort == "-amount":
        amounts = [float(item["amount"]) for item in items if item["amount"] is not None]
        assert amounts == sorted(amounts, reverse=True)
    if sort == "id":
        assert [item["id"] for item in items] == sorted(item["id"] for item in items)


def test_pages_cut_the_list_consistently(world: World) -> None:
    params: dict[str, Any] = {"status": "all", "sort": "-amount", "limit": 7}
    first = world.call("manager", "GET", "/opportunities", params=params).json()
    second = world.call("manager", "GET", "/opportunities", params={**params, "offset": 7}).json()
    both = world.call("manager", "GET", "/opportunities", params={**params, "limit": 14}).json()
    assert first["total"] == second["total"] == both["total"] > 14
    assert [i["id"] for i in first["items"] + second["items"]] == [i["id"] for i in both["items"]]
    assert (first["limit"], first["offset"], second["offset"]) == (7, 0, 7)
    total = first["total"]
    for offset in (total - 3, total - 1, total, total + 5):  # the last page's total is known without counting
        last = world.call("manager", "GET", "/opportunities", params={**params, "offset": offset}).json()
        assert last["total"] == total and len(last["items"]) == max(0, min(7, total - offset))


def test_filters_narrow_the_list(world: World) -> None:
    deal = world.call("admin", "GET", f"/opportunities/{world.ids['other_deal']}").json()
    params = {"status": "all", "account_id": deal["account_id"], "limit": 500}
    page = world.call("admin", "GET", "/opportunities", params=params).json()
    assert page["total"] == len(page["items"]) >= 1
    assert {item["account_id"] for item in page["items"]} == {deal["account_id"]}
    assert deal["id"] in {item["id"] for item in page["items"]}
    won = world.call("admin", "GET", "/opportunities", params={"status": "won", "limit": 500}).json()
    assert won["total"] > 0 and {item["outcome"] for item in won["items"]} == {"won"}
