"""The analytics page (``/analytics``): what each role sees against the services called directly, the
charts' data against their tables, filters, bad filters, too little data, htmx fragments."""

from __future__ import annotations

import itertools
import json
import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest

from dealsight.analytics.pipeline_flow import VelocityRow, VelocityTerms
from dealsight.domain.clock import utc_now
from dealsight.services.pipeline_analytics import (
    DealFilters,
    changes_report,
    funnel_report,
    outcome_report,
    velocity_report,
)
from dealsight.web.analytics import term_effects
from dealsight.web.formatting import money
from tests import test_web_fixtures
from tests.test_web_fixtures import Browser, Demo, text_of

demo = test_web_fixtures.demo
ROLES = ("admin", "executive", "manager", "rep")
CHART = re.compile(r"<figure class=\"chart analytics-chart\" id=\"([^\"]+)\">.*?data-chart='([^']*)'", re.S)
TODAY = utc_now().date()


@pytest.fixture(scope="module")
def clients(demo: Demo) -> dict[str, Browser]:
    return {role: demo.browser(role) for role in ROLES}


def charts(html: str) -> dict[str, dict[str, Any]]:
    """Each chart's data by the id of its figure."""
    return {figure: json.loads(unescape(data)) for figure, data in CHART.findall(html)}


def by_id(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found, f"no element #{element_id}"
    return unescape(found.group(1)).strip()


def section(html: str, name: str) -> str:
    found = re.search(rf'<section [^>]*id="{name}".*?</section>', html, re.S)
    assert found, f"no section #{name}"
    return found.group(0)


def options(html: str, name: str) -> list[str]:
    found = re.search(rf'<select id="{name}" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert found, f"no select {name}"
    return [unescape(value) for value in re.findall(r'<option value="([^"]*)"', found.group(1))]


def page(client: Browser, query: str = "", status: int = 200, headers: dict[str, str] | None = None) -> str:
    response = client.get(f"/analytics{query}", headers=headers)
    assert response.status_code == status, text_of(response.text)[:800]
    return str(response.text)


# what each role sees ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_the_figures_of_its_own_view(
    demo: Demo, clients: dict[str, Browser], role: str
) -> None:
    html = page(clients[role])
    scope = demo.scope(role)
    velocity = velocity_report(demo.engine, scope)
    funnel = funnel_report(demo.engine, scope)
    outcomes = outcome_report(demo.engine, scope)
    row = velocity.overall[0]
    assert by_id(html, "velocity-1-value") == money(row.current.velocity_per_day, row.currency)
    assert by_id(html, "outcomes-closed-1") == f"{outcomes.total[0].closed:,}"
    assert f"The {funnel.deals:,} deals that existed on" in text_of(html)
    drawn = charts(html)
    assert drawn["funnel-chart"]["series"][0]["values"] == [s.reached for s in funnel.stages] + [funnel.won]
    assert drawn["funnel-chart"]["labels"] == [s.stage for s in funnel.stages] + ["Won"]
    assert {"funnel-chart", "durations-chart", "outcomes-chart", "changes-1-chart"} <= set(drawn)
    heading = {"rep": "My pipeline analytics", "manager": "My team's pipeline analytics"}
    assert f"<h1>{heading.get(role, 'Pipeline analytics')}</h1>" in html
    assert '<a href="/analytics" aria-current="page">Analytics</a>' in html


def test_a_reps_funnel_counts_their_deals_only_and_they_have_no_team_or_owner_filter(
    demo: Demo, clients: dict[str, Browser]
) -> None:
    html = page(clients["rep"])
    mine = funnel_report(demo.engine, demo.scope("rep")).deals
    everyone = funnel_report(demo.engine, demo.scope("admin")).deals
    assert mine < everyone
    assert charts(html)["funnel-chart"]["series"][0]["values"][0] == mine
    assert 'name="team"' not in html and 'name="owner"' not in html
    owners = {
        row.value for row in outcome_report(demo.engine, demo.scope("rep"), window_days=365).by["owner"]
    }
    assert owners == {demo.principals["rep"].name}


def test_a_manager_is_offered_only_the_people_and_teams_they_can_see(
    demo: Demo, clients: dict[str, Browser]
) -> None:
    html = page(clients["manager"])
    scope = demo.scope("manager")
    offered = set(options(html, "owner")) - {""}
    assert demo.principals["rep"].name in offered
    assert demo.principals["admin"].name not in offered
    everyone = set(options(page(clients["admin"]), "owner")) - {""}
    assert offered < everyone
    for name in everyone - offered:
        response = clients["manager"].get("/analytics", params={"owner": name})
        assert response.status_code == 400
        assert f"no deal owner named {name!r} among those you can see" in text_of(response.text)
    assert scope.owner_ids is not None


# filters ---------------------------------------------------------------------------------------------------
def test_filters_narrow_the_figures_as_the_service_does(demo: Demo, clients: dict[str, Browser]) -> None:
    rep = demo.principals["rep"].name
    scope = demo.scope("manager")
    html = page(clients["manager"], f"?owner={rep.upper()}&window=1y")
    funnel = funnel_report(demo.engine, scope, filters=DealFilters(owner=rep))
    outcomes = outcome_report(demo.engine, scope, window_days=365, filters=DealFilters(owner=rep))
    assert charts(html)["funnel-chart"]["series"][0]["values"][0] == funnel.deals
    assert by_id(html, "outcomes-closed-1") == f"{outcomes.total[0].closed:,}"
    assert f'<option value="{rep}" selected>' in html
    segment = page(clients["admin"], "?segment=smb&breakdown=source")
    smb = outcome_report(demo.engine, demo.scope("admin"), filters=DealFilters(segment="smb"))
    table = section(segment, "outcomes")
    assert "Closed deals by source" in table
    shown = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num">([\d,]+)</td>', table)
    assert [(unescape(name), int(n.replace(",", ""))) for name, n in shown] == [
        (row.value, row.closed) for row in smb.by["source"]
    ]


def test_velocity_by_team_lists_each_team(demo: Demo, clients: dict[str, Browser]) -> None:
    html = page(clients["executive"], "?by=team")
    report = velocity_report(demo.engine, demo.scope("executive"), by="team")
    groups = section(html, "velocity")
    assert "By team" in groups
    assert charts(html)["velocity-groups-chart"]["labels"] == [row.group for row in report.groups]
    for row in report.groups:
        assert f"{money(row.current.velocity_per_day, row.currency)}</td>" in groups


def test_the_waterfall_covers_the_window_and_chains_its_steps(
    demo: Demo, clients: dict[str, Browser]
) -> None:
    as_of = TODAY - timedelta(days=30)
    html = page(clients["manager"], f"?as_of={as_of.isoformat()}&window=180d")
    changes = changes_report(
        demo.engine, demo.scope("manager"), from_date=as_of - timedelta(days=180), to_date=as_of
    )
    fall = changes.waterfalls[0]
    chart = charts(html)["changes-1-chart"]
    steps = chart["steps"]
    assert chart["kind"] == "waterfall" and chart["currency"] == fall.currency
    assert steps[0] == [0.0, fall.start_amount] and steps[-1] == [0.0, fall.end_amount]
    assert steps[1][0] == pytest.approx(fall.start_amount)
    for before, after in itertools.pairwise(steps[1:-1]):
        assert after[0] == pytest.approx(before[1])  # each step starts where the last one ended
    assert steps[-2][1] == pytest.approx(fall.end_amount)
    moved = [step for step in fall.steps if step.deals and step.delta]
    assert len(steps) == len(moved) + 2
    table = section(html, "changes")
    assert f"Open on {as_of.day} {as_of:%b %Y}" in text_of(table)
    for step in fall.steps:
        if step.deals:
            assert f"{'+' if step.delta > 0 else ''}{money(step.delta, fall.currency)}</td>" in table


# bad filters, too little data ------------------------------------------------------------------------------
def test_bad_filters_are_named_next_to_their_field_and_left_out(
    demo: Demo, clients: dict[str, Browser]
) -> None:
    html = page(clients["manager"], "?window=soon&as_of=31/12/2026&team=Nowhere&by=colour", status=400)
    assert 'id="window-error"' in html and 'id="as_of-error"' in html and 'id="team-error"' in html
    assert 'id="by-error"' in html
    assert 'aria-invalid="true"' in html
    text = text_of(html)
    assert "'soon': expected a length such as 90d, 12w, 3m or 1y" in text
    assert "no team named 'Nowhere' among those you can see" in text
    funnel = funnel_report(demo.engine, demo.scope("manager"))
    assert charts(html)["funnel-chart"]["series"][0]["values"][0] == funnel.deals  # without the bad team
    assert '<option value="90d" selected>' in html  # the window used is shown


def test_a_day_before_any_history_says_so_in_each_section(clients: dict[str, Browser]) -> None:
    html = page(clients["admin"], "?as_of=2001-01-31")
    assert not charts(html)
    expected = {
        "velocity": "no deals existed by 2001-01-31",
        "funnel": "no deals created",
        "durations": "no deal had left a stage",
        "outcomes": "no deals closed from 2000-11-03 to 2001-01-31",
        "changes": "no deal was open at 2000-11-02 or 2001-01-31",
    }
    for name, message in expected.items():
        assert message in text_of(section(html, name)), name


def test_htmx_gets_the_sections_alone(demo: Demo, clients: dict[str, Browser]) -> None:
    html = page(clients["manager"], "?window=1y", headers={"HX-Request": "true"})
    assert "<html" not in html and 'id="filters"' not in html
    assert 'id="results-status" hx-swap-oob="innerHTML"' in html
    outcomes = outcome_report(demo.engine, demo.scope("manager"), window_days=365)
    assert by_id(html, "outcomes-closed-1") == f"{outcomes.total[0].closed:,}"
    assert "data-chart=" in html and "<canvas id=" not in html  # no id: htmx would copy its style


def test_signing_in_is_required(demo: Demo) -> None:
    response = demo.browser().get("/analytics?window=1y")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fanalytics%3Fwindow%3D1y"


# velocity's terms ------------------------------------------------------------------------------------------
def _terms(qualified: int, average: float | None, rate: float | None, cycle: float | None) -> VelocityTerms:
    velocity = None
    if average is not None and rate is not None and cycle:
        velocity = qualified * average * rate / cycle
    return VelocityTerms(qualified, average, rate, cycle, velocity, 3, 5, 2, 10, 0.0, 0, 0, 0)


def test_the_terms_effects_multiply_to_the_change_of_velocity() -> None:
    now, before = _terms(12, 30_000.0, 0.3, 60.0), _terms(10, 40_000.0, 0.25, 80.0)
    effects = dict(term_effects(VelocityRow("(all)", "USD", now, before, None)))
    assert effects["Qualified deals"] == pytest.approx(0.2)
    assert effects["Average won"] == pytest.approx(-0.25)
    assert effects["Win rate"] == pytest.approx(0.2)
    assert effects["Cycle length"] == pytest.approx(80 / 60 - 1)  # shorter is faster
    product = 1.0
    for effect in effects.values():
        assert effect is not None
        product *= 1 + effect
    assert now.velocity_per_day is not None and before.velocity_per_day is not None
    assert product == pytest.approx(now.velocity_per_day / before.velocity_per_day)


def test_an_unknown_term_has_no_effect_rather_than_an_invented_one() -> None:
    now, before = _terms(12, None, None, None), _terms(0, 40_000.0, 0.25, 80.0)
    effects = dict(term_effects(VelocityRow("(all)", "USD", now, before, None)))
    assert effects == {"Qualified deals": None, "Average won": None, "Win rate": None, "Cycle length": None}
