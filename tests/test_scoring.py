"""Training and scoring through the services, on SQLite and PostgreSQL (:mod:`dealsight.services.scoring`),
and the commands that run them.

A small demo organisation (scale 0.2: ~900 closed and ~90 open deals) is scored: every open deal gets an
insight, the deals' own probabilities stay as they were, the model version is stored with its evaluation
and reused until it is stale, and a retrain makes a new active version.
"""

from __future__ import annotations

import json
import pickle
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from dealsight.cli.main import app
from dealsight.config import get_settings
from dealsight.domain.access import Scope
from dealsight.errors import InsufficientDataError
from dealsight.services.demo import create_demo
from dealsight.services.insights import deal_insight
from dealsight.services.scoring import library_versions, score_open_deals, train_win_model
from dealsight.store.insights import active_model, model_versions
from dealsight.store.schema import (
    deal_insights,
    deal_score_history,
    opportunities,
    risk_actions,
    win_models,
)

pytestmark = pytest.mark.storage
TODAY = date(2026, 11, 20)
EVERYONE = Scope(owner_ids=None, can_write=False)


def _open_deals(engine: Engine) -> set[int]:
    o = opportunities
    with engine.connect() as conn:
        return set(
            conn.execute(sa.select(o.c.id).where(o.c.outcome.is_(None), o.c.closed_date.is_(None))).scalars()
        )


def test_scoring_covers_every_open_deal_and_never_touches_their_probability(engine: Engine) -> None:
    create_demo(engine, seed=11, scale=0.2, today=TODAY)
    with engine.connect() as conn:
        probabilities = dict(conn.execute(sa.select(opportunities.c.id, opportunities.c.probability)).all())
    steps: list[str] = []
    report = score_open_deals(engine, progress=steps.append)
    assert report.trained is not None and report.trained.kind == "gradient_boosting"
    assert report.deals == len(_open_deals(engine)) > 20
    assert sum(report.healths.values()) == report.deals
    assert any("scoring" in step for step in steps)
    with engine.connect() as conn:
        assert (
            dict(conn.execute(sa.select(opportunities.c.id, opportunities.c.probability)).all())
            == probabilities
        )
        stored = {row.opportunity_id: row for row in conn.execute(sa.select(deal_insights))}
        assert set(stored) == _open_deals(engine)
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(deal_score_history)).scalar_one()
            == report.deals
        )
        model = active_model(conn)
    assert model is not None and model.id == report.model_id
    assert model.evaluation is not None and set(model.evaluation["results"]) >= {"model", "naive_bayes"}
    assert model.library_versions == library_versions()
    some = next(iter(stored.values()))
    assert 0 <= some.win_probability <= 1 and some.health in ("good", "watch", "at_risk")
    assert some.risk_count == len(some.risks)
    insight = deal_insight(engine, EVERYONE, some.opportunity_id)
    assert insight is not None and insight.model is not None and insight.model.kind == "gradient_boosting"
    assert insight.factors_for or insight.factors_against
    assert "stage_age_days" in insight.indicators


def test_a_rules_fixed_action_is_stored_once_and_read_with_each_risk(engine: Engine, tmp_path: Path) -> None:
    """A rule whose action reads no indicator has it stored once per run (``risk_actions``), not with
    each of its risks; a rule whose action reads one keeps it with each risk. Reading gives both."""
    create_demo(engine, seed=11, scale=0.2, today=TODAY)
    book = tmp_path / "playbook.yaml"
    book.write_text(
        "version: 1\nname: ours\nextends: default\nrules:\n"
        "  - id: always\n    when: stage_age_days >= 0\n    severity: low\n"
        '    risk: "{stage_age_days:.0f} days in {stage}"\n'
        '    action: "review the {stage} deal"\n',
        encoding="utf-8",
    )
    score_open_deals(engine, playbook=book)
    with engine.connect() as conn:
        actions = dict(conn.execute(sa.select(risk_actions.c.rule_id, risk_actions.c.action)).all())
        rows = list(conn.execute(sa.select(deal_insights.c.opportunity_id, deal_insights.c.risks)))
    assert "stalled" in actions and "always" not in actions
    stored = [risk for _, risks in rows for risk in risks]
    assert all("action" in r for r in stored if r["rule_id"] == "always")
    assert not any("action" in r for r in stored if r["rule_id"] in actions)
    deal_id, risks = next((d, r) for d, r in rows if any(x["rule_id"] in actions for x in r))
    insight = deal_insight(engine, EVERYONE, deal_id)
    assert insight is not None
    for risk in insight.risks:
        want = actions.get(risk.rule_id) or next(x["action"] for x in risks if x["rule_id"] == risk.rule_id)
        assert risk.action == want and risk.action
    assert any(r.rule_id == "always" and r.action.startswith("review the ") for r in insight.risks)


def test_a_fresh_model_is_reused_and_a_stale_one_retrained(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_demo(engine, seed=11, scale=0.2, today=TODAY)
    first = score_open_deals(engine)
    again = score_open_deals(engine)
    assert again.trained is None and again.model_id == first.model_id
    forced = score_open_deals(engine, retrain=True)
    assert forced.trained is not None and forced.model_id != first.model_id
    # a model made by other library versions is never loaded: it is retrained
    with engine.begin() as conn:
        conn.execute(
            win_models.update().where(win_models.c.active).values(library_versions={"lightgbm": "0.1"})
        )
    upgraded = score_open_deals(engine)
    assert upgraded.trained is not None
    # as old as DEALSIGHT_RETRAIN_DAYS (0: every run): retrained
    monkeypatch.setenv("DEALSIGHT_RETRAIN_DAYS", "0")
    get_settings.cache_clear()
    try:
        assert score_open_deals(engine).trained is not None
    finally:
        get_settings.cache_clear()
    with engine.connect() as conn:
        versions = model_versions(conn)
    assert len(versions) == 4 and [v.active for v in versions].count(True) == 1
    assert pickle.loads(active_model(engine.connect()).artifact or b"") is not None


def test_too_few_closed_deals_is_said_plainly(engine: Engine) -> None:
    with engine.begin() as conn:
        for i in range(5):
            conn.execute(
                opportunities.insert().values(
                    name=f"Deal {i}", stage="Closed Won", outcome="won", closed_date=TODAY
                )
            )
    with pytest.raises(InsufficientDataError, match=r"only \d deals had closed"):
        train_win_model(engine)


def test_the_commands_score_train_and_show(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    runner = CliRunner()
    written = runner.invoke(app, ["demo", "--no-serve", "--scale", "0.2", "--seed", "5", "-d", url])
    assert written.exit_code == 0, written.output
    assert "scored" in written.output and "open deals" in written.output
    trained = runner.invoke(app, ["train", "-d", url, "--json"])
    assert trained.exit_code == 0, trained.output
    report = json.loads(trained.output)
    assert report["kind"] == "gradient_boosting" and report["evaluation"]["results"]["model"]["brier"] < 0.25
    scored = runner.invoke(app, ["score", "-d", url, "--no-retrain"])
    assert scored.exit_code == 0 and "scored" in scored.output, scored.output
    risks = runner.invoke(app, ["risks", "-d", url, "--json", "--severity", "high", "--limit", "5"])
    body = json.loads(risks.output)
    assert body["total"] >= len(body["items"]) > 0
    assert all(r["severity"] == "high" for item in body["items"] for r in item["risks"])
    shown = runner.invoke(app, ["model", "-d", url])
    assert (
        shown.exit_code == 0 and "Time-ordered evaluation" in shown.output and "naive_bayes" in shown.output
    )
    bad = runner.invoke(app, ["risks", "-d", url, "--severity", "urgent"])
    assert bad.exit_code != 0
