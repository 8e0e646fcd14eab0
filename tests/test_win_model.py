"""The win model (:mod:`dealsight.analytics.win_model`): calibrated, generic over any feature frame, outcomes
kept apart, factors that add up to the score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from dealsight.analytics.evaluation import auc, expected_calibration_error
from dealsight.analytics.tabular import Outcomes
from dealsight.analytics.win_model import WinModel, _fit_calibrator
from dealsight.errors import InsufficientDataError, ValidationError


def _deals(rows: int, seed: int = 0, outcomes: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    """Deals whose win chance depends on region, amount, a flag and an interaction; some values missing."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east", "west"], rows)
    segment = rng.choice(["smb", "mid", "enterprise"], rows).astype(object)
    amount = rng.gamma(2.0, 20_000, rows)
    champion = (rng.random(rows) < 0.4).astype(np.float64)
    stage_age = rng.exponential(30, rows)
    logit = (
        -0.8
        + 1.2 * (region == "north")
        - 0.9 * (region == "west")
        + 1.0 * champion
        - 0.02 * (stage_age - 30)
        - 0.6 * (amount > 60_000) * (segment == "smb")
    )
    won = rng.random(rows) < 1 / (1 + np.exp(-logit))
    champion[rng.random(rows) < 0.1] = np.nan
    segment[rng.random(rows) < 0.05] = None
    X = pd.DataFrame(
        {
            "region": pd.Categorical(region),
            "segment": segment,
            "amount": amount,
            "champion": champion,
            "stage_age_days": stage_age,
        }
    )
    labels = np.where(won, "won", "lost").astype(object)
    if outcomes == 3:
        labels[~won & (rng.random(rows) < np.where(stage_age > 40, 0.6, 0.2))] = "no_decision"
    return X, labels


@pytest.fixture(scope="module")
def fitted() -> tuple[WinModel, pd.DataFrame, np.ndarray]:
    X, y = _deals(6000)
    return WinModel().fit(X.iloc[:4000], y[:4000]), X.iloc[4000:], y[4000:]


def test_probabilities_per_outcome_in_classes_order(
    fitted: tuple[WinModel, pd.DataFrame, np.ndarray],
) -> None:
    model, X, y = fitted
    proba = model.predict_proba(X)
    assert list(model.classes_) == ["lost", "won"]
    assert proba.shape == (len(X), 2)
    assert np.allclose(proba.sum(axis=1), 1.0) and proba.min() >= 0.0 and proba.max() <= 1.0
    assert np.array_equal(model.win_probability(X), proba[:, 1])
    assert auc(y == "won", model.win_probability(X)) > 0.7
    assert model.calibrator_.method == "sigmoid"
    assert list(model.feature_names_in_) == list(X.columns) and model.n_features_in_ == 5


def test_follows_the_estimator_contract() -> None:
    model = WinModel(positive="Won", num_leaves=7, random_state=3)
    params = model.get_params()
    assert params["positive"] == "Won" and params["num_leaves"] == 7 and params["random_state"] == 3
    copy = clone(model)
    assert copy.get_params() == params and not hasattr(copy, "booster_")
    X, y = _deals(500, seed=4)
    assert model.fit(X, np.where(y == "won", "Won", "Lost")) is model


def test_same_data_same_model() -> None:
    X, y = _deals(1500, seed=5)
    first = WinModel().fit(X, y).win_probability(X)
    again = WinModel().fit(X, y).win_probability(X)
    assert np.array_equal(first, again)


def test_calibration_repairs_an_overconfident_booster() -> None:
    X, y = _deals(8000, seed=1)
    X_new, y_new = _deals(4000, seed=2)
    overfit = {
        "num_leaves": 127,
        "min_child_samples": 2,
        "learning_rate": 0.3,
        "reg_lambda": 0.0,
        "max_trees": 200,
        "early_stopping_rounds": 0,  # no early stopping: the booster over-fits on purpose
    }
    model = WinModel(**overfit).fit(X, y)
    raw = model.booster_.predict(model.layout_.matrix(X_new))
    raw_ece = expected_calibration_error(y_new == "won", raw)
    calibrated_ece = expected_calibration_error(y_new == "won", model.win_probability(X_new))
    assert raw_ece > 0.1
    assert calibrated_ece < 0.05 and calibrated_ece < raw_ece / 3, (raw_ece, calibrated_ece)
    default = WinModel().fit(X, y)
    assert expected_calibration_error(y_new == "won", default.win_probability(X_new)) < 0.04
    isotonic = WinModel(calibration="isotonic", **overfit).fit(X, y)
    assert expected_calibration_error(y_new == "won", isotonic.win_probability(X_new)) < 0.05


def test_isotonic_steps_at_the_ends_never_say_certain() -> None:
    # held-out scores: the three highest were all won, the three lowest all lost
    scores = np.r_[0.05, 0.06, 0.07, np.linspace(0.2, 0.8, 94), 0.95, 0.96, 0.97]
    won = np.r_[[False] * 3, np.arange(94) % 2 == 0, [True] * 3]
    model = WinModel(calibration="isotonic")
    model.calibrator_ = _fit_calibrator(scores, won, "isotonic")
    top, bottom = model.calibrator_(np.array([0.99])), model.calibrator_(np.array([0.01]))
    rate = won.mean()
    assert top[0] == pytest.approx((3 + 2 * rate) / (3 + 2)) and bottom[0] == pytest.approx(2 * rate / 5)
    assert np.all(np.diff(model.calibrator_(np.linspace(0, 1, 50))) >= 0)


def test_time_calibrates_on_the_newest_deals() -> None:
    X, y = _deals(2000, seed=6)
    when = pd.date_range("2022-01-01", periods=2000, freq="6h").to_numpy()
    model = WinModel().fit(X, y, time=when)
    assert 1 <= model.n_trees_ <= 300
    p = model.win_probability(X)
    assert p.min() > 0.0 and p.max() < 1.0
    with pytest.raises(ValidationError, match="calibration"):
        WinModel(calibration="platt").fit(X, y, time=when)
    gaps = when.copy()
    gaps[5] = np.datetime64("NaT")
    with pytest.raises(ValidationError, match="none missing"):
        WinModel().fit(X, y, time=gaps)


def test_a_value_never_seen_counts_as_missing(fitted: tuple[WinModel, pd.DataFrame, np.ndarray]) -> None:
    model, X, _ = fitted
    rows = X.head(50).copy()
    unseen = rows.assign(segment="public sector", region=pd.Categorical(["antarctica"] * 50))
    missing = rows.assign(segment=None, region=pd.Categorical([None] * 50, categories=["north"]))
    assert np.array_equal(model.win_probability(unseen), model.win_probability(missing))
    assert not np.array_equal(model.win_probability(unseen), model.win_probability(rows))
    # the categories remembered are those seen in fit, whatever the dtype of the column when predicting
    as_text = rows.assign(region=rows["region"].astype(str))
    assert np.allclose(model.win_probability(as_text), model.win_probability(rows))
    assert list(model.layout_.categories["segment"]) == ["enterprise", "mid", "smb"]


def test_three_outcomes_are_kept_apart() -> None:
    X, y = _deals(5000, seed=7, outcomes=3)
    model = WinModel().fit(X.iloc[:4000], y[:4000])
    assert list(model.classes_) == ["lost", "no_decision", "won"]
    proba = model.predict_proba(X.iloc[4000:])
    assert proba.shape == (1000, 3) and np.allclose(proba.sum(axis=1), 1.0)
    old = X.iloc[4000:]["stage_age_days"] > 40
    # no decision is likelier for long-stalled deals: the model keeps that outcome's own signal
    assert proba[old.to_numpy(), 1].mean() > proba[~old.to_numpy(), 1].mean() + 0.1
    win = model.win_probability(X.iloc[4000:])
    assert expected_calibration_error(y[4000:] == "won", win) < 0.05
    factors = model.factors(X.iloc[4000:4010])
    assert set(factors["direction"]) <= {"for", "against"} and len(factors) > 0


@pytest.mark.parametrize("method", ["treeshap", "path"])
def test_contributions_add_up_to_the_score(
    fitted: tuple[WinModel, pd.DataFrame, np.ndarray], method: str
) -> None:
    model, X, _ = fitted
    rows = X.head(300)
    contributions = model.contributions(rows, method=method)  # type: ignore[arg-type]
    assert list(contributions.columns) == [*X.columns, "expected"]
    score = model.booster_.predict(model.layout_.matrix(rows), raw_score=True)
    assert np.allclose(contributions.sum(axis=1).to_numpy(), score)
    # the strongest factor by either method is mostly the same
    shap = model.contributions(rows, method="treeshap").drop(columns="expected")
    mine = contributions.drop(columns="expected")
    assert (shap.abs().idxmax(axis=1) == mine.abs().idxmax(axis=1)).mean() > 0.6


def test_factors_for_and_against_in_long_form(fitted: tuple[WinModel, pd.DataFrame, np.ndarray]) -> None:
    model, X, _ = fitted
    rows = X.head(40)
    labels = {"champion": "a champion is named", "region": "region"}
    factors = model.factors(rows, top=2, labels=labels)
    assert list(factors.columns) == ["row", "direction", "rank", "feature", "label", "contribution", "value"]
    assert set(factors["row"]) <= set(rows.index)
    assert (factors.groupby(["row", "direction"], observed=True).size() <= 2).all()
    assert (factors.loc[factors["direction"] == "for", "contribution"] > 0).all()
    assert (factors.loc[factors["direction"] == "against", "contribution"] < 0).all()
    champion = factors[factors["feature"] == "champion"]
    assert (champion["label"] == "a champion is named").all()
    assert set(factors.loc[factors["feature"] == "amount", "label"]) <= {"amount"}
    contributions = model.contributions(rows)
    for row, group in factors.groupby("row", observed=True):
        strongest_for = group[(group["direction"] == "for") & (group["rank"] == 1)]
        if len(strongest_for):
            feature = strongest_for["feature"].iloc[0]
            assert contributions.loc[row, feature] == pytest.approx(strongest_for["contribution"].iloc[0])
            assert contributions.loc[row, feature] == contributions.loc[row, list(X.columns)].max()
        for _, factor in group.iterrows():
            value = rows.loc[row, factor["feature"]]
            assert (pd.isna(value) and pd.isna(factor["value"])) or value == factor["value"]
    # a categorical column is one factor, under its own name
    assert set(factors["feature"]) <= set(X.columns)


def test_bad_input_is_refused_with_the_field_named() -> None:
    X, y = _deals(300, seed=8)
    with pytest.raises(ValidationError, match="'won'") as refused:
        WinModel().fit(X, np.where(y == "won", "Won", "Lost"))
    assert refused.value.problems[0].field == "positive"
    with pytest.raises(InsufficientDataError, match="300 deals"):
        WinModel().fit(X, np.full(300, "won"))
    with pytest.raises(InsufficientDataError, match="at least 5 of each"):
        WinModel().fit(X.head(12), np.array(["won"] * 3 + ["lost"] * 9))
    dated = X.assign(created=pd.Timestamp("2024-01-01"))
    with pytest.raises(ValidationError, match="'created'"):
        WinModel().fit(dated, y)
    model = WinModel().fit(X, y)
    with pytest.raises(ValidationError, match="stage_age_days"):
        model.win_probability(X.drop(columns="stage_age_days"))
    with pytest.raises(ValidationError, match="holds text"):
        model.win_probability(X.assign(amount="big"))


def test_calibration_holds_out_deals_never_learnt_from_and_keeps_groups_whole() -> None:
    rng = np.random.default_rng(9)
    small = Outcomes.of(rng.choice(["won", "lost"], 3000), "won")
    groups = rng.integers(0, 1000, 3000)
    splits = WinModel()._calibration_splits(small, None, groups)
    assert len(splits) == 3  # cross-fitting: every deal is held out once
    assert sorted(np.concatenate([held for _, held in splits]).tolist()) == list(range(3000))
    for learn, held in splits:
        assert not set(groups[learn]) & set(groups[held])
    large = Outcomes.of(rng.choice(["won", "lost"], 100_000), "won")
    ((learn, held),) = WinModel()._calibration_splits(large, None, None)  # one random fifth is enough
    assert len(held) == pytest.approx(20_000, rel=0.01) and not set(learn) & set(held)
    when = rng.permutation(3000)
    ((learn, held),) = WinModel()._calibration_splits(small, when, groups)
    assert when[held].min() == 2400 and when[learn].max() < 2400  # the newest fifth calibrates
    assert not set(groups[learn]) & set(groups[held])
