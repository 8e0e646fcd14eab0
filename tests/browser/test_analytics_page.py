"""The analytics page in a real Chromium: a manager opens it, every chart is drawn by Chart.js on its
canvas (painted, not blank), a filter changes the figures in place with a shareable URL, and screenshots
at laptop and phone sizes show nothing wider than the screen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from dealsight.domain.clock import utc_now
from dealsight.services.pipeline_analytics import outcome_report
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, LiveServer, overflow, sized_page
from tests.browser.test_pages_in_chromium import sign_in

CHARTS_DRAWN = """() => {
  const canvases = [...document.querySelectorAll("canvas[data-chart]")];
  return canvases.length > 0 && window.Chart !== undefined && canvases.every(c => window.Chart.getChart(c));
}"""
PAINTED = """() => [...document.querySelectorAll("canvas[data-chart]")].map(canvas => {
  const chart = window.Chart.getChart(canvas);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return {id: canvas.closest("figure").id, kind: JSON.parse(canvas.dataset.chart).kind,
          type: chart.config.type, bars: chart.data.labels.length, width: canvas.width,
          height: canvas.height, painted};
})"""


def drawn_charts(page: Page) -> list[dict[str, object]]:
    page.wait_for_function(CHARTS_DRAWN)
    charts: list[dict[str, object]] = page.evaluate(PAINTED)
    return charts


def test_a_manager_sees_every_chart_drawn_and_filters_in_place(page: Page, live_server: LiveServer) -> None:
    demo = live_server.demo
    sign_in(page, live_server, "manager")
    page.get_by_role("link", name="Analytics").click()
    page.wait_for_url(re.compile(r".*/analytics$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My team's pipeline analytics")
    expect(page.get_by_role("link", name="Analytics")).to_have_attribute("aria-current", "page")

    charts = drawn_charts(page)
    ids = {str(chart["id"]) for chart in charts}
    assert {"velocity-1-chart", "funnel-chart", "durations-chart", "outcomes-chart", "changes-1-chart"} <= ids
    for chart in charts:
        assert chart["type"] == "bar" and int(str(chart["bars"])) > 0, chart
        assert int(str(chart["width"])) > 100 and int(str(chart["height"])) > 100, chart
        assert int(str(chart["painted"])) > 500, f"{chart['id']} is blank: {chart}"
    assert {chart["kind"] for chart in charts} == {"bars", "waterfall"}
    for name in ("funnel-table", "durations-table", "outcomes-table", "changes-1-table", "velocity-1-table"):
        expect(page.locator(f"#{name} tbody tr").first).to_be_visible()

    # a year's window: the sections are replaced in place, the URL can be shared, the charts redrawn
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Window", exact=True).select_option("1y")
    page.wait_for_url(re.compile(r".*/analytics\?window=1y$"))
    year = outcome_report(demo.engine, demo.scope("manager"), window_days=365)
    expect(page.locator("#outcomes-closed-1")).to_have_text(f"{year.total[0].closed:,}")
    assert page.evaluate("window.__sameDocument") is True
    assert len(drawn_charts(page)) == len(charts)
    start = (utc_now().date() - timedelta(days=364)).day
    expect(page.locator("#outcomes")).to_contain_text(f"Deals closed {start} ")

    # a past day with no history: each section says so, the page still stands
    page.get_by_label("As of", exact=True).fill("2001-01-31")
    page.get_by_role("button", name="Show figures").click()
    expect(page.locator("#funnel .analytics-empty")).to_contain_text("no deals created")
    expect(page.locator("#changes .analytics-empty")).to_contain_text("no deal was open")
    assert page.locator("canvas[data-chart]").count() == 0


@pytest.mark.parametrize(("size", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_screenshots_of_the_analytics_page(
    chromium: Browser, live_server: LiveServer, size: str, viewport: dict[str, int]
) -> None:
    with sized_page(chromium, viewport) as page:
        sign_in(page, live_server, "admin")
        page.goto(f"{live_server.url}/analytics?by=team&breakdown=owner")
        assert len(drawn_charts(page)) >= 6
        wider = overflow(page)
        assert wider <= 0, f"the analytics page is {wider}px wider than the screen at {size} size"
        path = SCREENSHOTS / f"analytics-{size}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 20_000
