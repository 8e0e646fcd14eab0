"""Honest evaluation (:mod:`dealsight.analytics.evaluation`): metrics against hand-computed values, splits
that never learn from the future or from the test deals, and the result's table and JSON."""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from dealsight.analytics.baselines import BaseRate, NaiveBayesFrequency
from dealsight.analytics.evaluation import (
    auc,
    brier,
    evaluate_methods,
    expected_calibration_error,
    log_loss,
    reliability_table,
    stratified_folds,
    time_split,
)
from dealsight.errors import InsufficientDataError, ValidationError


def test_auc_counts_the_pairs_ranked_right() -> None:
    # won at 0.9 and 0.4, lost at 0.1 and 0.6: 3 of the 4 (won, lost) pairs are ranked right
    assert auc([1, 0, 1, 0], [0.9, 0.1, 0.4, 0.6]) == pytest.approx(0.75)
    # a tie counts half
    assert auc([True, False], [0.5, 0.5]) == pytest.approx(0.5)
    assert math.isnan(auc([True, True], [0.2, 0.3]))


def test_brier_and_log_loss_by_hand() -> None:
    assert brier([1, 0], [0.8, 0.3]) == pytest.approx((0.2**2 + 0.3**2) / 2)
    assert log_loss([1, 0], [0.8, 0.3]) == pytest.approx(-(math.log(0.8) + math.log(0.7)) / 2)
    # a certain mistake is clipped at 1e-15: it costs -log(1e-15), not infinity
    assert log_loss([0, 1], [1.0, 1.0]) == pytest.approx(-math.log(1e-15) / 2, rel=1e-4)


def test_expected_calibration_error_weights_each_bin_by_its_deals() -> None:
    p = [0.05, 0.15, 0.15, 0.95]
    won = [0, 1, 0, 1]
    # bin 0-0.1: gap 0.05 (1 deal); bin 0.1-0.2: 0.15 against 0.5 observed (2 deals); bin 0.9-1: gap 0.05
    assert expected_calibration_error(won, p) == pytest.approx((0.05 + 2 * 0.35 + 0.05) / 4)
    assert expected_calibration_error([1, 0], [0.5, 0.5]) == pytest.approx(0.0)


def test_reliability_table_has_ten_equal_bins_and_puts_one_in_the_last() -> None:
    table = reliability_table([0, 1, 1, 0, 1], [0.05, 0.15, 0.15, 1.0, 0.95])
    assert len(table) == 10
    assert table["lower"].tolist()[:3] == pytest.approx([0.0, 0.1, 0.2])
    assert table["count"].tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    last = table.iloc[9]
    assert last["mean_predicted"] == pytest.approx(0.975) and last["observed_rate"] == pytest.approx(0.5)
    assert table.iloc[1]["observed_rate"] == pytest.approx(1.0)
    assert math.isnan(table.iloc[2]["observed_rate"])


def test_time_split_tests_on_the_newest_and_learns_only_from_older_deals() -> None:
    rng = np.random.default_rng(1)
    days = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 100, 500), unit="D")
    learn, test = time_split(days.to_numpy(), 0.2)
    assert len(test) >= 100 and len(learn) + len(test) == 500
    assert days[learn].max() < days[test].min()  # ties at the cut-off all go to the test
    groups = rng.integers(0, 60, 500)
    learn, test = time_split(days.to_numpy(), 0.2, groups)
    assert not set(groups[learn]) & set(groups[test])
    assert days[learn].max() < days[test].min()


def test_group_folds_keep_each_group_whole_and_share_out_each_outcome() -> None:
    rng = np.random.default_rng(2)
    groups = rng.integers(0, 400, 2000)
    labels = np.where(rng.random(400)[groups] < 0.25, "won", "lost")
    folds = stratified_folds(labels, 5, groups=groups, random_state=0)
    per_group = pd.Series(folds).groupby(groups).nunique()
    assert (per_group == 1).all()
    won_share = pd.Series(labels == "won").groupby(folds).mean()
    assert len(won_share) == 5 and won_share.max() - won_share.min() < 0.08
    assert np.array_equal(folds, stratified_folds(labels, 5, groups=groups, random_state=0))


class RecordingBaseRate(BaseRate):
    """A real base rate that also records which rows it learnt from and predicted."""

    seen: ClassVar[list[tuple[set[Any], set[Any]]]] = []

    def fit(self, X: pd.DataFrame, y: Any, *, time: Any = None, groups: Any = None) -> RecordingBaseRate:
        self.learnt = set(X.index)
        return super().fit(X, y)  # type: ignore[return-value]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        RecordingBaseRate.seen.append((self.learnt, set(X.index)))
        return super().predict_proba(X)


def _deals(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east"], rows)
    amount = rng.gamma(2.0, 10_000, rows)
    logit = -1.0 + 1.2 * (region == "north") - 0.8 * (amount > 30_000)
    won = rng.random(rows) < 1 / (1 + np.exp(-logit))
    X = pd.DataFrame({"region": pd.Categorical(region), "amount": amount})
    return X, np.where(won, "won", "lost")


def test_cross_validation_never_predicts_a_deal_it_learnt_from() -> None:
    X, y = _deals(600)
    groups = np.arange(600) // 3  # three rows per opportunity
    RecordingBaseRate.seen = []
    result = evaluate_methods(
        X, y, {"recorded": RecordingBaseRate}, positive="won", groups=groups, folds=4, repeats=2
    )
    assert len(RecordingBaseRate.seen) == 8
    for learnt, predicted in RecordingBaseRate.seen:
        assert not learnt & predicted
        assert not set(groups[list(learnt)]) & set(groups[list(predicted)])
    assert result.results["recorded"].reliability["count"].sum() == 2 * 600


def test_time_ordered_evaluation_never_learns_from_deals_newer_than_the_test() -> None:
    X, y = _deals(500)
    when = pd.date_range("2023-01-01", periods=500, freq="D").to_numpy()[
        np.random.default_rng(3).permutation(500)
    ]
    RecordingBaseRate.seen = []
    result = evaluate_methods(X, y, {"recorded": RecordingBaseRate}, positive="won", time=when)
    ((learnt, predicted),) = RecordingBaseRate.seen
    assert when[list(learnt)].max() < when[list(predicted)].min()
    assert len(predicted) == 100
    assert result.split.startswith("time-ordered") and math.isnan(result.results["recorded"].spread["auc"])


def test_result_renders_as_a_table_and_as_json() -> None:
    X, y = _deals(800)
    result = evaluate_methods(
        X,
        y,
        {
            "naive_bayes": lambda: NaiveBayesFrequency(positive="won"),
            "base_rate": lambda: BaseRate(positive="won"),
        },
        positive="won",
        folds=3,
    )
    frame = result.to_frame()
    assert list(frame.index) == ["naive_bayes", "base_rate"]
    assert list(frame.columns) == ["auc", "brier", "log_loss", "ece"]
    assert frame.loc["naive_bayes", "auc"] > 0.6 and frame.loc["base_rate", "auc"] == pytest.approx(0.5)
    won = float((y == "won").mean())
    assert frame.loc["base_rate", "brier"] == pytest.approx(won * (1 - won), abs=0.01)
    document = json.loads(result.to_json())
    assert set(document["results"]["naive_bayes"]) == {"auc", "brier", "log_loss", "ece"}
    assert document["rows"] == 800 and document["positives"] == int((y == "won").sum())
    assert len(document["reliability"]["base_rate"]) == 10
    assert "naive_bayes" in str(result)


def test_too_few_deals_say_how_many_there_are() -> None:
    X, y = _deals(30)
    with pytest.raises(InsufficientDataError, match="30 deals"):
        evaluate_methods(X, y, {"base_rate": lambda: BaseRate(positive="won")}, positive="won")


def test_a_positive_outcome_that_never_occurs_is_refused() -> None:
    X, y = _deals(100)
    with pytest.raises(ValidationError, match="'Won'"):
        evaluate_methods(X, y, {"base_rate": lambda: BaseRate(positive="Won")}, positive="Won")
