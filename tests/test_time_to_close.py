"""Time-to-close methods (:mod:`dealsight.analytics.time_to_close`) and the replay they stand on.

- The competing-risks estimator against a small case computed by hand.
- The deals open at an instant are those :func:`replay.state_as_of` says were open.
- No look-ahead: the probabilities of every method as of T do not change when everything after T changes
  (the random organisations of tests/test_indicator_leakage.py).
- The within-quarter season learns from past closes only (a hand-made case: old deals never won in the
  first month of a quarter) and the ensemble weighs its members by their past errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dealsight.analytics.backtest import horizon_forecast
from dealsight.analytics.deal_timelines import NAT, NS_PER_DAY
from dealsight.analytics.forecast_replay import DealLives, ReplayedSnapshots, as_of_grid, deal_lives
from dealsight.analytics.replay import state_as_of
from dealsight.analytics.time_to_close import (
    METHODS,
    CumulativeIncidence,
    HorizonContext,
    QuarterSeason,
    age_incidence,
    competing_risks,
    competing_risks_seasonal,
    ensemble_weight,
    model_ensemble,
)
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


@pytest.mark.parametrize(("seed", "cut_day"), [(0, 170), (1, 170), (0, 300)])
def test_no_method_looks_past_the_as_of_date(seed: int, cut_day: int) -> None:
    world = World(300 + seed, deals=120)
    cut = START + pd.Timedelta(days=cut_day)
    methods = tuple(METHODS)  # every method, ``model`` last
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


def _seasonal_context(future_win_day: int | None) -> HorizonContext:
    """200 deals started 2023-01-01 + 0..199 days, weekly snapshots; a deal older than 30 days is won only
    in the second or third month of a quarter (every 3rd deal at age 40..100, on day 40 of a quarter at the
    earliest); young deals close in any month. One more deal started 45 days before as-of is open then and
    won ``future_win_day`` days after it (``None``: still open)."""
    day0 = pd.Timestamp("2023-01-01")
    as_of = pd.Timestamp("2023-09-30 23:59:59")
    starts: list[pd.Timestamp] = []
    closes: list[pd.Timestamp | None] = []
    outcomes: list[str | None] = []
    for i in range(200):
        start = day0 + pd.Timedelta(days=i)
        close = start + pd.Timedelta(days=10 if i % 3 == 1 else 40 + (i * 7) % 60)
        if i % 3 != 1 and (close.month - 1) % 3 == 0:  # an old deal in a first month: pushed a month on
            close += pd.Timedelta(days=31)
        starts.append(start)
        closes.append(close)
        outcomes.append("won" if i % 3 != 2 else "lost")
    # open at as-of, aged 45 days then: still open, or won in October (a first month)
    starts.append(as_of.normalize() - pd.Timedelta(days=45))
    closes.append(None if future_win_day is None else as_of + pd.Timedelta(days=future_win_day))
    outcomes.append(None if future_win_day is None else "won")
    start_ns = np.array([s.value for s in starts], dtype=np.int64)
    closed_ns = np.array([NAT if c is None else c.value for c in closes], dtype=np.int64)
    lives = DealLives(
        opportunity_id=np.arange(len(starts)),
        start_ns=start_ns,
        closed_ns=closed_ns,
        outcome=np.array(outcomes, dtype=object),
        final_amount=np.ones(len(starts)),
        product=np.full(len(starts), "", dtype=object),
    )
    instants = [as_of - pd.Timedelta(days=7 * k) for k in range(40, -1, -1)]
    parts = [
        pd.DataFrame({"as_of": np.full(n.size, t.value).view("datetime64[ns]"), "row": n, "sampled": True})
        for t in instants
        for n in [np.flatnonzero(lives.open_at(t.value))]
    ]
    rows = pd.concat(parts, ignore_index=True)
    return HorizonContext(ReplayedSnapshots(rows, lives), pd.DataFrame(), as_of, 28)


def test_quarter_season_learns_the_first_month_dip_from_past_closes_only() -> None:
    context = _seasonal_context(None)
    season = QuarterSeason.fit(context, age_incidence(context, 40))
    # old deals (age group 31-60 days and older): fewer wins than age alone says in a quarter's first month
    # (none observed; the prior of 5 expected wins keeps the factor above 0)
    assert season.factor[0, 1:].max() < 0.7 and season.factor[0, 1:3].max() < 0.5
    assert season.factor[1:, 1:].min() > 1.0
    # a win after as-of (in October, a first month) changes neither the season nor the forecast
    later = _seasonal_context(20)
    assert later.snapshots.lives.closed_ns[-1] != NAT
    later_season = QuarterSeason.fit(later, age_incidence(later, 40))
    np.testing.assert_allclose(later_season.factor, season.factor)
    # the forecast of October for old deals is lowered by the season (the open deals aged over 30 days)
    rows = context.open_rows["row"].to_numpy()
    age = (context.as_of.value - context.snapshots.lives.start_ns[rows]) // NS_PER_DAY
    plain = competing_risks(context)
    seasonal = competing_risks_seasonal(context)
    assert (seasonal[age > 40] < plain[age > 40]).all() and (age > 40).any()


def test_ensemble_weight_follows_past_errors() -> None:
    assert ensemble_weight(np.array([]), np.array([])) == 0.5
    # inverse squared errors 100 and 25: observed 0.8, shrunk toward 1/2 with two pseudo-errors
    assert ensemble_weight(np.array([0.1, -0.1]), np.array([0.2, 0.2])) == pytest.approx(
        (2 * 0.8 + 2 * 0.5) / 4
    )


def test_model_is_the_ensemble_of_its_members_without_look_ahead() -> None:
    world = World(301, deals=120)
    cut = START + pd.Timedelta(days=300)  # closes by then (at day 170 every probability is still 0)
    ensemble = horizon_forecast(world.data(), cut, method="model")["probability"].to_numpy()
    gbm = horizon_forecast(world.data(), cut, method="snapshot_gbm")["probability"].to_numpy()
    seasonal = horizon_forecast(world.data(), cut, method="competing_risks_seasonal")["probability"]
    # the ensemble lies between its members, deal by deal, and is neither of them
    low, high = np.minimum(gbm, seasonal), np.maximum(gbm, seasonal)
    assert ((ensemble >= low - 1e-12) & (ensemble <= high + 1e-12)).all()
    assert not np.allclose(ensemble, gbm) and not np.allclose(ensemble, seasonal)
    assert model_ensemble is METHODS["model"]
