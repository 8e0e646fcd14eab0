"""Deal intelligence on the pages: the deal page's Insight panel, the pipeline's Win chance and Health
columns, and the win model page, before and after a scoring run (for each role)."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from dealsight.errors import NotFoundError
from dealsight.services.insights import deal_insight
from dealsight.services.scoring import score_open_deals
from dealsight.store.schema import deal_insights
from tests import test_web_fixtures
from tests.test_web_fixtures import ROLES, Demo, text_of

demo = test_web_fixtures.demo
CHART = re.compile(r"data-chart='([^']+)'")


def _scored_deal(demo: Demo, role: str) -> int:
    """A scored deal the role can see, with risks."""
    scope = demo.scope(role)
    with demo.engine.connect() as conn:
        ids = conn.execute(
            sa.select(deal_insights.c.opportunity_id)
            .where(deal_insights.c.risk_count > 0)
            .order_by(deal_insights.c.opportunity_id)
        ).scalars()
        for deal_id in ids:
            try:
                if deal_insight(demo.engine, scope, deal_id) is not None:
                    return int(deal_id)
            except NotFoundError:  # outside the role's view
                continue
    raise AssertionError(f"no scored deal with risks visible to the {role}")


def test_before_scoring_the_pages_say_so(demo: Demo) -> None:
    browser = demo.browser("manager")
    page = text_of(browser.get("/model").text)
    assert "There is no win model yet" in page
    pipeline = browser.get("/pipeline")
    assert "not scored" in text_of(pipeline.text)


@pytest.mark.parametrize("role", ROLES)
def test_after_scoring_each_role_sees_insight_on_its_deals(demo: Demo, role: str) -> None:
    with demo.engine.connect() as conn:
        scored = conn.execute(sa.select(sa.func.count()).select_from(deal_insights)).scalar_one()
    if not scored:
        score_open_deals(demo.engine)
    browser = demo.browser(role)
    deal_id = _scored_deal(demo, role)
    insight = deal_insight(demo.engine, demo.scope(role), deal_id)
    assert insight is not None
    page = browser.get(f"/deals/{deal_id}")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Insight" in text and "chance to win" in text
    assert insight.risks[0].risk in text and insight.risks[0].action in text
    assert "Historical win rate of deals in" in text and "Naive Bayes frequency model" in text
    assert f"{insight.win_probability * 100:.0f}%" in text
    pipeline = text_of(browser.get("/pipeline?sort=win_probability").text)
    assert "Win chance" in pipeline and "Health" in pipeline


def test_the_model_page_shows_the_evaluation_and_reliability(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        if not conn.execute(sa.select(sa.func.count()).select_from(deal_insights)).scalar_one():
            score_open_deals(demo.engine)
    response = demo.browser("rep").get("/model")
    assert response.status_code == 200
    text = text_of(response.text)
    assert "Gradient-boosted, calibrated" in text and "Evaluation in time order" in text
    for label in ("dealsight's model", "Historical stage win rates", "The CRM's stage probability"):
        assert label in text
    charts = [json.loads(c.replace("&#34;", '"')) for c in CHART.findall(response.text)]
    assert charts and charts[0]["kind"] == "reliability"
    assert {s["label"] for s in charts[0]["series"]} >= {"dealsight's model", "Naive Bayes frequency model"}
    assert all(0 <= x <= 1 and 0 <= y <= 1 for s in charts[0]["series"] for x, y in s["points"])
    assert demo.browser(None).get("/model").status_code in (303, 302)
