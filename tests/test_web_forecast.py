"""The forecast page (``/forecast``): sign-in, what each role sees (a rep only their own figures), the
fan chart against its table (the first load stores the day's forecast), the movement loaded after the page
(``/forecast/movement``, its waterfall adding up; a page of its own without htmx), the backtest section,
too little history said plainly, the nav link; a second load computes nothing, and a deal changed through
the product shows in the next load."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa

from dealsight.domain.access import Scope
from dealsight.services import forecasts
from dealsight.services.backtests import run_backtest
from dealsight.services.forecast_cache import forget
from dealsight.services.forecasts import forecast_movement_report, forecast_period
from dealsight.services.opportunities import update_opportunity
from dealsight.store.schema import forecast_snapshots, opportunities
from tests import test_web_fixtures
from tests.test_web_fixtures import Browser, Demo, text_of

demo = test_web_fixtures.demo
ROLES = ("admin", "executive", "manager", "rep")
FAST = "?method=competing_risks"
CHART = re.compile(r"<figcaption id=\"([a-z]+)-caption\">.*?data-chart='([^']*)'", re.S)


@pytest.fixture(scope="module")
def clients(demo: Demo) -> dict[str, Browser]:
    return {role: demo.browser(role) for role in ROLES}


def charts(html: str) -> dict[str, dict[str, Any]]:
    return {name: json.loads(unescape(data)) for name, data in CHART.findall(html)}


def table_rows(html: str, table_id: str) -> list[str]:
    found = re.search(rf'<table [^>]*id="{table_id}".*?</table>', html, re.S)
    assert found, f"no table #{table_id}"
    body = re.search(r"<tbody>(.*?)</tbody>", found.group(0), re.S)
    assert body, f"no body in #{table_id}"
    return [text_of(row) for row in re.findall(r"<tr[^>]*>.*?</tr>", body.group(1), re.S)]


def test_signed_out_visitors_are_sent_to_sign_in(demo: Demo) -> None:
    response = demo.browser().get("/forecast", follow_redirects=False)
    assert response.status_code in (302, 303, 401)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_own_rows(demo: Demo, clients: dict[str, Browser], role: str) -> None:
    response = clients[role].get("/forecast" + FAST)
    assert response.status_code == 200, response.text
    html = response.text
    report = forecast_period(demo.engine, demo.scope(role), method="competing_risks", store=False)
    rows = table_rows(html, "reps-table")
    assert len(rows) == len(report.reps)
    assert all(row.startswith(r.name) for r, row in zip(report.reps, rows, strict=True))
    if role == "rep":
        assert len(rows) == 1 and 'id="teams-table"' not in html
    assert 'aria-current="page">Forecast' in html


def test_fan_chart_follows_the_stored_snapshots(demo: Demo, clients: dict[str, Browser]) -> None:
    html = clients["admin"].get("/forecast" + FAST).text
    fan = charts(html)["fan"]
    assert fan["kind"] == "lines"
    p10, p90, p50 = (
        next(s["values"] for s in fan["series"] if s["label"].startswith(k)) for k in ("P10", "P90", "P50")
    )
    assert all(a <= b <= c for a, b, c in zip(p10, p50, p90, strict=True))
    assert len(table_rows(html, "fan-table")) == len(fan["labels"]) >= 1, "the first load stored the day"
    rep_html = clients["rep"].get("/forecast" + FAST).text
    assert "fan-caption" in rep_html, "a rep's own stored forecast draws their fan chart"


def test_the_movement_is_loaded_after_the_page(demo: Demo, clients: dict[str, Browser]) -> None:
    html = clients["manager"].get("/forecast" + FAST).text
    url = "/forecast/movement?period=quarter&amp;method=competing_risks"
    assert f'hx-get="{url}"' in html and "waterfall" not in charts(html)
    fragment = clients["manager"].get(unescape(url), headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and "waterfall" in charts(fragment)
    report = forecast_movement_report(demo.engine, demo.scope("manager"), method="competing_risks")
    assert len(table_rows(fragment, "movement-table")) == len(report.steps) + 2
    own_page = clients["manager"].get(unescape(url)).text
    assert "<html" in own_page and 'href="/forecast?period=quarter&amp;method=competing_risks"' in own_page


def test_the_waterfall_adds_up(clients: dict[str, Browser]) -> None:
    fragment = clients["manager"].get("/forecast/movement" + FAST, headers={"HX-Request": "true"}).text
    steps = charts(fragment)["waterfall"]["steps"]
    assert steps[0][0] == 0 and steps[-1][0] == 0
    assert abs(steps[-2][1] - steps[-1][1]) < 0.05, "the last step ends at the end figure"


def test_backtest_section(demo: Demo, clients: dict[str, Browser]) -> None:
    assert "dealsight backtest" in clients["rep"].get("/forecast" + FAST).text
    run_backtest(demo.engine, methods=("competing_risks", "stage_weighted"), every_days=28)
    admin = clients["admin"].get("/forecast" + FAST).text
    assert len(table_rows(admin, "backtest-amount")) == 2
    assert "backtest" in charts(admin)
    rep = clients["rep"].get("/forecast" + FAST).text
    assert len(table_rows(rep, "backtest-count")) == 2
    assert "backtest" not in charts(rep), "per-date company figures are for full sight only"


def test_too_little_history_is_said_plainly(clients: dict[str, Browser]) -> None:
    html = clients["admin"].get("/forecast?as_of=1990-01-01&method=competing_risks").text
    assert "too thin" in text_of(html)


def test_a_second_load_computes_nothing_and_a_change_shows_in_the_next(
    demo: Demo, clients: dict[str, Browser], monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[object] = []
    original = forecasts.load_deals
    monkeypatch.setattr(forecasts, "load_deals", lambda *a: loads.append(a) or original(*a))
    forget()
    first = clients["admin"].get("/forecast" + FAST).text
    again = clients["admin"].get("/forecast" + FAST).text
    for role in ("manager", "rep"):
        assert clients[role].get("/forecast" + FAST).status_code == 200
    assert loads == [], "the earlier tests stored today's forecast: every load above read it"
    assert table_rows(again, "reps-table") == table_rows(first, "reps-table")
    with demo.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(forecast_snapshots)).scalar_one()
        o = opportunities
        deal = conn.execute(
            sa.select(o.c.id, o.c.amount).where(o.c.outcome.is_(None)).order_by(o.c.amount.desc())
        ).first()
    assert deal is not None
    admin = demo.principals["admin"]
    update_opportunity(demo.engine, admin, Scope(None, True), deal.id, {"stage": "Closed Won"}, "api")
    changed = clients["admin"].get("/forecast" + FAST).text
    assert len(loads) == 1, "the change made the next load compute again"
    expected = forecast_period(demo.engine, demo.scope("admin"), method="competing_risks", store=False)
    assert _won(changed) == _won(first) + 1 == expected.total.won_count
    with demo.engine.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(forecast_snapshots)).scalar_one()
    assert after == rows, "the new forecast replaced the day's stored one"


def _won(html: str) -> int:
    found = re.search(r"Won so far <strong>[^<]*</strong> \(([\d,]+) deals\)", html)
    assert found, "the summary says how many deals were won"
    return int(found.group(1).replace(",", ""))
