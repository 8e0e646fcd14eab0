"""Writes through the API change what they say, keep the deal's history and are recorded in the audit log as
made by the caller via ``api``. Each test restores what it changed (or changes records it created). Both
back ends."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dealsight.store.schema import opportunities, opportunity_history
from tests import api_fixtures
from tests.api_fixtures import World, unique

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world
pg_world = api_fixtures.pg_world
world = api_fixtures.world


def _trail(world: World, path: str) -> list[dict[str, Any]]:
    page = world.call("admin", "GET", f"{path}/audit", params={"limit": 500})
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


def test_changing_a_deal_is_audited_and_kept_in_its_history(world: World) -> None:
    path = f"/opportunities/{world.ids['own_deal']}"
    before = world.call("rep", "GET", path).json()
    old = Decimal(before["amount"] or "0")
    counts = world.counts(opportunities, opportunity_history)
    response = world.call("rep", "PATCH", path, json={"amount": str(old + 1000), "business_problem": "Churn"})
    try:
        assert response.status_code == 200, response.text
        changed = response.json()
        assert Decimal(changed["amount"]) == old + 1000 and changed["business_problem"] == "Churn"
        after = world.counts(opportunities, opportunity_history)
        assert after["opportunities"] == counts["opportunities"]
        assert after["opportunity_history"] == counts["opportunity_history"] + 1
        assert after["audit_log"] == counts["audit_log"] + 2
        newest = _trail(world, path)[:2]
        assert {entry["field"] for entry in newest} == {"amount", "business_problem"}
        assert all(e["via"] == "api" and e["actor_id"] == world.users["rep"] for e in newest)
        history = world.call("rep", "GET", f"{path}/history").json()["items"]
        assert history[-1]["field"] == "amount" and history[-1]["changed_by_id"] == world.users["rep"]
    finally:
        restore = {"amount": before["amount"], "business_problem": before["business_problem"]}
        assert world.call("rep", "PATCH", path, json=restore).status_code == 200
    assert world.call("rep", "GET", path).json()["amount"] == before["amount"]


def test_a_new_deal_belongs_to_the_caller_and_is_audited(world: World) -> None:
    body = {
        "name": unique("API deal"),
        "account_id": world.ids["own_account"],
        "stage": "prospecting",
        "amount": 12500,
        "expected_close_date": "2027-03-31",
        "competitors": ["Acme", "Acme", "Globex"],
    }
    response = world.call("manager", "POST", "/opportunities", json=body)
    assert response.status_code == 201, response.text
    deal = response.json()
    assert deal["owner_id"] == world.users["manager"] and deal["stage"] == "Prospecting"
    assert deal["amount"] == "12500.00" and deal["competitors"] == ["Acme", "Globex"]
    assert deal["updated_at"].endswith("Z") and deal["outcome"] is None
    trail = _trail(world, f"/opportunities/{deal['id']}")
    assert {e["action"] for e in trail} == {"create"} and {e["via"] for e in trail} == {"api"}
    assert {"name", "amount", "stage"} <= {e["field"] for e in trail}
    closed = world.call("manager", "PATCH", f"/opportunities/{deal['id']}", json={"stage": "Closed Won"})
    assert closed.status_code == 200 and closed.json()["outcome"] == "won"
    assert closed.json()["closed_date"] is not None


def test_answering_a_question_is_audited_on_the_deal(world: World) -> None:
    deal = f"/opportunities/{world.ids['own_deal']}"
    question = world.ids["own_question"]
    items = world.call("rep", "GET", f"{deal}/qualification").json()["items"]
    old = next(item for item in items if item["question_id"] == question)
    new_answer = "no" if old["answer"] == "yes" else "yes"
    response = world.call(
        "rep", "PUT", f"{deal}/qualification/{question}", json={"answer": new_answer, "note": "from the API"}
    )
    try:
        assert response.status_code == 200, response.text
        assert response.json()["answer"] == new_answer and response.json()["note"] == "from the API"
        newest = _trail(world, deal)[0]
        assert newest["field"].startswith("qualification:") and newest["via"] == "api"
    finally:
        back = {"answer": old["answer"], "note": old["note"] or ""}
        assert world.call("rep", "PUT", f"{deal}/qualification/{question}", json=back).status_code == 200
    again = world.call("rep", "GET", f"{deal}/qualification").json()["items"]
    assert next(i for i in again if i["question_id"] == question)["answer"] == old["answer"]


def test_accounts_contacts_and_activities_are_written_and_audited(world: World) -> None:
    account = world.call("rep", "POST", "/accounts", json={"name": unique("API account"), "segment": "smb"})
    assert account.status_code == 201, account.text
    account_id = account.json()["id"]
    assert account.json()["owner_id"] == world.users["rep"] and account.json()["open_amount"] == "0.00"
    contact = world.call("rep", "POST", "/contacts", json={"name": "Ada", "account_id": account_id})
    assert contact.status_code == 201, contact.text
    moved = world.call("rep", "PATCH", f"/contacts/{contact.json()['id']}", json={"stance": "supporter"})
    assert moved.status_code == 200 and moved.json()["stance"] == "supporter"
    activity = world.call(
        "rep",
        "POST",
        "/activities",
        json={
            "type": "meeting",
            "occurred_at": "2026-02-03T10:00:00+02:00",
            "account_id": account_id,
            "contact_ids": [contact.json()["id"]],
        },
    )
    assert activity.status_code == 201, activity.text
    logged = activity.json()
    assert logged["occurred_at"] == "2026-02-03T08:00:00Z" and logged["user_id"] == world.users["rep"]
    assert [c["id"] for c in logged["contacts"]] == [contact.json()["id"]]
    fixed = world.call("rep", "PATCH", f"/activities/{logged['id']}", json={"subject": "Kick-off"})
    assert fixed.status_code == 200 and fixed.json()["subject"] == "Kick-off"
    for path in (
        f"/accounts/{account_id}",
        f"/contacts/{contact.json()['id']}",
        f"/activities/{logged['id']}",
    ):
        trail = _trail(world, path)
        assert trail and {e["via"] for e in trail} == {"api"}
        assert {e["actor_id"] for e in trail} == {world.users["rep"]}
    listed = world.call("rep", "GET", "/activities", params={"account_id": account_id}).json()
    assert [item["id"] for item in listed["items"]] == [logged["id"]]


def test_admin_changes_to_users_and_teams_are_audited(world: World) -> None:
    email = f"{unique('api-user').replace(' ', '-')}@example.com"
    team = world.call("admin", "POST", "/teams", json={"name": unique("API team")})
    assert team.status_code == 201, team.text
    user = world.call(
        "admin", "POST", "/users", json={"name": "Api User", "email": email, "team_id": team.json()["id"]}
    )
    assert user.status_code == 201, user.text
    assert user.json()["team_name"] == team.json()["name"] and user.json()["has_password"] is False
    again = world.call("admin", "POST", "/users", json={"name": "Twin", "email": email.upper()})
    assert again.status_code == 409 and "already used" in again.json()["message"]
    promoted = world.call("admin", "PATCH", f"/users/{user.json()['id']}", json={"role": "manager"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "manager"
    log = world.call(
        "admin", "GET", "/audit", params={"entity": "user", "entity_id": user.json()["id"]}
    ).json()
    assert {e["action"] for e in log["items"]} == {"create", "update"}
    assert {e["via"] for e in log["items"]} == {"api"}
    assert world.call("admin", "GET", f"/teams/{team.json()['id']}").json()["members"] == 1


def test_the_last_admin_cannot_be_demoted(world: World) -> None:
    admins = world.call("admin", "GET", "/users", params={"role": "admin", "active": True}).json()
    assert [user["id"] for user in admins["items"]] == [world.users["admin"]]
    before = world.counts()
    for change in ({"role": "rep"}, {"active": False}):
        response = world.call("admin", "PATCH", f"/users/{world.users['admin']}", json=change)
        assert response.status_code == 409 and "last active admin" in response.json()["message"]
    assert world.counts() == before
    assert world.call("admin", "GET", "/me").json()["role"] == "admin"
