"""The role matrix of every API route on the demo organisation: rep, manager, executive, admin, anonymous.

A rep sees their own deals (and the accounts, contacts and activities of those), a manager everyone's below
them, an executive everything read-only (403 on writes), an admin everything. A record outside the view is
404 on reads *and* writes. Writes here are no-ops (a field set to its current value) or create records of
their own, so the shared demo stays as it was; each refused write is checked to leave the audit log alone.
The full matrix runs on SQLite; ``test_matrix_on_postgresql`` repeats a representative part on PostgreSQL.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from dealsight.store.schema import accounts, activities, contacts, opportunities
from tests import api_fixtures
from tests.api_fixtures import ROLES, World, unique

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world
pg_world = api_fixtures.pg_world
world = api_fixtures.world

SEES = {
    "own": {"rep": 200, "manager": 200, "executive": 200, "admin": 200},
    "team": {"rep": 404, "manager": 200, "executive": 200, "admin": 200},
    "other": {"rep": 404, "manager": 404, "executive": 200, "admin": 200},
}
WRITES = {
    "own": {"rep": 200, "manager": 200, "executive": 403, "admin": 200},
    "team": {"rep": 404, "manager": 200, "executive": 403, "admin": 200},
    "other": {"rep": 404, "manager": 404, "executive": 403, "admin": 200},
}
RECORDS = {
    "opportunity": ("/opportunities", ("own", "team", "other"), "name", opportunities),
    "account": ("/accounts", ("own", "other"), "name", accounts),
    "contact": ("/contacts", ("own", "other"), "name", contacts),
    "activity": ("/activities", ("own", "other"), "subject", activities),
}
ID_KEY = {"opportunity": "deal", "account": "account", "contact": "contact", "activity": "activity"}
READ_CASES = [(record, kind) for record, (_, kinds, _, _) in RECORDS.items() for kind in kinds]


def _record_path(world: World, record: str, kind: str) -> str:
    return f"{RECORDS[record][0]}/{world.ids[f'{kind}_{ID_KEY[record]}']}"


def _assert_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["problems"], list)


# reads -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("record", "kind"), READ_CASES)
def test_reading_a_record_by_role(sqlite_world: World, role: str, record: str, kind: str) -> None:
    path = _record_path(sqlite_world, record, kind)
    expected = SEES[kind][role]
    for suffix in ("", "/audit"):
        response = sqlite_world.call(role, "GET", path + suffix)
        if expected == 200:
            assert response.status_code == 200, response.text
            if not suffix:
                assert response.json()["id"] == int(path.rsplit("/", 1)[1])
        else:
            _assert_error(response, 404)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", ["own", "team", "other"])
@pytest.mark.parametrize("part", ["history", "qualification"])
def test_reading_a_deals_history_and_qualification_by_role(
    sqlite_world: World, role: str, kind: str, part: str
) -> None:
    response = sqlite_world.call(role, "GET", f"{_record_path(sqlite_world, 'opportunity', kind)}/{part}")
    if SEES[kind][role] == 200:
        assert response.status_code == 200, response.text
        assert isinstance(response.json()["items"], list)
    else:
        _assert_error(response, 404)


def test_a_rep_gets_the_same_404_for_another_teams_deal_as_for_no_deal(sqlite_world: World) -> None:
    other = sqlite_world.call("rep", "GET", f"/opportunities/{sqlite_world.ids['other_deal']}")
    missing = sqlite_world.call("rep", "GET", "/opportunities/999999")
    assert other.status_code == missing.status_code == 404
    assert other.json()["message"].replace(str(sqlite_world.ids["other_deal"]), "N") == missing.json()[
        "message"
    ].replace("999999", "N")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("resource", ["opportunities", "accounts", "contacts", "activities"])
def test_lists_hold_only_what_the_role_sees(sqlite_world: World, role: str, resource: str) -> None:
    params = {"limit": 500, "status": "all"} if resource == "opportunities" else {"limit": 500}
    response = sqlite_world.call(role, "GET", f"/{resource}", params=params)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["limit"] == 500 and page["offset"] == 0 and page["total"] >= len(page["items"]) > 0
    scope = sqlite_world.scope(role)
    if resource == "opportunities":
        owners = {item["owner_id"] for item in page["items"]}
        assert scope.owner_ids is None or owners <= scope.owner_ids
    other = {
        "opportunities": "other_deal",
        "accounts": "other_account",
        "contacts": "other_contact",
        "activities": "other_activity",
    }
    if not scope.sees_all:
        assert sqlite_world.ids[other[resource]] not in {item["id"] for item in page["items"]}


@pytest.mark.parametrize("role", ROLES)
def test_a_deal_list_total_counts_only_visible_deals(sqlite_world: World, role: str) -> None:
    page = sqlite_world.call(role, "GET", "/opportunities", params={"status": "all", "limit": 1}).json()
    scope = sqlite_world.scope(role)
    everything = sqlite_world.count(opportunities)
    if scope.sees_all:
        assert page["total"] == everything
    else:
        assert 0 < page["total"] < everything


@pytest.mark.parametrize("role", ROLES)
def test_me_says_who_is_calling_and_what_they_may_do(sqlite_world: World, role: str) -> None:
    me = sqlite_world.call(role, "GET", "/me").json()
    assert me["id"] == sqlite_world.users[role]
    assert me["role"] == role
    assert me["can_write"] is (role != "executive")
    assert me["sees_all"] is (role in ("admin", "executive"))


@pytest.mark.parametrize("role", ROLES)
def test_users_and_teams_are_readable_by_everyone_signed_in(sqlite_world: World, role: str) -> None:
    users = sqlite_world.call(role, "GET", "/users", params={"limit": 500}).json()
    assert users["total"] == len(users["items"]) > 4
    logins = {u["id"]: u for u in users["items"]}
    admin = logins[sqlite_world.users["admin"]]
    assert admin["role"] == "admin"
    one = sqlite_world.call(role, "GET", f"/users/{sqlite_world.users['manager']}").json()
    assert one["role"] == "manager"
    teams = sqlite_world.call(role, "GET", "/teams").json()
    assert teams["total"] >= 2
    team = sqlite_world.call(role, "GET", f"/teams/{teams['items'][0]['id']}").json()
    assert team["name"] == teams["items"][0]["name"]


def test_last_sign_in_is_shown_to_admins_and_the_user_only(sqlite_world: World) -> None:
    from dealsight.services.auth import authenticate
    from dealsight.services.demo import DEMO_PASSWORD
    from dealsight.services.users import get_user

    rep_email = get_user(sqlite_world.engine, sqlite_world.users["rep"]).email
    assert rep_email is not None
    authenticate(sqlite_world.engine, rep_email, DEMO_PASSWORD)
    path = f"/users/{sqlite_world.users['rep']}"
    assert sqlite_world.call("admin", "GET", path).json()["last_login_at"] is not None
    assert sqlite_world.call("rep", "GET", path).json()["last_login_at"] is not None
    assert sqlite_world.call("manager", "GET", path).json()["last_login_at"] is None


@pytest.mark.parametrize("role", ROLES)
def test_the_audit_log_is_for_admins_only(sqlite_world: World, role: str) -> None:
    response = sqlite_world.call(role, "GET", "/audit", params={"limit": 5})
    if role == "admin":
        assert response.status_code == 200
        assert response.json()["total"] > 0
    else:
        _assert_error(response, 403)
        assert "admin" in response.json()["message"]


# writes ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("record", "kind"), READ_CASES)
def test_changing_a_record_by_role(sqlite_world: World, role: str, record: str, kind: str) -> None:
    """A field set to its current value: allowed roles get 200 and nothing is audited (no change);
    refused ones get 403 (executive) or 404 (outside the view), and nothing is written either."""
    path = _record_path(sqlite_world, record, kind)
    field, table = RECORDS[record][2], RECORDS[record][3]
    current = sqlite_world.call("admin", "GET", path).json()[field]
    before = sqlite_world.counts(table)
    response = sqlite_world.call(role, "PATCH", path, json={field: current})
    expected = WRITES[kind][role]
    if expected == 200:
        assert response.status_code == 200, response.text
        assert response.json()[field] == current
    else:
        _assert_error(response, expected)
    assert sqlite_world.counts(table) == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", ["own", "team", "other"])
def test_answering_a_qualification_question_by_role(sqlite_world: World, role: str, kind: str) -> None:
    deal = _record_path(sqlite_world, "opportunity", kind)
    question = sqlite_world.ids[f"{kind}_question"]
    items = sqlite_world.call("admin", "GET", f"{deal}/qualification").json()["items"]
    current = next(item for item in items if item["question_id"] == question)
    before = sqlite_world.counts()
    response = sqlite_world.call(
        role, "PUT", f"{deal}/qualification/{question}", json={"answer": current["answer"]}
    )
    if WRITES[kind][role] == 200:
        assert response.status_code == 200, response.text
        assert response.json()["answer"] == current["answer"]
    else:
        _assert_error(response, WRITES[kind][role])
    assert sqlite_world.counts() == before


def _new(world: World, record: str, kind: str) -> dict[str, Any]:
    account = world.ids[f"{kind}_account"]
    if record == "opportunity":
        return {"name": unique("Matrix deal"), "account_id": account, "stage": "Prospecting"}
    if record == "account":
        return {"name": unique("Matrix account")}
    if record == "contact":
        return {"name": unique("Matrix contact"), "account_id": account}
    return {"type": "call", "occurred_at": "2026-01-05T10:00:00Z", "account_id": account}


CREATES = {
    # (record, account it refers to) -> role -> status
    ("opportunity", "own"): {"rep": 201, "manager": 201, "executive": 403, "admin": 201},
    ("account", "own"): {"rep": 201, "manager": 201, "executive": 403, "admin": 201},
    ("contact", "own"): {"rep": 201, "manager": 201, "executive": 403, "admin": 201},
    ("contact", "other"): {"rep": 422, "manager": 422, "executive": 403, "admin": 201},
    ("activity", "own"): {"rep": 201, "manager": 201, "executive": 403, "admin": 201},
    ("activity", "other"): {"rep": 422, "manager": 422, "executive": 403, "admin": 201},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("record", "kind"), list(CREATES))
def test_creating_a_record_by_role(sqlite_world: World, role: str, record: str, kind: str) -> None:
    """New records belong to the caller; a contact or activity on an account outside the view is refused
    as a problem of ``account_id``, worded like a missing account."""
    table = RECORDS[record][3]
    before = sqlite_world.counts(table)
    response = sqlite_world.call(role, "POST", RECORDS[record][0], json=_new(sqlite_world, record, kind))
    expected = CREATES[(record, kind)][role]
    after = sqlite_world.counts(table)
    if expected == 201:
        assert response.status_code == 201, response.text
        created = response.json()
        assert after[table.name] == before[table.name] + 1
        assert after["audit_log"] > before["audit_log"]
        owner = created.get("owner_id", created.get("user_id"))
        assert owner in (None, sqlite_world.users[role])
        assert sqlite_world.call(role, "GET", f"{RECORDS[record][0]}/{created['id']}").status_code == 200
    else:
        _assert_error(response, expected)
        assert after == before
        if expected == 422:
            assert [p["field"] for p in response.json()["problems"]] == ["body.account_id"]


@pytest.mark.parametrize("role", ROLES)
def test_users_and_teams_are_changed_by_admins_only(sqlite_world: World, role: str) -> None:
    admin_only = 201 if role == "admin" else 403
    before = sqlite_world.counts()
    email = f"{unique('matrix').replace(' ', '-')}-{role}@example.com"
    created = sqlite_world.call(role, "POST", "/users", json={"name": "Matrix User", "email": email})
    team = sqlite_world.call(role, "POST", "/teams", json={"name": unique(f"Matrix team {role}")})
    assert created.status_code == team.status_code == admin_only, (created.text, team.text)
    rep = sqlite_world.users["rep"]
    rep_name = sqlite_world.call(role, "GET", f"/users/{rep}").json()["name"]
    changed = sqlite_world.call(role, "PATCH", f"/users/{rep}", json={"name": rep_name})
    team_id = sqlite_world.call(role, "GET", "/teams").json()["items"][0]
    renamed = sqlite_world.call(role, "PATCH", f"/teams/{team_id['id']}", json={"name": team_id["name"]})
    assert changed.status_code == renamed.status_code == (200 if role == "admin" else 403)
    if role != "admin":
        for response in (created, team, changed, renamed):
            _assert_error(response, 403)
        assert sqlite_world.counts() == before
    else:
        assert created.json()["email"] == email and created.json()["role"] == "rep"


@pytest.mark.parametrize("role", ROLES)
def test_a_password_is_set_by_its_user_or_an_admin(sqlite_world: World, role: str) -> None:
    email = f"{unique('pw').replace(' ', '-')}-{role}@example.com"
    target = sqlite_world.call("admin", "POST", "/users", json={"name": "Password User", "email": email})
    assert target.status_code == 201
    before = sqlite_world.counts()
    response = sqlite_world.call(
        role, "PUT", f"/users/{target.json()['id']}/password", json={"password": "a long new password"}
    )
    if role == "admin":
        assert response.status_code == 204 and response.content == b""
        assert sqlite_world.counts()["audit_log"] == before["audit_log"] + 1
    else:
        _assert_error(response, 403)
        assert sqlite_world.counts() == before


def test_a_user_sets_their_own_password(sqlite_world: World) -> None:
    email = f"{unique('self').replace(' ', '-')}@example.com"
    user = sqlite_world.call("admin", "POST", "/users", json={"name": "Self Service", "email": email}).json()
    token = sqlite_world.call(
        "admin", "POST", "/tokens", json={"name": "theirs", "user_id": user["id"]}
    ).json()
    assert token["user_id"] == user["id"]
    headers = {"Authorization": f"Bearer {token['token']}"}
    path = f"/api/v1/users/{user['id']}/password"
    assert sqlite_world.client.put(path, headers=headers, json={"password": "short"}).status_code == 422
    assert (
        sqlite_world.client.put(path, headers=headers, json={"password": "long enough now"}).status_code
        == 204
    )
    assert sqlite_world.call("admin", "GET", f"/users/{user['id']}").json()["has_password"] is True


@pytest.mark.parametrize("role", ROLES)
def test_tokens_are_the_callers_own(sqlite_world: World, role: str) -> None:
    issued = sqlite_world.call(role, "POST", "/tokens", json={"name": unique("matrix token")})
    assert issued.status_code == 201, issued.text
    token = issued.json()
    assert (
        token["token"].startswith(f"ds_{token['prefix']}_") and token["user_id"] == sqlite_world.users[role]
    )
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert sqlite_world.client.get("/api/v1/me", headers=headers).json()["id"] == sqlite_world.users[role]
    listed = sqlite_world.call(role, "GET", "/tokens", params={"limit": 500}).json()["items"]
    assert {t["user_id"] for t in listed} == {sqlite_world.users[role]}
    assert token["id"] in {t["id"] for t in listed} and all("token" not in t for t in listed)
    revoked = sqlite_world.call(role, "DELETE", f"/tokens/{token['id']}")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert sqlite_world.client.get("/api/v1/me", headers=headers).status_code == 401


@pytest.mark.parametrize("role", ROLES)
def test_someone_elses_token_is_not_found_except_for_an_admin(sqlite_world: World, role: str) -> None:
    owner = "executive" if role != "executive" else "manager"
    token = sqlite_world.call(owner, "POST", "/tokens", json={"name": unique("victim")}).json()
    response = sqlite_world.call(role, "DELETE", f"/tokens/{token['id']}")
    alive = sqlite_world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['token']}"})
    if role == "admin":
        assert response.status_code == 200 and alive.status_code == 401
    else:
        _assert_error(response, 404)
        assert alive.status_code == 200
    listing = sqlite_world.call(role, "GET", "/tokens", params={"user_id": sqlite_world.users[owner]})
    assert listing.status_code == (200 if role == "admin" else 403)


# anonymous -------------------------------------------------------------------------------------------------
def _operations(world: World) -> list[tuple[str, str]]:
    """Every documented operation but the health route, its path parameters filled in with 1."""
    document = world.client.get("/openapi.json").json()
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in document["paths"].items()
        for method in operations
        if path != "/health"
    ]


def test_every_route_but_health_needs_a_token(sqlite_world: World) -> None:
    operations = _operations(sqlite_world)
    assert len(operations) >= 37
    before = sqlite_world.counts()
    for method, path in operations:
        body = {} if method in {"POST", "PUT", "PATCH"} else None
        response = sqlite_world.client.request(method, path, json=body)
        _assert_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)
    assert sqlite_world.counts() == before
    assert sqlite_world.client.get("/health").json()["status"] == "ok"
    assert sqlite_world.client.get("/openapi.json").status_code == 200
    assert sqlite_world.client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    "authorization",
    ["Bearer ds_nope", "Bearer ds_AAAAAAAA_" + "x" * 43, "Basic YWRhOnNlY3JldA==", "Bearer", "ds_token"],
)
def test_a_bad_token_is_401_with_bearer_challenge(sqlite_world: World, authorization: str) -> None:
    response = sqlite_world.client.get("/api/v1/opportunities", headers={"Authorization": authorization})
    _assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="dealsight"')


# the same on PostgreSQL ------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_matrix_on_postgresql(pg_world: World, role: str) -> None:
    for record, kind in READ_CASES:
        response = pg_world.call(role, "GET", _record_path(pg_world, record, kind))
        assert response.status_code == SEES[kind][role], (record, kind, response.text)
    before = pg_world.counts(opportunities)
    for kind in ("own", "team", "other"):
        path = _record_path(pg_world, "opportunity", kind)
        name = pg_world.call("admin", "GET", path).json()["name"]
        response = pg_world.call(role, "PATCH", path, json={"name": name})
        assert response.status_code == WRITES[kind][role], (kind, response.text)
    assert pg_world.counts(opportunities) == before
    audit = pg_world.call(role, "GET", "/audit")
    assert audit.status_code == (200 if role == "admin" else 403)
