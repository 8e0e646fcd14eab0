"""The backtest of won count and amount (:mod:`dealsight.analytics.backtest`).

- Metric definitions on hand-computed cases; the common shock and the calibrated dispersion.
- A backtest on a random organisation: every row's range is ordered, JSON has the documented nesting, and
  a forecast as of a date is the same whatever happened after it.
- The speed devices keep that promise: the learning sample at an instant depends only on the deals open
  then, and the snapshot model used as of a date was fitted at or before it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from dealsight.analytics.backtest import (
    PRIOR_DISPERSION,
    backtest,
    calibrated_dispersion,
    common_shock,
    forecast_metrics,
)
from dealsight.analytics.forecast_replay import as_of_grid, replay_snapshots, sampled_per_instant
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


def test_common_shock_reproduces_the_actual_and_dispersion_follows_the_past() -> None:
    p = np.array([0.1, 0.3, 0.5, 0.7])
    z = common_shock(p, np.ones(4), 2.5)
    assert expit(logit(p) + z).sum() == pytest.approx(2.5, abs=1e-6)
    assert z > 0  # more won than the 1.6 expected
    assert common_shock(p, np.ones(4), 0.0) == -4.0  # clipped
    assert calibrated_dispersion([]) == pytest.approx(PRIOR_DISPERSION)
    # 21 past shocks whose 80th percentile of |z| is 1.2816: the observed dispersion is 1, shrunk to the prior
    shocks = [*np.full(16, -0.5), 1.2815515655446004, *np.full(4, 3.0)]
    expected = np.sqrt((21 * 1.0**2 + 4 * PRIOR_DISPERSION**2) / 25)
    assert calibrated_dispersion(shocks) == pytest.approx(expected, rel=1e-3)


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
    world = World(11, deals=150)
    world.change_after(START + pd.Timedelta(days=200))
    again = backtest(
        world.data(),
        start=START + pd.Timedelta(days=120),
        end=START + pd.Timedelta(days=190),
        methods=("stage_weighted", "competing_risks", "model"),
        draws=500,
    ).rows
    # forecasts as of dates whose horizon ended before the change: identical; their outcomes too
    settled = rows["as_of"] + pd.Timedelta(days=28) < START + pd.Timedelta(days=200)
    assert settled.sum() > 6
    columns = ["p10", "p50", "p90", "forecast", "actual", "dispersion"]
    pd.testing.assert_frame_equal(again.loc[settled, columns], rows.loc[settled, columns])


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
