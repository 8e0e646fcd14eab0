"""Deal intelligence in a real Chromium: after a scoring run a manager sorts the pipeline by win chance,
opens the riskiest deal and reads its Insight panel (chance beside the baselines, risks with next actions,
factors), then the win model page with its reliability chart drawn; screenshots at laptop and phone sizes
show nothing wider than the screen."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from dealsight.services.scoring import score_open_deals
from dealsight.store.schema import deal_insights
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, LiveServer, overflow, sized_page
from tests.browser.test_pages_in_chromium import deal_ids, sign_in

CHART_ATTACHED = "() => !!(window.Chart && window.Chart.getChart(document.querySelector('canvas')))"
RELIABILITY_DRAWN = """() => {
  const canvas = document.querySelector("canvas[data-chart]");
  const chart = canvas && window.Chart && window.Chart.getChart(canvas);
  if (!chart) return null;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return {type: chart.config.type, series: chart.data.datasets.length, painted};
}"""


@pytest.fixture(scope="module")
def scored(live_server: LiveServer) -> LiveServer:
    engine = live_server.demo.engine
    with engine.connect() as conn:
        done = conn.execute(sa.select(sa.func.count()).select_from(deal_insights)).scalar_one()
    if not done:
        score_open_deals(engine)
    return live_server


def test_a_manager_finds_the_riskiest_deal_and_reads_why(page: Page, scored: LiveServer) -> None:
    sign_in(page, scored, "manager")
    page.goto(f"{scored.url}/pipeline?sort=win_probability")
    first = deal_ids(page)[0]
    health = page.locator("table.deals tbody tr").first.locator("td.health")
    expect(health).not_to_contain_text("not scored")
    page.locator("table.deals tbody th.deal-name a").first.click()
    page.wait_for_url(re.compile(rf".*/deals/{first}$"))
    panel = page.locator("section.insight")
    expect(panel.get_by_role("heading", name="Insight")).to_be_visible()
    expect(panel.locator("#win-probability")).to_contain_text("chance to win")
    expect(panel.locator("#baselines")).to_contain_text("The CRM's stage probability")
    if panel.locator("#risks li").count():
        expect(panel.locator("#risks li").first).to_contain_text("Next:")
    panel.get_by_text("Leading indicators as of").click()  # the details open from the keyboard too
    expect(panel.locator(".indicators dl")).to_be_visible()


def test_the_model_page_draws_the_reliability_chart(page: Page, scored: LiveServer) -> None:
    sign_in(page, scored, "rep")
    page.get_by_role("link", name="Win model").click()
    page.wait_for_url(re.compile(r".*/model$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Win model")
    expect(page.locator("#metrics-overall")).to_contain_text("Naive Bayes frequency model")
    page.wait_for_function(
        RELIABILITY_DRAWN.replace("return {", "return !!{").replace("return null", "return false")
    )
    drawn = page.evaluate(RELIABILITY_DRAWN)
    assert drawn["type"] == "scatter" and drawn["series"] == 5 and drawn["painted"] > 2000, drawn


@pytest.mark.parametrize(("size", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_screenshots_of_the_insight_pages(
    chromium: Browser, scored: LiveServer, size: str, viewport: dict[str, int]
) -> None:
    with sized_page(chromium, viewport) as page:
        sign_in(page, scored, "admin")
        page.goto(f"{scored.url}/pipeline?sort=win_probability")
        first = deal_ids(page)[0]
        for name, path in (("deal-insight", f"/deals/{first}"), ("model", "/model")):
            page.goto(scored.url + path)
            if name == "model":
                page.wait_for_function(CHART_ATTACHED)
            shot = SCREENSHOTS / f"{name}-{size}.png"
            page.screenshot(path=str(shot), full_page=True)
            wider = overflow(page)
            assert wider <= 0, f"{path} is {wider}px wider than the screen at {size} size"
            assert shot.stat().st_size > 20_000
