"""A deal's tracked fields as they were at each pair's instant: the per-pair form of history replay.

:func:`dealsight.analytics.replay.state_as_of` replays every deal at *one* instant; training a win model
needs each deal at *many* instants (snapshots along its life), so this module replays a frame of pairs
(deal, as_of), each at its own instant, in one vectorised pass over :class:`Timeline` s of the history.

The rules are those of :mod:`dealsight.analytics.replay`:

- a tracked field's value at ``as_of`` is the ``old_value`` of its earliest change after ``as_of``, else
  the current value (changes at exactly ``as_of`` count as known);
- a deal whose replayed stage is a closed stage but whose recorded close date is after ``as_of`` was open
  then: its stage is :data:`STAGE_NOT_RECORDED` when no stage change says which open stage it was in.

Added here, and why:

- the forecast category ``closed`` is likewise not what an open deal's category was: for a pair whose stage
  is open (or not recorded) it becomes ``None`` (an export without forecast history would otherwise tell a
  snapshot that the deal is about to close);
- the deal entered its as-of stage at its last stage change at or before ``as_of``, else at its start
  (created date, else ``known_since``), as in :mod:`dealsight.analytics.stage_spells`;
- the furthest stage *reached* by ``as_of`` (the highest position among the stage it started in, the stages
  it changed to by then and its as-of stage) decides which qualification questions are due;
- slips: a close-date change to a later date is a push; pushes and the days they add are counted up to
  ``as_of``; amount changes likewise; the *first known amount* is the value before the deal's first amount
  change (the amount at creation), else the current amount when it never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dealsight.analytics.deal_timelines import (
    NAT,
    NS_PER_DAY,
    DealCodes,
    IntArray,
    Timeline,
    categories_of,
    instants_ns,
    mapped,
)
from dealsight.analytics.replay import STAGE_NOT_RECORDED
from dealsight.analytics.stage_spells import deal_start
from dealsight.domain.enums import ForecastCategory, HistoryField


@dataclass(frozen=True)
class StageTable:
    """The sales process: each stage's position, CRM probability (0..1) and whether it is closed."""

    position: dict[str, float]
    probability: dict[str, float]
    closed: frozenset[str]

    @classmethod
    def of(cls, stages: pd.DataFrame) -> StageTable:
        names = [str(n) for n in stages["name"]]
        position = pd.to_numeric(stages["position"], errors="coerce").astype(float).tolist()
        probability = pd.to_numeric(stages["probability"], errors="coerce").astype(float).tolist()
        closed = {name for name, outcome in zip(names, stages["outcome"], strict=True) if _present(outcome)}
        return cls(dict(zip(names, position, strict=True)), dict(zip(names, probability, strict=True)),
                   frozenset(closed))  # fmt: skip

    def positions_of(self, names: np.ndarray) -> np.ndarray:
        """Each stage's position (NaN for unknown or missing names)."""
        return mapped(names, self.position)


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and value is not pd.NA


@dataclass(frozen=True)
class FieldChanges:
    """One tracked field's changes on a timeline (grouped by deal code), old and new values in key order."""

    timeline: Timeline
    old: np.ndarray
    new: np.ndarray


@dataclass(frozen=True)
class DealHistory:
    """The four tracked fields' changes and each deal's current values, indexed by deal code."""

    stage: FieldChanges
    amount: FieldChanges
    close_date: FieldChanges
    forecast: FieldChanges
    current: pd.DataFrame  # opportunities in code order
    start_ns: IntArray
    closed_ns: IntArray
    first_amount: np.ndarray  # by code: the amount before the first amount change, else the amount now

    @classmethod
    def of(cls, opportunities: pd.DataFrame, history: pd.DataFrame, codes: DealCodes) -> DealHistory:
        """``opportunities`` in code order (see :class:`DealCodes`)."""
        deal = codes.code(history["opportunity_id"].to_numpy())
        ns = instants_ns(history["changed_at"])
        field_codes, field_names = categories_of(history["field"])
        old = history["old_value"].to_numpy(dtype=object)
        new = history["new_value"].to_numpy(dtype=object)

        def changes(field: HistoryField) -> FieldChanges:
            named = np.flatnonzero(field_names == field.value)
            wanted = int(named[0]) if len(named) else -2
            timeline = Timeline.build(np.where(field_codes == wanted, deal, -1), ns)
            return FieldChanges(timeline, old[timeline.rows], new[timeline.rows])

        amount = changes(HistoryField.AMOUNT)
        every_deal = np.arange(len(codes), dtype=np.int64)
        first, end = amount.timeline.first(every_deal), amount.timeline.after_last(every_deal)
        first_amount = opportunities["amount"].to_numpy(dtype=np.float64).copy()
        changed = end > first
        first_amount[changed] = _amounts(amount.old[first[changed]])
        return cls(
            stage=changes(HistoryField.STAGE),
            amount=amount,
            close_date=changes(HistoryField.CLOSE_DATE),
            forecast=changes(HistoryField.FORECAST_CATEGORY),
            current=opportunities,
            start_ns=instants_ns(deal_start(opportunities)),
            closed_ns=instants_ns(opportunities["closed_date"]),
            first_amount=first_amount,
        )


@dataclass(frozen=True)
class _Bounds:
    first: IntArray  # the deal's first change of the field
    until: IntArray  # just after its last change at or before as_of
    end: IntArray  # just after its last change

    @classmethod
    def of(cls, timeline: Timeline, code: IntArray, as_of_ns: IntArray) -> _Bounds:
        return cls(timeline.first(code), timeline.until(code, as_of_ns), timeline.after_last(code))

    @property
    def changed_later(self) -> np.ndarray:
        return np.asarray(self.until < self.end)

    @property
    def changes_known(self) -> IntArray:
        return np.asarray(self.until - self.first, dtype=np.int64)


def _as_of_values(changes: FieldChanges, bounds: _Bounds, current: np.ndarray) -> np.ndarray:
    """The old value of the first change after as_of where there is one, else the current value."""
    values = np.asarray(current, dtype=object).copy()
    later = bounds.changed_later
    values[later] = changes.old[bounds.until[later]]
    return values


def _day_ns(text: np.ndarray) -> IntArray:
    """Close dates stored as history text (ISO, first 10 characters) as midnight nanoseconds (NAT when
    empty or unreadable), parsed once per distinct text."""
    codes, uniques = pd.factorize(pd.Series(text, dtype=object))
    parsed = pd.to_datetime(pd.Series(uniques, dtype=object).astype(str).str[:10], format="%Y-%m-%d",
                            errors="coerce")  # fmt: skip
    days = np.asarray(parsed, dtype="datetime64[ns]").view(np.int64)
    return np.where(codes >= 0, days[np.maximum(codes, 0)], NAT) if len(days) else np.full(len(codes), NAT)


def _amounts(text: np.ndarray) -> np.ndarray:
    """Amounts stored as history text as floats (NaN when empty or unreadable)."""
    try:  # plain decimal text, the history's canonical form: numpy parses it in C
        return np.array(text, dtype=np.float64)
    except (ValueError, TypeError):
        return pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(np.float64)


def _running_max_within_groups(timeline: Timeline, values: np.ndarray) -> np.ndarray:
    """Running maximum of ``values`` (key order, NaN allowed) restarting at each group; NaN until known."""
    if len(values) == 0:
        return values
    filled = np.where(np.isnan(values), -1.0, values)
    shift = float(filled.max()) + 2.0
    group = (timeline.keys // timeline.span).astype(np.float64)
    running = np.maximum.accumulate(group * shift + filled + 1.0) - group * shift - 1.0
    return np.where(running < 0, np.nan, running)


def deal_state(history: DealHistory, stages: StageTable, code: IntArray, as_of_ns: IntArray) -> pd.DataFrame:
    """For each pair (deal ``code``, instant ``as_of_ns``): the replayed fields and the slips up to then.

    Columns: stage, stage_position, stage_entered_ns, reached_position, amount, first_amount,
    amount_changes, expected_close_ns, close_date_pushes, days_pushed, forecast_category.
    """
    current = history.current
    stage = _stage(history, stages, code, as_of_ns)
    stage_position = stages.positions_of(stage["stage"])
    amount = _amount(history, code, as_of_ns)
    close = _close_date(history, code, as_of_ns)
    forecast_bounds = _Bounds.of(history.forecast.timeline, code, as_of_ns)
    forecast = _as_of_values(history.forecast, forecast_bounds, current["forecast_category"].to_numpy()[code])
    open_then = ~np.isin(stage["stage"], list(stages.closed))
    forecast[open_then & (forecast == ForecastCategory.CLOSED.value)] = None
    return pd.DataFrame(
        {
            **stage,
            "stage_position": stage_position,
            "reached_position": np.fmax(stage["reached_position"], stage_position),
            **amount,
            **close,
            "forecast_category": forecast,
        }
    )


def _stage(
    history: DealHistory, stages: StageTable, code: IntArray, as_of_ns: IntArray
) -> dict[str, np.ndarray]:
    changes = history.stage
    bounds = _Bounds.of(changes.timeline, code, as_of_ns)
    stage = _as_of_values(changes, bounds, history.current["stage"].to_numpy()[code])
    closed_later = history.closed_ns[code] > as_of_ns
    stage[(closed_later & np.isin(stage, list(stages.closed))) | pd.isna(stage)] = STAGE_NOT_RECORDED

    known = bounds.changes_known > 0
    last = np.maximum(bounds.until - 1, 0)
    entered = history.start_ns[code].copy()
    if len(changes.timeline):
        entered[known] = changes.timeline.ns[last[known]]
    entered[stage == STAGE_NOT_RECORDED] = NAT

    # furthest stage reached: where it started (before its first change), where it went by as_of
    reached = np.full(len(code), np.nan)
    if len(changes.timeline):
        has_changes = bounds.end > bounds.first
        first = np.minimum(bounds.first, len(changes.old) - 1)
        started = stages.positions_of(changes.old[first])
        reached = np.where(has_changes, started, np.nan)
        went = _running_max_within_groups(changes.timeline, stages.positions_of(changes.new))
        reached = np.where(known, np.fmax(reached, went[last]), reached)
    return {"stage": stage, "stage_entered_ns": entered, "reached_position": reached}


def _amount(history: DealHistory, code: IntArray, as_of_ns: IntArray) -> dict[str, np.ndarray]:
    changes = history.amount
    bounds = _Bounds.of(changes.timeline, code, as_of_ns)
    current = history.current["amount"].to_numpy(dtype=np.float64)[code]
    amount = current.copy()
    later = bounds.changed_later
    amount[later] = _amounts(changes.old[bounds.until[later]])
    return {
        "amount": amount,
        "first_amount": history.first_amount[code],
        "amount_changes": bounds.changes_known.astype(np.float64),
    }


def _close_date(history: DealHistory, code: IntArray, as_of_ns: IntArray) -> dict[str, np.ndarray]:
    changes = history.close_date
    bounds = _Bounds.of(changes.timeline, code, as_of_ns)
    current = instants_ns(history.current["expected_close_date"])[code]
    close = current.copy()
    later = bounds.changed_later
    close[later] = _day_ns(changes.old[bounds.until[later]])
    old_ns, new_ns = _day_ns(changes.old), _day_ns(changes.new)
    pushed = (old_ns != NAT) & (new_ns != NAT) & (new_ns > old_ns)
    days = np.where(pushed, (new_ns - old_ns) / NS_PER_DAY, 0.0)
    # per-row values are in key order already: a prefix sum over that order
    push_totals = np.concatenate([[0.0], np.cumsum(pushed.astype(np.float64))])
    day_totals = np.concatenate([[0.0], np.cumsum(days)])
    return {
        "expected_close_ns": close,
        "close_date_pushes": push_totals[bounds.until] - push_totals[bounds.first],
        "days_pushed": day_totals[bounds.until] - day_totals[bounds.first],
    }


__all__ = ["DealHistory", "FieldChanges", "StageTable", "deal_state"]
