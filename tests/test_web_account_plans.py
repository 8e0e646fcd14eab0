"""The account plan page (``/accounts/{id}/plan``) with TestClient: what it shows (goals, top-down pipeline,
the relationship map drawn with its table, gaps, whitespace) and for whom (404 outside the view, no forms
for executives), and every change in place with htmx and with plain forms: a goal added, refused for a bad
value (beside its field), edited, linked to a deal and unlinked, deleted; a contact covered and uncovered;
CSRF checked, audited via web."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from dealsight.errors import NotFoundError
from dealsight.services.account_plans import account_plan
from dealsight.store.schema import account_goal_deals, account_goals, accounts, audit_log, contact_coverage
from tests import test_web_fixtures
from tests.test_web_fixtures import Browser, Demo, text_of

demo = test_web_fixtures.demo
HTMX = {"HX-Request": "true"}
HEADINGS = (
    "Goals and priorities", "Top-down pipeline", "Goals no deal serves", "Open deals that serve no goal",
    "Relationship map", "Gaps", "Contacts and who covers them", "Whitespace",
)  # fmt: skip


@pytest.fixture(scope="module")
def clients(demo: Demo) -> dict[str, Browser]:
    return {role: demo.browser(role) for role in ("admin", "executive", "manager", "rep")}


def _one(demo: Demo, query: sa.Select[Any]) -> Any:
    with demo.engine.connect() as conn:
        return conn.execute(query.limit(1)).scalar_one()


def _count(demo: Demo, table: sa.Table) -> int:
    return int(_one(demo, sa.select(sa.func.count()).select_from(table)))


@pytest.fixture(scope="module")
def planned(demo: Demo) -> int:
    """An account of the demo rep with a plan."""
    rep = demo.principals["rep"].user_id
    mine = sa.select(account_goals.c.account_id)
    return int(
        _one(demo, sa.select(accounts.c.id).where(accounts.c.owner_id == rep, accounts.c.id.in_(mine)))
    )


def test_the_plan_page_shows_the_plan(demo: Demo, clients: dict[str, Browser], planned: int) -> None:
    account = clients["rep"].get(f"/accounts/{planned}")
    assert f'href="/accounts/{planned}/plan"' in account.text
    page = clients["rep"].get(f"/accounts/{planned}/plan")
    assert page.status_code == 200
    text = text_of(page.text)
    plan = account_plan(demo.engine, demo.scope("rep"), planned)
    for heading in HEADINGS:
        assert heading in text, heading
    for line in plan.goals:
        assert line.goal.goal in text and f'id="goal-{line.goal.id}"' in page.text
    svgs = re.findall(r"<svg class=\"map map--(\w+)\".*?</svg>", page.text, re.S)
    assert svgs == ["wide", "narrow"]
    drawing = re.search(r'<svg class="map map--wide".*?</svg>', page.text, re.S)
    assert drawing is not None
    assert drawing.group(0).count("<circle") == len(plan.contacts)
    covered = sum(len(c.covered_by) for c in plan.contacts)
    owned = sum(
        1
        for c in plan.contacts
        for g in c.goal_ids
        if plan.goal(g) and plan.goal(g).status.value != "dropped"
    )  # type: ignore[union-attr]
    assert drawing.group(0).count("map__line--covers") == covered
    assert drawing.group(0).count("map__line--owns") == owned
    assert page.text.count('<tr id="contact-') == len(plan.contacts)
    for gap in plan.gaps:
        assert gap.action in text
    for product in plan.whitespace.products:
        assert product.product in text
    assert 'id="goal-new"' in page.text and "Add a goal" in text


def test_who_sees_what(demo: Demo, clients: dict[str, Browser], planned: int) -> None:
    rep = demo.scope("rep")
    with demo.engine.connect() as conn:
        ids = [int(i) for i in conn.execute(sa.select(accounts.c.id).order_by(accounts.c.id)).scalars()]

    def sees(account_id: int) -> bool:
        try:
            account_plan(demo.engine, rep, account_id)
        except NotFoundError:
            return False
        return True

    outside = next(i for i in ids if not sees(i))
    assert clients["rep"].get(f"/accounts/{outside}/plan").status_code == 404
    executive = clients["executive"]
    page = executive.get(f"/accounts/{planned}/plan")
    assert page.status_code == 200 and "Add a goal" not in page.text and "Link a deal" not in page.text
    before = _count(demo, account_goals)
    refused = executive.post_form(f"/accounts/{planned}/plan/goals", {"goal": "Exec goal"}, headers=HTMX)
    assert refused.status_code == 403 and _count(demo, account_goals) == before
    assert executive.get(f"/accounts/{planned}/plan/goals/new").status_code == 403


def _goal_id(demo: Demo, text: str) -> int:
    return int(_one(demo, sa.select(account_goals.c.id).where(account_goals.c.goal == text)))


def test_a_goal_changed_in_place(demo: Demo, clients: dict[str, Browser], planned: int) -> None:
    rep = clients["rep"]
    base = f"/accounts/{planned}/plan"
    rep.get(base)
    before = _count(demo, account_goals)
    assert rep.post(f"{base}/goals", data={"goal": "No token"}, headers=HTMX).status_code == 403
    assert _count(demo, account_goals) == before
    form = rep.get(f"{base}/goals/new", headers=HTMX)
    assert form.status_code == 200 and form.text.lstrip().startswith('<article id="goal-new"')
    bad = rep.post_form(f"{base}/goals", {"goal": "", "priority": "urgent"}, headers=HTMX)
    assert bad.status_code == 422 and _count(demo, account_goals) == before
    assert 'id="goal-error"' in bad.text and 'id="priority-error"' in bad.text
    made = rep.post_form(
        f"{base}/goals",
        {"goal": "Halve the time to close the books", "priority": "high", "status": "in_progress",
         "target_date": "2027-03-31", "measure": "books closed in 5 days"},
        headers=HTMX,
    )  # fmt: skip
    assert made.status_code == 200 and made.text.lstrip().startswith('<div id="plan-body">')
    assert "Saved the goal &#39;Halve the time to close the books&#39;." in made.text
    goal_id = _goal_id(demo, "Halve the time to close the books")
    assert "Halve the time to close the books" in text_of(made.text.split("Goals no deal serves")[1])
    edit = rep.get(f"{base}/goals/{goal_id}/edit", headers=HTMX)
    assert 'value="books closed in 5 days"' in edit.text and f'<article id="goal-{goal_id}"' in edit.text
    changed = rep.post_form(
        f"{base}/goals/{goal_id}", {"goal": "Halve the time to close the books", "priority": "medium",
                                    "status": "at_risk", "measure": ""}, headers=HTMX,
    )  # fmt: skip
    assert changed.status_code == 200
    with demo.engine.connect() as conn:
        row = conn.execute(sa.select(account_goals).where(account_goals.c.id == goal_id)).mappings().one()
        mine = (audit_log.c.entity == "account_goal", audit_log.c.entity_id == goal_id)
        via = set(conn.execute(sa.select(audit_log.c.via).where(*mine)).scalars())
    assert (row["status"], row["priority"], row["measure"]) == ("at_risk", "medium", None) and via == {"web"}
    plan = account_plan(demo.engine, demo.scope("rep"), planned)
    deal = next(d for d in plan.deals if d.is_open)
    linked = rep.post_form(f"{base}/goals/{goal_id}/deals", {"opportunity_id": str(deal.id)}, headers=HTMX)
    assert linked.status_code == 200 and "Linked the deal" in linked.text
    card = linked.text.split(f'id="goal-{goal_id}"')[1].split("</article>")[0]
    assert f'href="/deals/{deal.id}"' in card
    nothing = rep.post_form(f"{base}/goals/{goal_id}/deals", {"opportunity_id": ""}, headers=HTMX)
    assert nothing.status_code == 422 and "Choose a deal" in nothing.text
    unlinked = rep.post_form(f"{base}/goals/{goal_id}/deals/{deal.id}/unlink", headers=HTMX)
    assert (
        unlinked.status_code == 200
        and _one(demo, sa.select(sa.func.count()).where(account_goal_deals.c.goal_id == goal_id)) == 0
    )
    deleted = rep.post_form(f"{base}/goals/{goal_id}/delete", headers=HTMX)
    assert deleted.status_code == 200 and "Deleted the goal" in deleted.text
    assert _count(demo, account_goals) == before


def test_plain_forms_without_javascript(demo: Demo, clients: dict[str, Browser], planned: int) -> None:
    manager = clients["manager"]
    base = f"/accounts/{planned}/plan"
    page = manager.get(f"{base}/goals/new")
    assert page.status_code == 200 and "<h1>Add a goal</h1>" in page.text and "hx-post" not in page.text
    done = manager.post_form(f"{base}/goals", {"goal": "Open two new regions", "priority": "low"})
    assert done.status_code == 303 and done.headers["location"].startswith(base)
    refused = manager.post_form(f"{base}/goals", {"goal": "x" * 301})
    assert refused.status_code == 422 and "at most 300" in text_of(refused.text)


def test_covering_a_contact(demo: Demo, clients: dict[str, Browser], planned: int) -> None:
    rep = clients["rep"]
    base = f"/accounts/{planned}/plan"
    rep.get(base)
    plan = account_plan(demo.engine, demo.scope("rep"), planned)
    contact = next(c for c in plan.contacts if not c.covered_by)
    sponsor = demo.principals["admin"].user_id
    added = rep.post_form(
        f"{base}/coverage", {"contact_id": str(contact.id), "user_id": str(sponsor)}, headers=HTMX
    )
    assert added.status_code == 200 and f"{contact.name} is now covered." in text_of(added.text)
    row = added.text.split(f'<tr id="contact-{contact.id}"')[1].split("</tr>")[0]
    assert demo.principals["admin"].name in row
    before = _count(demo, contact_coverage)
    removed = rep.post_form(
        f"{base}/coverage/remove", {"contact_id": str(contact.id), "user_id": str(sponsor)}, headers=HTMX
    )
    assert removed.status_code == 200 and _count(demo, contact_coverage) == before - 1
    missing = rep.post_form(f"{base}/coverage", {"contact_id": str(contact.id), "user_id": ""}, headers=HTMX)
    assert missing.status_code == 422 and f"Choose who covers {contact.name}." in text_of(missing.text)
    stranger = rep.post_form(
        f"{base}/coverage", {"contact_id": "999999", "user_id": str(sponsor)}, headers=HTMX
    )
    assert stranger.status_code == 404
