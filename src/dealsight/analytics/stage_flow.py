"""How deals move through the stages: the conversion funnel and the time spent in each stage.

Both are computed as known at the end of an explicit day: the deals are replayed to that day
(:func:`~dealsight.analytics.pipeline_flow.replay`) and their stage spells
(:func:`~dealsight.analytics.stage_spells.stage_spells`) are rebuilt from the history recorded by then, so a
stage change made later alters neither.

Decisions:

- **Funnel cohort**: the deals that existed at that day, or those that started (created date, else the
  moment they reached dealsight) between two days.
- **Reaching a stage**: a deal reached an open stage when it spent time in it *or in any later open stage*:
  a deal that skipped a stage counts as having passed it when it reached a later one (deals created
  straight into Proposal passed Qualification). A won deal passed every open stage. A deal's *furthest*
  stage is the latest open stage it was ever in, even if it moved back since.
- A deal whose history records no open stage and that was not won (a lost deal imported without stage
  history, or one whose stage at that day is not recorded) entered the process but its furthest stage is
  unknown: it is counted at the first stage and in ``furthest_stage_unknown``, never guessed further.
- Each stage row says where the deals that got no further ended: still open there, lost, or no decision
  (kept apart from lost). So ``reached`` of one stage = ``reached`` of the next + those three counts, and
  for the last open stage the next is won. ``to_next`` and ``to_won`` count open deals as not (yet)
  converted: a recent cohort converts less than an old one because it is not finished.
- **Durations** use *completed* spells only (the deal left the stage by that day): a stage still running has
  no length yet. Median and upper quartile by numpy's default (linear) interpolation, in days, for all
  deals and for deals won, not won (lost or no decision) and still open at that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from dealsight.analytics.pipeline_flow import ALL, SalesProcess, labelled, quantiles, rate, replay
from dealsight.analytics.replay import end_of_day
from dealsight.analytics.stage_spells import deal_start, spell_days, stage_spells
from dealsight.domain.enums import Outcome
from dealsight.errors import InsufficientDataError


@dataclass(frozen=True)
class FunnelStage:
    """One open stage of the funnel."""

    stage: str
    reached: int
    """Deals that reached this stage or a later one (won deals included)."""
    open_here: int
    """Deals whose furthest stage is this one and that are still open."""
    lost_here: int
    no_decision_here: int
    to_next: float | None
    """Share of ``reached`` that reached the next open stage (for the last one: that were won)."""
    to_won: float | None
    """Share of ``reached`` that were won."""


@dataclass(frozen=True)
class Funnel:
    as_of: date
    created_from: date | None
    created_to: date | None
    deals: int
    stages: list[FunnelStage]
    won: int
    lost: int
    no_decision: int
    still_open: int
    furthest_stage_unknown: int
    """Deals counted at the first stage because their history records no open stage (see the module)."""


def _history_known(history: pd.DataFrame, as_of: date) -> pd.DataFrame:
    return history[pd.to_datetime(history["changed_at"]) <= end_of_day(as_of)]


def _in_period(start: pd.Series, first: date | None, last: date | None) -> pd.Series:
    keep = pd.Series(True, index=start.index)
    if first is not None:
        keep &= start >= pd.Timestamp(first)
    if last is not None:
        keep &= start <= pd.Timestamp(end_of_day(last))
    return keep


def _period(first: date | None, last: date | None) -> str:
    if first is None and last is None:
        return ""
    return f" from {first.isoformat() if first else 'the start'} to {last.isoformat() if last else 'then'}"


def stage_funnel(
    deals: pd.DataFrame,
    history: pd.DataFrame,
    process: SalesProcess,
    *,
    as_of: date,
    created_from: date | None = None,
    created_to: date | None = None,
) -> Funnel:
    """How many deals of the cohort reached each open stage, in position order, and how they ended.

    :class:`InsufficientDataError` when the cohort is empty."""
    state = replay(deals, history, process, as_of)
    cohort = state[_in_period(deal_start(state), created_from, created_to)]
    if cohort.empty:
        raise InsufficientDataError(
            f"no deals created{_period(created_from, created_to)} existed by {as_of.isoformat()}: "
            "there is no funnel to draw"
        )
    spells = stage_spells(cohort, _history_known(history, as_of))
    open_stages = process.open_stages
    position = {stage: index for index, stage in enumerate(open_stages)}
    furthest = spells["stage"].map(position).groupby(spells["opportunity_id"]).max()
    recorded = cohort["id"].map(furthest)
    outcome = cohort["outcome"]
    won = (outcome == Outcome.WON.value).to_numpy()
    unknown = recorded.isna().to_numpy() & ~won
    level = recorded.fillna(0).where(~won, len(open_stages) - 1).astype(int).to_numpy()
    is_open = cohort["is_open"].astype(bool).to_numpy()
    lost = (outcome == Outcome.LOST.value).to_numpy()
    no_decision = (outcome == Outcome.NO_DECISION.value).to_numpy()

    reached = [int((level >= index).sum()) for index in range(len(open_stages))]
    total_won = int(won.sum())
    rows = []
    for index, stage in enumerate(open_stages):
        here = (level == index) & ~won
        after = reached[index + 1] if index + 1 < len(open_stages) else total_won
        rows.append(
            FunnelStage(
                stage=stage,
                reached=reached[index],
                open_here=int((here & is_open).sum()),
                lost_here=int((here & lost).sum()),
                no_decision_here=int((here & no_decision).sum()),
                to_next=rate(after, reached[index]),
                to_won=rate(total_won, reached[index]),
            )
        )
    return Funnel(
        as_of=as_of,
        created_from=created_from,
        created_to=created_to,
        deals=len(cohort),
        stages=rows,
        won=total_won,
        lost=int(lost.sum()),
        no_decision=int(no_decision.sum()),
        still_open=int(is_open.sum()),
        furthest_stage_unknown=int(unknown.sum()),
    )


# durations -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpellStats:
    """Completed spells in a stage: how many, and their median and upper-quartile length in days."""

    spells: int
    median_days: float | None
    upper_quartile_days: float | None


@dataclass(frozen=True)
class StageDuration:
    """Time spent in one stage (for one segment, or ``(all)``), by how the deals stood at that day."""

    stage: str
    segment: str
    all_deals: SpellStats
    won: SpellStats
    not_won: SpellStats
    """Deals lost or closed with no decision."""
    still_open: SpellStats


@dataclass(frozen=True)
class StageDurations:
    as_of: date
    ended_from: date | None
    ended_to: date | None
    by_segment: bool
    stages: list[StageDuration]
    """Every open stage of the process in position order (then any other stage a deal left), each with an
    ``(all)`` row and, by segment, one row per segment that has spells in it."""


def _stats(days: pd.Series) -> SpellStats:
    median, upper = quantiles(days)
    return SpellStats(len(days), median, upper)


def _duration(stage: str, segment: str, spells: pd.DataFrame) -> StageDuration:
    days, status = spells["days"], spells["status"]
    return StageDuration(
        stage=stage,
        segment=segment,
        all_deals=_stats(days),
        won=_stats(days[status == "won"]),
        not_won=_stats(days[status == "not_won"]),
        still_open=_stats(days[status == "open"]),
    )


def stage_durations(
    deals: pd.DataFrame,
    history: pd.DataFrame,
    process: SalesProcess,
    *,
    as_of: date,
    by_segment: bool = False,
    ended_from: date | None = None,
    ended_to: date | None = None,
) -> StageDurations:
    """Median and upper quartile of the completed spells in each stage, optionally only those that ended
    between two days. :class:`InsufficientDataError` when no deal had left a stage (no stage history)."""
    state = replay(deals, history, process, as_of)
    spells = stage_spells(state, _history_known(history, as_of))
    done = spells[spells["left_at"].notna()]
    done = done[_in_period(done["left_at"], ended_from, ended_to)].copy()
    if done.empty:
        raise InsufficientDataError(
            f"no deal had left a stage{_period(ended_from, ended_to)} by {as_of.isoformat()}: stage "
            "durations need stage history (changes of stage with their dates)"
        )
    by_id = state.set_index("id")
    outcome = done["opportunity_id"].map(by_id["outcome"])
    done["status"] = "not_won"
    done.loc[outcome.isna(), "status"] = "open"
    done.loc[outcome == Outcome.WON.value, "status"] = "won"
    done["segment"] = done["opportunity_id"].map(labelled(by_id, "segment"))
    done["days"] = spell_days(done)

    named = set(process.open_stages)
    order = [*process.open_stages, *sorted(set(done["stage"].astype(str)) - named)]
    rows = []
    for stage in order:
        in_stage = done[done["stage"] == stage]
        rows.append(_duration(stage, ALL, in_stage))
        if by_segment:
            for segment, part in in_stage.groupby("segment", sort=True):
                rows.append(_duration(stage, str(segment), part))
    return StageDurations(as_of, ended_from, ended_to, by_segment, rows)


__all__ = [
    "Funnel",
    "FunnelStage",
    "SpellStats",
    "StageDuration",
    "StageDurations",
    "stage_durations",
    "stage_funnel",
]
