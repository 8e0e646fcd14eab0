"""The renewals page in a real Chromium:

- a manager reads the renewals of their team's accounts (the count, ARR and ARR at risk the service
  gives for their view), the booked vs delivered chart drawn on its canvas with its table, and narrows
  the window with the form;
- a rep sees only the renewals of their own accounts;
- screenshots at laptop and phone sizes (admin and rep) with nothing wider than the screen.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from dealsight.services.renewals import upcoming_renewals
from dealsight.web.formatting import money
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, LiveServer, overflow, sized_page
from tests.browser.test_pages_in_chromium import sign_in

CHART = """() => {
  const canvas = document.querySelector("#booked-delivered canvas[data-chart]");
  const chart = window.Chart && window.Chart.getChart(canvas);
  if (!chart) return null;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return {type: chart.config.type, labels: chart.data.labels.length,
          series: chart.data.datasets.length, painted};
}"""


def _chart(page: Page) -> dict[str, int]:
    page.wait_for_function("() => window.Chart !== undefined")
    found = page.evaluate(CHART)
    assert found is not None, "the booked vs delivered chart was not drawn"
    return dict(found)


def test_manager_reads_their_renewals_and_narrows_the_window(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "manager")
    page.get_by_role("link", name="Renewals").click()
    page.wait_for_url(re.compile(r".*/renewals$"))
    outlook = upcoming_renewals(live_server.demo.engine, live_server.demo.scope("manager"))
    expect(page.locator("#renewal-count")).to_have_text(f"{len(outlook.renewals):,}")
    expect(page.locator("#renewal-at-risk")).to_have_text(money(outlook.arr_at_risk))
    rows = page.locator("#renewals tbody tr")
    expect(rows).to_have_count(min(len(outlook.renewals), 50))
    first = outlook.renewals[0]
    expect(rows.first.locator("th")).to_have_text(first.account_name)
    chart = _chart(page)
    assert chart == {**chart, "type": "line", "labels": 8, "series": 2} and chart["painted"] > 1000
    expect(page.locator("#booked-table tbody tr")).to_have_count(8)
    page.get_by_label("Due within").select_option("30")
    page.get_by_role("button", name="Show renewals").click()
    page.wait_for_url(re.compile(r".*within=30.*"))
    soon = upcoming_renewals(live_server.demo.engine, live_server.demo.scope("manager"), within_days=30)
    expect(page.locator("#renewal-count")).to_have_text(f"{len(soon.renewals):,}")
    assert len(soon.renewals) < len(outlook.renewals)


def test_a_rep_sees_only_their_accounts(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "rep")
    page.goto(f"{live_server.url}/renewals")
    mine = upcoming_renewals(live_server.demo.engine, live_server.demo.scope("rep"))
    everyone = upcoming_renewals(live_server.demo.engine, live_server.demo.scope("admin"))
    expect(page.locator("#renewal-count")).to_have_text(f"{len(mine.renewals):,}")
    shown = set(page.locator("#renewals tbody th a").all_inner_texts())
    assert shown == {r.account_name for r in mine.renewals[:50]}
    hidden = {r.account_name for r in everyone.renewals} - {r.account_name for r in mine.renewals}
    assert hidden and not shown & hidden


@pytest.mark.parametrize("role", ["admin", "rep"])
def test_screenshots_fit_the_screen(chromium: Browser, live_server: LiveServer, role: str) -> None:
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        with sized_page(chromium, viewport) as page:
            sign_in(page, live_server, role)
            page.goto(f"{live_server.url}/renewals")
            _chart(page)
            page.screenshot(path=str(SCREENSHOTS / f"renewals-{role}-{size}.png"), full_page=True)
            page.screenshot(path=str(SCREENSHOTS / f"renewals-{role}-{size}-first-screen.png"))
            wider = overflow(page)
            assert wider <= 0, (
                f"the renewals page is {wider}px wider than the screen at {size} size for a {role}"
            )
