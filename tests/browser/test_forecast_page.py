"""The forecast page in a real Chromium, once ``dealsight forecast --backfill`` and a short
``dealsight backtest`` have stored what it draws (their services, here):

- a manager reads the period's range (P10/P50/P90, expected, won count), the fan chart drawn on its canvas
  from the stored forecasts, the roll-up by team and rep, the movement waterfall and the backtest tables,
  every figure the service's for their view; then changes period, method and as-of with the form and
  sees the figures of the new choice;
- an admin sees the company with the chance to reach its quota and the backtest chart drawn;
- a rep sees only their own row and total, nothing of another team;
- the controls are labelled and work from the keyboard alone;
- screenshots at laptop and phone sizes (admin and rep) with nothing wider than the screen.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from dealsight.analytics.time_to_close import METHODS
from dealsight.domain.clock import utc_now
from dealsight.services.backtests import run_backtest
from dealsight.services.forecasts import (
    GroupForecast,
    PeriodForecast,
    backfill_snapshots,
    forecast_movement_report,
    forecast_period,
)
from dealsight.store.schema import backtest_runs, forecast_snapshots
from dealsight.web.forecast import METHOD_LABELS
from dealsight.web.formatting import day as day_text
from dealsight.web.formatting import money, percent
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, LiveServer, overflow, sized_page
from tests.browser.test_pages_in_chromium import sign_in

FAST = "competing_risks"
BACKTESTED = ("competing_risks", "stage_weighted", "model")
SLOW_PAGE_MS = 60_000  # a page computes the forecast and the movement (three replays) as it is asked
CHARTS_DRAWN = """() => {
  const canvases = [...document.querySelectorAll("canvas[data-chart]")];
  return canvases.length > 0 && window.Chart !== undefined && canvases.every(c => window.Chart.getChart(c));
}"""
CHARTS = """() => [...document.querySelectorAll("canvas[data-chart]")].map(canvas => {
  const chart = window.Chart.getChart(canvas);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return {figure: canvas.closest("figure").getAttribute("aria-labelledby"), type: chart.config.type,
          labels: chart.data.labels.length, series: chart.data.datasets.length,
          width: canvas.width, height: canvas.height, painted};
})"""


@pytest.fixture(scope="module")
def stored(live_server: LiveServer) -> LiveServer:
    """The stored forecasts of the quarter so far (every two weeks) and a short backtest."""
    engine = live_server.demo.engine
    with engine.connect() as conn:
        snapshots = conn.execute(sa.select(sa.func.count()).select_from(forecast_snapshots)).scalar_one()
        runs = conn.execute(sa.select(sa.func.count()).select_from(backtest_runs)).scalar_one()
    if not snapshots:
        assert backfill_snapshots(engine, method=FAST, every_days=14) > 0
    if not runs:
        today = utc_now().date()
        run_backtest(
            engine, start=today - timedelta(days=120), end=today - timedelta(days=40), every_days=28,
            methods=BACKTESTED,
        )  # fmt: skip
    return live_server


def drawn(page: Page) -> dict[str, dict[str, Any]]:
    """Each chart on the page by its figure's caption id, once the movement's waterfall is there (it may
    come after the page) and Chart.js has drawn them all."""
    expect(page.locator("#movement-table")).to_be_visible(timeout=SLOW_PAGE_MS)
    page.wait_for_function(CHARTS_DRAWN)
    return {chart["figure"]: chart for chart in page.evaluate(CHARTS)}


def painted(chart: dict[str, Any]) -> None:
    assert chart["width"] > 200 and chart["height"] > 100, chart
    assert chart["painted"] > 3000, f"the chart is blank: {chart}"


def open_forecast(page: Page, server: LiveServer, query: str = f"?method={FAST}") -> None:
    page.goto(f"{server.url}/forecast{query}", timeout=SLOW_PAGE_MS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Forecast")


def counts(figures: Any) -> str:
    return f"{figures.p10:.0f}–{figures.p90:.0f}"


def rows(page: Page, table: str) -> list[str]:
    return page.locator(f"#{table} tbody tr th").all_inner_texts()


def shows_summary(page: Page, report: PeriodForecast) -> None:
    """The summary section says the service's figures of ``report``'s total."""
    total = report.total
    summary = page.locator("#summary")
    start, end = day_text(report.period_start), day_text(report.period_end)
    expect(summary.get_by_role("heading", level=2)).to_contain_text(f"{start} to {end}")
    expect(summary).to_contain_text(f"As of {day_text(report.as_of)}, {report.days_left:,} days left")
    expect(summary).to_contain_text(f"Won so far {money(total.won_amount)} ({total.won_count:,} deals)")
    expect(summary).to_contain_text(
        f"by the end of the period {money(total.amount.p10)} to {money(total.amount.p90)}, most likely about "
        f"{money(total.amount.p50)}"
    )
    facts = summary.locator("dl.facts")
    for term, value in (
        ("Expected", money(total.amount.expected)),
        ("Deals won (P10–P90)", counts(total.count)),
        ("Stage-weighted", money(total.stage_weighted)),
        ("Open deals", f"{total.open_deals:,}"),
    ):
        expect(facts.locator(f"div.def:has(dt:text-is('{term}')) dd")).to_have_text(value)


def shows_rollup(page: Page, table: str, groups: list[GroupForecast]) -> None:
    assert rows(page, table) == [g.name for g in groups]
    first = page.locator(f"#{table} tbody tr").first.locator("td")
    group = groups[0]
    expected = [money(group.won_amount), money(group.amount.p10), money(group.amount.p50)]
    expected += [
        money(group.amount.p90),
        counts(group.count),
        money(group.quota),
        percent(group.reach_probability),
    ]
    assert first.all_inner_texts()[:7] == expected


def test_a_manager_reads_the_forecast_and_changes_period_method_and_day(
    page: Page, stored: LiveServer
) -> None:
    demo = stored.demo
    scope = demo.scope("manager")
    page.set_default_timeout(SLOW_PAGE_MS)
    sign_in(page, stored, "manager")
    nav = page.get_by_role("navigation", name="Main").get_by_role("link", name="Forecast", exact=True)
    nav.click()  # the default: this quarter by dealsight's model
    page.wait_for_url(re.compile(r".*/forecast$"))
    expect(nav).to_have_attribute("aria-current", "page")
    expect(page.get_by_label("Method", exact=True)).to_have_value("model")
    expect(page.locator("#summary h2")).to_contain_text("Quarter")
    open_forecast(page, stored)

    report = forecast_period(demo.engine, scope, method=FAST, store=False)
    assert report.teams and len(report.reps) > 1, "the demo manager sees a team and its reps"
    shows_summary(page, report)
    expect(page.locator("#summary h2")).to_contain_text("your view")
    expect(page.locator("#summary dt", has_text="ago (P50)")).to_have_count(0)  # stored for groups only
    shows_rollup(page, "teams-table", report.teams)
    shows_rollup(page, "reps-table", report.reps)

    charts = drawn(page)
    assert set(charts) == {"fan-caption", "waterfall-caption"}, "no per-date backtest chart for a manager"
    fan, waterfall = charts["fan-caption"], charts["waterfall-caption"]
    assert fan["type"] == "line" and fan["series"] >= 3 and fan["labels"] >= 2, fan
    assert waterfall["type"] == "bar", waterfall
    for chart in charts.values():
        painted(chart)
    expect(page.locator("#fan-caption")).to_contain_text(report.teams[0].name)
    assert len(rows(page, "fan-table")) == fan["labels"]

    movement = forecast_movement_report(demo.engine, scope, method=FAST)
    assert waterfall["labels"] == len(movement.steps) + 2
    assert rows(page, "movement-table") == [
        "A week ago",
        *(s.label.capitalize() for s in movement.steps),
        "Now",
    ]
    now = page.locator("#movement-table tbody tr").last.locator("td").first
    expect(now).to_have_text(money(movement.end))

    for measure in ("amount", "count"):
        assert rows(page, f"backtest-{measure}") == [METHOD_LABELS[m] for m in BACKTESTED]
    expect(page.locator("#backtest-amount tr.highlight th")).to_have_text(METHOD_LABELS["model"])

    # the form: a month, the CRM's stage-weighted method, then a day a month back; the page is reloaded
    page.get_by_label("Period", exact=True).select_option("month")
    page.get_by_label("Method", exact=True).select_option("stage_weighted")
    page.get_by_role("button", name="Show forecast").click()
    page.wait_for_url(re.compile(r".*/forecast\?period=month&method=stage_weighted(&as_of=)?$"))
    month = forecast_period(demo.engine, scope, period="month", method="stage_weighted", store=False)
    assert month.total.amount != report.total.amount
    expect(page.locator("#summary h2")).to_contain_text("Month")
    shows_summary(page, month)
    expect(page.get_by_label("Method", exact=True)).to_have_value("stage_weighted")
    fan_days = rows(page, "fan-table")  # the quarter's stored forecasts are not the month's
    assert set(fan_days) <= {day_text(utc_now().date())}, fan_days

    past = utc_now().date() - timedelta(days=30)
    page.get_by_label("As of", exact=True).fill(past.isoformat())
    page.get_by_role("button", name="Show forecast").click()
    page.wait_for_url(re.compile(rf".*as_of={past.isoformat()}$"))
    shows_summary(
        page,
        forecast_period(demo.engine, scope, period="month", as_of=past, method="stage_weighted", store=False),
    )


def test_an_admin_sees_the_company_the_quota_chance_and_the_backtest_chart(
    page: Page, stored: LiveServer
) -> None:
    demo = stored.demo
    page.set_default_timeout(SLOW_PAGE_MS)
    sign_in(page, stored, "admin")
    open_forecast(page, stored)
    report = forecast_period(demo.engine, demo.scope("admin"), method=FAST, store=False)
    total = report.total
    assert total.level == "company" and total.quota is not None and total.reach_probability is not None
    shows_summary(page, report)
    expect(page.locator("#summary")).to_contain_text(
        f"a {percent(total.reach_probability)} chance to reach the quota of {money(total.quota)}"
    )
    shows_rollup(page, "teams-table", report.teams)
    charts = drawn(page)
    assert set(charts) == {"fan-caption", "waterfall-caption", "backtest-caption"}
    backtest = charts["backtest-caption"]
    assert backtest["type"] == "line" and backtest["series"] == 1 + len(BACKTESTED), backtest
    for chart in charts.values():
        painted(chart)
    expect(page.locator("#fan-caption")).to_contain_text("the company")
    # every method the service knows can be chosen, by the name the backtest table uses
    options = page.get_by_label("Method", exact=True).locator("option")
    assert sorted(options.evaluate_all("os => os.map(o => o.value)")) == sorted(METHODS)


def test_a_rep_sees_only_their_own_figures(page: Page, stored: LiveServer) -> None:
    demo = stored.demo
    page.set_default_timeout(SLOW_PAGE_MS)
    sign_in(page, stored, "rep")
    open_forecast(page, stored)
    rep = demo.principals["rep"]
    mine = forecast_period(demo.engine, demo.scope("rep"), method=FAST, store=False)
    assert [r.user_id for r in mine.reps] == [rep.user_id] and not mine.teams
    shows_summary(page, mine)
    own = mine.reps[0]  # their view is their own row: its quota and earlier forecasts head the page
    assert own.quota is not None and own.reach_probability is not None
    expect(page.locator("#summary h2")).to_contain_text(f": {rep.name}")
    expect(page.locator("#summary")).to_contain_text(
        f"a {percent(own.reach_probability)} chance to reach the quota of {money(own.quota)}"
    )
    week = own.earlier["week"]
    assert week is not None, "the rep's forecast of a week ago is stored"
    expect(page.locator("#summary div.def:has(dt:text-is('A week ago (P50)')) dd")).to_have_text(
        money(week.amount.p50)
    )
    shows_rollup(page, "reps-table", mine.reps)
    expect(page.locator("#teams-table")).to_have_count(0)
    expect(page.locator("#fan-caption")).to_contain_text(rep.name)
    assert set(drawn(page)) == {"fan-caption", "waterfall-caption"}
    everyone = forecast_period(demo.engine, demo.scope("admin"), method=FAST, store=False)
    manager = demo.scope("manager").owner_ids or frozenset()
    text = page.locator("main").inner_text()
    others = [r for r in everyone.reps if r.user_id not in manager]
    assert others, "the demo has reps outside the rep's team"
    for other in [*others, *(r for r in everyone.reps if r.user_id != rep.user_id)]:
        assert other.name not in text, f"a rep sees {other.name}'s figures"
    for team in everyone.teams:
        assert f">{team.name}<" not in page.locator("#rollup").inner_html()
    assert money(everyone.total.amount.p50) not in text


def test_the_controls_are_labelled_and_work_from_the_keyboard(page: Page, stored: LiveServer) -> None:
    page.set_default_timeout(SLOW_PAGE_MS)
    sign_in(page, stored, "manager")
    open_forecast(page, stored)
    for label in ("Period", "Method", "As of"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    for region in page.locator("[role=region]").all():  # scrollable tables are named by their caption
        caption = region.get_attribute("aria-labelledby")
        assert caption and page.locator(f"#{caption}").inner_text().strip(), caption
        assert region.get_attribute("tabindex") == "0"
    for canvas in page.locator("canvas").all():
        assert canvas.get_attribute("role") == "img" and canvas.get_attribute("aria-label")

    reached = []
    for _ in range(40):  # Tab from the top of the page to the submit button
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
        reached.append(focused)
        if focused == "Show forecast":
            break
    assert [f for f in ("period", "method", "as_of") if f in reached] == ["period", "method", "as_of"], (
        reached
    )
    assert reached[-1] == "Show forecast", reached
    page.locator("#method").focus()
    choice = page.evaluate("document.activeElement.value")
    page.keyboard.press("ArrowDown")
    changed = page.locator("#method").input_value()
    assert changed != choice
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    while page.evaluate("document.activeElement.id") == "as_of":  # the date's day, month and year fields
        page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Show forecast")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*method={changed}.*"))
    expect(page.get_by_label("Method", exact=True)).to_have_value(changed)


@pytest.mark.parametrize("role", ["admin", "rep"])
@pytest.mark.parametrize(("size", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_screenshots_of_the_forecast_page(
    chromium: Browser, stored: LiveServer, role: str, size: str, viewport: dict[str, int]
) -> None:
    with sized_page(chromium, viewport) as page:
        page.set_default_timeout(SLOW_PAGE_MS)
        sign_in(page, stored, role)
        open_forecast(page, stored)
        charts = drawn(page)
        assert len(charts) == (3 if role == "admin" else 2)
        for chart in charts.values():
            painted(chart)
        wider = overflow(page)
        assert wider <= 0, f"the forecast page is {wider}px wider than the screen at {size} size for a {role}"
        if size == "laptop":  # the roll-up's twelve columns fit a laptop without scrolling sideways
            clipped = page.locator("#rollup .table-wrap").evaluate_all(
                "wraps => wraps.map(w => w.scrollWidth - w.clientWidth)"
            )
            assert clipped and max(clipped) <= 0, clipped
        name = "forecast" if role == "admin" else "forecast-rep"
        path = SCREENSHOTS / f"{name}-{size}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 20_000
