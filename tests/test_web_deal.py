"""The deal and account pages: what they show, editing qualification answers in place (htmx and plain
forms), the audit trail, and the 404/403 pages for records outside a visitor's view or rights."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from dealsight.errors import NotFoundError
from dealsight.services.account_records import get_account
from dealsight.services.audit import audit_trail
from dealsight.services.opportunities import OpportunityQuery, get_opportunity, list_opportunities
from tests import test_web_fixtures
from tests.test_web_fixtures import Browser, Demo, text_of

demo = test_web_fixtures.demo
HTMX = {"HX-Request": "true"}


@dataclass(frozen=True)
class Ids:
    own_deal: int
    team_deal: int
    other_deal: int
    own_account: int
    other_account: int


@pytest.fixture(scope="module")
def ids(demo: Demo) -> Ids:
    """A deal of the rep, one of the rep's colleague (the manager sees it), one of another team."""

    def visible(role: str) -> list[int]:
        query = OpportunityQuery(status="all", limit=500, sort="id")
        found, offset = [], 0
        while True:
            page = list_opportunities(
                demo.engine, demo.scope(role), OpportunityQuery(**{**query.__dict__, "offset": offset})
            )
            found += [deal.id for deal in page.items]
            if page.next_offset is None:
                return found
            offset = page.next_offset

    rep, manager, everyone = visible("rep"), visible("manager"), visible("admin")
    team = [i for i in manager if i not in rep]
    other = [i for i in everyone if i not in manager]
    scope = demo.scope("admin")
    own_account = get_opportunity(demo.engine, scope, rep[0]).account_id

    def hidden_from_manager(account_id: int | None) -> bool:
        try:
            get_account(demo.engine, demo.scope("manager"), account_id or 0)
        except NotFoundError:
            return account_id is not None
        return False

    other_account = next(
        a for i in other if hidden_from_manager(a := get_opportunity(demo.engine, scope, i).account_id)
    )
    assert own_account is not None and other_account is not None
    return Ids(rep[0], team[0], other[0], own_account, other_account)


@pytest.fixture(scope="module")
def clients(demo: Demo) -> dict[str, Browser]:
    return {role: demo.browser(role) for role in ("admin", "executive", "manager", "rep")}


def test_the_deal_page_shows_what_the_model_holds(demo: Demo, clients: dict[str, Browser], ids: Ids) -> None:
    deal = get_opportunity(demo.engine, demo.scope("manager"), ids.team_deal)
    response = clients["manager"].get(f"/deals/{ids.team_deal}")
    assert response.status_code == 200
    text = text_of(response.text)
    for heading in (
        "The customer's problem",
        "The buyer",
        "Commercials",
        "Qualification",
        "Contacts",
        "History",
        "Activities",
        "Changes to this deal",
    ):
        assert heading in text
    for value in (
        deal.name,
        deal.account_name,
        deal.stage,
        deal.owner_name,
        deal.decision_criteria,
        deal.compelling_event,
        deal.business_problem,
        deal.unique_business_value,
    ):
        if value:
            assert value in text, value
    assert "Engaged before the buyer formed a preference" in text
    for contact in deal.contacts:
        assert contact.name in text
    for item in deal.qualification:
        assert item.text in text
    assert response.text.count("<strong>Stage</strong>:") == sum(
        1 for h in deal.history if h.field.value == "stage"
    )
    assert f'href="/accounts/{deal.account_id}"' in response.text
    assert response.text.count(">Edit<") == len(deal.qualification)


def _question(demo: Demo, deal_id: int, index: int = 0) -> tuple[int, str, str | None]:
    item = get_opportunity(demo.engine, demo.scope("admin"), deal_id).qualification[index]
    return item.question_id, item.key, item.answer


def test_editing_an_answer_in_place_writes_and_shows_in_the_audit_trail(
    demo: Demo, clients: dict[str, Browser], ids: Ids
) -> None:
    client = clients["manager"]
    question, key, before = _question(demo, ids.team_deal)
    new = "no" if before == "yes" else "yes"
    client.get(f"/deals/{ids.team_deal}")
    form = client.get(f"/deals/{ids.team_deal}/qualification/{question}/edit", headers=HTMX)
    assert form.status_code == 200
    assert (
        "<html" not in form.text and f'hx-post="/deals/{ids.team_deal}/qualification/{question}"' in form.text
    )
    assert 'type="radio" name="answer" value="yes"' in form.text and "<label" in form.text
    saved = client.post(
        f"/deals/{ids.team_deal}/qualification/{question}",
        data={"answer": new, "note": "Confirmed with the CFO"},
        headers={**HTMX, "X-CSRF-Token": client.csrf},
    )
    assert saved.status_code == 200
    fragment = text_of(saved.text)
    assert new.capitalize() in fragment and "Confirmed with the CFO" in fragment and "Saved." in fragment
    assert 'id="audit-trail"' in saved.text and 'hx-swap-oob="true"' in saved.text
    assert f"Qualification: {key.replace('_', ' ')}" in fragment
    deal = get_opportunity(demo.engine, demo.scope("manager"), ids.team_deal)
    item = next(i for i in deal.qualification if i.question_id == question)
    assert (item.answer, item.note) == (new, "Confirmed with the CFO")
    entry = next(
        e
        for e in audit_trail(demo.engine, demo.scope("manager"), "opportunity", ids.team_deal).items
        if e.field == f"qualification:{key}"
    )
    assert (entry.old_value, entry.new_value, entry.via) == (before, new, "web")
    assert entry.actor_id == demo.principals["manager"].user_id
    page = text_of(client.get(f"/deals/{ids.team_deal}").text)
    assert f"Qualification: {key.replace('_', ' ')}" in page and demo.principals["manager"].name in page


def test_the_plain_form_works_without_javascript(demo: Demo, clients: dict[str, Browser], ids: Ids) -> None:
    client = clients["rep"]
    question, _, _ = _question(demo, ids.own_deal, 1)
    page = client.get(f"/deals/{ids.own_deal}/qualification/{question}/edit")
    assert page.status_code == 200 and "<html" in page.text and "Edit a qualification answer" in page.text
    response = client.post_form(
        f"/deals/{ids.own_deal}/qualification/{question}", {"answer": "unknown", "note": ""}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/deals/{ids.own_deal}#question-{question}"
    item = next(
        i
        for i in get_opportunity(demo.engine, demo.scope("rep"), ids.own_deal).qualification
        if i.question_id == question
    )
    assert item.answer == "unknown" and item.note is None
    withdrawn = client.post_form(f"/deals/{ids.own_deal}/qualification/{question}", {"answer": ""})
    assert withdrawn.status_code == 303
    item = next(
        i
        for i in get_opportunity(demo.engine, demo.scope("rep"), ids.own_deal).qualification
        if i.question_id == question
    )
    assert item.answer is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"answer": "maybe"}, "answer", "is not one of yes, no, unknown"),
        ({"answer": "yes", "note": "x" * 2001}, "note", "a note has at most 2,000 characters"),
    ],
)
def test_bad_answers_are_shown_inline_and_write_nothing(
    demo: Demo, clients: dict[str, Browser], ids: Ids, data: dict[str, str], field: str, message: str
) -> None:
    client = clients["manager"]
    question, _, _ = _question(demo, ids.team_deal, 2)
    client.get(f"/deals/{ids.team_deal}")
    before = audit_trail(demo.engine, demo.scope("admin"), "opportunity", ids.team_deal).total
    response = client.post(
        f"/deals/{ids.team_deal}/qualification/{question}",
        data=data,
        headers={**HTMX, "X-CSRF-Token": client.csrf},
    )
    assert response.status_code == 422
    assert "<html" not in response.text
    assert re.search(rf'class="field__error" id="{field}-{question}-error">[^<]*{message}', response.text)
    assert 'aria-invalid="true"' in response.text or 'aria-describedby="answer-' in response.text
    assert audit_trail(demo.engine, demo.scope("admin"), "opportunity", ids.team_deal).total == before


def test_writes_without_the_csrf_token_are_refused(demo: Demo, clients: dict[str, Browser], ids: Ids) -> None:
    client = clients["manager"]
    question, _, before = _question(demo, ids.team_deal, 3)
    url = f"/deals/{ids.team_deal}/qualification/{question}"
    trail = audit_trail(demo.engine, demo.scope("admin"), "opportunity", ids.team_deal).total
    for headers, data in (
        ({}, {"answer": "no"}),
        ({"X-CSRF-Token": "forged"}, {"answer": "no"}),
        (HTMX, {"answer": "no", "csrf_token": "forged"}),
    ):
        response = client.post(url, data=data, headers=headers)
        assert response.status_code == 403
        assert "did not come from dealsight" in response.text
    assert "<html" in client.post(url, data={"answer": "no"}).text  # a whole 403 page without htmx
    assert _question(demo, ids.team_deal, 3)[2] == before
    assert audit_trail(demo.engine, demo.scope("admin"), "opportunity", ids.team_deal).total == trail


def test_the_executive_reads_but_cannot_edit(demo: Demo, clients: dict[str, Browser], ids: Ids) -> None:
    client = clients["executive"]
    page = client.get(f"/deals/{ids.other_deal}")
    assert page.status_code == 200
    assert ">Edit<" not in page.text and "read-only access" in page.text
    question, _, before = _question(demo, ids.other_deal)
    assert client.get(f"/deals/{ids.other_deal}/qualification/{question}/edit").status_code == 403
    response = client.post_form(f"/deals/{ids.other_deal}/qualification/{question}", {"answer": "no"})
    assert response.status_code == 403
    assert "executives have read-only access" in response.text and "Not allowed" in response.text
    assert _question(demo, ids.other_deal)[2] == before


@pytest.mark.parametrize("path", ["/deals/{other_deal}", "/accounts/{other_account}", "/deals/{team_deal}"])
def test_a_rep_gets_the_404_page_for_other_records(clients: dict[str, Browser], ids: Ids, path: str) -> None:
    client = clients["rep"]
    url = path.format(**ids.__dict__)
    response = client.get(url)
    assert response.status_code == 404
    assert "Page not found" in response.text and "site-header" in response.text
    deal_id = ids.other_deal
    assert client.post_form(f"/deals/{deal_id}/qualification/1", {"answer": "no"}).status_code == 404


def test_the_manager_gets_404_outside_their_team(clients: dict[str, Browser], ids: Ids) -> None:
    assert clients["manager"].get(f"/deals/{ids.other_deal}").status_code == 404
    assert clients["manager"].get(f"/deals/{ids.own_deal}").status_code == 200
    assert clients["manager"].get(f"/deals/{ids.own_deal}/qualification/999999/edit").status_code == 404
    assert clients["manager"].get("/deals/99999999").status_code == 404


def test_the_account_page(demo: Demo, clients: dict[str, Browser], ids: Ids) -> None:
    account = get_account(demo.engine, demo.scope("rep"), ids.own_account)
    response = clients["rep"].get(f"/accounts/{ids.own_account}")
    assert response.status_code == 200
    text = text_of(response.text)
    assert account.name in text and "Open pipeline" in text and "Won" in text
    assert f"${account.open_amount:,.0f}" in text and f"${account.won_amount:,.0f}" in text
    shown = {int(i) for i in re.findall(r'<th scope="row"><a href="/deals/(\d+)"', response.text)}
    assert shown == {deal.id for deal in account.opportunities}
    for contact in account.contacts:
        assert contact.name in text
    assert "Changes to this account" in text and "Parent account" in text
    everyone = get_account(demo.engine, demo.scope("admin"), ids.own_account)
    assert len(everyone.opportunities) >= len(account.opportunities)  # the rep sees only their part


SEES = {
    "own": {"rep": 200, "manager": 200, "executive": 200, "admin": 200},
    "team": {"rep": 404, "manager": 200, "executive": 200, "admin": 200},
    "other": {"rep": 404, "manager": 404, "executive": 200, "admin": 200},
}
HEADINGS = {
    "rep": "My pipeline",
    "manager": "My team's pipeline",
    "executive": "Pipeline",
    "admin": "Pipeline",
}


@pytest.mark.parametrize("role", ["admin", "executive", "manager", "rep"])
def test_every_page_for_every_role(demo: Demo, clients: dict[str, Browser], ids: Ids, role: str) -> None:
    client = clients[role]
    pipeline = client.get("/pipeline")
    assert pipeline.status_code == 200
    assert f"<h1>{HEADINGS[role]}</h1>" in pipeline.text
    assert (">Admin</a>" in pipeline.text) is (role == "admin")
    for kind, deal_id in (("own", ids.own_deal), ("team", ids.team_deal), ("other", ids.other_deal)):
        response = client.get(f"/deals/{deal_id}")
        assert response.status_code == SEES[kind][role], (kind, role)
        if response.status_code == 200:
            deal = get_opportunity(demo.engine, demo.scope(role), deal_id)
            assert f"<h1>{deal.name}</h1>" in response.text.replace("&#39;", "'")
            assert (">Edit<" in response.text) is (role != "executive")
    for kind, account_id in (("own", ids.own_account), ("other", ids.other_account)):
        response = client.get(f"/accounts/{account_id}")
        assert response.status_code == SEES[kind][role], (kind, role)
        if response.status_code == 200:
            assert get_account(demo.engine, demo.scope(role), account_id).name in text_of(response.text)
    assert client.get("/admin").status_code == (200 if role == "admin" else 403)
