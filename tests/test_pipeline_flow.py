"""Velocity, the stage funnel, stage durations and the win / loss / no-decision breakdown on hand-built deals
with exact expected figures (:mod:`dealsight.analytics.pipeline_flow`, :mod:`dealsight.analytics.stage_flow`).

The deals (USD unless said; "won 03-20" means closed won on 2024-03-20; as of 2024-03-31 with a 30-day window
the window is 03-02..03-31 and the previous one 02-01..03-01):

==  =====  ================  ======  ==========  =====================================================
id  team   now               amount  created     stage history
==  =====  ================  ======  ==========  =====================================================
1   East   Qualification     1000    01-05       Prospecting -> Qualification 03-10 (close date pushed)
2   West   Proposal          2000    02-01       none (created straight into Proposal; amount 1500 -> 2000)
3   West   Prospecting       500     03-05       none
4   East   won 03-20         3000    02-19       Proposal -> Closed Won 03-20
5   West   won 03-25         1000    01-15       Qualification -> Closed Won 03-25
6   East   lost 03-15        none    02-01       Proposal -> Closed Lost 03-15
7   West   no decision 03-28 800     01-10       Qualification -> Closed Lost 03-28
8   West   won 02-15         2000    01-16       Proposal -> Closed Won 02-15
9   East   lost 02-20        400     01-20       Prospecting -> Closed Lost 02-20
10  West   won 04-10         5000    03-01       Proposal -> Closed Won 04-10, amount 4000 -> 5000 04-05
11  West   Proposal (EUR)    700     03-01       none
12  East   lost 01-30        none    01-02       none (closed without stage history)
==  =====  ================  ======  ==========  =====================================================
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

import pandas as pd
import pytest

from dealsight.analytics.pipeline_flow import (
    ALL,
    SalesProcess,
    Window,
    outcome_breakdown,
    pipeline_velocity,
)
from dealsight.analytics.stage_flow import SpellStats, stage_durations, stage_funnel
from dealsight.domain.enums import Outcome
from dealsight.errors import InsufficientDataError, ValidationError

PROCESS = SalesProcess(
    ("Prospecting", "Qualification", "Proposal", "Closed Won", "Closed Lost"),
    {
        "Prospecting": None,
        "Qualification": None,
        "Proposal": None,
        "Closed Won": Outcome.WON,
        "Closed Lost": Outcome.LOST,
    },
)
AS_OF = date(2024, 3, 31)


def d(month: int, day: int) -> date:
    return date(2024, month, day)


def t(month: int, day: int) -> datetime:
    return datetime(2024, month, day)


def deal(
    id_: int,
    team: str,
    stage: str,
    amount: float | None,
    created: date,
    closed: date | None = None,
    outcome: str | None = None,
    close: date | None = None,
    **extra: object,
) -> dict[str, object]:
    return {
        "id": id_,
        "stage": stage,
        "amount": amount,
        "expected_close_date": close or closed or d(6, 30),
        "forecast_category": None,
        "created_date": created,
        "closed_date": closed,
        "outcome": outcome,
        "owner_id": id_ % 3 + 1,
        "known_since": t(4, 20),
        "currency": "USD",
        "team": team,
        "owner": f"rep {id_ % 3 + 1}",
        "segment": "smb",
        "source": None,
        "product": "Core",
        **extra,
    }


BASE_DEALS = [
    deal(1, "East", "Qualification", 1000.0, d(1, 5), close=d(5, 31)),
    deal(2, "West", "Proposal", 2000.0, d(2, 1)),
    deal(3, "West", "Prospecting", 500.0, d(3, 5)),
    deal(4, "East", "Closed Won", 3000.0, d(2, 19), d(3, 20), "won", segment="enterprise", source="referral"),
    deal(5, "West", "Closed Won", 1000.0, d(1, 15), d(3, 25), "won"),
    deal(6, "East", "Closed Lost", None, d(2, 1), d(3, 15), "lost"),
    deal(7, "West", "Closed Lost", 800.0, d(1, 10), d(3, 28), "no_decision"),
    deal(8, "West", "Closed Won", 2000.0, d(1, 16), d(2, 15), "won"),
    deal(9, "East", "Closed Lost", 400.0, d(1, 20), d(2, 20), "lost"),
    deal(10, "West", "Closed Won", 5000.0, d(3, 1), d(4, 10), "won"),
    deal(11, "West", "Proposal", 700.0, d(3, 1), currency="EUR"),
    deal(12, "East", "Closed Lost", None, d(1, 2), d(1, 30), "lost"),
]
BASE_HISTORY = [
    (1, "stage", t(3, 10), "Prospecting", "Qualification"),
    (1, "close_date", t(3, 12), "2024-04-30", "2024-05-31"),
    (2, "amount", t(3, 15), "1500", "2000"),
    (4, "stage", t(3, 20), "Proposal", "Closed Won"),
    (5, "stage", t(3, 25), "Qualification", "Closed Won"),
    (6, "stage", t(3, 15), "Proposal", "Closed Lost"),
    (7, "stage", t(3, 28), "Qualification", "Closed Lost"),
    (8, "stage", t(2, 15), "Proposal", "Closed Won"),
    (9, "stage", t(2, 20), "Prospecting", "Closed Lost"),
    (10, "amount", t(4, 5), "4000", "5000"),
    (10, "stage", t(4, 10), "Proposal", "Closed Won"),
]


def frames(
    deals: list[dict[str, object]] = BASE_DEALS,
    history: list[tuple[int, str, datetime, str | None, str | None]] = BASE_HISTORY,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    columns = ["opportunity_id", "field", "changed_at", "old_value", "new_value"]
    return pd.DataFrame(deals), pd.DataFrame(history, columns=columns)


# velocity ------------------------------------------------------------------------------------------------
def test_velocity_terms_and_the_previous_window_are_exact() -> None:
    deals, history = frames()
    report = pipeline_velocity(deals, history, PROCESS, as_of=AS_OF, window_days=30)
    assert (report.window.start, report.window.end, report.window.days) == (d(3, 2), d(3, 31), 30)
    assert (report.previous_window.start, report.previous_window.end) == (d(2, 1), d(3, 1))
    assert report.qualifying_stages == ["Qualification", "Proposal"]
    assert [(r.group, r.currency) for r in report.overall] == [(ALL, "EUR"), (ALL, "USD")]
    usd = report.overall[1]
    now = usd.current
    # qualified: 1 (Qualification), 2 and 10 (Proposal; 10 is won only after as-of); 3 is Prospecting
    assert now.qualified_deals == 3
    assert (now.won_deals, now.lost_deals, now.no_decision_deals, now.closed_deals) == (2, 1, 1, 4)
    assert now.average_won_amount == 2000.0  # (3000 + 1000) / 2
    assert now.win_rate == 0.5
    assert now.average_cycle_days == 50.0  # (30 + 70) / 2
    assert now.velocity_per_day == 60.0  # 3 x 2000 x 0.5 / 50
    before = usd.previous
    # as of 03-01: 2, 4, 5, 6, 7 and 10 qualified (1 still Prospecting; 3 not created yet)
    assert before.qualified_deals == 6
    assert (before.won_deals, before.lost_deals, before.closed_deals) == (1, 1, 2)
    assert (before.average_won_amount, before.win_rate, before.average_cycle_days) == (2000.0, 0.5, 30.0)
    assert before.velocity_per_day == 200.0
    assert usd.change == pytest.approx(-0.7)
    eur = report.overall[0]
    assert (eur.current.qualified_deals, eur.current.closed_deals) == (1, 0)
    assert eur.current.win_rate is None and eur.current.velocity_per_day is None and eur.change is None


def test_velocity_by_team_and_with_a_chosen_qualifying_stage() -> None:
    deals, history = frames()
    report = pipeline_velocity(deals, history, PROCESS, as_of=AS_OF, window_days=30, group_by="team")
    usd = {r.group: r.current for r in report.groups if r.currency == "USD"}
    assert usd["East"].velocity_per_day == 50.0  # 1 x 3000 x 0.5 / 30
    assert usd["West"].velocity_per_day == 14.29  # 2 x 1000 x 0.5 / 70
    assert [r.group for r in report.groups if r.currency == "USD"] == ["East", "West"]
    proposal = pipeline_velocity(
        deals, history, PROCESS, as_of=AS_OF, window_days=30, qualifying_stage="proposal"
    )
    assert proposal.qualifying_stages == ["Proposal"]
    assert proposal.overall[1].current.qualified_deals == 2
    assert proposal.overall[1].current.velocity_per_day == 40.0
    first = pipeline_velocity(
        deals, history, PROCESS, as_of=AS_OF, window_days=30, qualifying_stage="Prospecting"
    )
    assert first.overall[1].current.qualified_deals == 4


def test_a_deal_whose_stage_is_not_recorded_is_counted_apart_unless_every_open_stage_qualifies() -> None:
    # as of 01-20, deal 12 (lost 01-30, no stage history) was open in an unrecorded stage
    deals, history = frames()
    report = pipeline_velocity(deals, history, PROCESS, as_of=d(1, 20), window_days=30)
    usd = report.overall[0].current
    # open then: 1 (Prospecting), 5 and 7 (Qualification), 8 (Proposal), 9 (Prospecting), 12 (unrecorded)
    assert (usd.qualified_deals, usd.open_stage_unknown) == (3, 1)
    every = pipeline_velocity(
        deals, history, PROCESS, as_of=d(1, 20), window_days=30, qualifying_stage="Prospecting"
    )
    assert (every.overall[0].current.qualified_deals, every.overall[0].current.open_stage_unknown) == (6, 0)


def test_a_change_after_as_of_alters_no_figure() -> None:
    deals, history = frames()
    before = pipeline_velocity(deals, history, PROCESS, as_of=AS_OF, window_days=30, group_by="team")
    # deal 1 is lost on 04-15 and deal 2 pulled in and resized on 04-02: recorded on the row and in history
    changed = [dict(row) for row in BASE_DEALS]
    changed[0].update(stage="Closed Lost", closed_date=d(4, 15), outcome="lost")
    changed[1].update(amount=9999.0, expected_close_date=d(4, 30))
    later = [
        *BASE_HISTORY,
        (1, "stage", t(4, 15), "Qualification", "Closed Lost"),
        (2, "amount", t(4, 2), "2000", "9999"),
        (2, "close_date", t(4, 2), "2024-06-30", "2024-04-30"),
    ]
    deals_after, history_after = frames(changed, later)
    after = pipeline_velocity(
        deals_after, history_after, PROCESS, as_of=AS_OF, window_days=30, group_by="team"
    )
    assert asdict(after) == asdict(before)
    assert asdict(stage_funnel(deals_after, history_after, PROCESS, as_of=AS_OF)) == asdict(
        stage_funnel(deals, history, PROCESS, as_of=AS_OF)
    )
    assert asdict(
        outcome_breakdown(deals_after, history_after, PROCESS, as_of=AS_OF, window_days=30)
    ) == asdict(outcome_breakdown(deals, history, PROCESS, as_of=AS_OF, window_days=30))


def test_velocity_refuses_bad_options_and_an_empty_past() -> None:
    deals, history = frames()
    with pytest.raises(ValidationError) as bad_stage:
        pipeline_velocity(deals, history, PROCESS, as_of=AS_OF, qualifying_stage="Closed Won")
    assert bad_stage.value.problems[0].field == "qualifying_stage"
    assert "Prospecting, Qualification, Proposal" in bad_stage.value.message
    with pytest.raises(ValidationError) as bad_group:
        pipeline_velocity(deals, history, PROCESS, as_of=AS_OF, group_by="colour")
    assert bad_group.value.problems[0].field == "by"
    with pytest.raises(InsufficientDataError, match="no deals existed by 2023-12-31"):
        pipeline_velocity(deals, history, PROCESS, as_of=date(2023, 12, 31))


def test_windows_are_whole_days_with_both_ends_included() -> None:
    window = Window.ending(d(3, 31), 90)
    assert (window.start, window.days) == (d(1, 2), 90)
    assert window.previous() == Window(date(2023, 10, 4), d(1, 1))
    assert window.holds(pd.Series([d(1, 1), d(1, 2), d(3, 31), d(4, 1), None])).tolist() == [
        False,
        True,
        True,
        False,
        False,
    ]


# funnel --------------------------------------------------------------------------------------------------
def test_funnel_counts_skipped_stages_as_passed_and_separates_lost_from_no_decision() -> None:
    deals, history = frames()
    funnel = stage_funnel(deals, history, PROCESS, as_of=AS_OF)
    assert funnel.deals == 12
    assert [s.stage for s in funnel.stages] == ["Prospecting", "Qualification", "Proposal"]
    # 2 and 11 went straight into Proposal, 5 won from Qualification: all passed Prospecting
    assert [s.reached for s in funnel.stages] == [12, 9, 7]
    assert [(s.open_here, s.lost_here, s.no_decision_here) for s in funnel.stages] == [
        (1, 2, 0),  # 3 open; 9 lost; 12 lost without stage history: furthest stage unknown
        (1, 0, 1),  # 1 open; 7 no decision
        (3, 1, 0),  # 2, 10 and 11 open; 6 lost
    ]
    assert (funnel.won, funnel.lost, funnel.no_decision, funnel.still_open) == (3, 3, 1, 5)
    assert funnel.furthest_stage_unknown == 1
    assert [s.to_next for s in funnel.stages] == [9 / 12, 7 / 9, 3 / 7]
    assert [s.to_won for s in funnel.stages] == [3 / 12, 3 / 9, 3 / 7]
    # the funnel reconciles: each stage's deals either reached the next (or won) or ended there
    nexts = [s.reached for s in funnel.stages[1:]] + [funnel.won]
    for stage, after in zip(funnel.stages, nexts, strict=True):
        assert stage.reached == after + stage.open_here + stage.lost_here + stage.no_decision_here


def test_funnel_of_a_creation_window_and_of_a_deal_that_moved_back() -> None:
    deals, history = frames()
    february = stage_funnel(deals, history, PROCESS, as_of=AS_OF, created_from=d(2, 1), created_to=d(2, 29))
    assert february.deals == 3  # 2, 4 and 6
    assert [s.reached for s in february.stages] == [3, 3, 3]
    assert (february.won, february.lost) == (1, 1)
    # a deal that reached Proposal and went back to Qualification still reached Proposal
    back = [deal(1, "East", "Qualification", 10.0, d(1, 1))]
    moves = [
        (1, "stage", t(1, 5), "Qualification", "Proposal"),
        (1, "stage", t(1, 9), "Proposal", "Qualification"),
    ]
    funnel = stage_funnel(*frames(back, moves), PROCESS, as_of=AS_OF)
    assert [s.reached for s in funnel.stages] == [1, 1, 1]
    assert funnel.stages[2].open_here == 1
    with pytest.raises(InsufficientDataError, match="no deals created from 2025-01-01"):
        stage_funnel(deals, history, PROCESS, as_of=AS_OF, created_from=date(2025, 1, 1))


# durations -----------------------------------------------------------------------------------------------
def test_stage_durations_of_completed_spells_for_won_not_won_and_open_deals() -> None:
    deals, history = frames()
    durations = stage_durations(deals, history, PROCESS, as_of=AS_OF)
    rows = {row.stage: row for row in durations.stages}
    assert [row.stage for row in durations.stages] == ["Prospecting", "Qualification", "Proposal"]
    prospecting = rows["Prospecting"]  # 1: 65 days (still open), 9: 31 days (lost)
    assert prospecting.all_deals == SpellStats(2, 48.0, 56.5)
    assert prospecting.still_open == SpellStats(1, 65.0, 65.0)
    assert prospecting.not_won == SpellStats(1, 31.0, 31.0)
    assert prospecting.won == SpellStats(0, None, None)
    qualification = rows["Qualification"]  # 5: 70 days (won), 7: 78 days (no decision)
    assert (qualification.all_deals, qualification.won.median_days, qualification.not_won.median_days) == (
        SpellStats(2, 74.0, 76.0),
        70.0,
        78.0,
    )
    proposal = rows["Proposal"]  # 4 and 8: 30 days (won), 6: 43 days (lost); 10 had not left it by as-of
    assert proposal.all_deals == SpellStats(3, 30.0, 36.5)
    assert proposal.won == SpellStats(2, 30.0, 30.0)
    assert proposal.not_won == SpellStats(1, 43.0, 43.0)


def test_stage_durations_by_segment_and_for_spells_ended_in_a_period() -> None:
    deals, history = frames()
    durations = stage_durations(deals, history, PROCESS, as_of=AS_OF, by_segment=True)
    proposal = [
        (r.segment, r.all_deals.spells, r.all_deals.median_days)
        for r in durations.stages
        if r.stage == "Proposal"
    ]
    assert proposal == [(ALL, 3, 30.0), ("enterprise", 1, 30.0), ("smb", 2, 36.5)]
    march = stage_durations(deals, history, PROCESS, as_of=AS_OF, ended_from=d(3, 1), ended_to=d(3, 31))
    assert [r.all_deals.spells for r in march.stages] == [1, 2, 2]  # 9 and 8 left in February
    with pytest.raises(InsufficientDataError, match="need stage history"):
        stage_durations(deals, history, PROCESS, as_of=d(1, 31))


# win / loss / no decision --------------------------------------------------------------------------------
def test_breakdown_counts_amounts_and_rates_of_deals_closed_in_the_window() -> None:
    deals, history = frames()
    breakdown = outcome_breakdown(deals, history, PROCESS, as_of=AS_OF, window_days=30)
    (total,) = breakdown.total
    assert (total.value, total.currency, total.closed, total.won, total.lost, total.no_decision) == (
        ALL,
        "USD",
        4,
        2,
        1,
        1,
    )
    assert (total.won_amount, total.lost_amount, total.no_decision_amount, total.unknown_amount) == (
        4000.0,
        0.0,
        800.0,
        1,
    )
    assert (total.win_rate, total.loss_rate, total.no_decision_rate) == (0.5, 0.25, 0.25)
    teams = {row.value: (row.won, row.lost, row.no_decision) for row in breakdown.by["team"]}
    assert teams == {"East": (1, 1, 0), "West": (1, 0, 1)}
    sources = {row.value: (row.closed, row.won_amount) for row in breakdown.by["source"]}
    assert sources == {"(no source)": (3, 1000.0), "referral": (1, 3000.0)}
    assert set(breakdown.by) == {"segment", "owner", "team", "source", "product"}
    for rows in breakdown.by.values():  # every dimension splits the same closed deals
        assert sum(r.closed for r in rows) == total.closed
        assert sum(r.won_amount for r in rows) == total.won_amount
    with pytest.raises(InsufficientDataError, match="no deals closed from 2024-04-01 to 2024-04-05"):
        outcome_breakdown(deals, history, PROCESS, as_of=d(4, 5), window_days=5)
