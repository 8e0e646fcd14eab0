"""Time-to-close methods (:mod:`dealsight.analytics.time_to_close`) and the replay they stand on.

- The competing-risks estimator against a small case computed by hand.
- The deals open at an instant are those :func:`replay.state_as_of` says were open.
- No look-ahead: the probabilities of every method as of T do not change when everything after T changes
  (the random organisations of tests/test_indicator_leakage.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dealsight.analytics.backtest import horizon_forecast
from dealsight.analytics.forecast_replay import as_of_grid, deal_lives
from dealsight.analytics.replay import state_as_of
from dealsight.analytics.time_to_close import CumulativeIncidence
from dealsight.domain.enums import Outcome
from tests.test_indicator_leakage import START, World


def test_cumulative_incidence_matches_a_hand_computed_case() -> None:
    # ages at the close or censoring: won at 1, lost at 2, censored at 3, won at 3
    incidence = CumulativeIncidence.fit(np.array([1, 2, 3, 3]), np.array([1, 2, 0, 1]), reach=3)
    # at risk 4, 4, 3, 2; survival 1, 3/4, 1/2, 1/4; F_won(1) = 1/4, F_won(3) = 1/4 + 1/2 * 1/2
    assert incidence.survival[:4] == pytest.approx([1.0, 0.75, 0.5, 0.25])
    assert incidence.won[:4] == pytest.approx([0.0, 0.25, 0.25, 0.5])
    assert incidence.other[:4] == pytest.approx([0.0, 0.0, 0.25, 0.25])
    won, other = incidence.within(np.array([0, 1, 2]), 2)
    assert won == pytest.approx([0.25, (0.5 - 0.25) / 0.75, 0.5])
    assert other == pytest.approx([0.25, 0.25 / 0.75, 0.0])


@pytest.mark.parametrize("seed", range(2))
def test_open_deals_are_those_the_replay_says_were_open(seed: int) -> None:
    world = World(200 + seed, deals=80)
    data = world.data()
    lives = deal_lives(data)
    outcomes = {
        str(n): (Outcome(o) if isinstance(o, str) and o else None)
        for n, o in zip(data.stages["name"], data.stages["outcome"], strict=True)
    }
    for day in (START + pd.Timedelta(days=60), START + pd.Timedelta(days=150)):
        instant = as_of_grid(day, day, 7)[0]
        replayed = state_as_of(data.opportunities, data.history, outcomes, instant.to_pydatetime())
        expected = set(replayed.loc[replayed["is_open"], "id"].tolist())
        assert set(lives.opportunity_id[lives.open_at(instant.value)].tolist()) == expected
        assert expected  # the case is not empty


@pytest.mark.parametrize("seed", range(2))
def test_no_method_looks_past_the_as_of_date(seed: int) -> None:
    world = World(300 + seed, deals=120)
    cut = START + pd.Timedelta(days=170)
    methods = ("stage_weighted", "stage_weighted_ttc", "rep_commit", "competing_risks", "model")
    before = {m: horizon_forecast(world.data(), cut, method=m) for m in methods}
    lives = deal_lives(world.data())
    rows = np.flatnonzero(lives.open_at(as_of_grid(cut, cut, 7)[0].value))
    world.change_after(cut + pd.Timedelta(days=1))
    for method in methods:
        pd.testing.assert_frame_equal(horizon_forecast(world.data(), cut, method=method), before[method])
    assert len(before["model"]) > 10 and before["competing_risks"]["probability"].between(0, 1).all()
    # the future did change: the deals open at the cut closed differently
    lives_after = deal_lives(world.data())
    assert not np.array_equal(lives.closed_ns[rows], lives_after.closed_ns[rows])
