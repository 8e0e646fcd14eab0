"""The demo's account plans and needs survey: drawn from streams of their own (the deals and people do not
move), valid by the survey rules, and with the mechanics planted: each internal function's planted wrong
belief is its largest perception gap in the needs analysis, customers' weights follow their segment, and
the plans show uncovered goals, unaligned deals and relationship gaps."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dealsight.demo.account_plans import account_plan_tables
from dealsight.demo.generator import generate_organisation
from dealsight.demo.surveys import BELIEFS, SEGMENT_WEIGHTS, functions_of, survey_tables
from dealsight.domain.surveys import Function, points_problems
from dealsight.services.account_plans import account_plan
from dealsight.services.surveys import find_survey, survey_analysis
from dealsight.store.schema import account_goals, accounts
from tests import test_web_fixtures
from tests.test_web_fixtures import Demo

demo = test_web_fixtures.demo
TODAY = date(2026, 6, 30)


def test_the_survey_and_plans_move_nothing_else_and_repeat() -> None:
    org = generate_organisation(4, 0.1, TODAY)
    before = copy.deepcopy(org.tables)
    first = survey_tables(4, TODAY, org.tables)
    plans = account_plan_tables(4, TODAY, org.tables | first)
    assert org.tables == before  # nothing of the organisation changed
    assert first["users"][: len(before["users"])] == before["users"]  # colleagues are added after
    colleagues = first["users"][len(before["users"]) :]
    assert [u["role"] for u in colleagues] == ["executive"] * 6 and all(
        u["team_id"] is None for u in colleagues
    )
    functions = functions_of(first["users"])
    assert sorted(functions[u["id"]].value for u in colleagues) == ["marketing"] * 3 + ["service"] * 3
    again = generate_organisation(4, 0.1, TODAY)
    assert survey_tables(4, TODAY, again.tables) == first
    assert account_plan_tables(4, TODAY, again.tables | first) == plans
    assert survey_tables(5, TODAY, again.tables)["survey_points"] != first["survey_points"]


def test_the_survey_keeps_the_survey_rules() -> None:
    org = generate_organisation(4, 0.1, TODAY)
    tables = survey_tables(4, TODAY, org.tables)
    contacts = {c["id"]: c for c in org.tables["contacts"]}
    segments = {a["id"]: a["segment"] for a in org.tables["accounts"]}
    points: dict[int, dict[str, Decimal]] = {}
    for row in tables["survey_points"]:
        points.setdefault(row["respondent_id"], {})[row["need"]] = Decimal(str(row["points"]))
    assert all(points_problems(given) == [] for given in points.values())
    assert all(0 <= r["rating"] <= 10 and r["rating"] == int(r["rating"]) for r in tables["survey_ratings"])
    for person in tables["survey_respondents"]:
        if person["respondent_type"] == "customer":
            assert contacts[person["contact_id"]]["account_id"] == person["account_id"]
            assert person["segment"] == segments[person["account_id"]] and person["function"] is None
        else:
            assert person["function"] in {f.value for f in Function} and person["contact_id"] is None
    keys = [p["respondent_key"] for p in tables["survey_respondents"]]
    assert len(keys) == len(set(keys))


def test_each_function_is_most_wrong_where_its_belief_was_planted(demo: Demo) -> None:
    survey = find_survey(demo.engine)
    assert survey.competitors and survey.customers >= 40 and survey.internal >= 15
    analysis = survey_analysis(demo.engine, survey.id, resamples=300).analysis
    gaps = {gap.function: gap for gap in analysis.gaps}
    assert set(gaps) == {f.value for f in BELIEFS}
    for function, need in BELIEFS.items():
        worst = gaps[function.value].most_wrong[0]
        assert worst.need == need and worst.gap is not None and worst.gap > 15 and worst.distinguishable, (
            worst
        )
    by_segment = {
        w.group: w for w in survey_analysis(demo.engine, survey.id, resamples=100).analysis.breakdown
    }
    for segment, weights in SEGMENT_WEIGHTS.items():  # customers' weights follow their segment's
        found = {n.need: n.points for n in by_segment[segment].needs}
        assert max(found, key=lambda n: found[n] or 0) == max(weights, key=lambda n: weights[n])


def test_the_plans_show_what_a_plan_is_for(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        planned = list(conn.execute(sa.select(account_goals.c.account_id).distinct()).scalars())
        owners = set(conn.execute(sa.select(accounts.c.owner_id).where(accounts.c.id.in_(planned))).scalars())
    assert demo.principals["rep"].user_id in owners and len(planned) >= 21  # every rep's largest account
    plans = [account_plan(demo.engine, demo.scope("admin"), account_id) for account_id in planned]
    assert all(2 <= len(plan.goals) <= 4 for plan in plans)
    assert sum(len(plan.uncovered_goals) for plan in plans) > 0
    assert sum(len(plan.unaligned_deals) for plan in plans) > 0
    assert sum(1 for plan in plans for line in plan.goals if line.deals) > 0
    kinds = {gap.kind.value for plan in plans for gap in plan.gaps}
    assert {"goal_owner_uncovered", "goal_without_executive"} <= kinds
    covering = {user.id for plan in plans for user in plan.team}
    assert demo.principals["rep"].user_id in covering


@pytest.mark.parametrize("scale", [0.05])
def test_a_tiny_demo_still_has_plans_and_a_survey(scale: float) -> None:
    org = generate_organisation(2, scale, TODAY)
    tables = org.tables | survey_tables(2, TODAY, org.tables)
    plans = account_plan_tables(2, TODAY, tables)
    assert plans["account_goals"] and tables["survey_respondents"]
