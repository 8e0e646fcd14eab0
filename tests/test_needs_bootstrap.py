"""The bootstrap intervals of the needs analysis: properties (the interval holds the mean, narrows with
more respondents), the same interval as scipy's bootstrap of the rows themselves, and a synthetic survey
whose true weights are known: the intervals cover them about 95% of the time, and the function whose
beliefs are off is the one found wrong, on the need it is wrong about."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from dealsight.analytics.needs import analyse_needs
from dealsight.analytics.survey_answers import (
    BATCH_ROWS,
    answers_from_records,
    bootstrap_means,
    group_rng,
)

NEEDS = ["brand", "product", "quality", "price", "service"]
TRUE_WEIGHTS = np.array([10, 30, 15, 25, 20.0])


def _allocation(draw: st.DrawFn, needs: int) -> list[float]:
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=needs - 1, max_size=needs - 1)))
    edges = [0, *cuts, 100]
    return [float(b - a) for a, b in itertools.pairwise(edges)]


@st.composite
def allocations(draw: st.DrawFn) -> np.ndarray:
    """A group of 2 to 40 respondents' 100-point allocations across 2 to 5 needs."""
    needs = draw(st.integers(2, 5))
    rows = draw(st.integers(2, 40))
    return np.array([_allocation(draw, needs) for _ in range(rows)])


@given(allocations(), st.integers(0, 2**16))
@settings(max_examples=60, deadline=None)
def test_the_interval_holds_the_mean(points: np.ndarray, seed: int) -> None:
    found = bootstrap_means(points, 200, group_rng(seed, "g"))
    assert np.allclose(found.mean, points.mean(axis=0))
    assert np.all(found.low <= found.mean + 1e-9) and np.all(found.mean <= found.high + 1e-9)
    assert np.all((found.low >= 0) & (found.high <= 100))


@given(allocations(), st.integers(0, 2**16))
@settings(max_examples=40, deadline=None)
def test_the_interval_narrows_with_more_respondents(points: np.ndarray, seed: int) -> None:
    few = bootstrap_means(points, 400, group_rng(seed, "few"))
    many = bootstrap_means(np.tile(points, (9, 1)), 400, group_rng(seed, "many"))  # the same answers x9
    width_few, width_many = few.high - few.low, many.high - many.low
    assert np.all(width_many <= width_few + 1e-9)
    spread = width_few > 5  # about a third as wide (1/sqrt(9)), with room for resampling noise
    assert np.all(width_many[spread] < 0.6 * width_few[spread])


@given(st.lists(st.one_of(st.none(), st.floats(0, 10)), min_size=0, max_size=30), st.integers(0, 99))
@settings(max_examples=60, deadline=None)
def test_unrated_cells_are_left_out(ratings: list[float | None], seed: int) -> None:
    values = np.array([[np.nan if r is None else r] for r in ratings], dtype=float).reshape(-1, 1)
    found = bootstrap_means(values, 100, group_rng(seed, "r"))
    given_ = [r for r in ratings if r is not None]
    assert int(found.answered[0]) == len(given_)
    if given_:
        assert found.mean[0] == pytest.approx(np.mean(given_))
    if len(given_) >= 2:
        assert found.low[0] <= found.mean[0] + 1e-9 <= found.high[0] + 2e-9
    else:
        assert np.isnan(found.low[0]) and np.isnan(found.high[0])


def test_the_same_interval_as_scipy_resampling_the_rows() -> None:
    """Resampling row numbers and counting draws is the percentile bootstrap of the rows themselves."""
    rng = np.random.default_rng(5)
    values = rng.dirichlet([1, 3, 2], size=300) * 100
    ours = bootstrap_means(values, 500, np.random.default_rng(42))
    for column in range(3):
        theirs = stats.bootstrap(
            (values[:, column],),
            np.mean,
            n_resamples=500,
            method="percentile",
            batch=BATCH_ROWS // 300,
            rng=np.random.default_rng(42),
        ).confidence_interval
        assert ours.low[column] == pytest.approx(theirs.low) and ours.high[column] == pytest.approx(
            theirs.high
        )


def _synthetic(seed: int, customers: int) -> list[dict[str, object]]:
    """Customers whose points are Dirichlet draws around TRUE_WEIGHTS; sales people who believe price gets
    20 points more than it does (from service and quality); marketing people who believe the truth."""
    rng = np.random.default_rng(seed)
    believed = TRUE_WEIGHTS + np.array([0, 0, -10, 20, -10])
    records: list[dict[str, object]] = []
    for function, weights, count in (
        (None, TRUE_WEIGHTS, customers),
        ("sales", believed, 12),
        ("marketing", TRUE_WEIGHTS, 12),
    ):
        for row in rng.dirichlet(weights / 100 * 8, size=count) * 100:
            ratings = {"us": dict(zip(NEEDS, rng.uniform(4, 9, 5), strict=True))}
            records.append(
                {"function": function, "points": dict(zip(NEEDS, row, strict=True)), "ratings": ratings}
            )
    return records


def test_a_synthetic_survey_recovers_its_true_weights_and_the_gap() -> None:
    covered, intervals, sales_price_found, marketing_false_alarms = 0, 0, 0, 0
    surveys = 40
    for seed in range(surveys):
        answers = answers_from_records(NEEDS, ["us"], "us", _synthetic(seed, customers=150))
        analysis = analyse_needs(answers, resamples=400, seed=seed)
        for weight, truth in zip(analysis.weights.needs, TRUE_WEIGHTS, strict=True):
            assert weight.low is not None and weight.high is not None
            covered += weight.low <= truth <= weight.high
            intervals += 1
        sales, marketing = (next(g for g in analysis.gaps if g.function == f) for f in ("sales", "marketing"))
        top = sales.most_wrong[0]
        sales_price_found += top.need == "price" and top.distinguishable and (top.gap or 0) > 10
        marketing_false_alarms += sum(g.distinguishable for g in marketing.weights)
    coverage = covered / intervals
    assert 0.88 <= coverage <= 0.99, f"95% intervals covered the true weight {coverage:.0%} of the time"
    assert sales_price_found >= surveys - 2, "sales's belief about price is the gap found"
    assert marketing_false_alarms <= 0.15 * surveys * len(NEEDS), "marketing believes the truth"
