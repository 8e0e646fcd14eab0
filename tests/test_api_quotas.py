"""``/api/v1/quotas``: the role matrix (rep, manager, executive, admin, anonymous) on every route, the one
error shape for bad input, and nothing written by a refused request.

Quotas of the matrix are made by the admin in far-future periods (no demo quota collides): the rep's own,
a colleague's in the manager's team, a rep's of another team, the manager's team's and another team's.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from dealsight.store.schema import opportunities, quotas, teams
from tests import api_fixtures
from tests.api_fixtures import ROLES, World

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world
pg_world = api_fixtures.pg_world
world = api_fixtures.world

KINDS = ("own", "colleague", "other_rep", "led_team", "other_team")
SEES = {
    "own": {"rep": 200, "manager": 200, "executive": 200, "admin": 200},
    "colleague": {"rep": 404, "manager": 200, "executive": 200, "admin": 200},
    "other_rep": {"rep": 404, "manager": 404, "executive": 200, "admin": 200},
    "led_team": {"rep": 404, "manager": 200, "executive": 200, "admin": 200},
    "other_team": {"rep": 404, "manager": 404, "executive": 200, "admin": 200},
}
_matrix: dict[str, dict[str, int]] = {}
_years = iter(range(2100, 2900))


def _assert_error(response: Any, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["message"]
    if field is not None:
        assert field in {problem["field"] for problem in body["problems"]}, body


def _owner_of(world: World, deal_key: str) -> int:
    with world.engine.connect() as conn:
        query = sa.select(opportunities.c.owner_id).where(opportunities.c.id == world.ids[deal_key])
        return int(conn.execute(query).scalar_one())


def _teams(world: World) -> tuple[int, int]:
    """A team the manager leads and a team outside their view."""
    with world.engine.connect() as conn:
        rows = conn.execute(sa.select(teams.c.id, teams.c.manager_id).order_by(teams.c.id)).all()
    view = world.scope("manager").owner_ids or frozenset()
    led = next(t for t, boss in rows if boss == world.users["manager"])
    other = next(t for t, boss in rows if boss is not None and boss not in view)
    return led, other


def _quota(world: World, owner: dict[str, int], year: int, amount: str = "100000.00") -> dict[str, Any]:
    body = {"period_start": f"{year}-01-01", "period_end": f"{year}-03-31", "amount": amount, **owner}
    response = world.call("admin", "POST", "/quotas", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _ids(world: World) -> dict[str, int]:
    """The matrix's quotas in ``world`` (made once per back end)."""
    if world.backend not in _matrix:
        led, other = _teams(world)
        owners = {
            "own": {"user_id": world.users["rep"]},
            "colleague": {"user_id": _owner_of(world, "team_deal")},
            "other_rep": {"user_id": _owner_of(world, "other_deal")},
            "led_team": {"team_id": led},
            "other_team": {"team_id": other},
        }
        _matrix[world.backend] = {kind: _quota(world, owner, 2099)["id"] for kind, owner in owners.items()}
    return _matrix[world.backend]


def _count(world: World) -> int:
    return world.count(quotas)


# reads -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", KINDS)
def test_reading_a_quota_by_role(sqlite_world: World, role: str, kind: str) -> None:
    quota_id = _ids(sqlite_world)[kind]
    response = sqlite_world.call(role, "GET", f"/quotas/{quota_id}")
    if SEES[kind][role] == 200:
        assert response.status_code == 200, response.text
        assert response.json()["id"] == quota_id
    else:
        _assert_error(response, 404)
        missing = sqlite_world.call(role, "GET", "/quotas/999999")
        assert missing.json()["message"].replace("999999", "N") == response.json()["message"].replace(
            str(quota_id), "N"
        )


@pytest.mark.parametrize("role", ROLES)
def test_the_list_holds_exactly_what_the_role_sees(world: World, role: str) -> None:
    ids = _ids(world)
    page = world.call(role, "GET", "/quotas", params={"period_from": "2099-01-01", "period_to": "2099-12-31"})
    assert page.status_code == 200, page.text
    listed = {item["id"] for item in page.json()["items"]}
    assert listed == {ids[kind] for kind in KINDS if SEES[kind][role] == 200}
    assert page.json()["total"] == len(listed)


def test_anonymous_callers_get_401_on_every_route(sqlite_world: World) -> None:
    quota_id = _ids(sqlite_world)["own"]
    before = _count(sqlite_world)
    for method, path, body in [
        ("GET", "/quotas", None),
        (
            "POST",
            "/quotas",
            {"period_start": "2099-01-01", "period_end": "2099-03-31", "amount": 1, "team_id": 1},
        ),
        ("GET", f"/quotas/{quota_id}", None),
        ("PATCH", f"/quotas/{quota_id}", {"amount": 5}),
        ("DELETE", f"/quotas/{quota_id}", None),
    ]:
        _assert_error(sqlite_world.call(None, method, path, json=body), 401)
    assert _count(sqlite_world) == before


# writes ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["rep", "manager", "executive"])
def test_only_an_admin_creates_a_quota(sqlite_world: World, role: str) -> None:
    body = {
        "period_start": "2098-01-01",
        "period_end": "2098-12-31",
        "amount": "5",
        "user_id": sqlite_world.users[role],
    }
    before = sqlite_world.counts(quotas)
    _assert_error(sqlite_world.call(role, "POST", "/quotas", json=body), 403)
    assert sqlite_world.counts(quotas) == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", KINDS)
def test_changing_and_deleting_a_quota_by_role(sqlite_world: World, role: str, kind: str) -> None:
    """Outside the view: 404; inside but not an admin: 403; an admin changes (audited) and deletes."""
    quota_id = _ids(sqlite_world)[kind]
    before = sqlite_world.counts(quotas)
    patch = sqlite_world.call(role, "PATCH", f"/quotas/{quota_id}", json={"amount": "100000.00"})
    delete = sqlite_world.call(role, "DELETE", f"/quotas/{quota_id}") if role != "admin" else None
    if role == "admin":
        assert patch.status_code == 200, patch.text
        assert patch.json()["amount"] == "100000.00"
    else:
        expected = 403 if SEES[kind][role] == 200 else 404
        _assert_error(patch, expected)
        assert delete is not None
        _assert_error(delete, expected)
    assert sqlite_world.counts(quotas) == before  # the admin's patch was a no-op: nothing audited


def test_an_admin_creates_changes_and_deletes_a_quota_with_an_audit_trail(world: World) -> None:
    year = next(_years)
    led, _ = _teams(world)
    created = _quota(world, {"team_id": led}, year, "250000")
    assert created["level"] == "team" and created["team_name"] and created["user_id"] is None
    assert created["amount"] == "250000.00" and created["currency"] == "USD"
    changed = world.call(
        "admin", "PATCH", f"/quotas/{created['id']}", json={"amount": 260000, "currency": "eur"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["amount"] == "260000.00" and changed.json()["currency"] == "EUR"
    assert world.call("admin", "DELETE", f"/quotas/{created['id']}").status_code == 204
    _assert_error(world.call("admin", "GET", f"/quotas/{created['id']}"), 404)
    trail = world.call(
        "admin", "GET", "/audit", params={"entity": "quota", "entity_id": created["id"]}
    ).json()
    actions = [(entry["action"], entry["field"]) for entry in trail["items"]]
    assert (
        ("create", "amount") in actions
        and ("update", "amount") in actions
        and ("update", "currency") in actions
    )
    assert ("delete", "amount") in actions
    deleted = next(e for e in trail["items"] if e["action"] == "delete" and e["field"] == "amount")
    assert deleted["old_value"] == "260000.00" and deleted["new_value"] is None


Q1 = {"period_start": "2097-01-01", "period_end": "2097-03-31", "amount": 1}
BAD = [
    ({**Q1, "period_start": "2097-04-01", "team_id": 1}, "body.period_end"),
    ({**Q1, "amount": -1, "team_id": 1}, "body.amount"),
    ({**Q1, "team_id": 999999}, "body.team_id"),
    ({**Q1, "user_id": 999999}, "body.user_id"),
    (Q1, "body.user_id"),
    ({**Q1, "user_id": 1, "team_id": 1}, "body.user_id"),
    ({**Q1, "team_id": 1, "currency": "dollars"}, "body.currency"),
    ({"period_start": "2097-01-01", "amount": 1, "team_id": 1}, "body.period_end"),
    ({**Q1, "team_id": "1"}, "body.team_id"),
    ({**Q1, "team_id": 1, "owner": 3}, "body.owner"),
]


@pytest.mark.parametrize(("body", "field"), BAD)
def test_bad_input_names_the_field_and_writes_nothing(
    sqlite_world: World, body: dict[str, Any], field: str
) -> None:
    before = sqlite_world.counts(quotas)
    _assert_error(sqlite_world.call("admin", "POST", "/quotas", json=body), 422, field)
    assert sqlite_world.counts(quotas) == before


def test_a_second_quota_of_the_same_owner_and_period_is_a_conflict(world: World) -> None:
    year = next(_years)
    rep = world.users["rep"]
    first = _quota(world, {"user_id": rep}, year)
    led, _ = _teams(world)
    _quota(world, {"team_id": led}, year)  # a team's quota of the same period is no conflict
    before = world.counts(quotas)
    again = world.call(
        "admin", "POST", "/quotas",
        json={"period_start": f"{year}-01-01", "period_end": f"{year}-03-31", "amount": 1, "user_id": rep},
    )  # fmt: skip
    _assert_error(again, 409)
    assert str(first["id"]) in again.json()["message"]
    other = _quota(world, {"user_id": rep}, year + 400)
    moved = world.call(
        "admin",
        "PATCH",
        f"/quotas/{other['id']}",
        json={"period_start": f"{year}-01-01", "period_end": f"{year}-03-31"},
    )
    _assert_error(moved, 409)
    assert world.counts(quotas)["quotas"] == before["quotas"] + 1


def test_a_patch_that_leaves_two_owners_or_none_is_refused(sqlite_world: World) -> None:
    quota_id = _quota(sqlite_world, {"user_id": sqlite_world.users["rep"]}, next(_years))["id"]
    _assert_error(
        sqlite_world.call("admin", "PATCH", f"/quotas/{quota_id}", json={"team_id": 1}), 422, "body.user_id"
    )
    _assert_error(sqlite_world.call("admin", "PATCH", f"/quotas/{quota_id}", json={"user_id": None}), 422,
                  "body.user_id")  # fmt: skip
    moved = sqlite_world.call("admin", "PATCH", f"/quotas/{quota_id}", json={"user_id": None, "team_id": 1})
    assert moved.status_code == 200 and moved.json()["level"] == "team"


def test_list_filters_and_paging(sqlite_world: World) -> None:
    year = next(_years)
    rep = sqlite_world.users["rep"]
    made = [
        _quota(sqlite_world, {"user_id": rep}, year, "1.00")["id"],
        sqlite_world.call("admin", "POST", "/quotas", json={"period_start": f"{year}-04-01",
                          "period_end": f"{year}-06-30", "amount": "3.00", "user_id": rep}).json()["id"],
    ]  # fmt: skip
    window = {"period_from": f"{year}-03-31", "period_to": f"{year}-04-01", "user_id": rep}
    both = sqlite_world.call("admin", "GET", "/quotas", params={**window, "sort": "-amount"}).json()
    assert [item["id"] for item in both["items"]] == made[::-1]
    first = sqlite_world.call(
        "admin", "GET", "/quotas", params={**window, "period_to": f"{year}-03-31"}
    ).json()
    assert [item["id"] for item in first["items"]] == made[:1]
    paged = sqlite_world.call("admin", "GET", "/quotas", params={**window, "limit": 1, "offset": 1}).json()
    assert paged["total"] == 2 and [item["id"] for item in paged["items"]] == made[1:]
    _assert_error(sqlite_world.call("admin", "GET", "/quotas", params={"sort": "owner"}), 422, "query.sort")
    _assert_error(sqlite_world.call("admin", "GET", "/quotas", params={"period_from": "soon"}), 422)


def test_a_required_field_cannot_be_cleared(sqlite_world: World) -> None:
    """Schemathesis found a 500: PATCH {"currency": null} reached the NOT NULL column."""
    made = _quota(sqlite_world, {"team_id": _teams(sqlite_world)[0]}, next(_years))
    before = sqlite_world.counts(quotas)
    for field in ("currency", "amount"):
        cleared = sqlite_world.call("admin", "PATCH", f"/quotas/{made['id']}", json={field: None})
        _assert_error(cleared, 422, f"body.{field}")
    assert sqlite_world.counts(quotas) == before
