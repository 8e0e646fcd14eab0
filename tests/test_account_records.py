"""Account and contact records with row-level access, on the demo organisation, on SQLite and PostgreSQL.

An account is visible when its owner is covered or it has a visible deal; a contact when its account is.
Lists and pages are checked against plain Python over the raw rows; writes go through the role matrix and
bad input must name its fields and write nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.domain.access import Scope
from dealsight.errors import NotFoundError, PermissionDeniedError, ValidationError
from dealsight.services.account_records import (
    AccountQuery,
    ContactQuery,
    create_account,
    create_contact,
    get_account,
    get_contact,
    list_accounts,
    list_contacts,
    update_account,
    update_contact,
)
from dealsight.store import schema
from tests import test_opportunity_records
from tests.refusals import Cases, assert_refused
from tests.test_opportunity_records import (
    TODAY,
    WRITTEN,
    People,
    counts,
    every_page,
    ordered,
    people,
    rows,
)

pytestmark = pytest.mark.storage
demo = test_opportunity_records.demo
fresh = test_opportunity_records.fresh


def visible_accounts(engine: Engine, scope: Scope) -> set[int]:
    """The rule, computed independently: owner covered, or at least one deal with a covered owner."""
    with_deal = {o["account_id"] for o in rows(engine, schema.opportunities) if scope.covers(o["owner_id"])}
    return {
        a["id"] for a in rows(engine, schema.accounts) if scope.covers(a["owner_id"]) or a["id"] in with_deal
    }


def scopes(who: People) -> list[Scope]:
    return [who.rep_scope, who.manager_scope, who.vp_scope, who.executive_scope, who.admin_scope]


def shared_account(engine: Engine, who: People) -> dict[str, Any]:
    """An account another rep owns on which the rep has a deal (visible to the rep through the deal)."""
    accounts = {a["id"]: a for a in rows(engine, schema.accounts)}
    return next(
        accounts[o["account_id"]]
        for o in rows(engine, schema.opportunities)
        if o["owner_id"] == who.rep.user_id and accounts[o["account_id"]]["owner_id"] != who.rep.user_id
    )


# reading ---------------------------------------------------------------------------------------------------
def test_account_lists_follow_the_visibility_rule(demo: Engine) -> None:
    who = people(demo)
    accounts = rows(demo, schema.accounts)
    deals = rows(demo, schema.opportunities)
    for scope in scopes(who):
        visible = visible_accounts(demo, scope)
        found = every_page(
            lambda offset, s=scope: list_accounts(
                demo, s, AccountQuery(sort="-employees", limit=40, offset=offset)
            ),
            40,
        )
        assert [a.id for a in found] == ordered(
            [a for a in accounts if a["id"] in visible], "employees", True
        )
        for item in found:
            mine = [
                o
                for o in deals
                if o["account_id"] == item.id and o["outcome"] is None and scope.covers(o["owner_id"])
            ]
            assert item.open_deals == len(mine)
            assert item.open_amount == sum((o["amount"] or Decimal(0) for o in mine), Decimal(0))
    assert len(visible_accounts(demo, who.rep_scope)) < len(accounts)


def test_account_filters_match_an_independent_computation(demo: Engine) -> None:
    who = people(demo)
    accounts = rows(demo, schema.accounts)
    industry = max(
        {a["industry"] for a in accounts if a["industry"]},
        key=lambda i: [a["industry"] for a in accounts].count(i),
    )
    cases: list[tuple[AccountQuery, Any]] = [
        (AccountQuery(industry=industry.upper(), sort="id"), lambda a: a["industry"] == industry),
        (AccountQuery(segment="Enterprise", sort="id"), lambda a: a["segment"] == "enterprise"),
        (AccountQuery(country="germany", sort="id"), lambda a: a["country"] == "Germany"),
        (AccountQuery(owner_id=who.rep.user_id, sort="id"), lambda a: a["owner_id"] == who.rep.user_id),
        (
            AccountQuery(q=".DE", sort="id"),
            lambda a: ".de" in a["name"].lower() or ".de" in (a["domain"] or "").lower(),
        ),
        (AccountQuery(sort="-annual_revenue", limit=500), lambda a: True),
    ]
    for query, keep in cases:
        page = list_accounts(demo, who.admin_scope, query)
        key = "annual_revenue" if query.sort == "-annual_revenue" else "id"
        expected = ordered([a for a in accounts if keep(a)], key, key != "id")
        assert [a.id for a in page.items] == expected[: query.limit] and page.total == len(expected), query
        assert expected, query


def test_the_account_page_shows_what_the_scope_may_see(demo: Engine) -> None:
    who = people(demo)
    deals = rows(demo, schema.opportunities)
    contacts = rows(demo, schema.contacts)
    account = shared_account(demo, who)
    for scope in (who.rep_scope, who.admin_scope):
        page = get_account(demo, scope, account["id"], today=TODAY)
        seen = [o for o in deals if o["account_id"] == account["id"] and scope.covers(o["owner_id"])]
        assert page.opportunities_total == len(seen) == len(page.opportunities)
        assert {o.id for o in page.opportunities} == {o["id"] for o in seen}
        open_ids = [o.id for o in page.opportunities if o.outcome is None]
        assert [o.id for o in page.opportunities[: len(open_ids)]] == open_ids, "open deals come first"
        won = [o for o in seen if o["outcome"] == "won"]
        assert (page.won_deals, page.won_amount) == (len(won), sum((o["amount"] for o in won), Decimal(0)))
        assert page.lost_deals == sum(1 for o in seen if o["outcome"] == "lost")
        assert page.no_decision_deals == sum(1 for o in seen if o["outcome"] == "no_decision")
        assert page.open_deals == sum(1 for o in seen if o["outcome"] is None)
        assert {c.id for c in page.contacts} == {
            c["id"] for c in contacts if c["account_id"] == account["id"]
        }
    everything = get_account(demo, who.admin_scope, account["id"])
    assert (
        everything.opportunities_total > get_account(demo, who.rep_scope, account["id"]).opportunities_total
    )
    parent = next(
        a
        for a in rows(demo, schema.accounts)
        if any(c["parent_id"] == a["id"] for c in rows(demo, schema.accounts))
    )
    family = get_account(demo, who.admin_scope, parent["id"])
    assert {c.id for c in family.children} == {
        a["id"] for a in rows(demo, schema.accounts) if a["parent_id"] == parent["id"]
    }
    child = get_account(demo, who.admin_scope, family.children[0].id)
    assert child.parent is not None and child.parent.id == parent["id"]


def test_reading_accounts_and_contacts_follows_the_role_matrix(demo: Engine) -> None:
    who = people(demo)
    hidden = next(
        a for a in rows(demo, schema.accounts) if a["id"] not in visible_accounts(demo, who.rep_scope)
    )
    hidden_contact = next(c for c in rows(demo, schema.contacts) if c["account_id"] == hidden["id"])
    with pytest.raises(NotFoundError, match=f"no account with id {hidden['id']}"):
        get_account(demo, who.rep_scope, hidden["id"])
    with pytest.raises(NotFoundError, match=f"no contact with id {hidden_contact['id']}"):
        get_contact(demo, who.rep_scope, hidden_contact["id"])
    for scope in (who.executive_scope, who.admin_scope):
        assert get_account(demo, scope, hidden["id"]).name == hidden["name"]
        assert get_contact(demo, scope, hidden_contact["id"]).account_id == hidden["id"]
    shared = shared_account(demo, who)
    contact = next(c for c in rows(demo, schema.contacts) if c["account_id"] == shared["id"])
    detail = get_contact(demo, who.rep_scope, contact["id"])
    deals = {o["id"]: o for o in rows(demo, schema.opportunities)}
    on = [
        oc["opportunity_id"]
        for oc in rows(demo, schema.opportunity_contacts)
        if oc["contact_id"] == contact["id"]
    ]
    assert {d.id for d in detail.opportunities} == {i for i in on if deals[i]["owner_id"] == who.rep.user_id}


def test_contact_lists_follow_visibility_and_filters(demo: Engine) -> None:
    who = people(demo)
    contacts = rows(demo, schema.contacts)
    for scope in scopes(who):
        visible = visible_accounts(demo, scope)
        found = every_page(
            lambda offset, s=scope: list_contacts(
                demo, s, ContactQuery(sort="-id", limit=200, offset=offset)
            ),
            200,
        )
        assert [c.id for c in found] == sorted(
            (c["id"] for c in contacts if c["account_id"] in visible), reverse=True
        )
    account_id = contacts[0]["account_id"]
    cases: list[tuple[ContactQuery, Any]] = [
        (ContactQuery(account_id=account_id, sort="id"), lambda c: c["account_id"] == account_id),
        (ContactQuery(is_executive=True, sort="id", limit=500), lambda c: c["is_executive"]),
        (ContactQuery(stance="opponent", sort="id", limit=500), lambda c: c["stance"] == "opponent"),
        (
            ContactQuery(q="CHIEF", sort="id", limit=500),
            lambda c: any("chief" in (c[n] or "").lower() for n in ("name", "email", "title")),
        ),
    ]
    for query, keep in cases:
        page = list_contacts(demo, who.admin_scope, query)
        expected = [c["id"] for c in contacts if keep(c)]
        assert [c.id for c in page.items] == expected[: query.limit] and page.total == len(expected) > 0, (
            query
        )
    with pytest.raises(ValidationError) as caught:
        list_contacts(demo, who.admin_scope, ContactQuery(stance="friendly", sort="phone"))  # type: ignore[arg-type]
    assert {p.field for p in caught.value.problems} == {"stance"}


# writing ---------------------------------------------------------------------------------------------------
def test_accounts_are_created_and_changed_with_audit_rows(fresh: Engine) -> None:
    who = people(fresh)
    created = create_account(
        fresh,
        who.rep,
        who.rep_scope,
        {"name": " Acme  Inc. ", "domain": "https://www.Acme.com/about", "segment": "SMB", "employees": 40},
        "web",
    )
    assert (created.name, created.domain, created.segment, created.owner_id) == (
        "Acme  Inc.",
        "acme.com",
        "smb",
        who.rep.user_id,
    )
    parent = shared_account(fresh, who)
    changed = update_account(
        fresh,
        who.rep,
        who.rep_scope,
        created.id,
        {"name": "Acme Corporation", "parent_id": parent["id"]},
        "api",
    )
    assert changed.parent is not None and changed.parent.id == parent["id"]
    stored = next(a for a in rows(fresh, schema.accounts) if a["id"] == created.id)
    assert stored["name_key"] == "acme corporation"
    audit = [
        a for a in rows(fresh, schema.audit_log) if a["entity"] == "account" and a["entity_id"] == created.id
    ]
    assert {(a["action"], a["field"]) for a in audit} == {
        ("create", "name"),
        ("create", "domain"),
        ("create", "segment"),
        ("create", "employees"),
        ("create", "owner_id"),
        ("update", "name"),
        ("update", "parent_id"),
    }
    before = counts(fresh, *WRITTEN)
    update_account(fresh, who.rep, who.rep_scope, created.id, {"employees": "40"}, "api")
    assert counts(fresh, *WRITTEN) == before
    assert created.id in {a.id for a in list_accounts(fresh, who.rep_scope, AccountQuery(limit=500)).items}


def test_bad_account_input_names_each_field_and_writes_nothing(fresh: Engine) -> None:
    who = people(fresh)
    own = next(a for a in rows(fresh, schema.accounts) if a["owner_id"] == who.rep.user_id)
    child = next(a for a in rows(fresh, schema.accounts) if a["parent_id"] is not None)
    hidden = next(
        a for a in rows(fresh, schema.accounts) if a["id"] not in visible_accounts(fresh, who.rep_scope)
    )
    with fresh.begin() as conn:
        conn.execute(
            schema.accounts.update().where(schema.accounts.c.id == own["id"]).values(external_id="CRM-1")
        )
    other = next(
        a for a in rows(fresh, schema.accounts) if a["owner_id"] == who.rep.user_id and a["id"] != own["id"]
    )
    before = counts(fresh, *WRITTEN)
    cases: Cases = [
        ({"segment": "galactic"}, {"segment"}),
        ({"employees": -1, "annual_revenue": "lots"}, {"employees", "annual_revenue"}),
        ({"employees": 2.5, "annual_revenue": -10}, {"employees", "annual_revenue"}),
        ({"domain": "not a domain"}, {"domain"}),
        ({"name": "  "}, {"name"}),
        ({"website": "x", "owner": 3}, {"website", "owner"}),
        ({"parent_id": own["id"], "owner_id": who.other_rep.user_id}, {"owner_id"}),
        ({"parent_id": other["id"]}, {"parent_id"}),
        ({"parent_id": hidden["id"]}, {"parent_id"}),
        ({"parent_id": own["id"], "external_id": "CRM-1"}, {"external_id"}),
    ]
    assert_refused(
        lambda changes: update_account(fresh, who.rep, who.rep_scope, other["id"], changes, "web"), cases
    )
    with pytest.raises(ValidationError) as caught:
        update_account(
            fresh, who.admin, who.admin_scope, child["parent_id"], {"parent_id": child["id"]}, "web"
        )
    assert [p.field for p in caught.value.problems] == ["parent_id"]
    with pytest.raises(ValidationError) as caught:
        create_account(fresh, who.rep, who.rep_scope, {"industry": "Retail"}, "web")
    assert [p.field for p in caught.value.problems] == ["name"]
    assert counts(fresh, *WRITTEN) == before


def test_account_and_contact_writes_follow_the_role_matrix(fresh: Engine) -> None:
    who = people(fresh)
    hidden = next(
        a for a in rows(fresh, schema.accounts) if a["id"] not in visible_accounts(fresh, who.rep_scope)
    )
    hidden_contact = next(c for c in rows(fresh, schema.contacts) if c["account_id"] == hidden["id"])
    shared = shared_account(fresh, who)
    before = counts(fresh, *WRITTEN)
    denied = [
        lambda: create_account(fresh, who.executive, who.executive_scope, {"name": "X"}, "web"),
        lambda: update_account(
            fresh, who.executive, who.executive_scope, hidden["id"], {"industry": "X"}, "web"
        ),
        lambda: create_contact(
            fresh, who.executive, who.executive_scope, {"name": "X", "account_id": 1}, "web"
        ),
        lambda: update_contact(
            fresh, who.executive, who.executive_scope, hidden_contact["id"], {"title": "X"}, "web"
        ),
    ]
    for attempt in denied:
        with pytest.raises(PermissionDeniedError):
            attempt()
    with pytest.raises(NotFoundError):
        update_account(fresh, who.rep, who.rep_scope, hidden["id"], {"industry": "X"}, "web")
    with pytest.raises(NotFoundError):
        update_contact(fresh, who.rep, who.rep_scope, hidden_contact["id"], {"title": "X"}, "web")
    with pytest.raises(ValidationError) as caught:
        update_account(fresh, who.rep, who.rep_scope, shared["id"], {"owner_id": who.rep.user_id}, "web")
    assert [p.field for p in caught.value.problems] == ["owner_id"], (
        "a rep cannot take over a colleague's account"
    )
    assert counts(fresh, *WRITTEN) == before
    # a rep may still correct a shared account's other fields; the manager of its owner may reassign it
    assert (
        update_account(fresh, who.rep, who.rep_scope, shared["id"], {"industry": "Retail"}, "web").industry
        == "Retail"
    )
    owner_manager = next(u for u in rows(fresh, schema.users) if u["id"] == shared["owner_id"])["manager_id"]
    assert owner_manager == who.manager.user_id, "the demo's shared accounts stay within a team"
    moved = update_account(
        fresh, who.manager, who.manager_scope, shared["id"], {"owner_id": who.rep.user_id}, "web"
    )
    assert moved.owner_id == who.rep.user_id
    assert (
        update_account(fresh, who.admin, who.admin_scope, hidden["id"], {"employees": 12}, "api").employees
        == 12
    )


def test_contacts_are_created_on_visible_accounts_only(fresh: Engine) -> None:
    who = people(fresh)
    shared = shared_account(fresh, who)
    own = next(
        a
        for a in rows(fresh, schema.accounts)
        if a["owner_id"] == who.rep.user_id and a["id"] != shared["id"]
    )
    hidden = next(
        a for a in rows(fresh, schema.accounts) if a["id"] not in visible_accounts(fresh, who.rep_scope)
    )
    before = counts(fresh, *WRITTEN)
    cases: Cases = [
        ({"name": "Jo", "account_id": hidden["id"]}, {"account_id"}),
        ({"name": "Jo", "account_id": 999_999}, {"account_id"}),
        ({"account_id": shared["id"]}, {"name"}),
        ({"name": "Jo", "account_id": shared["id"], "email": "jo at acme"}, {"email"}),
        (
            {"name": "Jo", "account_id": shared["id"], "stance": "friendly", "influence": "huge"},
            {"stance", "influence"},
        ),
        (
            {"name": "Jo", "account_id": shared["id"], "is_executive": "yes", "phone": "1"},
            {"is_executive", "phone"},
        ),
    ]
    assert_refused(lambda data: create_contact(fresh, who.rep, who.rep_scope, data, "web"), cases)
    assert counts(fresh, *WRITTEN) == before
    contact = create_contact(
        fresh,
        who.rep,
        who.rep_scope,
        {
            "name": "Jo Park",
            "account_id": shared["id"],
            "email": " Jo.Park@Example.COM ",
            "stance": "Supporter",
            "deal_role": "champion",
            "is_executive": True,
        },
        "web",
    )
    assert (contact.email, contact.stance.value, contact.deal_role, contact.account_name) == (
        "jo.park@example.com",
        "supporter",
        "champion",
        shared["name"],
    )
    with pytest.raises(ValidationError) as caught:
        update_contact(fresh, who.rep, who.rep_scope, contact.id, {"account_id": hidden["id"]}, "web")
    assert [p.field for p in caught.value.problems] == ["account_id"]
    moved = update_contact(
        fresh, who.rep, who.rep_scope, contact.id, {"account_id": own["id"], "title": "CFO"}, "api"
    )
    assert (moved.account_id, moved.title) == (own["id"], "CFO")
    audit = [
        a for a in rows(fresh, schema.audit_log) if a["entity"] == "contact" and a["entity_id"] == contact.id
    ]
    assert {(a["action"], a["field"]) for a in audit if a["action"] == "update"} == {
        ("update", "account_id"),
        ("update", "title"),
    }
    assert {a["field"] for a in audit if a["action"] == "create"} >= {"name", "account_id", "email", "stance"}
    with fresh.connect() as conn:
        stored = conn.execute(
            sa.select(schema.contacts.c.stance).where(schema.contacts.c.id == contact.id)
        ).scalar()
    assert stored == "supporter"
