"""The /interviews page: searching what customers said within the visitor's view (words marked, HTML
escaped), recording an interview through the form (CSRF, problems next to their field, nothing
half-written, audited via web, from a deal with its contacts), and editing the guide by role."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from dealsight.domain.access import Scope
from dealsight.errors import NotFoundError
from dealsight.services.interviews import contact_choices
from dealsight.store.schema import audit_log, interview_answers, interviews, opportunities
from tests import test_web_fixtures
from tests.test_web_fixtures import Browser, Demo, text_of

demo = test_web_fixtures.demo
HTMX = {"HX-Request": "true", "HX-Target": "answers"}


@pytest.fixture(scope="module")
def clients(demo: Demo) -> dict[str, Browser]:
    return {role: demo.browser(role) for role in ("admin", "executive", "manager", "rep")}


def _count(demo: Demo, table: sa.Table) -> int:
    with demo.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _contact(demo: Demo, role: str) -> tuple[int, str]:
    choice = next(c for c in contact_choices(demo.engine, demo.scope(role)) if c.email)
    assert choice.email is not None
    return choice.id, choice.email


def _form(email: str, **extra: str) -> dict[str, str]:
    return {
        "contact": email,
        "interviewed_on": "2026-06-03",
        "answer-why_bought": "The reference <b>call</b> with a peer",
        "tags-why_bought": "need:service; competitor:Quantara",
        "answer-questions_asked": "Can we pay per quarter?",
        "tags-questions_asked": "stage:decision",
        **extra,
    }


@pytest.mark.parametrize("role", ["admin", "executive", "manager", "rep"])
def test_the_page_shows_search_the_guide_and_the_form_to_those_who_write(
    clients: dict[str, Browser], role: str
) -> None:
    page = clients[role].get("/interviews")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Search what customers said" in text and "Interview guide" in text
    assert "What almost stopped you from buying" in text
    assert ("Record an interview" in text) is (role != "executive")
    assert ('action="/interviews/guide"' in page.text) is (role in ("admin", "manager"))


def test_a_rep_records_an_interview_and_finds_it(demo: Demo, clients: dict[str, Browser]) -> None:
    rep = clients["rep"]
    _, email = _contact(demo, "rep")
    rep.get("/interviews")
    before = _count(demo, interviews)
    saved = rep.post_form("/interviews", _form(email.upper()))
    assert saved.status_code == 303 and saved.headers["location"] == "/interviews?saved=interview#record"
    assert _count(demo, interviews) == before + 1
    found = rep.get("/interviews", params={"text": "reference CALL", "tag": "need:service"})
    assert "The interview was recorded." not in found.text
    hits = re.findall(r'<p class="iv-hit__answer">(.*?)</p>', found.text)
    assert hits and hits[0] == "The <mark>reference</mark> &lt;b&gt;<mark>call</mark>&lt;/b&gt; with a peer"
    fragment = rep.get("/interviews", params={"text": "pay per quarter"}, headers=HTMX)
    assert fragment.text.lstrip().startswith('<div id="answers"') and "<html" not in fragment.text
    with demo.engine.connect() as conn:
        via = conn.execute(
            sa.select(audit_log.c.via)
            .where(audit_log.c.entity == "interview")
            .order_by(audit_log.c.id.desc())
        ).first()
    assert via is not None and via[0] == "web"


def test_an_interview_from_a_deal_offers_its_contacts(demo: Demo, clients: dict[str, Browser]) -> None:
    manager = clients["manager"]
    scope = demo.scope("manager")
    with demo.engine.connect() as conn:
        deals = conn.execute(sa.select(opportunities.c.id).order_by(opportunities.c.id)).scalars().all()
    deal = next(d for d in deals if _has_contacts(demo, scope, d))
    choices = contact_choices(demo.engine, scope, deal_id=deal)
    page = manager.get(f"/interviews?deal={deal}")
    assert f'name="deal" value="{deal}"' in page.text
    assert all(f'<option value="{c.id}"' in page.text for c in choices)
    saved = manager.post_form("/interviews", _form(str(choices[0].id), deal=str(deal)))
    assert saved.status_code == 303
    with demo.engine.connect() as conn:
        linked = conn.execute(sa.select(interviews.c.opportunity_id).order_by(interviews.c.id.desc())).first()
    assert linked is not None and linked[0] == deal


def _has_contacts(demo: Demo, scope: Scope, deal: int) -> bool:
    try:
        return bool(contact_choices(demo.engine, scope, deal_id=deal))
    except NotFoundError:  # a deal outside the view
        return False


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"tags-questions_asked": "stage:closing"}, "tags-questions_asked", "not a buyer stage"),
        ({"contact": "nobody@nowhere.example"}, "contact", "no contact with that e-mail"),
        ({"interviewed_on": "31/12/2026"}, "interviewed_on", "expected a date"),
    ],
)
def test_a_bad_form_names_the_field_and_writes_nothing(
    demo: Demo, clients: dict[str, Browser], change: dict[str, str], field: str, words: str
) -> None:
    rep = clients["rep"]
    _, email = _contact(demo, "rep")
    rep.get("/interviews")
    before = (_count(demo, interviews), _count(demo, interview_answers))
    response = rep.post_form("/interviews", _form(email, **change))
    assert response.status_code == 422
    error = re.search(rf'<p class="field__error" id="{field}-error">(.*?)</p>', response.text)
    assert error is not None and words in error.group(1), response.text[-3000:]
    assert (_count(demo, interviews), _count(demo, interview_answers)) == before
    assert 'value="Can we pay per quarter?"' not in response.text  # textareas keep what was typed
    assert "Can we pay per quarter?</textarea>" in response.text


def test_writes_need_the_csrf_token_and_a_role_that_writes(demo: Demo, clients: dict[str, Browser]) -> None:
    _, email = _contact(demo, "rep")
    before = _count(demo, interviews)
    assert clients["rep"].post("/interviews", data=_form(email)).status_code == 403
    executive = clients["executive"]
    executive.get("/interviews")
    assert executive.post_form("/interviews", _form(email)).status_code == 403
    rep = clients["rep"]
    rep.get("/interviews")
    assert rep.post_form("/interviews/guide", {"text": "Anything else?"}).status_code == 403
    assert _count(demo, interviews) == before


def test_a_manager_adds_rewords_and_retires_guide_questions(demo: Demo, clients: dict[str, Browser]) -> None:
    manager = clients["manager"]
    manager.get("/interviews")
    added = manager.post_form("/interviews/guide", {"text": "Who else should we talk to?", "topic": "other"})
    assert added.status_code == 303 and added.headers["location"].endswith("#guide")
    page = manager.get(added.headers["location"].split("#")[0])
    assert "Who else should we talk to?" in page.text and "The guide was changed" in page.text
    key = "who_else_should_we_talk_to"
    retired = manager.post_form(
        f"/interviews/guide/{key}", {"text": "Who else should we talk to?", "retired": "true"}
    )
    assert retired.status_code == 303
    page = manager.get("/interviews")
    assert f'name="answer-{key}"' not in page.text and "Retired" in text_of(page.text)
    bad = manager.post_form(f"/interviews/guide/{key}", {"topic": "gossip"})
    assert bad.status_code == 422 and f'id="{key}-topic-error"' in bad.text
