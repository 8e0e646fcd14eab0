"""Activity records with row-level access, on the demo organisation, on SQLite and PostgreSQL.

An activity is visible when its user is covered or it belongs to a visible deal. Lists are checked against
plain Python over the raw rows; logging and correcting activities go through the role matrix, and bad
input names its fields and writes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from dealsight.domain.access import Scope
from dealsight.domain.enums import ActivityType
from dealsight.errors import NotFoundError, PermissionDeniedError, ValidationError
from dealsight.services.activities import (
    ActivityQuery,
    create_activity,
    get_activity,
    list_activities,
    update_activity,
)
from dealsight.store import schema
from tests import test_opportunity_records
from tests.refusals import Cases, assert_refused
from tests.test_opportunity_records import (
    WRITTEN,
    counts,
    deal_of,
    every_page,
    ordered,
    people,
    rows,
)

pytestmark = pytest.mark.storage
demo = test_opportunity_records.demo
fresh = test_opportunity_records.fresh


def visible_activities(engine: Engine, scope: Scope) -> list[dict[str, Any]]:
    """The rule, computed independently: the user is covered, or the deal's owner is."""
    owners = {o["id"]: o["owner_id"] for o in rows(engine, schema.opportunities)}
    return [
        a
        for a in rows(engine, schema.activities)
        if scope.covers(a["user_id"])
        or (a["opportunity_id"] is not None and scope.covers(owners[a["opportunity_id"]]))
    ]


def contact_names(engine: Engine) -> dict[int, set[str]]:
    names = {c["id"]: c["name"] for c in rows(engine, schema.contacts)}
    found: dict[int, set[str]] = {}
    for link in rows(engine, schema.activity_contacts):
        found.setdefault(link["activity_id"], set()).add(names[link["contact_id"]])
    return found


def test_activity_lists_follow_the_visibility_rule(demo: Engine) -> None:
    who = people(demo)
    names = contact_names(demo)
    for scope in (who.rep_scope, who.manager_scope, who.admin_scope):
        expected = visible_activities(demo, scope)
        found = every_page(
            lambda offset, s=scope: list_activities(demo, s, ActivityQuery(limit=500, offset=offset)), 500
        )
        assert [a.id for a in found] == ordered(expected, "occurred_at", descending=True)
        assert all({c.name for c in a.contacts} == names.get(a.id, set()) for a in found)
    assert 0 < len(visible_activities(demo, who.rep_scope)) < len(rows(demo, schema.activities))


def test_activity_filters_match_an_independent_computation(demo: Engine) -> None:
    who = people(demo)
    activities = rows(demo, schema.activities)
    deal = deal_of(demo, who.rep.user_id)
    start, end = date(2025, 1, 1), date(2025, 1, 31)
    cases: list[tuple[ActivityQuery, Any]] = [
        (
            ActivityQuery(opportunity_id=deal["id"], sort="occurred_at"),
            lambda a: a["opportunity_id"] == deal["id"],
        ),
        (
            ActivityQuery(account_id=deal["account_id"], sort="occurred_at"),
            lambda a: a["account_id"] == deal["account_id"],
        ),
        (
            ActivityQuery(user_id=who.rep.user_id, sort="occurred_at"),
            lambda a: a["user_id"] == who.rep.user_id,
        ),
        (ActivityQuery(type="Demo", sort="occurred_at", limit=500), lambda a: a["type"] == "demo"),
        (
            ActivityQuery(occurred_from=start, occurred_to=end, sort="occurred_at", limit=500),
            lambda a: datetime(2025, 1, 1) <= a["occurred_at"] < datetime(2025, 2, 1),
        ),
    ]
    for query, keep in cases:
        page = list_activities(demo, who.admin_scope, query)
        expected = ordered([a for a in activities if keep(a)], "occurred_at")
        assert [a.id for a in page.items] == expected[: query.limit] and page.total == len(expected) > 0, (
            query
        )
    by_type = list_activities(demo, who.admin_scope, ActivityQuery(sort="-type,occurred_at", limit=500))
    kinds = [a.type.value for a in by_type.items]
    assert kinds == sorted(kinds, reverse=True)
    for params, field in (
        ({"type": "fax"}, "type"),
        ({"occurred_to": "yesterday"}, "occurred_to"),
        ({"sort": "notes"}, "sort"),
    ):
        with pytest.raises(ValidationError) as caught:
            list_activities(demo, who.admin_scope, ActivityQuery(**params))
        assert [p.field for p in caught.value.problems] == [field]


def test_reading_an_activity_follows_the_role_matrix(demo: Engine) -> None:
    who = people(demo)
    mine = next(a for a in rows(demo, schema.activities) if a["user_id"] == who.rep.user_id)
    theirs = next(a for a in rows(demo, schema.activities) if a["user_id"] == who.other_rep.user_id)
    record = get_activity(demo, who.rep_scope, mine["id"])
    assert (record.type.value, record.occurred_at, record.user_name) == (
        mine["type"],
        mine["occurred_at"],
        who.rep.name,
    )
    with pytest.raises(NotFoundError, match=f"no activity with id {theirs['id']}"):
        get_activity(demo, who.rep_scope, theirs["id"])
    with pytest.raises(NotFoundError):
        get_activity(demo, who.manager_scope, theirs["id"])
    assert get_activity(demo, who.manager_scope, mine["id"]).id == mine["id"]
    assert get_activity(demo, who.executive_scope, theirs["id"]).id == theirs["id"]


def test_logging_an_activity_checks_every_link_and_is_audited(fresh: Engine) -> None:
    who = people(fresh)
    deal = deal_of(fresh, who.rep.user_id)
    theirs = deal_of(fresh, who.other_rep.user_id)
    contacts = rows(fresh, schema.contacts)
    on_account = [c["id"] for c in contacts if c["account_id"] == deal["account_id"]][:2]
    hidden = next(
        c
        for c in contacts
        if c["account_id"] == theirs["account_id"] and c["account_id"] != deal["account_id"]
    )
    before = counts(fresh, *WRITTEN)
    base = {"type": "call", "occurred_at": "2026-06-29T10:30:00", "opportunity_id": deal["id"]}
    cases: Cases = [
        ({**base, "type": "fax"}, {"type"}),
        ({**base, "occurred_at": "tomorrow-ish"}, {"occurred_at"}),
        ({"occurred_at": base["occurred_at"], "opportunity_id": deal["id"]}, {"type"}),
        ({**base, "mood": "great"}, {"mood"}),
        ({**base, "opportunity_id": theirs["id"]}, {"opportunity_id"}),
        ({**base, "account_id": theirs["account_id"]}, {"account_id"}),
        ({"type": "note", "occurred_at": base["occurred_at"]}, {"opportunity_id"}),
        ({**base, "user_id": who.other_rep.user_id}, {"user_id"}),
        ({**base, "contact_ids": [hidden["id"]]}, {"contact_ids"}),
        ({**base, "contact_ids": "all"}, {"contact_ids"}),
    ]
    assert_refused(lambda data: create_activity(fresh, who.rep, who.rep_scope, data, "web"), cases)
    assert counts(fresh, *WRITTEN) == before

    logged = create_activity(
        fresh,
        who.rep,
        who.rep_scope,
        {
            **base,
            "occurred_at": "2026-06-29T12:30:00+02:00",
            "subject": "Pricing call",
            "contact_ids": on_account,
        },
        "web",
    )
    assert (logged.account_id, logged.user_id, logged.type, logged.occurred_at) == (
        deal["account_id"],
        who.rep.user_id,
        ActivityType.CALL,
        datetime(2026, 6, 29, 10, 30),
    )
    assert sorted(c.id for c in logged.contacts) == sorted(on_account)
    after = counts(fresh, *WRITTEN)
    assert (
        after["activities"] - before["activities"],
        after["activity_contacts"] - before["activity_contacts"],
    ) == (
        1,
        len(on_account),
    )
    audit = [
        a for a in rows(fresh, schema.audit_log) if a["entity"] == "activity" and a["entity_id"] == logged.id
    ]
    assert {a["field"] for a in audit} == {
        "type",
        "occurred_at",
        "opportunity_id",
        "account_id",
        "user_id",
        "subject",
        "contact_ids",
    }
    assert {(a["action"], a["actor_id"], a["via"]) for a in audit} == {("create", who.rep.user_id, "web")}

    corrected = update_activity(
        fresh,
        who.rep,
        who.rep_scope,
        logged.id,
        {"contact_ids": on_account[:1], "notes": "Sent the quote"},
        "api",
    )
    assert [c.id for c in corrected.contacts] == on_account[:1] and corrected.notes == "Sent the quote"
    updates = [
        a for a in rows(fresh, schema.audit_log) if a["entity_id"] == logged.id and a["action"] == "update"
    ]
    assert {(a["field"], a["old_value"], a["new_value"]) for a in updates if a["entity"] == "activity"} == {
        ("contact_ids", str(sorted(on_account)), str(on_account[:1])),
        ("notes", None, "Sent the quote"),
    }


def test_activity_writes_follow_the_role_matrix(fresh: Engine) -> None:
    who = people(fresh)
    theirs = deal_of(fresh, who.other_rep.user_id)
    their_activity = next(a for a in rows(fresh, schema.activities) if a["user_id"] == who.other_rep.user_id)
    data = {"type": "meeting", "occurred_at": "2026-06-01T09:00:00", "opportunity_id": theirs["id"]}
    before = counts(fresh, *WRITTEN)
    with pytest.raises(PermissionDeniedError):
        create_activity(fresh, who.executive, who.executive_scope, data, "web")
    with pytest.raises(PermissionDeniedError):
        update_activity(
            fresh, who.executive, who.executive_scope, their_activity["id"], {"subject": "x"}, "web"
        )
    with pytest.raises(NotFoundError):
        update_activity(fresh, who.rep, who.rep_scope, their_activity["id"], {"subject": "x"}, "web")
    assert counts(fresh, *WRITTEN) == before
    # an admin logs a meeting the rep took part in on another team's deal: the rep sees it (their activity),
    # not the deal
    joint = create_activity(fresh, who.admin, who.admin_scope, {**data, "user_id": who.rep.user_id}, "api")
    assert get_activity(fresh, who.rep_scope, joint.id).opportunity_name == theirs["name"]
    that_day = ActivityQuery(occurred_from=date(2026, 6, 1), occurred_to=date(2026, 6, 1), limit=500)
    assert joint.id in {a.id for a in list_activities(fresh, who.rep_scope, that_day).items}
    with pytest.raises(NotFoundError):
        get_activity(fresh, who.manager_scope, their_activity["id"])
