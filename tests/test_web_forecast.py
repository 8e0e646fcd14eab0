"""The forecast page (``/forecast``): sign-in, what each role sees (a rep only their own figures), the
fan chart against its table once snapshots are stored, the waterfall adding up, the backtest section,
too little history said plainly, and the nav link."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import pytest

from dealsight.services.backtests import run_backtest
from dealsight.services.forecasts import forecast_period
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
    before = clients["admin"].get("/forecast" + FAST).text
    assert "No forecast of this period is stored yet" in before
    forecast_period(demo.engine, demo.scope("admin"), method="competing_risks", store=True)
    html = clients["admin"].get("/forecast" + FAST).text
    fan = charts(html)["fan"]
    assert fan["kind"] == "lines"
    p10, p90, p50 = (
        next(s["values"] for s in fan["series"] if s["label"].startswith(k)) for k in ("P10", "P90", "P50")
    )
    assert all(a <= b <= c for a, b, c in zip(p10, p50, p90, strict=True))
    assert len(table_rows(html, "fan-table")) == len(fan["labels"]) >= 1
    rep_html = clients["rep"].get("/forecast" + FAST).text
    assert "fan-caption" in rep_html, "a rep's own stored forecast draws their fan chart"


def test_the_waterfall_adds_up(clients: dict[str, Browser]) -> None:
    chart = charts(clients["manager"].get("/forecast" + FAST).text)["waterfall"]
    steps = chart["steps"]
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
