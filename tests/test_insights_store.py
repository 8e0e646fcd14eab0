"""Storing win model versions, deal insights and score history (:mod:`dealsight.store.insights`)."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.errors import StorageError
from dealsight.store.insights import (
    active_model,
    append_score_history,
    insights_of,
    model_versions,
    replace_insights,
    save_model,
    score_history_of,
)
from dealsight.store.schema import deal_score_history, opportunities

pytestmark = pytest.mark.storage


def _model(kind: str, at: datetime) -> dict[str, object]:
    return {
        "trained_at": at,
        "trained_as_of": at,
        "kind": kind,
        "outcomes": ["lost", "won"],
        "features": ["stage", "amount"],
        "closed_deals": 300,
        "snapshots": 1200,
        "note": None,
        "evaluation": {"model": {"brier": 0.12}},
        "library_versions": {"lightgbm": "4.7.0"},
        "artifact": b"\x00fitted\xff",
    }


def _insight(deal_id: int, at: datetime, model_id: int | None, p: float | None) -> dict[str, object]:
    return {
        "opportunity_id": deal_id,
        "scored_at": at,
        "model_id": model_id,
        "win_probability": p,
        "no_decision_probability": None,
        "stage_win_rate": 0.3,
        "crm_probability": 0.5,
        "naive_bayes_probability": 0.4,
        "health": "at_risk",
        "risk_count": 1,
        "top_severity": "high",
        "top_risk": "stalled",
        "risks": [{"rule_id": "stalled", "severity": "high", "risk": "stalled", "action": "act"}],
        "factors": {"for": [], "against": [{"feature": "stage_age_ratio", "label": "x", "weight": -0.4}]},
        "indicators": {"stage_age_days": 48.0, "stage": "Proposal"},
    }


def test_one_model_is_active_and_versions_keep_their_evaluation(engine: Engine) -> None:
    with engine.begin() as conn:
        first = save_model(conn, _model("gradient_boosting", datetime(2026, 1, 1)))
        second = save_model(conn, _model("stage_win_rates", datetime(2026, 2, 1)))
    with engine.connect() as conn:
        active = active_model(conn)
        assert active is not None and active.id == second and active.kind == "stage_win_rates"
        assert active.artifact == b"\x00fitted\xff"
        versions = model_versions(conn)
    assert [v.id for v in versions] == [second, first]
    assert [v.active for v in versions] == [True, False]
    assert versions[1].evaluation == {"model": {"brier": 0.12}} and versions[1].artifact is None


def test_a_scoring_run_replaces_insights_and_appends_history(engine: Engine) -> None:
    with engine.begin() as conn:
        ids = [
            conn.execute(
                opportunities.insert().values(name=f"Deal {i}", stage="Proposal")
            ).inserted_primary_key[0]
            for i in range(3)
        ]
        model_id = save_model(conn, _model("gradient_boosting", datetime(2026, 1, 1)))
        first_run = datetime(2026, 3, 1, 8)
        replace_insights(conn, [_insight(i, first_run, model_id, 0.25) for i in ids])
        append_score_history(conn, [_insight_history(i, first_run, model_id, 0.25) for i in ids])
    with engine.begin() as conn:
        second_run = datetime(2026, 3, 8, 8)
        replace_insights(conn, [_insight(ids[0], second_run, model_id, 0.4)])
        append_score_history(conn, [_insight_history(ids[0], second_run, model_id, 0.4)])
        # the same run again replaces its own history rows
        append_score_history(conn, [_insight_history(ids[0], second_run, model_id, 0.45)])
    with engine.connect() as conn:
        stored = insights_of(conn, ids)
        assert list(stored) == [ids[0]]
        assert stored[ids[0]]["win_probability"] == 0.4
        assert stored[ids[0]]["risks"][0]["rule_id"] == "stalled"
        assert stored[ids[0]]["indicators"]["stage_age_days"] == 48.0
        assert score_history_of(conn, ids[0]) == [(first_run, 0.25), (second_run, 0.45)]
        assert conn.execute(sa.select(sa.func.count()).select_from(deal_score_history)).scalar_one() == 4


def test_a_failed_run_leaves_the_previous_insights(engine: Engine) -> None:
    with engine.begin() as conn:
        deal = conn.execute(
            opportunities.insert().values(name="Deal", stage="Proposal")
        ).inserted_primary_key[0]
        replace_insights(conn, [_insight(deal, datetime(2026, 3, 1), None, 0.3)])
    with pytest.raises(StorageError, match="score again"), engine.begin() as conn:
        replace_insights(conn, [_insight(deal + 999, datetime(2026, 3, 2), None, 0.9)])  # no such deal
    with engine.connect() as conn:
        assert insights_of(conn, [deal])[deal]["win_probability"] == 0.3


def _insight_history(deal_id: int, at: datetime, model_id: int, p: float) -> dict[str, object]:
    return {
        "opportunity_id": deal_id,
        "scored_at": at,
        "model_id": model_id,
        "win_probability": p,
        "risk_count": 1,
    }
