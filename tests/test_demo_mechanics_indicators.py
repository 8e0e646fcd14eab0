"""The demo's hidden mechanics, seen through the leading indicators of training snapshots.

The demo organisation (seed 7, scale 1: 5,000 deals) is written into a SQLite store and read back with
:func:`load_deal_data`; every closed deal gives snapshots every 14 days until its close
(:func:`snapshot_pairs`), and each snapshot its indicators as of then. Win rates are weighted by the
snapshots' ``weight`` (every deal counts once). Each test fails when a planted mechanic (documented at the
top of :mod:`dealsight.demo.generator`) stops being visible through the indicators, with a margin well
inside what the demo shows (figures of three seeds in comments).

Also here, on the same data: the per-pair replay agrees with :func:`replay.state_as_of` at several
instants, and typical stage ages from the stage timeline agree with those from :func:`stage_spells`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dealsight.analytics.deal_data import DealData
from dealsight.analytics.deal_state import DealHistory
from dealsight.analytics.deal_timelines import DealCodes, instants_ns
from dealsight.analytics.indicators import deal_indicators, snapshot_pairs
from dealsight.analytics.replay import state_as_of
from dealsight.analytics.stage_spells import stage_spells
from dealsight.analytics.typical_stage_age import ended_spells, month_start_ns, typical_stage_days
from dealsight.demo.generator import generate_organisation
from dealsight.demo.writer import write_organisation
from dealsight.domain.enums import Outcome
from dealsight.store.database import connect, upgrade
from dealsight.store.deal_frames import load_deal_data

TODAY = date(2025, 6, 15)


@dataclass(frozen=True)
class Demo:
    data: DealData
    snapshots: pd.DataFrame  # indicators with outcome, weight, closed_at and won


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    path: Path = tmp_path_factory.mktemp("demo-indicators") / "demo.db"
    engine = connect(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as conn:
        write_organisation(conn, generate_organisation(seed=7, scale=1.0, today=TODAY))
    with engine.connect() as conn:
        data = load_deal_data(conn)
    engine.dispose()
    pairs = snapshot_pairs(data, every_days=14)
    indicators = deal_indicators(data, pairs)
    snapshots = pd.concat([indicators, pairs[["outcome", "weight", "closed_at"]]], axis=1)
    snapshots["won"] = (snapshots["outcome"] == Outcome.WON.value).astype(float)
    yield Demo(data, snapshots)


def _win_rate(snapshots: pd.DataFrame) -> float:
    assert snapshots["weight"].sum() > 20, "too few deals in the group"
    return float(np.average(snapshots["won"], weights=snapshots["weight"]))


def test_snapshots_cover_the_closed_deals(demo: Demo) -> None:
    snapshots = demo.snapshots
    assert snapshots["opportunity_id"].nunique() > 3500 and len(snapshots) > 20_000
    assert (snapshots["as_of"] < snapshots["closed_at"]).all()
    assert set(snapshots["stage"]) <= {"Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation"}
    assert 0.2 < _win_rate(snapshots) < 0.4


def test_deals_long_past_their_stages_typical_age_win_far_less(demo: Demo) -> None:
    """Mechanic 3 (stalled deals die): 0.06 against 0.31-0.34."""
    s = demo.snapshots
    stalled, others = s[s["stage_age_ratio"] > 2], s[s["stage_age_ratio"] <= 2]
    assert _win_rate(stalled) < 0.4 * _win_rate(others)


def test_a_recorded_problem_and_sponsor_together_win_far_more(demo: Demo) -> None:
    """Mechanic 1: 0.65 against 0.22-0.24."""
    s = demo.snapshots
    both = (s["problem_recorded"] == 1) & (s["sponsor_recorded"] == 1)
    assert _win_rate(s[both]) > _win_rate(s[~both]) + 0.25
    assert _win_rate(s[s["sponsor_engaged"] == 1]) > _win_rate(s[s["sponsor_engaged"] == 0]) + 0.2


def test_late_engagement_on_high_impact_purchases_wins_less(demo: Demo) -> None:
    """Mechanic 2: late on high impact 0.14-0.15 against 0.33-0.34; late costs ~0.19 on high-impact purchases
    and ~0.09 on the others."""
    s = demo.snapshots
    assert _win_rate(s[s["late_on_high_impact"] == 1]) < _win_rate(s[s["late_on_high_impact"] == 0]) - 0.1

    def cost_of_late(high: float) -> float:
        group = s[s["high_impact"] == high]
        early = group[group["engaged_before_preference"] == "yes"]
        late = group[group["engaged_before_preference"] == "no"]
        return _win_rate(early) - _win_rate(late)

    assert cost_of_late(0.0) > 0.02 and cost_of_late(1.0) > cost_of_late(0.0) + 0.05


def test_activity_fades_before_losses_and_no_decisions(demo: Demo) -> None:
    """Mechanic 9: in a deal's last 30 days the activity trend is ~0.76 for wins, ~0.25 for losses, ~-0.2 for
    no decisions; two thirds of losses and four in five no decisions have been quiet for more than 10 days
    (one win in six)."""
    s = demo.snapshots
    last_month = s[(s["closed_at"] - s["as_of"]) < pd.Timedelta(days=30)]
    trend = last_month.groupby("outcome")["activity_trend"].mean()
    assert trend["won"] > trend["lost"] + 0.3 and trend["lost"] > trend["no_decision"] + 0.2
    quiet = (last_month["days_since_activity"].fillna(np.inf) > 10).groupby(last_month["outcome"]).mean()
    assert quiet["won"] < 0.3 and quiet["lost"] > quiet["won"] + 0.3 and quiet["no_decision"] > quiet["lost"]
    silent = s[s["days_since_activity"] > 14]
    assert _win_rate(silent) < 0.5 * _win_rate(s[s["days_since_activity"] <= 14])


def test_an_essential_question_answered_no_lowers_the_win_rate_at_every_stage(demo: Demo) -> None:
    """Mechanic 10 (answers fit the truth). Answers come as a deal progresses, and deals further on win more
    often, so the comparison is made within each stage: a "no" costs 0.1-0.23 of win rate at every stage
    where questions are due (overall, unstratified, more answers simply mean a later stage)."""
    s = demo.snapshots
    for stage in ("Qualification", "Discovery", "Proposal", "Negotiation"):
        here = s[s["stage"] == stage]
        said_no, none = here[here["essential_no"] > 0], here[here["essential_no"] == 0]
        assert _win_rate(said_no) < _win_rate(none) - 0.07, stage


def test_per_pair_replay_agrees_with_the_replay_of_one_instant(demo: Demo) -> None:
    data = demo.data
    opportunities = data.opportunities.assign(
        expected_close_date=data.opportunities["expected_close_date"].dt.date,
        created_date=data.opportunities["created_date"].dt.date,
        closed_date=data.opportunities["closed_date"].dt.date,
    )
    stage_outcomes = {
        str(n): Outcome(o) if isinstance(o, str) else None
        for n, o in zip(data.stages["name"], data.stages["outcome"], strict=True)
    }
    history = data.history.astype({"field": object})
    for as_of in (datetime(2023, 3, 31, 23, 59, 59), datetime(2024, 11, 5, 14, 30), datetime(2025, 6, 14)):
        state = state_as_of(opportunities, history, stage_outcomes, as_of)
        mine = deal_indicators(data, pd.DataFrame({"opportunity_id": state["id"], "as_of": as_of}))
        assert len(state) > 500
        assert mine["stage"].tolist() == state["stage"].tolist()
        assert np.allclose(mine["amount"], state["amount"].astype(float), equal_nan=True)
        expected_close = pd.to_datetime(state["expected_close_date"]) - pd.Timestamp(as_of).normalize()
        assert mine["days_to_expected_close"].tolist() == (expected_close.dt.days.astype(float)).tolist()
        assert mine["forecast_category"].tolist() == state["forecast_category"].tolist()


def test_typical_stage_days_from_the_stage_timeline_match_those_from_stage_spells(demo: Demo) -> None:
    data = demo.data
    codes = DealCodes.of(data.opportunities["id"])
    history = DealHistory.of(data.opportunities, data.history, codes)
    segment = data.opportunities["segment"].to_numpy(dtype=object)
    mine = ended_spells(history.stage.timeline, history.stage.old, history.start_ns, segment)
    spells = stage_spells(data.opportunities, data.history.astype({"field": object}))
    spells["segment"] = spells["opportunity_id"].map(
        dict(zip(data.opportunities["id"], segment, strict=True))
    )
    months = month_start_ns(instants_ns(pd.to_datetime(["2023-06-15", "2024-06-15", "2025-06-14"])))
    ours, reference = typical_stage_days(mine, months), typical_stage_days(spells, months)
    assert ours.stages == reference.stages and ours.segments == reference.segments
    assert np.allclose(ours.median, reference.median, equal_nan=True)
    assert np.allclose(ours.p75, reference.p75, equal_nan=True)
    # the demo's typical stage ages (catalog.TYPICAL_STAGE_DAYS, smb and enterprise Discovery: 14 and 40)
    smb, enterprise = ours.segments["smb"], ours.segments["enterprise"]
    discovery = ours.stages["Discovery"]
    assert 10 < ours.median[-1, discovery, smb] < 18 and 30 < ours.median[-1, discovery, enterprise] < 50
