"""The deal intelligence API by role: a deal's insight, the deals at risk, the win model versions.

Insights are written here straight into the store (as a scoring run would) for the rep's deal, a deal of
the rep's team (the manager's view) and another team's deal, and removed afterwards so the shared demo
stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa

from dealsight.store.insights import replace_insights, save_model
from dealsight.store.schema import deal_insights, deal_score_history, opportunities, win_models
from tests import api_fixtures
from tests.api_fixtures import ROLES, World

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world
SEES = {
    "own": {"rep": 200, "manager": 200, "executive": 200, "admin": 200},
    "team": {"rep": 404, "manager": 200, "executive": 200, "admin": 200},
    "other": {"rep": 404, "manager": 404, "executive": 200, "admin": 200},
}
SCORED_AT = datetime(2026, 11, 20, 6, 0)


def _insight(deal_id: int, model_id: int, p: float, severity: str) -> dict[str, object]:
    risk = {"rule_id": f"r-{severity}", "severity": severity, "risk": f"{severity} risk", "action": "call"}
    return {
        "opportunity_id": deal_id,
        "scored_at": SCORED_AT,
        "model_id": model_id,
        "win_probability": p,
        "no_decision_probability": 0.1,
        "stage_win_rate": 0.3,
        "crm_probability": 0.5,
        "naive_bayes_probability": 0.35,
        "health": "at_risk" if severity == "high" else "watch",
        "risk_count": 1,
        "top_severity": severity,
        "top_risk": f"{severity} risk",
        "risks": [risk],
        "factors": {
            "for": [
                {
                    "feature": "problem_recorded",
                    "label": "business problem recorded",
                    "value": 1.0,
                    "weight": 0.6,
                }
            ],
            "against": [
                {"feature": "stage_age_ratio", "label": "days in stage", "value": 2.5, "weight": -0.4}
            ],
        },
        "indicators": {"stage": "Proposal", "stage_age_days": 48.0},
    }


def _open_deals(world: World) -> dict[str, int]:
    """An open deal of each kind: the rep's own (made here: the small demo's rep has none open), one of the
    rep's team and one of another team."""
    o = opportunities
    rep, manager = world.scope("rep"), world.scope("manager")
    team = sorted((manager.owner_ids or frozenset()) - (rep.owner_ids or frozenset()))
    open_stage = o.c.outcome.is_(None) & o.c.closed_date.is_(None)
    with world.engine.begin() as conn:
        own = conn.execute(
            o.insert().values(name="Insight test deal", stage="Proposal", owner_id=world.users["rep"])
        ).inserted_primary_key[0]
        picked = {"own": int(own)}
        for kind, where in (
            ("team", o.c.owner_id.in_(team)),
            ("other", o.c.owner_id.not_in(sorted(manager.owner_ids or ()))),
        ):
            picked[kind] = int(
                conn.execute(
                    sa.select(o.c.id).where(where, open_stage).order_by(o.c.id).limit(1)
                ).scalar_one()
            )
    return picked


@pytest.fixture(scope="module")
def scored(sqlite_world: World) -> Iterator[World]:
    ids = {f"{kind}_deal": deal for kind, deal in _open_deals(sqlite_world).items()}
    sqlite_world.ids.update({f"insight_{key}": value for key, value in ids.items()})
    with sqlite_world.engine.begin() as conn:
        model_id = save_model(
            conn,
            {
                "trained_at": SCORED_AT,
                "trained_as_of": SCORED_AT,
                "kind": "gradient_boosting",
                "outcomes": ["lost", "no_decision", "won"],
                "features": ["stage_age_ratio"],
                "closed_deals": 500,
                "snapshots": 3000,
                "note": None,
                "evaluation": {"results": {"model": {"brier": 0.15}}},
                "library_versions": {},
                "artifact": b"not used here",
            },
        )
        replace_insights(
            conn,
            [
                _insight(ids["own_deal"], model_id, 0.2, "high"),
                _insight(ids["team_deal"], model_id, 0.4, "medium"),
                _insight(ids["other_deal"], model_id, 0.1, "high"),
            ],
        )
    yield sqlite_world
    with sqlite_world.engine.begin() as conn:
        for table in (deal_insights, deal_score_history, win_models):
            conn.execute(table.delete())
        conn.execute(opportunities.delete().where(opportunities.c.id == ids["own_deal"]))
    for key in ids:
        del sqlite_world.ids[f"insight_{key}"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", ["own", "team", "other"])
def test_a_deals_insight_follows_the_deal_visibility(scored: World, role: str, kind: str) -> None:
    deal_id = scored.ids[f"insight_{kind}_deal"]
    response = scored.call(role, "GET", f"/opportunities/{deal_id}/insight")
    assert response.status_code == SEES[kind][role], response.text
    if response.status_code == 200:
        body = response.json()
        assert body["opportunity_id"] == deal_id
        assert body["model"]["kind"] == "gradient_boosting"
        assert body["risks"][0]["action"] == "call"
        assert body["factors_against"][0]["feature"] == "stage_age_ratio"
        assert body["scored_at"] == "2026-11-20T06:00:00Z"
    else:
        assert response.json()["message"] == f"no opportunity with id {deal_id}"


def test_an_unscored_deal_has_no_insight_and_says_why(scored: World) -> None:
    with scored.engine.connect() as conn:
        unscored = conn.execute(
            sa.select(opportunities.c.id).where(opportunities.c.id.notin_(list(scored.ids.values()))).limit(1)
        ).scalar_one()
    response = scored.call("admin", "GET", f"/opportunities/{unscored}/insight")
    assert response.status_code == 404
    assert "has not been scored yet" in response.json()["message"]


@pytest.mark.parametrize("role", ROLES)
def test_the_deals_at_risk_are_those_the_role_sees(scored: World, role: str) -> None:
    body = scored.call(role, "GET", "/risks").json()
    visible = {kind for kind in ("own", "team", "other") if SEES[kind][role] == 200}
    expected = {scored.ids[f"insight_{kind}_deal"] for kind in visible}
    got = [item["opportunity_id"] for item in body["items"]]
    assert set(got) == expected and body["total"] == len(expected)
    probabilities = [item["win_probability"] for item in body["items"]]
    assert probabilities == sorted(probabilities)  # lowest chance first


def test_risks_filter_by_severity_and_owner(scored: World) -> None:
    high = scored.call("admin", "GET", "/risks?severity=high").json()
    assert {item["opportunity_id"] for item in high["items"]} == {
        scored.ids["insight_own_deal"],
        scored.ids["insight_other_deal"],
    }
    rep_id = scored.users["rep"]
    mine = scored.call("admin", "GET", f"/risks?owner_id={rep_id}").json()
    assert [item["owner_id"] for item in mine["items"]] == [rep_id]
    bad = scored.call("admin", "GET", "/risks?severity=urgent")
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "query.severity"


@pytest.mark.parametrize("role", ROLES)
def test_model_versions_are_readable_by_everyone_signed_in(scored: World, role: str) -> None:
    versions = scored.call(role, "GET", "/models").json()["items"]
    assert [v["kind"] for v in versions] == ["gradient_boosting"] and versions[0]["active"] is True
    current = scored.call(role, "GET", "/models/current").json()
    assert current["evaluation"]["results"]["model"]["brier"] == 0.15
    assert scored.call(None, "GET", "/models").status_code == 401


def test_the_deal_list_shows_the_latest_insight(scored: World) -> None:
    deal_id = scored.ids["insight_own_deal"]
    body = scored.call("rep", "GET", "/opportunities?sort=win_probability&limit=200").json()
    row = next(item for item in body["items"] if item["id"] == deal_id)
    assert row["win_probability"] == 0.2 and row["health"] == "at_risk" and row["top_risk"] == "high risk"
    scored_first = [item["win_probability"] for item in body["items"] if item["win_probability"] is not None]
    assert scored_first == sorted(scored_first)
