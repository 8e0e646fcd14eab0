"""Pipeline flow: velocity, the win / loss / no-decision breakdown, and what they share.

Every figure is computed from history replayed to an explicit day (:func:`dealsight.analytics.replay.
state_as_of`), never from today's rows: a change made after that day cannot alter it. The stage funnel and
stage durations are in :mod:`dealsight.analytics.stage_flow`; the waterfall of changes between two days in
:mod:`dealsight.analytics.pipeline_changes`.

Input is the store's opportunity frame (:data:`~dealsight.analytics.replay.OPPORTUNITY_COLUMNS`) with a
``currency`` column and one text column per grouping (``team``, ``owner``, ``segment``, ``source``,
``product``: labels chosen by the caller; missing ones are labelled ``(no team)`` and so on), its history,
and the :class:`SalesProcess`.

Decisions:

- **Windows** are whole days, both ends included: the 90-day window as of 31 March is 2 January to 31 March;
  the previous window is the 90 days before it. A deal *closed in the window* has its closed date in it, as
  known at the window's last day.
- **Velocity** = qualified deals x average won amount x win rate / average cycle days, in money per day:
  - *qualified deals*: deals open at the end of the window whose stage is the qualifying stage or a later
    open stage (default: every open stage after the first). A deal whose stage at that day is not recorded
    (:data:`~dealsight.analytics.replay.STAGE_NOT_RECORDED`, or a stage the process no longer lists) counts
    only when the qualifying stage is the first one (it was in some open stage); otherwise it is left out
    and counted in ``open_stage_unknown``, never guessed;
  - *average won amount*: the mean amount of the deals won in the window (deals without an amount are left
    out of the mean and counted);
  - *win rate*: won / (won + lost + no decision) among the deals closed in the window;
  - *average cycle days*: the mean number of days from created date to closed date of the deals won in the
    window (those without a created date are left out and counted).
  A term that cannot be computed (no deal won in the window, say) is ``None`` and so is the velocity: the
  report says so rather than inventing a figure.
- **Money per currency.** Amounts are never added across currencies: every row that carries money is one
  currency's deals (``currency``), so a store with one currency has one row per group. Deal counts and rates
  in a row are those of the same deals.
- A deal counts for its owner's team, its owner and its account's segment as they are now (those have no
  history).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import cast

import numpy as np
import pandas as pd

from dealsight.analytics.replay import end_of_day, state_as_of
from dealsight.domain.enums import Outcome
from dealsight.errors import FieldProblem, InsufficientDataError, ValidationError

ALL = "(all)"
"""The group of a row that covers every deal of the selection."""
GROUPINGS = ("team", "owner", "segment")
"""What velocity can be broken down by."""
DIMENSIONS = ("segment", "owner", "team", "source", "product")
"""What the win / loss / no-decision breakdown is broken down by."""
MISSING_LABEL = {name: f"(no {name})" for name in ("team", "owner", "segment", "source", "product")}


@dataclass(frozen=True)
class SalesProcess:
    """The stages of the sales process in position order and the outcome each closed stage means."""

    stages: tuple[str, ...]
    outcomes: Mapping[str, Outcome | None]

    @property
    def open_stages(self) -> tuple[str, ...]:
        return tuple(stage for stage in self.stages if self.outcomes.get(stage) is None)

    def qualifying_stages(self, stage: str | None = None) -> tuple[str, ...]:
        """The open stages from ``stage`` on (any case); default every open stage after the first."""
        open_stages = self.open_stages
        if stage is None:
            return open_stages[1:] if len(open_stages) > 1 else open_stages
        for index, name in enumerate(open_stages):
            if name.casefold() == stage.strip().casefold():
                return open_stages[index:]
        known = ", ".join(open_stages) or "none"
        message = f"{stage!r} is not an open stage of the sales process; open stages are: {known}"
        raise ValidationError(message, [FieldProblem("qualifying_stage", message)])


@dataclass(frozen=True)
class Window:
    """Whole days from ``start`` to ``end``, both included."""

    start: date
    end: date
    days: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", (self.end - self.start).days + 1)

    @classmethod
    def ending(cls, end: date, days: int) -> Window:
        """The ``days`` days that end with ``end``."""
        return cls(end - timedelta(days=days - 1), end)

    def previous(self) -> Window:
        """The window of the same length just before this one."""
        return Window.ending(self.start - timedelta(days=1), self.days)

    def holds(self, days: pd.Series) -> pd.Series:
        """Which of ``days`` (dates, missing allowed) fall in the window."""
        stamps = pd.to_datetime(days)
        return (stamps >= pd.Timestamp(self.start)) & (stamps <= pd.Timestamp(self.end))


def replay(deals: pd.DataFrame, history: pd.DataFrame, process: SalesProcess, day: date) -> pd.DataFrame:
    """The deals as they were at the end of ``day`` (see :func:`state_as_of`), with ``amount`` as floats."""
    state = state_as_of(deals, history, dict(process.outcomes), end_of_day(day))
    state["amount"] = pd.to_numeric(state["amount"], errors="coerce").astype(float)
    return state


def labelled(state: pd.DataFrame, column: str) -> pd.Series:
    """A grouping column as text, missing values labelled (``(no segment)``)."""
    missing = MISSING_LABEL.get(column, f"(no {column})")
    if column not in state:
        return pd.Series(missing, index=state.index, dtype=object)
    values = state[column].astype(object)
    return values.where(values.notna(), missing).map(str)


def rate(part: int, whole: int) -> float | None:
    """``part / whole``, ``None`` when ``whole`` is 0."""
    return part / whole if whole else None


def money(value: float) -> float:
    return round(float(value), 2)


# velocity ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VelocityTerms:
    """The terms of pipeline velocity over one window, and the counts behind each."""

    qualified_deals: int
    average_won_amount: float | None
    win_rate: float | None
    average_cycle_days: float | None
    velocity_per_day: float | None
    won_deals: int
    lost_deals: int
    no_decision_deals: int
    closed_deals: int
    won_amount: float
    won_without_amount: int
    won_without_created_date: int
    open_stage_unknown: int
    """Open deals left out of ``qualified_deals`` because their stage at that day is not an open stage of
    the process (not recorded, or a stage the process no longer lists)."""


@dataclass(frozen=True)
class VelocityRow:
    """One group's velocity in one currency, for the window and the previous one."""

    group: str
    currency: str
    current: VelocityTerms
    previous: VelocityTerms
    change: float | None
    """Relative change of velocity from the previous window (0.25 = 25% faster); ``None`` when either is
    unknown or the previous one is 0."""


@dataclass(frozen=True)
class Velocity:
    as_of: date
    window: Window
    previous_window: Window
    qualifying_stages: list[str]
    group_by: str | None
    overall: list[VelocityRow]
    """One row per currency, every deal of the selection."""
    groups: list[VelocityRow]
    """One row per (group, currency) when ``group_by`` is given."""


def _velocity_sums(
    state: pd.DataFrame,
    window: Window,
    process: SalesProcess,
    qualifying: Sequence[str],
    group_by: str | None,
) -> pd.DataFrame:
    """Per (group, currency): the sums the terms are made of; only deals open or closed in the window."""
    open_known = set(process.open_stages)
    unknown_counts = len(qualifying) == len(open_known)  # the first stage qualifies: every open deal does
    is_open = state["is_open"].astype(bool)
    recorded = state["stage"].isin(open_known)
    closed_in = ~is_open & window.holds(state["closed_date"])
    outcome = state["outcome"]
    won = closed_in & (outcome == Outcome.WON.value)
    created = pd.to_datetime(state["created_date"])
    cycle = (pd.to_datetime(state["closed_date"]) - created).dt.days
    cycle_known = won & cycle.notna()
    sums = pd.DataFrame(
        {
            "group": labelled(state, group_by) if group_by else ALL,
            "currency": state["currency"].astype(str),
            "qualified": is_open & (state["stage"].isin(set(qualifying)) | (~recorded & unknown_counts)),
            "stage_unknown": is_open & ~recorded & ~unknown_counts,
            "won": won,
            "lost": closed_in & (outcome == Outcome.LOST.value),
            "no_decision": closed_in & (outcome == Outcome.NO_DECISION.value),
            "won_amount": state["amount"].where(won, 0.0).fillna(0.0),
            "won_priced": won & state["amount"].notna(),
            "cycle_days": cycle.where(cycle_known, 0).astype(float),
            "cycle_known": cycle_known,
        }
    )
    sums = sums[is_open | closed_in]
    return sums.groupby(["group", "currency"], sort=True).sum()


def _terms(row: Mapping[str, float] | None) -> VelocityTerms:
    """The terms from one row of :func:`_velocity_sums` (``None``: no deals)."""

    def get(name: str) -> float:
        return 0.0 if row is None else float(row[name])

    qualified, won, priced = int(get("qualified")), int(get("won")), int(get("won_priced"))
    cycles = int(get("cycle_known"))
    lost, no_decision = int(get("lost")), int(get("no_decision"))
    closed = won + lost + no_decision
    average_won = get("won_amount") / priced if priced else None
    win_rate = rate(won, closed)
    cycle_days = get("cycle_days") / cycles if cycles else None
    velocity = None
    if average_won is not None and win_rate is not None and cycle_days is not None and cycle_days > 0:
        velocity = money(qualified * average_won * win_rate / cycle_days)
    return VelocityTerms(
        qualified_deals=qualified,
        average_won_amount=None if average_won is None else money(average_won),
        win_rate=win_rate,
        average_cycle_days=cycle_days,
        velocity_per_day=velocity,
        won_deals=won,
        lost_deals=lost,
        no_decision_deals=no_decision,
        closed_deals=closed,
        won_amount=money(get("won_amount")),
        won_without_amount=won - priced,
        won_without_created_date=won - cycles,
        open_stage_unknown=int(get("stage_unknown")),
    )


def _change(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous


def _rows(current: pd.DataFrame, previous: pd.DataFrame) -> list[VelocityRow]:
    keys = sorted(set(current.index) | set(previous.index))
    rows = []
    for group, currency in keys:
        now = _terms(current.loc[(group, currency)] if (group, currency) in current.index else None)
        before = _terms(previous.loc[(group, currency)] if (group, currency) in previous.index else None)
        change = _change(now.velocity_per_day, before.velocity_per_day)
        rows.append(VelocityRow(group, currency, now, before, change))
    return sorted(rows, key=lambda r: (r.currency, -(r.current.velocity_per_day or 0.0), r.group))


def check_group_by(group_by: str | None) -> None:
    """:class:`ValidationError` unless ``group_by`` is ``None`` or one of :data:`GROUPINGS`."""
    if group_by is not None and group_by not in GROUPINGS:
        message = f"cannot break velocity down by {group_by!r}; expected one of: {', '.join(GROUPINGS)}"
        raise ValidationError(message, [FieldProblem("by", message)])


def pipeline_velocity(
    deals: pd.DataFrame,
    history: pd.DataFrame,
    process: SalesProcess,
    *,
    as_of: date,
    window_days: int = 90,
    qualifying_stage: str | None = None,
    group_by: str | None = None,
) -> Velocity:
    """Velocity and its terms over the ``window_days`` days ending ``as_of`` and over the window before.

    :class:`InsufficientDataError` when no deal existed by ``as_of``.
    """
    check_group_by(group_by)
    qualifying = process.qualifying_stages(qualifying_stage)
    window = Window.ending(as_of, window_days)
    earlier = window.previous()
    now, before = replay(deals, history, process, window.end), replay(deals, history, process, earlier.end)
    if now.empty:
        raise InsufficientDataError(
            f"no deals existed by {as_of.isoformat()}: there is no velocity to measure"
        )

    def rows_by(key: str | None) -> list[VelocityRow]:
        return _rows(
            _velocity_sums(now, window, process, qualifying, key),
            _velocity_sums(before, earlier, process, qualifying, key),
        )

    overall = rows_by(None)
    groups = rows_by(group_by) if group_by is not None else []
    return Velocity(as_of, window, earlier, list(qualifying), group_by, overall, groups)


# win / loss / no decision --------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutcomeRow:
    """The deals of one group closed in the window, in one currency: counts, amounts and rates.

    Rates are shares of the deals closed (won + lost + no decision); amounts are the known ones (a lost deal
    often has no amount: ``unknown_amount`` counts those)."""

    value: str
    currency: str
    closed: int
    won: int
    lost: int
    no_decision: int
    won_amount: float
    lost_amount: float
    no_decision_amount: float
    unknown_amount: int
    win_rate: float | None
    loss_rate: float | None
    no_decision_rate: float | None


@dataclass(frozen=True)
class OutcomeBreakdown:
    window: Window
    total: list[OutcomeRow]
    """One row per currency."""
    by: dict[str, list[OutcomeRow]]
    """Dimension (:data:`DIMENSIONS`) -> one row per (value, currency), most closed deals first."""


def _outcome_rows(closed: pd.DataFrame, key: pd.Series) -> list[OutcomeRow]:
    amount = closed["amount"]
    parts = pd.DataFrame({"value": key, "currency": closed["currency"].astype(str)})
    for outcome in Outcome:
        chosen = closed["outcome"] == outcome.value
        parts[outcome.value] = chosen
        parts[f"{outcome.value}_amount"] = amount.where(chosen, 0.0).fillna(0.0)
    parts["unknown_amount"] = amount.isna()
    sums = parts.groupby(["value", "currency"], sort=True).sum()
    rows = []
    for index, row in sums.iterrows():
        value, currency = cast(tuple[str, str], index)
        won, lost, no_decision = (int(row[o.value]) for o in Outcome)
        total = won + lost + no_decision
        rows.append(
            OutcomeRow(
                value=str(value),
                currency=str(currency),
                closed=total,
                won=won,
                lost=lost,
                no_decision=no_decision,
                won_amount=money(row["won_amount"]),
                lost_amount=money(row["lost_amount"]),
                no_decision_amount=money(row["no_decision_amount"]),
                unknown_amount=int(row["unknown_amount"]),
                win_rate=rate(won, total),
                loss_rate=rate(lost, total),
                no_decision_rate=rate(no_decision, total),
            )
        )
    return sorted(rows, key=lambda r: (r.currency, -r.closed, r.value))


def outcome_breakdown(
    deals: pd.DataFrame,
    history: pd.DataFrame,
    process: SalesProcess,
    *,
    as_of: date,
    window_days: int = 90,
    dimensions: Sequence[str] = DIMENSIONS,
) -> OutcomeBreakdown:
    """Won, lost and no-decision deals closed in the ``window_days`` days ending ``as_of``, in total and by
    each of ``dimensions``. :class:`InsufficientDataError` when no deal closed in the window."""
    window = Window.ending(as_of, window_days)
    state = replay(deals, history, process, as_of)
    closed = state[~state["is_open"].astype(bool) & window.holds(state["closed_date"])]
    if closed.empty:
        raise InsufficientDataError(
            f"no deals closed from {window.start.isoformat()} to {window.end.isoformat()}: "
            "widen the window or choose an earlier date"
        )
    total = _outcome_rows(closed, pd.Series(ALL, index=closed.index))
    by = {dimension: _outcome_rows(closed, labelled(closed, dimension)) for dimension in dimensions}
    return OutcomeBreakdown(window, total, by)


def quantiles(days: pd.Series) -> tuple[float | None, float | None]:
    """Median and upper quartile (linear interpolation, as numpy's default); ``None`` for no values."""
    if days.empty:
        return None, None
    median, upper = np.quantile(days.to_numpy(dtype=float), [0.5, 0.75])
    return float(median), float(upper)


__all__ = [
    "ALL",
    "DIMENSIONS",
    "GROUPINGS",
    "OutcomeBreakdown",
    "OutcomeRow",
    "SalesProcess",
    "Velocity",
    "VelocityRow",
    "VelocityTerms",
    "Window",
    "check_group_by",
    "outcome_breakdown",
    "pipeline_velocity",
]
