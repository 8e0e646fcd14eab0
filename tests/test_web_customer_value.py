"""Customer value on the account page: subscriptions, booked vs delivered, the delivered value ledger and
the RIQ, and recording and editing values and RIQ answers in place (htmx) and with plain forms, with CSRF,
the audit trail, validation next to the field, and 403/404 for visitors without the right or the sight."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dealsight.errors import NotFoundError
from dealsight.services.account_records import get_account
from dealsight.services.delivered_value import (
    ValueEvidenceRecord,
    account_trail,
    riq_answers_of,
    value_of_account,
)
from dealsight.services.records import ListQuery
from dealsight.services.subscriptions import create_subscription
from dealsight.store.schema import riq_answers, value_evidence
from tests import test_web_fixtures
from tests.test_web_fixtures import Browser, Demo, text_of

demo = test_web_fixtures.demo
HTMX = {"HX-Request": "true"}
SHOWN = ListQuery(limit=500)


@pytest.fixture(scope="module")
def accounts(demo: Demo) -> tuple[int, int]:
    """An account the rep sees (with contacts) and one the manager does not see."""
    rep, manager, admin = demo.scope("rep"), demo.scope("manager"), demo.scope("admin")
    with demo.engine.connect() as conn:
        ids = [row.id for row in conn.execute(sa.text("SELECT id FROM accounts ORDER BY id"))]

    def sees(scope: object, account_id: int) -> bool:
        try:
            return bool(get_account(demo.engine, scope, account_id))  # type: ignore[arg-type]
        except NotFoundError:
            return False

    own = next(i for i in ids if sees(rep, i) and get_account(demo.engine, admin, i).contacts)
    other = next(i for i in ids if not sees(manager, i))
    return own, other


@pytest.fixture(scope="module")
def clients(demo: Demo) -> dict[str, Browser]:
    return {role: demo.browser(role) for role in ("admin", "executive", "manager", "rep")}


def _value(demo: Demo, account_id: int, metric: str) -> ValueEvidenceRecord:
    return next(
        v
        for v in value_of_account(demo.engine, demo.scope("rep"), account_id, SHOWN).items
        if v.metric == metric
    )


def count(demo: Demo, table: sa.Table) -> int:
    with demo.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_the_account_page_shows_customer_value(
    demo: Demo, clients: dict[str, Browser], accounts: tuple[int, int]
) -> None:
    own, _ = accounts
    admin = demo.principals["admin"]
    data = {"plan": "Enterprise", "seats": 40, "arr": "48000", "term_start": "2025-01-01", "auto_renew": True}
    create_subscription(demo.engine, admin, demo.scope("admin"), own, data, "cli")
    page = clients["rep"].get(f"/accounts/{own}")
    assert page.status_code == 200
    text = text_of(page.text)
    for heading in (
        "The really important question",
        "Delivered value",
        "Subscriptions",
        "Booked vs delivered",
        "ARR booked",
        "Value confirmed, 12 months",
        "Changes to this account",
    ):
        assert heading in text, heading
    assert "Enterprise" in text and "$48,000" in text
    assert "Record a value" in text and "Record an answer" in text
    assert "Record a value" not in text_of(clients["executive"].get(f"/accounts/{own}").text)


def test_recording_a_value_in_place(
    demo: Demo, clients: dict[str, Browser], accounts: tuple[int, int]
) -> None:
    own, _ = accounts
    rep = clients["rep"]
    contact = get_account(demo.engine, demo.scope("rep"), own).contacts[0]
    rep.get(f"/accounts/{own}")
    form = rep.get(f"/accounts/{own}/value/new", headers=HTMX)
    assert form.status_code == 200 and 'id="value-panel"' in form.text and "<html" not in form.text
    before = count(demo, value_evidence)
    bad = rep.post_form(
        f"/accounts/{own}/value", {"metric": "Hours saved", "monetary_value": "-5"}, headers=HTMX
    )
    assert bad.status_code == 422 and "must not be negative" in bad.text and 'aria-invalid="true"' in bad.text
    assert count(demo, value_evidence) == before
    data = {
        "metric": "Hours saved a week",
        "unit": "hours",
        "baseline": "30",
        "achieved": "6",
        "monetary_value": "52000",
        "currency": "USD",
        "confirmed_by_id": str(contact.id),
        "confirmed_on": "2025-03-31",
        "note": "Said at the quarterly review.",
    }
    saved = rep.post_form(f"/accounts/{own}/value", data, headers=HTMX)
    assert saved.status_code == 200, saved.text
    assert "Hours saved a week" in saved.text and "$52,000" in saved.text and "Saved." in saved.text
    assert 'id="audit-trail"' in saved.text and 'hx-swap-oob="true"' in saved.text
    stored = _value(demo, own, "Hours saved a week")
    assert (stored.metric, stored.confirmed_by_id, stored.achieved) == ("Hours saved a week", contact.id, 6.0)
    trail = account_trail(demo.engine, demo.scope("rep"), own)
    assert any(e.entity == "value_evidence" and e.via == "web" and e.field == "metric" for e in trail.items)
    edit = rep.get(f"/accounts/{own}/value/{stored.id}/edit", headers=HTMX)
    assert 'value="Hours saved a week"' in edit.text
    changed = rep.post_form(f"/accounts/{own}/value/{stored.id}", {**data, "achieved": "4"})  # no htmx
    assert changed.status_code == 303 and changed.headers["location"] == f"/accounts/{own}#value-panel"
    assert _value(demo, own, "Hours saved a week").achieved == 4.0


def test_recording_the_riq(demo: Demo, clients: dict[str, Browser], accounts: tuple[int, int]) -> None:
    own, _ = accounts
    manager = clients["manager"]
    manager.get(f"/accounts/{own}")
    page = manager.get(f"/accounts/{own}/riq/new")  # without htmx: a page of its own
    assert page.status_code == 200 and "<html" in page.text and "Record an answer to the RIQ" in page.text
    missing = manager.post_form(f"/accounts/{own}/riq", {"answer": "We would be fine."}, headers=HTMX)
    assert missing.status_code == 422 and "a value is required" in missing.text
    saved = manager.post_form(
        f"/accounts/{own}/riq",
        {"impact": "critical", "recovery": "months", "answer": "Our payroll runs on it."},
        headers=HTMX,
    )
    assert saved.status_code == 200 and "Current answer" in saved.text and "Critical" in text_of(saved.text)
    answer = max(riq_answers_of(demo.engine, demo.scope("manager"), own, SHOWN).items, key=lambda a: a.id)
    assert answer.answer == "Our payroll runs on it."
    assert (answer.impact.value, answer.asked_by_id) == ("critical", demo.principals["manager"].user_id)
    cancel = manager.get(f"/accounts/{own}/riq", headers=HTMX)
    assert cancel.status_code == 200 and 'id="riq-panel"' in cancel.text


def test_who_may_not(demo: Demo, clients: dict[str, Browser], accounts: tuple[int, int]) -> None:
    own, other = accounts
    before = (count(demo, value_evidence), count(demo, riq_answers))
    executive = clients["executive"]
    executive.get(f"/accounts/{own}")
    assert executive.get(f"/accounts/{own}/value/new").status_code == 403
    assert executive.post_form(f"/accounts/{own}/riq", {"impact": "minor"}).status_code == 403
    rep = clients["rep"]
    assert rep.get(f"/accounts/{other}/riq/new").status_code == 404
    rep.get(f"/accounts/{own}")
    assert rep.post_form(f"/accounts/{other}/value", {"metric": "x"}).status_code == 404
    assert rep.post(f"/accounts/{own}/value", data={"metric": "no token"}).status_code == 403
    admin = clients["admin"]
    admin.get(f"/accounts/{other}")
    elsewhere = admin.post_form(f"/accounts/{other}/riq", {"impact": "minor"}, headers=HTMX)
    assert elsewhere.status_code == 200
    foreign = max(a.id for a in riq_answers_of(demo.engine, demo.scope("admin"), other, SHOWN).items)
    assert rep.get(f"/accounts/{own}/riq/{foreign}/edit").status_code == 404  # not this account's answer
    assert (count(demo, value_evidence), count(demo, riq_answers)) == (before[0], before[1] + 1)
