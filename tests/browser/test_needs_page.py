"""The needs page in a real Chromium, on the example survey (examples/needs_survey.csv) imported into the
demo:

- a rep reads the weighted needs (chart with intervals drawn, table with the service's figures), the grid
  as a heat map, the perception gap chart, opportunity and flanking; no answer form for a rep;
- a manager types one customer's points and sees the running total reach 100, fills in ratings, saves,
  and the page says so (the respondent is stored, audited via web);
- a segment chosen in the form narrows the figures to that segment;
- screenshots at laptop and phone sizes, nothing wider than the screen.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from dealsight.services.survey_imports import import_survey
from dealsight.services.surveys import find_survey, survey_analysis
from dealsight.store.schema import audit_log, survey_respondents
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, LiveServer, overflow, sized_page
from tests.browser.test_pages_in_chromium import sign_in

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "needs_survey.csv"
NAME = "Customer needs 2026"
DRAWN = """() => [...document.querySelectorAll("canvas[data-chart], canvas[data-needs-chart]")].map(c => {
  const canvas = c;
  const chart = window.Chart && window.Chart.getChart(canvas);
  return {figure: canvas.closest("figure").getAttribute("aria-labelledby"), drawn: Boolean(chart),
          series: chart ? chart.data.datasets.length : 0, labels: chart ? chart.data.labels.length : 0};
})"""


@pytest.fixture(scope="module")
def surveyed(live_server: LiveServer) -> LiveServer:
    engine = live_server.demo.engine
    try:
        find_survey(engine, NAME)
    except Exception:
        import_survey(engine, EXAMPLE, name=NAME)
    return live_server


def charts(page: Page) -> dict[str, dict[str, object]]:
    page.wait_for_function(
        "() => window.Chart && document.querySelector('canvas[data-needs-chart][data-drawn]')"
    )
    return {chart["figure"]: chart for chart in page.evaluate(DRAWN)}


def test_a_rep_reads_the_analysis(page: Page, surveyed: LiveServer) -> None:
    sign_in(page, surveyed, "rep")
    page.goto(f"{surveyed.url}/needs")
    expect(page.get_by_role("heading", name="What customers say matters")).to_be_visible()
    drawn = charts(page)
    assert {k: v["drawn"] for k, v in drawn.items()} == {
        "weights-caption": True,
        "gaps-caption": True,
        "opportunity-caption": True,
    }
    assert drawn["gaps-caption"]["series"] == 4  # one series per function
    result = survey_analysis(surveyed.demo.engine, find_survey(surveyed.demo.engine, NAME).id)
    top = max(result.analysis.weights.needs, key=lambda w: w.points or 0)
    first_row = page.locator("#weights-table tbody tr").first
    expect(first_row.locator("th")).to_have_text(top.need)
    expect(first_row.locator("td").first).to_have_text(f"{top.points:.1f}")
    us_row = page.locator("#grid-table tbody tr.highlight")
    expect(us_row.locator("td.heat")).to_have_count(5)
    assert "heat--8" in (us_row.locator("td.heat").nth(4).get_attribute("class") or "")
    expect(page.locator("ol.flanking li").first).to_contain_text("against Acme Analytics")
    expect(page.locator("#enter")).to_have_count(0)


def test_a_manager_enters_answers_with_a_running_total(page: Page, surveyed: LiveServer) -> None:
    sign_in(page, surveyed, "manager")
    page.goto(f"{surveyed.url}/needs#enter")
    form = page.locator("#enter form")
    form.get_by_label("Respondent (an id or name)").fill("Browser customer")
    total = form.locator("output[data-points-total]")
    for need, points in (("Brand", "10"), ("Product", "20"), ("Quality", "30"), ("Price", "15")):
        form.locator("fieldset.points").get_by_label(need).fill(points)
    expect(total).to_have_text("Total: 75 of 100 (25 left)")
    form.locator("fieldset.points").get_by_label("Service").fill("25")
    expect(total).to_have_text("Total: 100 of 100")
    expect(total).to_have_class("points-total--ok")
    form.locator("fieldset.ratings").first.get_by_label("Service").fill("9")
    form.locator("fieldset.ratings").nth(1).get_by_label("Service").fill("4")
    form.get_by_role("button", name="Save the answers").click()
    expect(page.locator(".alert--success")).to_contain_text("The answers were saved.")
    with surveyed.demo.engine.connect() as conn:
        rid = conn.execute(
            sa.select(survey_respondents.c.id).where(survey_respondents.c.respondent == "Browser customer")
        ).scalar_one()
        via = (
            conn.execute(
                sa.select(audit_log.c.via).where(
                    audit_log.c.entity == "survey_respondent", audit_log.c.entity_id == rid
                )
            )
            .scalars()
            .all()
        )
    assert via and set(via) == {"web"}


def test_points_that_do_not_add_up_are_said_by_the_form(chromium: Browser, surveyed: LiveServer) -> None:
    context = chromium.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        sign_in(page, surveyed, "manager")
        page.goto(f"{surveyed.url}/needs#enter")
        form = page.locator("#enter form")
        form.get_by_label("Respondent (an id or name)").fill("Short of points")
        form.locator("fieldset.points").get_by_label("Price").fill("90")
        form.get_by_role("button", name="Save the answers").click()
        expect(page.locator("#points-error")).to_contain_text("they add up to 90")
        expect(page.locator("#enter").get_by_role("alert")).to_contain_text("not saved")
        expect(page.locator("#enter form").get_by_label("Respondent (an id or name)")).to_have_value(
            "Short of points"
        )
    finally:
        context.close()
    assert all("status of 422" in e for e in errors), errors  # the re-shown form answers 422


def test_a_segment_narrows_the_figures(page: Page, surveyed: LiveServer) -> None:
    sign_in(page, surveyed, "executive")
    page.goto(f"{surveyed.url}/needs")
    page.get_by_label("Segment", exact=True).select_option("enterprise")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#summary")).to_contain_text("of the segment Enterprise")
    expect(page.locator("#weights-table caption")).to_contain_text("Mean points of 20 customers")


@pytest.mark.parametrize(("size", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_screenshots_fit_the_screen(
    chromium: Browser, surveyed: LiveServer, size: str, viewport: dict[str, int]
) -> None:
    with sized_page(chromium, viewport) as tab:
        sign_in(tab, surveyed, "admin")
        tab.goto(f"{surveyed.url}/needs")
        charts(tab)
        assert overflow(tab) <= 0, f"the needs page is wider than a {size} screen"
        tab.screenshot(path=str(SCREENSHOTS / f"needs-{size}.png"), full_page=True)
        tab.locator("#enter").screenshot(path=str(SCREENSHOTS / f"needs-form-{size}.png"))
