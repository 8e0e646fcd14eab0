"""The roadmap pages and the deal page's buying process section: the stages as columns with the gaps
marked, editing a question in place (htmx and plain forms) and the rest by admins and managers only,
adding a question customers asked, starting a roadmap; on a deal, the buyer's stage and its open
questions, recording one answered in place (audited, CSRF-checked) and reopening it."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from dealsight.services.records import opportunity_visible
from dealsight.store.schema import audit_log, deal_roadmap_answers, opportunities, roadmap_questions
from tests import test_web_fixtures
from tests.test_web_fixtures import Browser, Demo, text_of

demo = test_web_fixtures.demo
HTMX = {"HX-Request": "true"}
ENTERPRISE = "Insight Platform Enterprise"
URL = f"/roadmaps/{quote(ENTERPRISE)}"


@pytest.fixture(scope="module")
def clients(demo: Demo) -> dict[str, Browser]:
    return {role: demo.browser(role) for role in ("admin", "executive", "manager", "rep")}


def _count(demo: Demo, table: sa.Table) -> int:
    with demo.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _open_deal(demo: Demo, role: str) -> int:
    o = opportunities
    with demo.engine.connect() as conn:
        found = conn.execute(
            sa.select(o.c.id)
            .where(
                o.c.product == ENTERPRISE,
                o.c.outcome.is_(None),
                o.c.buyer_phase == "decision",
                opportunity_visible(demo.scope(role)),
            )
            .order_by(o.c.id)
            .limit(1)
        ).scalar_one_or_none()
    assert found is not None, f"no open Enterprise deal at the decision stage for the {role}"
    return int(found)


@pytest.mark.parametrize("role", ["admin", "executive", "manager", "rep"])
def test_every_role_sees_the_stages_as_columns_with_the_gaps(clients: dict[str, Browser], role: str) -> None:
    listing = clients[role].get("/roadmaps")
    assert listing.status_code == 200 and ENTERPRISE in listing.text and "gap" in text_of(listing.text)
    page = clients[role].get(URL)
    assert page.status_code == 200
    stages = re.findall(r'<section class="rm-stage[^"]*" id="stage-(\w+)"', page.text)
    assert stages == ["awareness", "interest", "preference", "decision", "adoption", "value"]
    text = text_of(page.text)
    assert "No answer yet" in text and "No tool gives this answer" in text
    if role in ("admin", "executive"):  # every interview: the demo's customers asked what it lacks
        assert "Customers asked, not in the roadmap" in text
    assert 'id="question-manager-training" class' not in page.text  # the card's class comes first
    assert re.search(r'class="rm-card rm-card--gap" id="question-manager-training"', page.text)
    editing = role in ("admin", "manager")
    assert ("/questions/tco/edit" in page.text) is editing and ("Start a roadmap" in listing.text) is editing
    assert clients[role].get("/roadmaps/No%20such%20product").status_code == 404


def test_a_manager_edits_a_question_in_place(demo: Demo, clients: dict[str, Browser]) -> None:
    manager = clients["manager"]
    manager.get(URL)
    form = manager.get(f"{URL}/questions/manager-training/edit", headers=HTMX)
    assert form.status_code == 200 and form.text.lstrip().startswith('<li class="rm-card rm-card--editing"')
    data = {
        "question": "Who trains our managers to coach from the risks?",
        "stage": "adoption",
        "answer": "Our customer success team runs two coaching sessions per manager.",
        "tools": "Manager playbook\n\nCoaching session",
    }
    saved = manager.post_form(f"{URL}/questions/manager-training", data, headers=HTMX)
    assert saved.status_code == 200 and "Saved." in saved.text
    assert 'id="gap-summary"' in saved.text and 'hx-swap-oob="true"' in saved.text
    card = saved.text.split('<section class="panel rm-summary"')[0]
    assert "rm-card--gap" not in card and "<li>Coaching session</li>" in card
    with demo.engine.connect() as conn:
        audited = set(
            conn.execute(
                sa.select(audit_log.c.field).where(audit_log.c.entity == "roadmap", audit_log.c.via == "web")
            ).scalars()
        )
    assert {"manager-training.answer", "manager-training.tools"} <= audited
    bad = manager.post_form(f"{URL}/questions/manager-training", {**data, "question": " "}, headers=HTMX)
    assert bad.status_code == 422 and 'id="question-error"' in bad.text
    plain = manager.post_form(f"{URL}/questions/manager-training", data)
    assert plain.status_code == 303 and plain.headers["location"].endswith(
        "?saved=question#question-manager-training"
    )
    assert manager.get(f"{URL}/questions/manager-training/edit").text.count("<h1>Edit a question</h1>") == 1


def test_reps_and_executives_cannot_edit(demo: Demo, clients: dict[str, Browser]) -> None:
    before = _count(demo, roadmap_questions)
    for role in ("rep", "executive"):
        client = clients[role]
        client.get(URL)
        assert client.get(f"{URL}/questions/tco/edit").status_code == 403
        assert (
            client.post_form(f"{URL}/questions/tco", {"question": "x", "stage": "decision"}).status_code
            == 403
        )
        assert client.post_form(f"{URL}/questions", {"stage": "value", "question": "x"}).status_code == 403
        assert client.post_form(f"{URL}/questions/tco/delete").status_code == 403
    assert (
        clients["manager"].post(f"{URL}/questions", data={"stage": "value", "question": "x"}).status_code
        == 403
    )
    assert _count(demo, roadmap_questions) == before


def test_a_question_customers_asked_is_added_and_stage_tools_edited(
    demo: Demo, clients: dict[str, Browser]
) -> None:
    admin = clients["admin"]
    page = admin.get(URL)
    asked = re.search(
        r'name="stage" value="(\w+)"><input type="hidden" name="question" value="([^"]+)"', page.text
    )
    assert asked is not None, "the page offers no question customers asked to add"
    stage, question = asked.groups()
    added = admin.post_form(f"{URL}/questions", {"stage": stage, "question": question.replace("&#39;", "'")})
    assert added.status_code == 303 and "saved=added" in added.headers["location"]
    after = admin.get(URL)
    column = after.text.split(f'id="stage-{stage}"')[1].split("<section")[0]
    assert (
        "Customers asked, not in the roadmap" not in column
        or question not in column.split("Customers asked")[1]
    )
    tools = admin.post_form(
        f"{URL}/stages/value", {"concerns": "Can we show the value?", "tools": "Value review\nBoard pack"}
    )
    assert tools.status_code == 303
    value = admin.get(URL).text.split('id="stage-value"')[1]
    assert "<li>Board pack</li>" in value and "No tool at this stage" not in value.split("<section")[0]
    empty = admin.post_form(f"{URL}/questions", {"stage": "value", "question": " "})
    assert empty.status_code == 422 and "new-question-error" in empty.text


def test_a_roadmap_is_started_for_a_product(clients: dict[str, Browser]) -> None:
    manager = clients["manager"]
    manager.get("/roadmaps")
    started = manager.post_form("/roadmaps", {"product": "Premium Support"})
    assert (
        started.status_code == 303
        and started.headers["location"] == "/roadmaps/Premium%20Support?saved=created"
    )
    page = manager.get(started.headers["location"])
    assert "The roadmap was started" in page.text and text_of(page.text).count("No questions yet.") == 6
    again = manager.post_form("/roadmaps", {"product": "premium support"})
    assert again.status_code == 409 and "has a roadmap already" in again.text


def test_the_deal_page_shows_the_buyer_stage_and_its_open_questions(
    demo: Demo, clients: dict[str, Browser]
) -> None:
    deal = _open_deal(demo, "manager")
    page = clients["manager"].get(f"/deals/{deal}")
    text = text_of(page.text)
    assert "Buying process" in text and "The buyer is at Decision" in text
    assert re.search(r'<li aria-current="step">Decision</li>', page.text)
    assert 'id="roadmap-tco"' in page.text and f"/deals/{deal}/roadmap/tco/edit" in page.text
    executive = clients["executive"].get(f"/deals/{deal}")
    assert 'id="roadmap-tco"' in executive.text and "/roadmap/tco/edit" not in executive.text


def test_a_manager_marks_a_question_answered_in_place_and_reopens_it(
    demo: Demo, clients: dict[str, Browser]
) -> None:
    deal = _open_deal(demo, "manager")
    manager = clients["manager"]
    manager.get(f"/deals/{deal}")
    manager.post_form(f"/deals/{deal}/roadmap/tco/reopen", headers=HTMX)
    form = manager.get(f"/deals/{deal}/roadmap/tco/edit", headers=HTMX)
    assert form.status_code == 200 and 'value="ROI calculator"' in form.text
    before = _count(demo, deal_roadmap_answers)
    bad = manager.post_form(f"/deals/{deal}/roadmap/tco", {"answered_on": "2999-01-01"}, headers=HTMX)
    assert bad.status_code == 422 and 'id="answered_on-error"' in bad.text and "in the future" in bad.text
    assert _count(demo, deal_roadmap_answers) == before
    assert manager.post(f"/deals/{deal}/roadmap/tco", data={"tool": "x"}, headers=HTMX).status_code == 403
    saved = manager.post_form(
        f"/deals/{deal}/roadmap/tco",
        {"answered_on": "2026-05-04", "tool": "ROI calculator", "note": "CFO agreed"},
        headers=HTMX,
    )
    assert saved.status_code == 200 and _count(demo, deal_roadmap_answers) == before + 1
    assert "Answered" in saved.text and "with ROI calculator" in saved.text and "Saved." in saved.text
    assert 'id="audit-trail"' in saved.text and "Roadmap: tco" in text_of(saved.text)
    reopened = manager.post_form(f"/deals/{deal}/roadmap/tco/reopen", headers=HTMX)
    assert reopened.status_code == 200 and "Open" in text_of(reopened.text) and "Reopened." in reopened.text
    assert _count(demo, deal_roadmap_answers) == before
    plain = manager.post_form(f"/deals/{deal}/roadmap/tco", {"tool": "ROI calculator"})
    assert plain.status_code == 303 and plain.headers["location"] == f"/deals/{deal}#roadmap-tco"
    assert clients["executive"].get(f"/deals/{deal}/roadmap/tco/edit").status_code == 403
