"""Learning and evaluating the win probability (:mod:`dealsight.analytics.win_training`).

- On the demo organisation (seed 7, scale 1: 5,000 deals), in time order, the model beats every baseline
  (historical stage win rates, the CRM's stage probability, naive Bayes) on Brier score and log loss at
  every stage, and its expected calibration error is under 0.05.
- No look-ahead: a model trained at T and the scores of the deals open at T do not change when everything
  after T changes (the random organisations of tests/test_indicator_leakage.py).
- Too little history gives the fallback of stage win rates, saying why.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dealsight.analytics.deal_data import DealData
from dealsight.analytics.indicators import deal_indicators
from dealsight.analytics.win_training import (
    GRADIENT_BOOSTING,
    MIN_CLOSED_DEALS,
    STAGE_WIN_RATES,
    TrainingSet,
    evaluate_in_time_order,
    fit_predictor,
    health,
    healths,
    training_set,
)
from dealsight.demo.generator import generate_organisation
from dealsight.demo.writer import write_organisation
from dealsight.store.database import connect, upgrade
from dealsight.store.deal_frames import load_deal_data
from tests.test_indicator_leakage import START, World

TODAY = date(2025, 6, 15)
BASELINES = ("stage_win_rate", "crm_stage_probability", "naive_bayes")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DealData]:
    path: Path = tmp_path_factory.mktemp("demo-win") / "demo.db"
    engine = connect(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as conn:
        write_organisation(conn, generate_organisation(seed=7, scale=1.0, today=TODAY))
    with engine.connect() as conn:
        yield load_deal_data(conn)
    engine.dispose()


@pytest.fixture(scope="module")
def demo_training(demo: DealData) -> TrainingSet:
    return training_set(demo, pd.Timestamp(TODAY))


def test_on_the_demo_the_model_beats_every_baseline_at_every_stage(demo_training: TrainingSet) -> None:
    evaluation = evaluate_in_time_order(demo_training)
    assert evaluation["kind"] == GRADIENT_BOOSTING
    assert evaluation["test_snapshots"] > 1000 and evaluation["test_deals"] > 300
    results = evaluation["results"]
    assert results["model"]["ece"] < 0.05
    for baseline in BASELINES:
        assert results["model"]["brier"] < results[baseline]["brier"], baseline
        assert results["model"]["log_loss"] < results[baseline]["log_loss"], baseline
    stages = evaluation["by_stage"]
    assert {"Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation"} <= set(stages)
    for stage, part in stages.items():
        for baseline in BASELINES:
            model, other = part["results"]["model"], part["results"][baseline]
            assert model["brier"] < other["brier"], (stage, baseline)
            assert model["log_loss"] < other["log_loss"], (stage, baseline)
    # the reliability table of each method covers every test snapshot
    for rows in evaluation["reliability"].values():
        assert sum(row["count"] for row in rows) == evaluation["test_snapshots"]


def test_the_training_set_holds_only_deals_closed_by_then(demo: DealData) -> None:
    until = pd.Timestamp(TODAY) - pd.Timedelta(days=365)
    training = training_set(demo, until)
    assert training.closed_deals > MIN_CLOSED_DEALS
    assert (pd.to_datetime(training.closed_at) <= until).all()
    assert (pd.to_datetime(training.indicators["as_of"]).to_numpy() < training.closed_at).all()
    assert set(training.outcome.tolist()) == {"won", "lost", "no_decision"}


def test_the_learned_model_keeps_no_decision_apart_and_explains_each_deal(
    demo: DealData, demo_training: TrainingSet
) -> None:
    predictor = fit_predictor(demo_training)
    assert predictor.kind == GRADIENT_BOOSTING and predictor.note is None
    assert predictor.outcomes == ["lost", "no_decision", "won"]
    deals = demo.opportunities
    open_ids = deals.loc[deals["outcome"].isna(), "id"].to_numpy()[:200]
    pairs = pd.DataFrame({"opportunity_id": open_ids, "as_of": pd.Timestamp(TODAY)})
    indicators = deal_indicators(demo, pairs)
    predicted = predictor.predictions(indicators)
    total = predicted["win_probability"] + predicted["no_decision_probability"]
    assert ((predicted["win_probability"] >= 0) & (total <= 1 + 1e-9)).all()
    factors = predictor.factors(indicators)
    assert len(factors) == len(indicators)
    explained = [f for f in factors if f["for"] or f["against"]]
    assert len(explained) == len(indicators)
    one = next(f for f in factors if f["against"])["against"][0]
    assert one["weight"] < 0 and one["label"] != one["feature"]  # worded, not a column name


@pytest.mark.parametrize("seed", [3, 8])
def test_a_model_trained_at_t_and_its_scores_ignore_everything_after_t(seed: int) -> None:
    world = World(seed, deals=1200)
    cut = START + pd.Timedelta(days=330, hours=13)

    def scores() -> tuple[str, np.ndarray, np.ndarray]:
        data = world.data()
        training = training_set(data, cut)
        predictor = fit_predictor(training)
        deals = data.opportunities
        existed = np.sort(deals.loc[pd.to_datetime(deals["created_date"]) <= cut, "id"].to_numpy())
        everyone = deal_indicators(data, pd.DataFrame({"opportunity_id": existed, "as_of": cut}))
        open_then = everyone[~everyone["stage"].isin(["Closed Won", "Closed Lost"])]  # as replayed at T
        return (
            predictor.kind,
            open_then["opportunity_id"].to_numpy(),
            predictor.predictions(open_then).to_numpy(),
        )

    kind, ids, before = scores()
    assert kind == GRADIENT_BOOSTING and len(ids) > 50
    world.change_after(cut)
    kind_after, ids_after, after = scores()
    assert kind_after == kind
    np.testing.assert_array_equal(ids_after, ids)
    np.testing.assert_array_equal(after, before)


def test_thin_history_falls_back_to_stage_win_rates_and_says_why(demo: DealData) -> None:
    deals = demo.opportunities
    closed = deals.loc[deals["outcome"].notna(), "id"].to_numpy()[:120]
    keep = set(closed.tolist())
    thin = DealData(
        opportunities=deals[deals["id"].isin(keep)].reset_index(drop=True),
        history=demo.history[demo.history["opportunity_id"].isin(keep)],
        activities=demo.activities[demo.activities["opportunity_id"].isin(keep)],
        activity_contacts=demo.activity_contacts[demo.activity_contacts["opportunity_id"].isin(keep)],
        deal_contacts=demo.deal_contacts[demo.deal_contacts["opportunity_id"].isin(keep)],
        questions=demo.questions,
        answers=demo.answers[demo.answers["opportunity_id"].isin(keep)],
        stages=demo.stages,
    )
    training = training_set(thin, pd.Timestamp(TODAY))
    predictor = fit_predictor(training)
    assert predictor.kind == STAGE_WIN_RATES and predictor.model is None
    assert predictor.note is not None and "120 closed deals" in predictor.note and "200" in predictor.note
    indicators = training.indicators.head(50)
    predicted = predictor.predictions(indicators)
    np.testing.assert_array_equal(predicted["win_probability"], predicted["stage_win_rate"])
    assert all(not f["for"] and not f["against"] for f in predictor.factors(indicators))


@pytest.mark.parametrize(
    ("chance", "rate", "severities", "expected"),
    [
        (0.10, 0.40, [], "at_risk"),
        (0.25, 0.40, [], "watch"),
        (0.40, 0.40, ["high"], "watch"),
        (0.40, 0.40, ["medium", "low"], "good"),
        (float("nan"), 0.40, [], "good"),
        (float("nan"), 0.40, ["high"], "watch"),
    ],
)
def test_health_comes_from_the_chance_against_the_stage_then_the_risks(
    chance: float, rate: float, severities: list[str], expected: str
) -> None:
    assert health(chance, rate, severities) == expected


def test_health_of_every_deal_at_once_follows_the_same_rule() -> None:
    rng = np.random.default_rng(0)
    win = np.where(rng.random(500) < 0.1, np.nan, rng.random(500))
    rate = rng.uniform(0.1, 0.6, 500)
    high = rng.random(500) < 0.3
    expected = [health(w, r, ["high"] if h else []) for w, r, h in zip(win, rate, high, strict=True)]
    assert healths(win, rate, high) == expected


def test_a_value_filled_in_only_at_the_close_is_left_out_and_named(demo_training: TrainingSet) -> None:
    # as in maven_crm: lost deals have no amount, so the amount alone tells won from lost
    indicators = demo_training.indicators.copy()
    lost = demo_training.outcome != "won"
    for name in ("amount", "amount_percentile", "amount_change_share"):
        indicators.loc[lost, name] = np.nan
    training = demo_training
    leaky = TrainingSet(indicators, training.outcome, training.closed_at, training.closed_deals)
    predictor = fit_predictor(leaky)
    assert set(predictor.left_out) == {"amount", "amount_percentile", "amount_change_share"}
    assert all(auc > 0.97 for auc in predictor.left_out.values())
    assert "amount" not in predictor.features and "stage_age_ratio" in predictor.features
    assert predictor.note is not None and "known only at the close" in predictor.note
    assert "amount (alone AUC 1.00)" in predictor.note
    # the honest demo has no such feature
    assert fit_predictor(demo_training).left_out == {}


def test_the_rank_sum_auc_agrees_with_scikit_learn_ties_included() -> None:
    from sklearn.metrics import roc_auc_score

    from dealsight.analytics.win_training import _auc

    rng = np.random.default_rng(5)
    for _ in range(5):
        won = rng.integers(0, 2, 2_000)
        score = np.round(rng.normal(size=2_000) + 0.7 * won, 1)  # rounded: many ties
        assert _auc(won, score) == pytest.approx(roc_auc_score(won, score), abs=1e-12)
    assert _auc(np.ones(10), np.arange(10.0)) == 0.5  # one class: undefined, read as no separation


def test_large_histories_are_sampled_in_order_and_reproducibly() -> None:
    from dealsight.analytics.win_training import MAX_FIT_SNAPSHOTS, fit_rows

    small = np.arange(1_000)
    assert fit_rows(small, 0) is small
    rows = np.arange(0, 3 * (MAX_FIT_SNAPSHOTS + 5_000), 3)
    drawn = fit_rows(rows, 0)
    assert len(drawn) == MAX_FIT_SNAPSHOTS and np.all(np.diff(drawn) > 0) and np.isin(drawn, rows).all()
    assert np.array_equal(drawn, fit_rows(rows, 0)) and not np.array_equal(drawn, fit_rows(rows, 1))
