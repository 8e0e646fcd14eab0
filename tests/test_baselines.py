"""Baselines beside the win model (:mod:`dealsight.analytics.baselines`), checked against hand-computed
values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from dealsight.analytics.baselines import BaseRate, CrmStageProbability, NaiveBayesFrequency, StageWinRate
from dealsight.errors import ValidationError


def test_base_rate_gives_every_deal_the_training_shares() -> None:
    X = pd.DataFrame({"amount": [1.0, 2.0, 3.0, 4.0, 5.0]})
    y = ["won", "lost", "no_decision", "lost", "won"]
    model = BaseRate().fit(X, y)
    assert list(model.classes_) == ["lost", "no_decision", "won"]
    proba = model.predict_proba(X.head(2))
    assert proba.tolist() == [[0.4, 0.2, 0.4]] * 2
    assert model.win_probability(X.head(1)).tolist() == [0.4]
    assert clone(model).get_params() == {"positive": "won"}


def test_stage_win_rate_is_smoothed_toward_the_base_rate() -> None:
    stages = ["A"] * 4 + ["B"] * 6
    y = ["won", "won", "won", "lost"] + ["won"] + ["lost"] * 5
    model = StageWinRate().fit(pd.DataFrame({"stage": stages}), y)
    base = 4 / 10
    new = pd.DataFrame({"stage": ["A", "B", "C", None]})
    win = model.win_probability(new)
    assert win[0] == pytest.approx((3 + 2 * base) / (4 + 2))
    assert win[1] == pytest.approx((1 + 2 * base) / (6 + 2))
    assert win[2] == pytest.approx(base) and win[3] == pytest.approx(base)  # unseen and missing
    assert model.predict_proba(new).sum(axis=1) == pytest.approx(np.ones(4))
    assert model.deals_per_stage_.tolist() == [4, 6]


def test_stage_win_rate_keeps_outcomes_apart_and_names_a_missing_column() -> None:
    X = pd.DataFrame({"phase": ["x", "x", "y", "y", "y"]})
    y = ["won", "no_decision", "lost", "lost", "won"]
    model = StageWinRate("phase").fit(X, y)
    proba = model.predict_proba(pd.DataFrame({"phase": ["x"]}))[0]
    base = np.array([2, 1, 2]) / 5  # lost, no_decision, won
    assert proba == pytest.approx((np.array([0, 1, 1]) + 2 * base) / 4)
    with pytest.raises(ValidationError, match="'phase'"):
        model.predict_proba(pd.DataFrame({"stage": ["x"]}))


def test_crm_probability_is_used_as_it_is_in_fractions_or_percent() -> None:
    y = ["won", "lost", "lost", "lost"]
    fractions = pd.DataFrame({"crm_stage_probability": [0.9, 0.1, np.nan, 0.3]})
    model = CrmStageProbability().fit(fractions, y)
    assert model.win_probability(fractions).tolist() == pytest.approx([0.9, 0.1, 0.25, 0.3])
    percent = pd.DataFrame({"p": [90, 10, 1, None]})
    model = CrmStageProbability("p").fit(percent, y)
    assert model.win_probability(percent).tolist() == pytest.approx([0.9, 0.1, 0.01, 0.25])
    three = CrmStageProbability("p").fit(percent, ["won", "lost", "no_decision", "lost"])
    proba = three.predict_proba(pd.DataFrame({"p": [40.0]}))[0]
    # the rest (0.6) shared by lost and no_decision as in training: 2 to 1
    assert proba.tolist() == pytest.approx([0.4, 0.2, 0.4])


def test_naive_bayes_combines_laplace_smoothed_frequencies_with_the_prior() -> None:
    X = pd.DataFrame({"colour": ["red"] * 3 + ["blue"] + ["red"] + ["blue"] * 3})
    y = ["won"] * 4 + ["lost"] * 4
    model = NaiveBayesFrequency().fit(X, y)
    win = model.win_probability(pd.DataFrame({"colour": ["red", "blue", "green", None]}))
    # four values per feature (red, blue, missing, never seen): P(red | won) = (3 + 1) / (4 + 4),
    # P(red | lost) = (1 + 1) / (4 + 4); the prior is 1/2
    assert win[0] == pytest.approx(0.5 * 0.5 / (0.5 * 0.5 + 0.5 * 0.25))
    assert win[1] == pytest.approx(0.5 * 0.25 / (0.5 * 0.25 + 0.5 * 0.5))
    assert win[2] == pytest.approx(0.5) and win[3] == pytest.approx(0.5)


def test_naive_bayes_bins_numbers_on_training_quantiles_and_learns_from_them() -> None:
    rng = np.random.default_rng(0)
    amount = rng.uniform(0, 100, 2000)
    won = rng.random(2000) < np.where(amount < 30, 0.8, 0.1)
    X = pd.DataFrame({"amount": amount, "region": rng.choice(["n", "s"], 2000)})
    X.loc[:9, "amount"] = np.nan
    model = NaiveBayesFrequency(bins=5).fit(X, np.where(won, "won", "lost"))
    assert model.edges_["amount"] == pytest.approx([20, 40, 60, 80], abs=4)
    win = model.win_probability(
        pd.DataFrame({"amount": [5.0, 95.0, 1e6, np.nan], "region": ["n", "n", "s", "s"]})
    )
    assert win[0] > 0.7 and win[1] < 0.2 and win[2] < 0.2
    assert 0.0 < win[3] < 1.0
