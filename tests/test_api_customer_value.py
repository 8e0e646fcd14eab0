"""``/api/v1`` customer value routes: subscriptions, churn events, value evidence, RIQ answers and booked vs
delivered. The role matrix on an account the rep sees and on one outside the manager's view, the one error
shape for bad input, nothing written by a refused request, and the audit log of each change."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from dealsight.store.schema import contacts, riq_answers, subscriptions, value_evidence
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


def _subscription(world: World, account: str, role: str | None = "admin", **fields: Any) -> Any:
    body = {"plan": "Pro", "arr": "24000", "term_start": "2026-01-15", "external_id": unique("SUB"), **fields}
    body = {name: value for name, value in body.items() if value is not None}  # None: left out
    return world.call(role, "POST", f"/accounts/{world.ids[account]}/subscriptions", json=body)


def test_subscription_writes_and_reads_follow_the_account(world: World) -> None:
    for account, statuses in WRITES.items():
        for role, status in statuses.items():
            before = world.counts(subscriptions)
            response = _subscription(world, account, role)
            assert response.status_code == status, (account, role, response.text)
            if status != 201:
                assert world.counts(subscriptions) == before
    for account, statuses in READS.items():
        made = _subscription(world, account).json()
        for role, status in statuses.items():
            assert world.call(role, "GET", f"/subscriptions/{made['id']}").status_code == status, (
                account,
                role,
            )
            listed = world.call(role, "GET", f"/accounts/{world.ids[account]}/subscriptions")
            assert listed.status_code == status
            if status == 200:
                assert made["id"] in {s["id"] for s in listed.json()["items"]}


def test_a_subscription_answers_with_its_derived_fields_and_is_audited(world: World) -> None:
    made = _subscription(world, "own_account", "rep", mrr="1500", arr=None, billing_frequency="quarterly")
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["arr"], body["mrr"], body["renewal_date"], body["status"]) == (
        "18000.00",
        "1500.00",
        "2026-04-15",
        "active",
    )
    changed = world.call("rep", "PATCH", f"/subscriptions/{body['id']}", json={"arr": "30000", "seats": 40})
    assert changed.status_code == 200 and changed.json()["mrr"] == "2500.00"
    audit = world.call("admin", "GET", "/audit", params={"entity": "subscription", "entity_id": body["id"]})
    fields = {(e["action"], e["field"]) for e in audit.json()["items"]}
    assert {("create", "arr"), ("update", "arr"), ("update", "mrr"), ("update", "seats")} <= fields
    mine = world.call("rep", "GET", "/subscriptions", params={"status": "active", "limit": 500})
    assert body["id"] in {s["id"] for s in mine.json()["items"]}
    assert all(s["account_id"] != world.ids["other_account"] for s in mine.json()["items"])


def test_bad_input_has_the_one_error_shape_and_writes_nothing(world: World) -> None:
    before = world.counts(subscriptions, value_evidence, riq_answers)
    _error(_subscription(world, "own_account", "rep", arr="-5"), 422, "body.arr")
    _error(_subscription(world, "own_account", "rep", term_end="2025-01-01"), 422, "body.term_end")
    _error(
        _subscription(world, "own_account", "rep", billing_frequency="weekly"), 422, "body.billing_frequency"
    )
    _error(_subscription(world, "own_account", "rep", arr=None), 422, "body.arr")
    account = world.ids["own_account"]
    _error(
        world.call("rep", "POST", f"/accounts/{account}/value", json={"monetary_value": 5}),
        422,
        "body.metric",
    )
    _error(world.call("rep", "POST", f"/accounts/{account}/riq", json={"impact": "huge"}), 422, "body.impact")
    _error(world.call("rep", "GET", "/booked-value", params={"as_of": "1066-10-14"}), 422, "query.as_of")
    assert world.counts(subscriptions, value_evidence, riq_answers) == before


def _contact_of(world: World, account_id: int) -> int:
    with world.engine.connect() as conn:
        query = sa.select(contacts.c.id).where(contacts.c.account_id == account_id).order_by(contacts.c.id)
        return int(conn.execute(query).scalars().first())


def test_value_and_riq_round_trip(world: World) -> None:
    account = world.ids["own_account"]
    contact = _contact_of(world, account)
    value = world.call(
        "rep",
        "POST",
        f"/accounts/{account}/value",
        json={
            "metric": unique("Hours saved"),
            "baseline": 10,
            "achieved": 2.5,
            "monetary_value": "9000",
            "confirmed_by_id": contact,
            "confirmed_on": "2026-02-01",
        },
    )
    assert value.status_code == 201, value.text
    made = value.json()
    assert (made["monetary_value"], made["achieved"], made["confirmed_by_id"]) == ("9000.00", 2.5, contact)
    changed = world.call("rep", "PATCH", f"/value/{made['id']}", json={"confirmer_level": "executive"})
    assert changed.json()["confirmed_by_executive"] is True
    assert world.call("executive", "PATCH", f"/value/{made['id']}", json={"note": "x"}).status_code == 403
    listed = world.call("manager", "GET", f"/accounts/{account}/value").json()
    assert made["id"] in {v["id"] for v in listed["items"]}
    riq = world.call(
        "rep",
        "POST",
        f"/accounts/{account}/riq",
        json={
            "impact": "critical",
            "recovery": "months",
            "answer": "Payroll would stop.",
            "answered_by_id": contact,
        },
    )
    assert riq.status_code == 201, riq.text
    answer = riq.json()
    assert (answer["asked_by_id"], answer["impact"]) == (world.users["rep"], "critical")
    assert world.call("rep", "GET", f"/accounts/{account}/riq").json()["items"][0]["id"] == answer["id"]
    assert world.call("rep", "PATCH", f"/riq/{answer['id']}", json={"recovery": "cannot"}).json()[
        "recovery"
    ] == ("cannot")
    other = world.ids["other_account"]
    assert world.call("rep", "GET", f"/accounts/{other}/riq").status_code == 404
    assert world.call("rep", "GET", f"/riq/{answer['id']}").status_code == 200


def test_booked_value_for_an_account_and_the_portfolio(world: World) -> None:
    account = world.ids["own_account"]
    _subscription(world, "own_account", arr="12000", term_start="2020-01-01", auto_renew=True)
    single = world.call("rep", "GET", f"/accounts/{account}/booked-value", params={"quarters": 2})
    assert single.status_code == 200, single.text
    body = single.json()
    assert float(body["arr_booked"]) >= 12000 and len(body["trend"]) == 2
    assert world.call("rep", "GET", f"/accounts/{world.ids['other_account']}/booked-value").status_code == 404
    everyone = world.call("executive", "GET", "/booked-value", params={"limit": 3}).json()
    rep = world.call("rep", "GET", "/booked-value").json()
    assert float(everyone["summary"]["arr_booked"]) >= float(rep["summary"]["arr_booked"]) >= 12000
    assert len(everyone["accounts"]) <= 3 and everyone["accounts_total"] >= len(everyone["accounts"])


def test_a_renewal_date_sent_as_null_is_derived(sqlite_world: World) -> None:
    """Schemathesis found a 500: an explicit null renewal date reached the NOT NULL column."""
    account = sqlite_world.ids["own_account"]
    body = {"plan": "Pro", "arr": "24000", "term_start": "2026-01-15", "renewal_date": None}
    made = sqlite_world.call("admin", "POST", f"/accounts/{account}/subscriptions", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["renewal_date"] == "2027-01-15"  # one (default annual) term after the start
