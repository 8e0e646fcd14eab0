"""Renewals as a use case, through the service, the API (``/api/v1/renewals``), the CLI and the page, on
the shared demo organisation on SQLite and PostgreSQL: each role sees the renewals of the accounts it may
see; ARR at risk is ARR x (1 - chance), largest first; reasons say what is missing; nothing after the
as-of day moves a chance; bad input gets the API's one error shape; the page and its booked vs
delivered chart."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from dealsight.cli.main import app
from dealsight.domain.clock import utc_now
from dealsight.services.records import account_visible
from dealsight.services.renewal_forecasts import renewal_forecast
from dealsight.services.renewals import upcoming_renewals
from dealsight.store.schema import accounts, value_evidence
from tests import api_fixtures
from tests.api_fixtures import ROLES, World

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world
pg_world = api_fixtures.pg_world
world = api_fixtures.world


def _visible(world: World, role: str) -> set[int]:
    with world.engine.connect() as conn:
        return set(conn.execute(sa.select(accounts.c.id).where(account_visible(world.scope(role)))).scalars())


def test_each_role_sees_the_renewals_of_the_accounts_it_may_see(world: World) -> None:
    everything = upcoming_renewals(world.engine, world.scope("admin"))
    assert everything.renewals, "the demo has upcoming renewals"
    counts = {}
    for role in ROLES:
        outlook = upcoming_renewals(world.engine, world.scope(role))
        assert {r.account_id for r in outlook.renewals} <= _visible(world, role)
        response = world.call(role, "GET", "/renewals", params={"limit": 500})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(outlook.renewals)
        assert [i["subscription_id"] for i in body["items"]] == [r.subscription_id for r in outlook.renewals][
            :500
        ]
        counts[role] = body["total"]
    assert counts["admin"] == counts["executive"] == len(everything.renewals)
    assert 0 < counts["rep"] < counts["manager"] < counts["admin"]
    assert world.call(None, "GET", "/renewals").status_code == 401


def test_at_risk_is_arr_times_the_chance_of_losing_it_largest_first_with_reasons(world: World) -> None:
    outlook = upcoming_renewals(world.engine, world.scope("admin"), within_days=365)
    at_risk = [r.arr_at_risk for r in outlook.renewals]
    assert at_risk == sorted(at_risk, reverse=True)
    for r in outlook.renewals:
        assert 0 < r.renewal_probability < 1
        assert r.arr_at_risk == pytest.approx(r.arr * (1 - r.renewal_probability))
        assert 0 <= r.days_to_renewal <= 365
        if r.signals["days_since_value"] is None:
            assert r.reasons[0].reason == "no value confirmed by the customer yet"
        groups = [reason.group for reason in r.reasons]
        order = ["value", "riq", "sponsor", "usage", "support"]
        assert groups == sorted(groups, key=order.index)  # in the order of weight
    assert outlook.arr_at_risk == pytest.approx(sum(at_risk))


def test_the_api_filters_pages_and_refuses_bad_input_in_one_shape(world: World) -> None:
    def get(**params: Any) -> Any:
        return world.call("admin", "GET", "/renewals", params=params)

    first, second = get(limit=3).json(), get(limit=3, offset=3).json()
    assert first["total"] == second["total"] and len(first["items"]) == 3
    assert not {i["subscription_id"] for i in first["items"]} & {
        i["subscription_id"] for i in second["items"]
    }
    risky = get(max_probability=0.7, limit=500).json()
    assert risky["items"] and all(i["renewal_probability"] <= 0.7 for i in risky["items"])
    soonest = [i["renewal_date"] for i in get(sort="renewal_date", limit=50).json()["items"]]
    assert soonest == sorted(soonest)
    tomorrow = (utc_now().date() + timedelta(days=1)).isoformat()
    for params, field in (({"as_of": tomorrow}, "as_of"), ({"within_days": 0}, "within_days"),
                          ({"sort": "chance"}, "sort"), ({"nonsense": 1}, "nonsense")):  # fmt: skip
        response = get(**params)
        assert response.status_code == 422, response.text
        error = response.json()
        assert error["status"] == 422 and error["problems"][0]["field"] == f"query.{field}", error


def test_nothing_after_the_as_of_day_moves_a_chance(world: World) -> None:
    day = utc_now().date() - timedelta(days=120)
    before = upcoming_renewals(world.engine, world.scope("admin"), as_of=day)
    assert before.renewals
    target = before.renewals[0]
    with world.engine.begin() as conn:
        added = conn.execute(
            value_evidence.insert()
            .values(
                account_id=target.account_id,
                metric="after the day",
                monetary_value=1e7,
                currency="USD",
                confirmer_level="executive",
                confirmed_on=day + timedelta(days=1),
            )
            .returning(value_evidence.c.id)
        ).scalar_one()
    try:
        after = upcoming_renewals(world.engine, world.scope("admin"), as_of=day)
        today = upcoming_renewals(world.engine, world.scope("admin"), within_days=3660)
    finally:
        with world.engine.begin() as conn:
            conn.execute(value_evidence.delete().where(value_evidence.c.id == added))
    assert [(r.subscription_id, r.renewal_probability) for r in after.renewals] == [
        (r.subscription_id, r.renewal_probability) for r in before.renewals
    ]
    assert [r.signals for r in after.renewals] == [r.signals for r in before.renewals]
    assert today.renewals  # the new value is seen from the next day on
    seen = [r for r in today.renewals if r.account_id == target.account_id]
    assert not seen or all(r.signals["value_ratio_12m"] and r.signals["value_ratio_12m"] > 1 for r in seen)


def test_cli_lists_and_evaluates(sqlite_world: World) -> None:
    url = str(sqlite_world.engine.url)
    runner = CliRunner()
    listed = runner.invoke(app, ["renewals", "--within", "1y", "--limit", "5", "--json", "--database", url])
    assert listed.exit_code == 0, listed.output
    body = json.loads(listed.stdout)
    assert len(body["items"]) == 5 and body["total"] >= 5 and body["within_days"] == 365
    text = runner.invoke(app, ["renewals", "--within", "90d", "--limit", "2", "--database", url])
    assert text.exit_code == 0 and "at risk" in text.stdout and "next:" in text.stdout
    bad = runner.invoke(app, ["renewals", "--within", "soon", "--database", url])
    assert bad.exit_code != 0
    evaluated = runner.invoke(app, ["renewals", "evaluate", "--json", "--database", url])
    assert evaluated.exit_code == 0, evaluated.output
    results = json.loads(evaluated.stdout)["results"]
    assert set(results) == {"model", "usage_only", "usage_and_support", "logistic_regression", "base_rate"}
    assert json.loads(evaluated.stdout)["split"].startswith("time-ordered")


CHART = re.compile(r"data-chart='([^']*)'")


@pytest.mark.parametrize("role", ROLES)
def test_the_page_shows_each_role_its_renewals_and_booked_vs_delivered(
    sqlite_world: World, role: str
) -> None:
    from tests.test_web_fixtures import Browser

    browser = Browser(sqlite_world.client.app, base_url="http://localhost", follow_redirects=False)
    email = {"admin": "admin@demo.dealsight.test", "executive": "executive@demo.dealsight.test"}.get(role)
    if email is None:
        with sqlite_world.engine.connect() as conn:
            email = conn.execute(
                sa.text("SELECT email FROM users WHERE id = :id"), {"id": sqlite_world.users[role]}
            ).scalar_one()
    assert browser.sign_in(email).status_code == 303
    html = browser.get("/renewals").text
    outlook = upcoming_renewals(sqlite_world.engine, sqlite_world.scope(role))
    assert f'<dd id="renewal-count">{len(outlook.renewals):,}</dd>' in html
    assert '<a href="/renewals" aria-current="page">Renewals</a>' in html
    chart = json.loads(unescape(CHART.findall(html)[0]))
    assert [s["label"] for s in chart["series"]] == ["ARR booked", "Value confirmed (12 months)"]
    assert len(chart["labels"]) == 8 and max(chart["series"][0]["values"]) > 0
    if outlook.renewals:
        assert outlook.renewals[0].account_name.replace("&", "&amp;") in html
    forecast = renewal_forecast(sqlite_world.engine, sqlite_world.scope(role), quarters=4)
    rows = re.findall(r'<tr><th scope="row">(\d{4}-Q\d)</th><td class="num">([\d,]+)</td>', html)
    assert rows == [(q.quarter, f"{q.renewals:,}") for q in forecast.quarters]
