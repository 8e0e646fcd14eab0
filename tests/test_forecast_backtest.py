"""The backtest of won count and amount (:mod:`dealsight.analytics.backtest`).

- Metric definitions on hand-computed cases; the common shock, its coin-flip noise and the calibrated
  dispersion (conformal rank, coin flips counted once, the fallback while few forecasts have ended).
- Calibration on simulated periods whose true shock sd is known: the dispersion finds it and P10-P90
  holds about 80% of the outcomes; with coin flips alone the ranges are not widened by a shock.
- A backtest on a random organisation: every row's range is ordered, JSON has the documented nesting, and
  a forecast as of a date (its range and dispersion included) is the same whatever happened after it.
- The speed devices keep that promise: the learning sample at an instant depends only on the deals open
  then, and the snapshot model used as of a date was fitted at or before it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from dealsight.analytics.backtest import (
    CALIBRATION_DATES,
    COVERAGE_Z,
    FALLBACK_DISPERSION,
    MIN_CALIBRATION_DATES,
    backtest,
    calibrated_dispersion,
    common_shock,
    forecast_metrics,
    shock_noise,
)
from dealsight.analytics.forecast_replay import as_of_grid, replay_snapshots, sampled_per_instant
from dealsight.analytics.forecast_simulation import period_ranges
from dealsight.analytics.time_to_close import HorizonContext, refit_instant
from tests.test_indicator_leakage import START, World


def test_metrics_match_hand_computed_values() -> None:
    forecast = np.array([12.0, 5.0, 30.0, 4.0])
    actual = np.array([10.0, 10.0, 20.0, 0.0])
    p10, p90 = np.array([8.0, 6.0, 15.0, 0.0]), np.array([14.0, 9.0, 25.0, 3.0])
    metrics = forecast_metrics(forecast, actual, p10, p90)
    # errors on positive actuals: 20%, 50%, 50%; bias (51 - 40) / 40; inside: dates 1, 3, 4
    assert metrics["mape"] == pytest.approx(40.0)
    assert metrics["mdape"] == pytest.approx(50.0)
    assert metrics["bias"] == pytest.approx(27.5)
    assert metrics["coverage_p10_p90"] == pytest.approx(75.0)
    assert metrics["dates"] == 4


def test_common_shock_reproduces_the_actual_and_its_coin_flip_noise_is_hand_computed() -> None:
    p = np.array([0.1, 0.3, 0.5, 0.7])
    z = common_shock(p, np.ones(4), 2.5)
    assert expit(logit(p) + z).sum() == pytest.approx(2.5, abs=1e-6)
    assert z > 0  # more won than the 1.6 expected
    assert common_shock(p, np.ones(4), 0.0) == -4.0  # clipped
    # no uncertain deal: no shock changes the forecast, so its error says nothing about the shock
    assert np.isnan(common_shock(np.array([0.0, 1.0]), np.ones(2), 1.0))
    assert np.isnan(common_shock(p, np.zeros(4), 1.0))
    # two deals at 1/2: the count's flips have sd sqrt(2 / 4), its slope in the shock is 2 / 4
    assert shock_noise(np.array([0.5, 0.5]), np.ones(2), 0.0) == pytest.approx(np.sqrt(0.5) / 0.5)
    # amounts 1 and 3: sd sqrt((1 + 9) / 4), slope (1 + 3) / 4
    assert shock_noise(np.array([0.5, 0.5]), np.array([1.0, 3.0]), 0.0) == pytest.approx(np.sqrt(2.5))
    assert np.isnan(shock_noise(p, np.ones(4), float("nan")))


def test_calibrated_dispersion_is_the_conformal_quantile_with_coin_flips_counted_once() -> None:
    # 14 shocks: the conformal 80% rank is 0.8 * 15 = 12, the 12th smallest |z| is 1.2816: dispersion 1
    shocks = [*np.full(11, -0.5), COVERAGE_Z, 3.0, -3.0]
    assert calibrated_dispersion(shocks) == pytest.approx(1.0, rel=1e-4)
    # the same errors, each with coin flips of sd 0.6 in shock units: the shock adds only sqrt(1 - 0.36)
    assert calibrated_dispersion(shocks, np.full(14, 0.6)) == pytest.approx(0.8, rel=1e-4)
    # errors the coin flips explain need no shock at all
    assert calibrated_dispersion(shocks, np.full(14, 1.0)) == 0.0
    # forecasts that said nothing about the shock (NaN) are left out, not taken as zero errors
    assert calibrated_dispersion([*shocks, *np.full(20, np.nan)]) == pytest.approx(1.0, rel=1e-4)


def test_with_few_ended_forecasts_the_largest_error_and_at_least_the_fallback() -> None:
    assert 0.8 * (MIN_CALIBRATION_DATES + 1) <= MIN_CALIBRATION_DATES  # the conformal rank exists
    assert 0.8 * MIN_CALIBRATION_DATES > MIN_CALIBRATION_DATES - 1  # and not with one fewer
    assert calibrated_dispersion([]) == FALLBACK_DISPERSION
    assert calibrated_dispersion([0.1, -0.2, 0.05]) == FALLBACK_DISPERSION
    assert calibrated_dispersion([0.1, -3.0]) == pytest.approx(3.0 / COVERAGE_Z, rel=1e-4)


def _simulated_coverage(
    sigma: float, periods: int = 160, deals: int = 300, seed: int = 5
) -> dict[str, float]:
    """Periods of ``deals`` deals with known probabilities, each period's outcomes drawn with one common
    log-odds shock of sd ``sigma``; from the 13th period on, the range of each period uses the dispersion
    calibrated on the previous 13 periods' errors only. Coverage per measure and the median dispersion."""
    rng = np.random.default_rng(seed)
    past: dict[str, list[tuple[float, float]]] = {"count": [], "amount": []}
    inside: dict[str, list[bool]] = {"count": [], "amount": []}
    dispersions = []
    for _ in range(periods):
        p = rng.beta(1.0, 4.0, deals)
        a = rng.lognormal(9.0, 0.8, deals)
        won = rng.random(deals) < expit(logit(p) + rng.normal(0.0, sigma))
        actual = {"count": float(won.sum()), "amount": float(a[won].sum())}
        weights = {"count": np.ones(deals), "amount": a}
        for measure, weight in weights.items():
            if len(past[measure]) >= CALIBRATION_DATES:
                shocks, noise = zip(*past[measure][-CALIBRATION_DATES:], strict=True)
                dispersion = calibrated_dispersion(shocks, noise)
                total = period_ranges(p, a, dispersion=dispersion, draws=1000, seed=len(dispersions)).total
                figure = total.count if measure == "count" else total.amount
                inside[measure].append(figure.p10 <= actual[measure] <= figure.p90)
                dispersions.append(dispersion)
            z = common_shock(p, weight, actual[measure])
            past[measure].append((z, shock_noise(p, weight, z)))
    return {
        "count": float(np.mean(inside["count"])),
        "amount": float(np.mean(inside["amount"])),
        "dispersion": float(np.median(dispersions)),
    }


def test_calibration_finds_a_known_shock_and_covers_80_percent_of_simulated_periods() -> None:
    found = _simulated_coverage(0.6)
    assert found["dispersion"] == pytest.approx(0.6, rel=0.2)
    # 147 periods per measure: a binomial sd of 3.3 points around 80%
    assert 0.72 <= found["count"] <= 0.88
    assert 0.72 <= found["amount"] <= 0.88


def test_coin_flips_alone_are_not_counted_twice() -> None:
    """Without a shock the errors are the coin flips the range engine already draws: a dispersion taken
    from the raw errors (the flips counted twice) would cover ~93%."""
    found = _simulated_coverage(0.0)
    assert found["dispersion"] < 0.1
    assert 0.72 <= found["count"] <= 0.9
    assert 0.72 <= found["amount"] <= 0.9


@pytest.fixture(scope="module")
def world_backtest() -> tuple[World, pd.DataFrame]:
    world = World(11, deals=150)
    result = backtest(
        world.data(),
        start=START + pd.Timedelta(days=120),
        end=START + pd.Timedelta(days=190),
        methods=("stage_weighted", "competing_risks", "model"),
        draws=500,
    )
    return world, result.rows


def test_backtest_rows_are_ordered_ranges_with_the_documented_json(
    world_backtest: tuple[World, pd.DataFrame],
) -> None:
    world, rows = world_backtest
    assert len(rows) == 11 * 3 * 2  # dates x methods x measures
    assert (rows["p10"] <= rows["p50"]).all() and (rows["p50"] <= rows["p90"]).all()
    assert (rows["dispersion"] >= 0).all() and (rows["dispersion"] > 0).any()
    result = backtest(
        world.data(),
        start=START + pd.Timedelta(days=120),
        end=START + pd.Timedelta(days=130),
        methods=("competing_risks",),
        draws=200,
    )
    payload = result.to_json()
    assert set(payload["results"]["competing_risks"]) == {"count", "amount"}
    assert set(payload["results"]["competing_risks"]["count"]) == {
        "mape",
        "bias",
        "mdape",
        "coverage_p10_p90",
        "dates",
    }


def test_backtest_forecasts_do_not_change_with_later_history(
    world_backtest: tuple[World, pd.DataFrame],
) -> None:
    _, rows = world_backtest
    cut = START + pd.Timedelta(days=200)
    world = World(11, deals=150)
    world.change_after(cut)
    again = backtest(
        world.data(),
        start=START + pd.Timedelta(days=120),
        end=START + pd.Timedelta(days=190),
        methods=("stage_weighted", "competing_risks", "model"),
        draws=500,
    ).rows
    # forecasts as of dates whose horizon ended before the change: identical; their outcomes too
    settled = rows["as_of"] + pd.Timedelta(days=28) < cut
    assert settled.sum() > 6
    columns = ["p10", "p50", "p90", "forecast", "actual", "dispersion", "calibration_dates"]
    pd.testing.assert_frame_equal(again.loc[settled, columns], rows.loc[settled, columns])
    # as of a date before the change whose horizon runs past it: the outcome may differ, but the range and
    # its dispersion were made with the outcomes ended by then only
    before = rows["as_of"] + pd.Timedelta(days=1) <= cut
    columns = ["p10", "p50", "p90", "forecast", "dispersion", "calibration_dates"]
    pd.testing.assert_frame_equal(again.loc[before, columns], rows.loc[before, columns])
    assert (again.loc[before & ~settled, "actual"] != rows.loc[before & ~settled, "actual"]).any()
    learned = rows.loc[before & ~settled]
    assert ((learned["calibration_dates"] >= 4) & (learned["dispersion"] > 0)).any()


def test_learning_sample_depends_only_on_the_deals_open_at_each_instant() -> None:
    t1, t2 = np.datetime64("2024-01-07", "ns"), np.datetime64("2024-01-14", "ns")
    pairs = pd.DataFrame({"opportunity_id": [*range(10), *range(5, 20)], "as_of": [t1] * 10 + [t2] * 15})
    sampled = sampled_per_instant(pairs, 4)
    assert sampled[:10].sum() == 4 and sampled[10:].sum() == 4
    # deals open only at the later instant (and later ones) change nothing at the earlier one
    more = pd.concat(
        [pairs, pd.DataFrame({"opportunity_id": range(20, 40), "as_of": [t2] * 20})], ignore_index=True
    )
    np.testing.assert_array_equal(sampled_per_instant(more, 4)[:10], sampled[:10])
    # with room for every deal, every deal is sampled
    assert (sampled_per_instant(pairs, 25) == True).all()  # noqa: E712


def test_the_snapshot_model_used_as_of_a_date_was_fitted_at_or_before_it() -> None:
    world = World(12, deals=60)
    for day in range(100, 130):
        as_of = as_of_grid(START + pd.Timedelta(days=day), START + pd.Timedelta(days=day), 7)[0]
        context = HorizonContext(replay_snapshots(world.data(), [as_of]), pd.DataFrame(), as_of, 28)
        fitted = refit_instant(context)
        assert as_of - pd.Timedelta(days=21) <= fitted <= as_of
