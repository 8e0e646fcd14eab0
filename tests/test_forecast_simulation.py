"""The range engine against brute-force Monte Carlo, and its invariants.

Agreement is judged on the quantile *levels*: at the engine's P10, P50 and P90 the brute-force CDF (from
``BRUTE_DRAWS`` outcomes, deal by deal) must reach the level within ``LEVEL_TOLERANCE``
(``F(q-) - tol <= level <= F(q) + tol``; this handles counts and small groups, whose distributions
jump). Both sides carry Monte Carlo noise of about 0.004 at these draws; the approximation of large
groups must stay inside the rest. Expected values must agree within four standard errors of the
brute-force mean.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logit
from scipy.stats import poisson

from dealsight.analytics.forecast_simulation import PeriodRange, period_ranges
from dealsight.analytics.new_deals import NewDeals
from dealsight.errors import ValidationError

BRUTE_DRAWS = 12_000
LEVEL_TOLERANCE = 0.02
LEVELS = (0.1, 0.5, 0.9)


def _brute(
    p: np.ndarray,
    a: np.ndarray,
    groups: np.ndarray,
    n_groups: int,
    dispersion: float,
    new: NewDeals | None = None,
    seed: int = 99,
) -> tuple[np.ndarray, np.ndarray]:
    """(draws, n_groups + 1) won count and amount, deal by deal; the last column is the total."""
    rng = np.random.default_rng(seed)
    with np.errstate(divide="ignore"):
        log_odds = logit(p)
    a0 = np.nan_to_num(a)
    count = np.zeros((BRUTE_DRAWS, n_groups))
    amount = np.zeros((BRUTE_DRAWS, n_groups))
    step = max(1, 4_000_000 // len(p))
    for first in range(0, BRUTE_DRAWS, step):
        rows = min(step, BRUTE_DRAWS - first)
        z = rng.normal(0.0, dispersion, rows)
        chance = expit((log_odds + z[:, None]).astype(np.float32))
        wins = rng.random((rows, len(p)), dtype=np.float32) < chance
        for g in range(n_groups):
            member = groups == g
            count[first : first + rows, g] = wins[:, member].sum(axis=1)
            amount[first : first + rows, g] = wins[:, member] @ a0[member]
            if new is not None and new.expected_count[g] > 0:
                n = rng.poisson(new.expected_count[g] * np.exp(z - dispersion**2 / 2))
                count[first : first + rows, g] += n
                sample = new.amounts[g]
                owner = np.repeat(np.arange(rows), n)
                picked = sample[rng.integers(0, sample.size, owner.size)]
                amount[first : first + rows, g] += np.bincount(owner, weights=picked, minlength=rows)
    return (
        np.column_stack([count, count.sum(axis=1)]),
        np.column_stack([amount, amount.sum(axis=1)]),
    )


def _assert_agrees(found: PeriodRange, brute_count: np.ndarray, brute_amount: np.ndarray, label: str) -> None:
    for kind, got, values in (("count", found.count, brute_count), ("amount", found.amount, brute_amount)):
        for level, q in zip(LEVELS, (got.p10, got.p50, got.p90), strict=True):
            below = np.mean(values < q - 1e-9 * max(1.0, abs(q)))
            at_most = np.mean(values <= q + 1e-9 * max(1.0, abs(q)))
            assert below - LEVEL_TOLERANCE <= level <= at_most + LEVEL_TOLERANCE, (
                f"{label} {kind} P{level * 100:.0f}={q:.6g}: brute-force CDF {below:.3f}..{at_most:.3f}"
            )
        se = values.std() / np.sqrt(len(values))
        assert abs(got.expected - values.mean()) <= 4 * se + 1e-9, f"{label} {kind} expected"


def _deals(sizes: list[int], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(len(sizes)), sizes)
    p = rng.beta(0.8, 2.0, groups.size)
    a = rng.lognormal(9.0, 1.0, groups.size)
    return p, a, groups


@pytest.mark.parametrize("dispersion", [0.0, 0.3, 1.0])
def test_agrees_with_brute_force_for_groups_of_1_5_50_400_and_5000_deals(dispersion: float) -> None:
    sizes = [1, 5, 50, 400, 5000]
    p, a, groups = _deals(sizes, seed=int(dispersion * 10))
    found = period_ranges(p, a, groups, len(sizes), dispersion=dispersion, seed=3)
    count, amount = _brute(p, a, groups, len(sizes), dispersion)
    for g in range(len(sizes)):
        _assert_agrees(found.groups[g], count[:, g], amount[:, g], f"group of {sizes[g]}")
    _assert_agrees(found.total, count[:, -1], amount[:, -1], "total")


def test_agrees_with_brute_force_with_new_deals_a_lopsided_group_and_certain_deals() -> None:
    p, a, groups = _deals([3000, 1000], seed=5)
    a[3000] = 5e6  # one deal holds most of group 1's amount variance: simulated exactly
    p[:10] = 1.0
    p[10:20] = 0.0
    a[20] = np.nan  # counts in count, not in amount
    rng = np.random.default_rng(8)
    new = NewDeals(np.array([4.0, 60.0]), (rng.lognormal(9, 1, 30), rng.lognormal(8, 0.5, 80)))
    found = period_ranges(p, a, groups, 2, dispersion=0.5, new_deals=new, seed=1)
    count, amount = _brute(p, a, groups, 2, 0.5, new=new)
    for g in range(2):
        _assert_agrees(found.groups[g], count[:, g], amount[:, g], f"group {g}")
    _assert_agrees(found.total, count[:, -1], amount[:, -1], "total")


def test_without_dispersion_the_expected_value_is_the_stage_weighted_sum() -> None:
    p, a, groups = _deals([30, 3000], seed=2)
    found = period_ranges(p, a, groups, 2)
    weighted = np.bincount(groups, weights=p * a)
    for g in range(2):
        assert found.groups[g].amount.expected == pytest.approx(weighted[g], rel=1e-12)
        assert found.groups[g].count.expected == pytest.approx(p[groups == g].sum(), rel=1e-12)


def test_the_common_shock_widens_the_range_and_covers_the_realised_figure_80_percent_of_the_time() -> None:
    """Periods whose true probabilities share a shock of sd 0.6: the range with the same dispersion holds
    the realised count between P10 and P90 ~80% of the time; independent flips far less often."""
    rng = np.random.default_rng(11)
    p = rng.beta(1.0, 3.0, 2000)
    a = np.ones_like(p)
    honest = period_ranges(p, a, dispersion=0.6, draws=4000).total.count
    naive = period_ranges(p, a, draws=4000).total.count
    periods = 400
    z = rng.normal(0.0, 0.6, periods)
    realised = (rng.random((periods, p.size)) < expit(logit(p) + z[:, None])).sum(axis=1)
    honest_cover = np.mean((realised >= honest.p10) & (realised <= honest.p90))
    naive_cover = np.mean((realised >= naive.p10) & (realised <= naive.p90))
    assert 0.72 <= honest_cover <= 0.88
    assert naive_cover < 0.4
    assert naive.p90 - naive.p10 < (honest.p90 - honest.p10) / 3


def test_targets_give_reach_probabilities_and_the_total_only_when_every_group_has_one() -> None:
    p, a, groups = _deals([20, 2000], seed=4)
    pipeline = np.bincount(groups, weights=a)
    found = period_ranges(p, a, groups, 2, targets=np.array([0.0, pipeline[1] + 1]), dispersion=0.2)
    assert found.groups[0].reach_probability == 1.0
    assert found.groups[1].reach_probability == 0.0
    assert found.total.reach_probability is not None
    median = found.groups[1].amount.p50
    half = period_ranges(p, a, groups, 2, targets=np.array([np.nan, median]), dispersion=0.2)
    assert half.groups[0].reach_probability is None
    assert half.total.reach_probability is None
    assert half.groups[1].reach_probability == pytest.approx(0.5, abs=0.02)
    assert period_ranges(p, a, groups, 2).groups[1].reach_probability is None


def test_an_empty_group_and_no_deals_at_all_give_zero() -> None:
    found = period_ranges(np.array([0.5]), np.array([10.0]), np.array([1]), 3, dispersion=0.4)
    assert found.groups[0].count == found.groups[2].count
    assert found.groups[0].amount.p90 == 0.0 and found.groups[0].count.expected == 0.0
    none = period_ranges(np.zeros(0), np.zeros(0), dispersion=0.3)
    assert none.total.amount.p90 == 0.0 and none.total.count.expected == 0.0


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"probability": np.array([0.5, 1.2]), "amount": np.ones(2)}, "probability"),
        ({"probability": np.array([0.5, np.nan]), "amount": np.ones(2)}, "probability"),
        ({"probability": np.array([0.5]), "amount": np.ones(2)}, "amount"),
        ({"probability": np.array([0.5]), "amount": np.array([-1.0])}, "amount"),
        ({"probability": np.array([0.5]), "amount": np.ones(1), "dispersion": -0.1}, "dispersion"),
        ({"probability": np.array([0.5]), "amount": np.ones(1), "groups": np.array([2])}, "groups"),
        ({"probability": np.array([0.5]), "amount": np.ones(1), "targets": np.ones(2)}, "targets"),
        ({"probability": np.array([0.5]), "amount": np.ones(1), "new_deals": NewDeals.none(2)}, "new_deals"),
        ({"probability": np.array([0.5]), "amount": np.ones(1), "draws": 0}, "draws"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(arguments: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        period_ranges(**arguments)  # type: ignore[arg-type]
    assert field in [problem.field for problem in caught.value.problems]


@st.composite
def _cases(draw: st.DrawFn) -> dict[str, object]:
    n_groups = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(0, 600), min_size=n_groups, max_size=n_groups))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_groups), sizes)
    p = (
        rng.choice([0.0, 0.02, 0.5, 0.97, 1.0], groups.size)
        if draw(st.booleans())
        else rng.random(groups.size)
    )
    a = rng.lognormal(5.0, draw(st.floats(0.0, 2.5)), groups.size)
    return {
        "probability": p,
        "amount": a,
        "groups": groups,
        "n_groups": n_groups,
        "dispersion": draw(st.floats(0.0, 2.0)),
        "draws": draw(st.integers(1, 3000)),
        "seed": seed,
    }


@settings(max_examples=40, deadline=None)
@given(_cases(), st.floats(0.0, 50.0))
def test_properties_ordered_bounded_by_the_pipeline_and_deterministic(
    case: dict[str, object], lam: float
) -> None:
    p, a, groups = case["probability"], case["amount"], case["groups"]
    assert isinstance(p, np.ndarray) and isinstance(a, np.ndarray) and isinstance(groups, np.ndarray)
    n_groups = int(case["n_groups"])  # type: ignore[call-overload]
    found = period_ranges(**case)  # type: ignore[arg-type]
    assert found == period_ranges(**case)  # type: ignore[arg-type]
    pipeline = np.bincount(groups, weights=a, minlength=n_groups)
    deals = np.bincount(groups, minlength=n_groups)
    for g, result in enumerate((*found.groups, found.total)):
        limit_amount = pipeline[g] if g < n_groups else pipeline.sum()
        limit_count = deals[g] if g < n_groups else deals.sum()
        for rng_, limit in ((result.count, limit_count), (result.amount, limit_amount)):
            assert 0.0 <= rng_.p10 <= rng_.p50 <= rng_.p90 <= limit * (1 + 1e-9) + 1e-9
            assert 0.0 <= rng_.expected <= limit * (1 + 1e-9) + 1e-9
    sample = np.random.default_rng(1).lognormal(5.0, 1.0, 20)
    new = NewDeals(np.full(n_groups, lam), tuple(sample for _ in range(n_groups)))
    with_new = period_ranges(**case, new_deals=new)  # type: ignore[arg-type]
    dispersion = float(case["dispersion"])  # type: ignore[arg-type]
    # the new deals' maximum: a count beyond any draw (the shock is at most 8 sd) times the largest amount
    most = poisson.ppf(1 - 1e-12, n_groups * lam * np.exp(8 * dispersion - dispersion**2 / 2))
    assert with_new.total.count.p90 <= deals.sum() + most
    assert with_new.total.amount.p90 <= pipeline.sum() + most * sample.max() + 1e-6
    assert with_new.total.count.expected == pytest.approx(found.total.count.expected + n_groups * lam)


def test_beyond_the_exact_budget_deals_are_approximated_and_said_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from dealsight.analytics import forecast_simulation

    p, a, groups = _deals([50] * 40, seed=6)
    exact = period_ranges(p, a, groups, 40, dispersion=0.3, draws=2000)
    assert exact.approximated_groups == 0
    monkeypatch.setattr(forecast_simulation, "EXACT_BUDGET", 2000 * 500)  # room for 10 groups of 50
    squeezed = period_ranges(p, a, groups, 40, dispersion=0.3, draws=2000)
    assert squeezed.approximated_groups == 30
    assert squeezed.total.amount.expected == pytest.approx(exact.total.amount.expected, rel=1e-9)
    for found in (*squeezed.groups, squeezed.total):
        assert found.count.p10 <= found.count.p50 <= found.count.p90
        assert found.amount.p10 <= found.amount.p50 <= found.amount.p90
    # the total of 2000 deals is well approximated either way
    assert squeezed.total.amount.p50 == pytest.approx(exact.total.amount.p50, rel=0.02)


def test_agrees_with_brute_force_for_rare_wins_and_heavy_tailed_amounts() -> None:
    """3,000 deals with ~1.5% chances and log-normal(sd 2) amounts: a skewed count, a few deals holding
    much of the amount (those are flipped exactly, the rest drawn from three cumulants)."""
    rng = np.random.default_rng(3)
    p = rng.beta(0.3, 20.0, 3000)
    a = rng.lognormal(9.0, 2.0, 3000)
    groups = np.zeros(3000, dtype=np.int64)
    found = period_ranges(p, a, groups, 1, dispersion=0.5, seed=2)
    count, amount = _brute(p, a, groups, 1, 0.5)
    _assert_agrees(found.total, count[:, -1], amount[:, -1], "rare wins")
