"""Reading the audit log: a record's trail for whoever may see the record, the whole log for admins only.

On the demo organisation, on SQLite and PostgreSQL; the log is compared with its raw rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy.engine import Engine

from dealsight.domain.clock import utc_now
from dealsight.errors import NotFoundError, PermissionDeniedError, ValidationError
from dealsight.services.account_records import update_account, update_contact
from dealsight.services.activities import update_activity
from dealsight.services.audit import audit_log, audit_trail
from dealsight.services.opportunities import update_opportunity
from dealsight.store import schema
from tests.test_opportunity_records import BACKENDS, People, deal_of, demo_clone, people, rows

pytestmark = pytest.mark.storage


@pytest.fixture(scope="module", params=BACKENDS)
def changed(request: pytest.FixtureRequest) -> Iterator[tuple[Engine, People, dict[str, int]]]:
    """The demo after an admin changed one record of each kind owned by another team, and the rep changed
    one deal of their own."""
    with demo_clone(request, request.param) as engine:
        who = people(engine)
        theirs = deal_of(engine, who.other_rep.user_id)
        mine = deal_of(engine, who.rep.user_id)
        contact = next(c for c in rows(engine, schema.contacts) if c["account_id"] == theirs["account_id"])
        activity = next(a for a in rows(engine, schema.activities) if a["opportunity_id"] == theirs["id"])
        admin = who.admin_scope
        update_opportunity(engine, who.admin, admin, theirs["id"], {"amount": 1234, "source": "Event"}, "api")
        update_account(engine, who.admin, admin, theirs["account_id"], {"industry": "Logistics2"}, "web")
        update_contact(engine, who.admin, admin, contact["id"], {"title": "Chief Buyer"}, "web")
        update_activity(engine, who.admin, admin, activity["id"], {"subject": "Renamed"}, "api")
        for amount in (10, 20, 30):
            update_opportunity(engine, who.rep, who.rep_scope, mine["id"], {"amount": amount}, "web")
        ids = {
            "theirs": theirs["id"],
            "mine": mine["id"],
            "account": theirs["account_id"],
            "contact": contact["id"],
            "activity": activity["id"],
        }
        yield engine, who, ids


def test_a_trail_is_shown_only_to_who_may_see_the_record(
    changed: tuple[Engine, People, dict[str, int]],
) -> None:
    engine, who, ids = changed
    records = [
        ("opportunity", ids["theirs"], {"amount", "source"}),
        ("account", ids["account"], {"industry"}),
        ("contact", ids["contact"], {"title"}),
        ("activity", ids["activity"], {"subject"}),
    ]
    for entity, record_id, fields in records:
        for scope in (who.executive_scope, who.admin_scope, who.vp_scope):
            trail = audit_trail(engine, scope, entity, record_id)
            assert {e.field for e in trail.items} == fields and trail.total == len(fields), entity
            assert {(e.actor_id, e.entity, e.entity_id) for e in trail.items} == {
                (who.admin.user_id, entity, record_id)
            }
        for scope in (who.rep_scope, who.manager_scope):
            with pytest.raises(NotFoundError, match=f"no {entity} with id {record_id}"):
                audit_trail(engine, scope, entity, record_id)
    with pytest.raises(NotFoundError):
        audit_trail(engine, who.admin_scope, "opportunity", 987_654)


def test_a_trail_is_newest_first_and_paged(changed: tuple[Engine, People, dict[str, int]]) -> None:
    engine, who, ids = changed
    for scope in (who.rep_scope, who.manager_scope):
        trail = audit_trail(engine, scope, "opportunity", ids["mine"], limit=2)
        assert trail.total == 3 and trail.next_offset == 2
        assert [e.new_value for e in trail.items] == ["30.00", "20.00"]
        rest = audit_trail(engine, scope, "opportunity", ids["mine"], limit=2, offset=2)
        assert [e.new_value for e in rest.items] == ["10.00"] and rest.next_offset is None
    for bad, field in (({"limit": 0}, "limit"), ({"offset": -2}, "offset")):
        with pytest.raises(ValidationError) as caught:
            audit_trail(engine, who.rep_scope, "opportunity", ids["mine"], **bad)
        assert [p.field for p in caught.value.problems] == [field]
    with pytest.raises(ValidationError) as caught:
        audit_trail(engine, who.admin_scope, "password", 1)
    assert [p.field for p in caught.value.problems] == ["entity"]


def test_the_whole_log_is_for_admins_only(changed: tuple[Engine, People, dict[str, int]]) -> None:
    engine, who, ids = changed
    for principal in (who.rep, who.manager, who.executive):
        with pytest.raises(PermissionDeniedError, match="only an admin"):
            audit_log(engine, principal)
    raw = sorted(rows(engine, schema.audit_log), key=lambda r: (r["at"], r["id"]), reverse=True)
    everything = audit_log(engine, who.admin, limit=500)
    assert [e.id for e in everything.items] == [r["id"] for r in raw] and everything.total == len(raw) == 8
    by_rep = audit_log(engine, who.admin, actor_id=who.rep.user_id)
    assert {e.entity_id for e in by_rep.items} == {ids["mine"]} and by_rep.total == 3
    accounts = audit_log(engine, who.admin, entity="account", entity_id=ids["account"])
    assert [e.field for e in accounts.items] == ["industry"]
    today = utc_now().date()
    assert audit_log(engine, who.admin, since=today, until=today).total == 8
    assert audit_log(engine, who.admin, until=today - timedelta(days=1)).total == 0
    assert audit_log(engine, who.admin, since=date(2000, 1, 1), limit=1).next_offset == 1
    with pytest.raises(ValidationError) as caught:
        audit_log(engine, who.admin, limit=501, since="last week")  # type: ignore[arg-type]
    assert {p.field for p in caught.value.problems} == {"limit", "since"}
