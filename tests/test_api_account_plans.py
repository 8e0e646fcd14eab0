"""``/api/v1`` account plan routes on SQLite and PostgreSQL: the plan and goals by role (an account the rep
sees, one outside the manager's view), a goal's life (create, change, link and unlink deals, delete) with
its audit trail and the plan following it, who covers a contact, the demo's plans, and bad input in the
one error shape with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from dealsight.store.schema import (
    account_goal_deals,
    account_goals,
    accounts,
    contact_coverage,
    contacts,
    opportunities,
)
from tests import api_fixtures
from tests.api_fixtures import World, unique

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world
pg_world = api_fixtures.pg_world
world = api_fixtures.world

WRITES = {
    "own_account": {"rep": 201, "manager": 201, "executive": 403, "admin": 201, None: 401},
    "other_account": {"rep": 404, "manager": 404, "executive": 403, "admin": 201, None: 401},
}
READS = {
    "own_account": {"rep": 200, "manager": 200, "executive": 200, "admin": 200, None: 401},
    "other_account": {"rep": 404, "manager": 404, "executive": 200, "admin": 200, None: 401},
}


def _error(response: Any, status: int, *fields: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["message"]
    assert set(fields) <= {p["field"] for p in body["problems"]}, body


def _goal(world: World, account: str, role: str | None = "admin", **fields: Any) -> Any:
    body = {"goal": unique("Cut forecast error to 5%"), **fields}
    return world.call(role, "POST", f"/accounts/{world.ids[account]}/goals", json=body)


def _first(world: World, query: sa.Select[Any]) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(query.limit(1)).scalar_one())


def test_plans_and_goals_follow_the_account(world: World) -> None:
    for account, statuses in WRITES.items():
        for role, status in statuses.items():
            before = world.counts(account_goals)
            response = _goal(world, account, role)
            assert response.status_code == status, (account, role, response.text)
            if status != 201:
                assert world.counts(account_goals) == before
    for account, statuses in READS.items():
        made = _goal(world, account).json()
        for role, status in statuses.items():
            assert world.call(role, "GET", f"/goals/{made['id']}").status_code == status, (account, role)
            plan = world.call(role, "GET", f"/accounts/{world.ids[account]}/plan")
            assert plan.status_code == status, (account, role, plan.text)
            if status == 200:
                assert made["id"] in {line["goal"]["id"] for line in plan.json()["goals"]}


def test_the_plan_counts_only_the_deals_the_reader_sees(world: World) -> None:
    own = world.ids["own_account"]
    everything = world.call("admin", "GET", f"/accounts/{own}/plan").json()
    mine = world.call("rep", "GET", f"/accounts/{own}/plan").json()
    assert {d["id"] for d in mine["deals"]} <= {d["id"] for d in everything["deals"]}
    assert float(mine["open_amount"]) <= float(everything["open_amount"])
    assert float(everything["open_amount"]) == pytest.approx(
        float(everything["aligned_amount"]) + float(everything["unaligned_amount"])
    )
    assert mine["contacts"] == everything["contacts"] and mine["whitespace"] == everything["whitespace"]


def test_a_goal_from_creation_to_deletion(world: World) -> None:
    own = world.ids["own_account"]
    executive = _first(
        world, sa.select(contacts.c.id).where(contacts.c.account_id == own).order_by(contacts.c.id)
    )
    made = _goal(world, "own_account", "rep", executive_id=executive, owner_id=world.users["manager"],
                 target_date="2027-06-30", priority="high", measure="forecast error under 5%")  # fmt: skip
    assert made.status_code == 201, made.text
    goal = made.json()
    assert (goal["priority"], goal["status"], goal["executive_id"], goal["owner_id"], goal["deal_ids"]) == (
        "high",
        "identified",
        executive,
        world.users["manager"],
        [],
    )
    changed = world.call("rep", "PATCH", f"/goals/{goal['id']}", json={"status": "at_risk", "measure": None})
    assert changed.status_code == 200 and (changed.json()["status"], changed.json()["measure"]) == (
        "at_risk",
        None,
    )
    deal = world.ids["own_deal"]
    linked = world.call("rep", "PUT", f"/goals/{goal['id']}/deals/{deal}")
    assert linked.status_code == 200 and linked.json()["deal_ids"] == [deal]
    assert world.call("rep", "PUT", f"/goals/{goal['id']}/deals/{deal}").json()["deal_ids"] == [deal]
    plan = world.call("rep", "GET", f"/accounts/{own}/plan").json()
    line = next(line for line in plan["goals"] if line["goal"]["id"] == goal["id"])
    assert [d["id"] for d in line["deals"]] == [deal]
    assert goal["id"] not in {g["id"] for g in plan["uncovered_goals"]}
    assert deal not in {d["id"] for d in plan["unaligned_deals"]}
    assert goal["id"] in next(d for d in plan["deals"] if d["id"] == deal)["goal_ids"]
    assert world.call("rep", "DELETE", f"/goals/{goal['id']}/deals/{deal}").json()["deal_ids"] == []
    plan = world.call("rep", "GET", f"/accounts/{own}/plan").json()
    assert goal["id"] in {g["id"] for g in plan["uncovered_goals"]}  # active, and no deal serves it now
    assert world.call("executive", "DELETE", f"/goals/{goal['id']}").status_code == 403
    assert world.call("rep", "DELETE", f"/goals/{goal['id']}").status_code == 204
    assert world.call("rep", "GET", f"/goals/{goal['id']}").status_code == 404
    audit = world.call("admin", "GET", "/audit", params={"entity": "account_goal", "entity_id": goal["id"]})
    trail = [(e["action"], e["field"], e["new_value"]) for e in audit.json()["items"]]
    assert ("create", "goal", goal["goal"]) in trail and ("update", "status", "at_risk") in trail
    assert sum(1 for a, f, _ in trail if (a, f) == ("update", "linked_deal")) == 2  # linked once, unlinked
    assert ("delete", None, None) in trail


def test_bad_input_has_the_one_error_shape_and_writes_nothing(world: World) -> None:
    own, other = world.ids["own_account"], world.ids["other_account"]
    stranger = _first(world, sa.select(contacts.c.id).where(contacts.c.account_id == other))
    before = world.counts(account_goals, account_goal_deals)
    _error(world.call("rep", "POST", f"/accounts/{own}/goals", json={"goal": "  "}), 422, "body.goal")
    _error(_goal(world, "own_account", "rep", priority="urgent"), 422, "body.priority")
    _error(_goal(world, "own_account", "rep", executive_id=stranger), 422, "body.executive_id")
    _error(_goal(world, "own_account", "rep", owner_id=2**31 - 1), 422, "body.owner_id")
    _error(_goal(world, "own_account", "rep", goal="x" * 301), 422, "body.goal")
    _error(_goal(world, "own_account", "rep", colour="red"), 422, "body.colour")
    made = _goal(world, "own_account", "rep").json()
    before = world.counts(account_goals, account_goal_deals)
    other_deal = world.ids["other_deal"]
    assert world.call("rep", "PUT", f"/goals/{made['id']}/deals/{other_deal}").status_code == 404  # unseen
    team_deal = world.ids["team_deal"]
    assert _first(world, sa.select(opportunities.c.account_id).where(opportunities.c.id == team_deal)) != own
    _error(world.call("manager", "PUT", f"/goals/{made['id']}/deals/{team_deal}"), 422, "path.opportunity_id")
    assert world.counts(account_goals, account_goal_deals) == before


def test_who_covers_a_contact(world: World) -> None:
    contact, other = world.ids["own_contact"], world.ids["other_contact"]
    sponsor = world.users["admin"]
    covered = world.call("rep", "PUT", f"/contacts/{contact}/coverage/{sponsor}")
    assert covered.status_code == 200, covered.text
    assert sponsor in {u["id"] for u in covered.json()["covered_by"]}
    entries = world.counts(contact_coverage)
    assert world.call("rep", "PUT", f"/contacts/{contact}/coverage/{sponsor}").status_code == 200
    assert world.counts(contact_coverage) == entries  # covering twice changes nothing, audits nothing
    assert world.call("executive", "PUT", f"/contacts/{contact}/coverage/{sponsor}").status_code == 403
    assert world.call("rep", "PUT", f"/contacts/{other}/coverage/{sponsor}").status_code == 404
    _error(world.call("rep", "PUT", f"/contacts/{contact}/coverage/{2**31 - 1}"), 422, "path.user_id")
    account = _first(world, sa.select(contacts.c.account_id).where(contacts.c.id == contact))
    plan = world.call("rep", "GET", f"/accounts/{account}/plan").json()
    person = next(c for c in plan["contacts"] if c["id"] == contact)
    assert sponsor in {u["id"] for u in person["covered_by"]} and sponsor in {u["id"] for u in plan["team"]}
    removed = world.call("rep", "DELETE", f"/contacts/{contact}/coverage/{sponsor}")
    assert sponsor not in {u["id"] for u in removed.json()["covered_by"]}
    assert world.call("manager", "GET", f"/contacts/{contact}/coverage").json()["contact_id"] == contact
    audit = world.call("admin", "GET", "/audit", params={"entity": "contact", "entity_id": contact})
    fields = [(e["field"], e["old_value"], e["new_value"]) for e in audit.json()["items"]]
    assert sum(1 for f, _, _ in fields if f == "covered_by") == 2


def test_the_demo_plans_every_rep_can_open(world: World) -> None:
    rep = world.users["rep"]
    planned = _first(
        world,
        sa.select(accounts.c.id)
        .where(accounts.c.owner_id == rep, accounts.c.id.in_(sa.select(account_goals.c.account_id)))
        .order_by(accounts.c.id),
    )
    plan = world.call("rep", "GET", f"/accounts/{planned}/plan").json()
    assert len(plan["goals"]) >= 2 and plan["contacts"] and plan["whitespace"]["peers"] > 0
    assert all(line["goal"]["goal"] for line in plan["goals"])
    assert {"high", "medium"} & {line["goal"]["priority"] for line in plan["goals"]}
