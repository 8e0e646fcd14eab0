"""The needs page (``/needs``) with TestClient: sign-in, the empty state, starting a survey and entering
answers through the forms (CSRF checked, audited via web, refused for reps and executives), bad answers
named next to their field, and the analysis sections with charts beside tables."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dealsight.services.survey_imports import import_survey
from dealsight.services.surveys import find_survey
from dealsight.store.schema import audit_log, survey_points, survey_ratings, survey_respondents, surveys
from tests.test_web_fixtures import Browser, Demo, text_of, web_demo

ROLES = ("admin", "executive", "manager", "rep")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "needs_survey.csv"
CHART = re.compile(r"<canvas data-(?:needs-)?chart='([^']*)'")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A copy of the demo without the needs survey it ships: these tests start from no survey."""
    copies = web_demo(tmp_path_factory)
    copy = next(copies)
    with copy.engine.begin() as conn:
        for table in (survey_ratings, survey_points, survey_respondents, surveys):
            conn.execute(table.delete())
    yield copy
    next(copies, None)


@pytest.fixture(scope="module")
def clients(demo: Demo) -> dict[str, Browser]:
    return {role: demo.browser(role) for role in ROLES}


def _count(demo: Demo, table: sa.Table) -> int:
    with demo.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_signed_out_visitors_are_sent_to_sign_in(demo: Demo) -> None:
    response = demo.browser().get("/needs")
    assert response.status_code in (302, 303) and "/sign-in" in response.headers["location"]


def test_the_empty_state_and_starting_a_survey(demo: Demo, clients: dict[str, Browser]) -> None:
    page = clients["rep"].get("/needs")
    assert page.status_code == 200 and "No survey yet" in page.text
    assert 'id="new-survey"' not in page.text and 'aria-current="page">Needs' in page.text
    manager = clients["manager"]
    assert 'id="new-survey"' in manager.get("/needs").text
    refused = manager.post("/needs/surveys", data={"name": "No token"})
    assert refused.status_code == 403 and _count(demo, surveys) == 0
    bad = manager.post_form("/needs/surveys", {"name": "Pulse", "needs": "price"})
    assert bad.status_code == 422 and "a survey has 2 to 20 needs, not 1" in bad.text
    created = manager.post_form(
        "/needs/surveys", {"name": "Pulse", "us": "Northwind", "competitors": "Acme, Globex"}
    )
    assert created.status_code == 303 and created.headers["location"].endswith("saved=survey#enter")
    survey = find_survey(demo.engine, "Pulse")
    assert survey.vendors == ("Northwind", "Acme", "Globex")
    assert survey.needs == ("brand", "product", "quality", "price", "service")
    page = manager.get(created.headers["location"].split("#")[0])
    assert "The survey was created" in page.text and "no customer answered" in page.text
    clash = manager.post_form("/needs/surveys", {"name": "pulse"})
    assert clash.status_code == 409 and "exists already" in text_of(clash.text)
    executive = clients["executive"]
    executive.get("/needs")
    assert executive.post_form("/needs/surveys", {"name": "Exec"}).status_code == 403


def _answers(**extra: str) -> dict[str, str]:
    points = {f"points-{k}": str(p) for k, p in enumerate((10, 20, 30, 15, 25))}
    return {
        "respondent": "Web customer",
        "segment": "smb",
        **points,
        "rating-0-4": "9",
        "rating-1-4": "4",
        **extra,
    }


def test_entering_answers(demo: Demo, clients: dict[str, Browser]) -> None:
    survey = find_survey(demo.engine, "Pulse")
    path = f"/needs/{survey.id}/responses"
    manager = clients["manager"]
    manager.get("/needs")
    assert manager.post(path, data=_answers()).status_code == 403  # no CSRF token
    saved = manager.post_form(path, _answers())
    assert saved.status_code == 303, saved.text
    with demo.engine.connect() as conn:
        rid, segment = conn.execute(sa.select(survey_respondents.c.id, survey_respondents.c.segment)).one()
        via = set(
            conn.execute(
                sa.select(audit_log.c.via).where(
                    audit_log.c.entity == "survey_respondent", audit_log.c.entity_id == rid
                )
            ).scalars()
        )
    assert segment == "smb" and via == {"web"}
    page = manager.get(saved.headers["location"].split("#")[0])
    assert "The answers were saved." in page.text
    assert "we lead Acme by 5.0 on service" in text_of(page.text)
    rep = clients["rep"]
    rep.get("/needs")
    assert rep.post_form(path, _answers(respondent="by a rep")).status_code == 403


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"points-0": "5"}, "points-error", "they add up to 95"),
        ({"points-0": "-10", "points-1": "40"}, "points-0-error", "0 to 100"),
        ({"rating-2-3": "12"}, "rating-2-3-error", "a rating from 0 to 10"),
        ({"respondent_type": "internal"}, "function-error", "names their function"),
    ],
)
def test_bad_answers_are_named_by_their_field(
    demo: Demo, clients: dict[str, Browser], changes: dict[str, str], field: str, words: str
) -> None:
    survey = find_survey(demo.engine, "Pulse")
    manager = clients["manager"]
    manager.get("/needs")
    before = _count(demo, survey_respondents)
    page = manager.post_form(f"/needs/{survey.id}/responses", _answers(respondent="Bad one", **changes))
    assert page.status_code == 422
    found = re.search(rf'<p class="field__error" id="{field}">(.*?)</p>', page.text)
    assert found and words in unescape(found.group(1)), page.text[-2000:]
    assert 'value="Bad one"' in page.text and _count(demo, survey_respondents) == before
    again = manager.post_form(f"/needs/{survey.id}/responses", _answers())
    assert again.status_code == 409 and "has answered the survey" in text_of(again.text)


def charts(html: str) -> list[dict[str, Any]]:
    return [json.loads(unescape(data)) for data in CHART.findall(html)]


def test_the_analysis_sections(demo: Demo, clients: dict[str, Browser]) -> None:
    import_survey(demo.engine, EXAMPLE, name="Customer needs 2026")
    newest = find_survey(demo.engine)
    for role in ROLES:
        page = clients[role].get(f"/needs?survey={newest.id}&by=industry")
        assert page.status_code == 200
        text = text_of(page.text)
        for heading in ("What customers say matters", "How customers rate us", "Where our people are wrong",
                        "Opportunity per need", "Needs to flank on"):  # fmt: skip
            assert heading in text
        assert ("Enter one respondent's answers" in text) == (role in ("admin", "manager"))
    weights, gaps, opportunity = charts(page.text)
    assert weights["kind"] == "intervals" and len(weights["labels"]) == 5
    assert all(
        low <= mean <= high for mean, (low, high) in zip(weights["means"], weights["intervals"], strict=True)
    )
    assert [s["label"] for s in gaps["series"]] == ["marketing", "sales", "service", "leadership"]
    assert opportunity["kind"] == "bars"
    assert "By industry" in text and "Healthcare" in text
    assert 'class="num heat heat--8">8.2' in page.text  # our service rating, dark in the heat map
    narrowed = clients["rep"].get(f"/needs?survey={newest.id}&segment=nothing")
    assert "no customer answered" in narrowed.text
