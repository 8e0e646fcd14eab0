"""The pipeline summary (count, amount per currency, by stage) against an independent computation over every
row of the demo, for each role and filter, on SQLite and PostgreSQL; exact amounts with cents, several
currencies, deals without an amount and a stage the process no longer lists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.domain.access import Scope
from dealsight.errors import ValidationError
from dealsight.services.opportunities import OpportunityQuery, PipelineTotals, pipeline_totals
from dealsight.store import schema
from tests.test_opportunity_records import BACKENDS, STATUS, demo_clone, people, rows

pytestmark = pytest.mark.storage

Keep = Callable[[dict[str, Any]], bool]


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with demo_clone(request, request.param) as engine:
        yield engine


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with demo_clone(request, request.param) as engine:
        yield engine


def expected(engine: Engine, scope: Scope, keep: Keep) -> tuple[int, dict[str, Decimal], dict[str, Any]]:
    """Count, amount per currency and (count, amounts) per stage of the visible deals ``keep`` accepts,
    summed in Python from the raw rows."""
    count, amounts = 0, {}
    by_stage: dict[str, tuple[int, dict[str, Decimal]]] = {}
    for deal in rows(engine, schema.opportunities):
        if not scope.covers(deal["owner_id"]) or not keep(deal):
            continue
        count += 1
        stage_count, stage_amounts = by_stage.get(deal["stage"], (0, {}))
        if deal["amount"] is not None:
            amount = Decimal(str(deal["amount"])).quantize(Decimal("0.01"))
            amounts[deal["currency"]] = amounts.get(deal["currency"], Decimal(0)) + amount
            stage_amounts[deal["currency"]] = stage_amounts.get(deal["currency"], Decimal(0)) + amount
        by_stage[deal["stage"]] = (stage_count + 1, stage_amounts)
    return count, amounts, by_stage


def check(found: PipelineTotals, engine: Engine, scope: Scope, keep: Keep) -> int:
    count, amounts, by_stage = expected(engine, scope, keep)
    assert found.count == count
    assert dict(found.amounts) == amounts
    process = [s["name"] for s in sorted(rows(engine, schema.stages), key=lambda s: s["position"])]
    # every stage of the process in order (empty ones too), then the others by name
    assert [t.stage for t in found.by_stage] == process + sorted(set(by_stage) - set(process))
    for stage in found.by_stage:
        stage_count, stage_amounts = by_stage.get(stage.stage, (0, {}))
        assert (stage.count, dict(stage.amounts)) == (stage_count, stage_amounts), stage.stage
    return count


def test_totals_match_an_independent_computation_for_each_scope_and_filter(demo: Engine) -> None:
    who = people(demo)
    accounts = {a["id"]: a["name"] for a in rows(demo, schema.accounts)}
    users = rows(demo, schema.users)
    team = next(t for t in rows(demo, schema.teams) if t["parent_id"] is not None)
    members = {u["id"] for u in users if u["team_id"] == team["id"]}
    window = (date(2025, 1, 1), date(2025, 12, 31))
    cases: list[tuple[OpportunityQuery, Keep]] = [
        (OpportunityQuery(), lambda r: STATUS["open"](r["outcome"])),
        *(
            (OpportunityQuery(status=status), lambda r, s=status: STATUS[s](r["outcome"]))
            for status in ("won", "lost", "no_decision", "closed", "all")
        ),
        (OpportunityQuery(stage="proposal"), lambda r: r["stage"] == "Proposal"),
        (OpportunityQuery(status="all", team=team["id"]), lambda r: r["owner_id"] in members),
        (
            OpportunityQuery(owner_id=who.rep.user_id),
            lambda r: r["owner_id"] == who.rep.user_id and r["outcome"] is None,
        ),
        (
            OpportunityQuery(status="all", close_from=window[0], close_to=window[1]),
            lambda r: (
                r["expected_close_date"] is not None and window[0] <= r["expected_close_date"] <= window[1]
            ),
        ),
        (
            OpportunityQuery(status="all", q="nOrTh"),
            lambda r: (
                "north" in r["name"].lower() or "north" in (accounts.get(r["account_id"]) or "").lower()
            ),
        ),
    ]
    scopes = [who.rep_scope, who.manager_scope, who.vp_scope, who.executive_scope]
    for scope in scopes:
        for query, keep in cases:
            # paging and sorting are ignored: the summary covers every matching deal
            found = pipeline_totals(demo, scope, replace(query, limit=1, offset=3, sort="-amount"))
            assert found == pipeline_totals(demo, scope, query)
            check(found, demo, scope, keep)
    # the cases are not vacuous: the demo has deals in each, and scopes see different numbers
    assert all(check(pipeline_totals(demo, who.admin_scope, q), demo, who.admin_scope, k) for q, k in cases)
    rep, manager, _, everyone = (pipeline_totals(demo, s, OpportunityQuery()).count for s in scopes)
    assert 0 < rep < manager < everyone


def test_amounts_are_exact_per_currency_and_odd_stages_are_kept(fresh: Engine) -> None:
    who = people(fresh)
    opportunities = schema.opportunities
    ids = [r["id"] for r in rows(fresh, opportunities) if r["outcome"] is None][:7]
    changes = [
        {"amount": Decimal("0.10")},
        {"amount": Decimal("0.20")},
        {"amount": Decimal("1234567.89")},
        {"amount": Decimal("0.07"), "currency": "EUR"},
        {"amount": Decimal("99.99"), "currency": "EUR"},
        {"amount": None},
        {"stage": "Legacy stage"},
    ]
    with fresh.begin() as conn:
        for deal_id, values in zip(ids, changes, strict=True):
            conn.execute(sa.update(opportunities).where(opportunities.c.id == deal_id).values(**values))
    found = pipeline_totals(fresh, who.admin_scope, OpportunityQuery(status="all"))
    check(found, fresh, who.admin_scope, lambda r: True)
    assert found.amounts["EUR"] == Decimal("100.06")
    assert found.by_stage[-1].stage == "Legacy stage" and found.by_stage[-1].count == 1
    # the open pipeline follows the stage: an unknown stage is not open
    open_deals = pipeline_totals(fresh, who.admin_scope, OpportunityQuery())
    assert all(stage.stage != "Legacy stage" for stage in open_deals.by_stage)


def test_bad_filters_are_named(demo: Engine) -> None:
    who = people(demo)
    with pytest.raises(ValidationError) as raised:
        pipeline_totals(demo, who.admin_scope, OpportunityQuery(team=999_999))
    assert [p.field for p in raised.value.problems] == ["team"]
    with pytest.raises(ValidationError) as raised:
        pipeline_totals(demo, who.admin_scope, OpportunityQuery(stage="Won-ish"))
    assert [p.field for p in raised.value.problems] == ["stage"]
