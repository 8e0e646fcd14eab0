"""Replaying the pipeline for forecasts and their backtests: which deals were open at an as-of instant, what
was known about them then, and (for evaluation only) what happened next.

A forecast as of ``T`` may only use what was known at ``T``. Three pieces keep that promise:

- :func:`deal_lives`: per deal, when it started, when it closed (the instant of
  :func:`dealsight.analytics.deal_snapshots.closed_deals`) and how. A deal is **open at** ``T`` when it
  started on or before ``T`` and had not closed by ``T`` (the same rule as
  :func:`dealsight.analytics.replay.state_as_of`, vectorised over many instants: a test checks that both give
  the same deals).
- :func:`replay_snapshots`: for instants on a grid (every as-of date of a backtest and the weeks before it),
  one row per deal open at that instant with its leading indicators as of that instant
  (:func:`dealsight.analytics.indicators.deal_indicators`, which never looks past a row's instant) plus the
  calendar (day of the quarter, days to its end). The rows at ``T`` are the deals to forecast; earlier rows
  are the training snapshots of the learned methods.
- :func:`horizon_labels`: whether a snapshot's deal was won within its horizon, **as known at** ``T``: a
  label exists only when the snapshot's horizon has ended by ``T`` (so a fast close is not over-represented
  among recent snapshots), and only closes on or before ``T`` count.

:func:`realised` is the other side, for evaluation only: the deals won within ``(T, T + horizon]`` and their
amounts.

Amounts: the amount a won deal brings is its amount when it closed (the current row); at ``T`` it is the
replayed amount. When a data set keeps amounts only for won deals (maven_crm stores no amount for lost
deals, so an open deal with an amount is one that will be won), :func:`amounts_known_only_at_close` says so
and the forecast uses the expected won amount instead (:func:`expected_amounts`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import numpy as np
import pandas as pd

from dealsight.analytics.deal_data import DealData
from dealsight.analytics.deal_snapshots import closed_deals
from dealsight.analytics.deal_timelines import NAT, NS_PER_DAY, instants_ns
from dealsight.analytics.indicators import deal_indicators
from dealsight.analytics.replay import STAGE_NOT_RECORDED, state_as_of
from dealsight.analytics.stage_spells import deal_start
from dealsight.domain.enums import HistoryField, Outcome

WON = Outcome.WON.value
CALENDAR_FEATURES = ("day_of_quarter", "days_to_quarter_end")
AMOUNT_LEAK_SHARE = 0.9
"""Amounts count as known only at the close when at least this share of the lost deals has none while at
least this share of the won deals has one."""

SNAPSHOTS_PER_INSTANT = 5_000
"""At most this many deals open at an instant belong to the learning sample (:func:`sampled_per_instant`):
weekly snapshots of one deal say much the same, and 200,000 deals over 150 weeks would be millions of
rows of indicators."""

CLOSE_DATE_FEATURES = ("close_date_pushes", "days_pushed", "close_date_passed", "days_to_expected_close")
MASKED: dict[str, tuple[str, ...]] = {
    HistoryField.STAGE.value: (
        "stage_position", "stage_age_days", "typical_stage_days", "typical_stage_days_p75",
        "stage_age_ratio", "crm_stage_probability",
    ),
    HistoryField.AMOUNT.value: ("amount", "amount_percentile", "amount_changes", "amount_change_share"),
    HistoryField.CLOSE_DATE.value: CLOSE_DATE_FEATURES,
    HistoryField.FORECAST_CATEGORY.value: (),
}  # fmt: skip
"""Indicators derived from each tracked field, blanked when the field cannot be replayed."""


@dataclass(frozen=True)
class DealLives:
    """Per deal (aligned arrays): id, start and close instants (ns, :data:`NAT` when unknown / open), whether
    it was won, lost or ended in no decision, and its amount at the close (NaN when unknown)."""

    opportunity_id: np.ndarray
    start_ns: np.ndarray
    closed_ns: np.ndarray
    outcome: np.ndarray
    final_amount: np.ndarray
    product: np.ndarray

    @property
    def won(self) -> np.ndarray:
        return np.asarray(self.outcome == WON)

    def open_at(self, as_of_ns: int) -> np.ndarray:
        """Which deals were open at the instant (started by it, not closed by it)."""
        started = (self.start_ns != NAT) & (self.start_ns <= as_of_ns)
        return np.asarray(started & ((self.closed_ns == NAT) | (self.closed_ns > as_of_ns)))


def data_as_of(data: DealData, at: pd.Timestamp) -> DealData:
    """What the deals were at ``at``: those that existed then, each with the stage, amount, close date and
    outcome it had (replayed from the history, :func:`~dealsight.analytics.replay.state_as_of`), and only
    the history recorded by then. What was won by a past day and what the history of created-and-won deals
    teaches must be read from this, not from the current rows: an amount corrected or a deal reopened later
    would otherwise change a past forecast."""
    outcomes = {
        str(name): Outcome(outcome) if isinstance(outcome, str) and outcome else None
        for name, outcome in zip(data.stages["name"], data.stages["outcome"], strict=True)
    }
    moment = pd.Timestamp(at).to_pydatetime()
    deals = state_as_of(data.opportunities, data.history, outcomes, moment)
    history = data.history[instants_ns(data.history["changed_at"]) <= pd.Timestamp(at).value]
    return dataclasses.replace(data, opportunities=deals[list(data.opportunities.columns)], history=history)


def deal_lives(data: DealData) -> DealLives:
    """Every deal's life (:class:`DealLives`) from the current rows and the history."""
    deals = data.opportunities
    closed = closed_deals(data).set_index("opportunity_id")
    ids = deals["id"].to_numpy()
    found = closed.index.get_indexer(pd.Index(ids))
    closed_ns = np.full(len(deals), NAT, dtype=np.int64)
    closed_ns[found >= 0] = closed["closed_at"].to_numpy(np.int64)[found[found >= 0]]
    outcome = np.full(len(deals), None, dtype=object)
    outcome[found >= 0] = closed["outcome"].to_numpy(dtype=object)[found[found >= 0]]
    return DealLives(
        opportunity_id=ids,
        start_ns=instants_ns(deal_start(deals)),
        closed_ns=closed_ns,
        outcome=outcome,
        final_amount=pd.to_numeric(deals["amount"], errors="coerce").to_numpy(np.float64),
        product=deals["product"].astype(object).where(deals["product"].notna(), "").to_numpy(dtype=object),
    )


def as_of_grid(
    start: datetime | pd.Timestamp, end: datetime | pd.Timestamp, every_days: int
) -> list[pd.Timestamp]:
    """The as-of instants from ``start`` to ``end`` (inclusive) every ``every_days`` days, each at the end of
    its day (as a user's "as of DAY" is)."""
    first = pd.Timestamp(start).normalize() + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    last = pd.Timestamp(end).normalize() + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    steps = max(int((last - first).days // every_days), -1) + 1
    return [first + pd.Timedelta(days=every_days * k) for k in range(steps)]


def open_pairs(lives: DealLives, instants: list[pd.Timestamp]) -> pd.DataFrame:
    """``(opportunity_id, as_of, row)`` for every deal open at each instant (``row``: its index in
    ``lives``)."""
    parts = []
    for instant in instants:
        rows = np.flatnonzero(lives.open_at(int(instant.value)))
        parts.append(pd.DataFrame({"row": rows, "as_of": np.full(len(rows), instant.value, dtype=np.int64)}))
    pairs = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"row": [], "as_of": []})
    rows = pairs["row"].to_numpy(np.int64)
    return pd.DataFrame(
        {
            "opportunity_id": lives.opportunity_id[rows],
            "as_of": pairs["as_of"].to_numpy(np.int64).view("datetime64[ns]"),
            "row": rows,
        }
    )


def calendar_features(as_of: pd.Series) -> dict[str, np.ndarray]:
    """Day of the calendar quarter (1..92) and days left to its end, per instant."""
    moments = pd.to_datetime(as_of)
    quarter_start = moments.dt.to_period("Q").dt.start_time
    quarter_end = moments.dt.to_period("Q").dt.end_time.dt.normalize()
    return {
        "day_of_quarter": ((moments.dt.normalize() - quarter_start).dt.days + 1).to_numpy(np.float64),
        "days_to_quarter_end": (quarter_end - moments.dt.normalize()).dt.days.to_numpy(np.float64),
    }


@dataclass(frozen=True)
class ReplayedSnapshots:
    """Deals open at each instant of a grid, with what was known about them then.

    ``rows``: one row per (deal, instant) with the indicators, :data:`CALENDAR_FEATURES`, ``row`` (the
    deal's index in ``lives``) and ``sampled`` (the row belongs to the learning sample, see
    :func:`replay_snapshots`); ``lives``: every deal's life, used for labels known at an as-of and, for
    evaluation only, for outcomes.
    """

    rows: pd.DataFrame
    lives: DealLives
    _at: dict[int, pd.DataFrame] = field(default_factory=dict, compare=False, repr=False)

    def at(self, as_of: pd.Timestamp) -> pd.DataFrame:
        """The deals open at ``as_of`` (an instant of the grid; remembered, do not modify)."""
        if as_of.value not in self._at:
            mask = self.rows["as_of"].to_numpy() == np.datetime64(as_of.value, "ns")
            self._at[as_of.value] = pd.DataFrame(self.rows[mask])
        return self._at[as_of.value]

    def before(self, as_of: pd.Timestamp, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The snapshots of the learning sample taken strictly before ``as_of`` (only ``columns`` when
        given: much cheaper than every indicator)."""
        positions = self.before_positions(as_of)
        if columns is None:
            return self.rows.iloc[positions]
        return pd.DataFrame(
            {name: self.rows[name].to_numpy()[positions] for name in columns},
            index=self.rows.index[positions],
        )

    def before_positions(self, as_of: pd.Timestamp) -> np.ndarray:
        """Positions in ``rows`` of :meth:`before`."""
        return np.flatnonzero((self._taken_ns < as_of.value) & self._sampled)

    @cached_property
    def _taken_ns(self) -> np.ndarray:
        return np.asarray(self.rows["as_of"].to_numpy().view(np.int64))

    @cached_property
    def _sampled(self) -> np.ndarray:
        return np.asarray(self.rows["sampled"].to_numpy(bool))


def sampled_per_instant(pairs: pd.DataFrame, per_instant: int) -> np.ndarray:
    """Per pair, whether its deal is among the ``per_instant`` deals open at its instant with the smallest
    hash of their id (a fixed random order of deals: the choice at an instant depends only on which deals
    were open then)."""
    key = pd.util.hash_array(pairs["opportunity_id"].astype(str).to_numpy(dtype=object))
    order = np.lexsort((key, pairs["as_of"].to_numpy().view(np.int64)))
    instant = pairs["as_of"].to_numpy().view(np.int64)[order]
    first = np.r_[0, np.flatnonzero(np.diff(instant)) + 1]
    rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    sampled = np.zeros(len(pairs), dtype=bool)
    sampled[order] = rank < per_instant
    return sampled


def replay_snapshots(
    data: DealData,
    instants: list[pd.Timestamp],
    lives: DealLives | None = None,
    *,
    forecast_instants: Collection[pd.Timestamp] | None = None,
    per_instant: int = SNAPSHOTS_PER_INSTANT,
) -> ReplayedSnapshots:
    """The deals open at each instant with their indicators as of it (see the module docstring).

    Every open deal is kept at the ``forecast_instants`` (all instants when ``None``); at the others only
    the learning sample, at most ``per_instant`` deals per instant (:func:`sampled_per_instant`), whose
    rows are flagged ``sampled`` at every instant: learners see the same share of every week."""
    lives = lives or deal_lives(data)
    pairs = open_pairs(lives, sorted(set(instants)))
    sampled = sampled_per_instant(pairs, per_instant)
    if forecast_instants is not None:
        full = np.isin(pairs["as_of"].to_numpy().view(np.int64), [t.value for t in forecast_instants])
        pairs, sampled = pairs[full | sampled].reset_index(drop=True), sampled[full | sampled]
    indicators = unreplayable_masked(deal_indicators(data, pairs[["opportunity_id", "as_of"]]), data)
    indicators["row"] = pairs["row"].to_numpy()
    indicators["sampled"] = sampled
    for name, values in calendar_features(indicators["as_of"]).items():
        indicators[name] = values
    return ReplayedSnapshots(rows=indicators.reset_index(drop=True), lives=lives)


def unreplayable_masked(rows: pd.DataFrame, data: DealData) -> pd.DataFrame:
    """``rows`` (indicator rows) with the fields the data set never records a change of blanked at
    instants before the deal's row reached dealsight (module docstring)."""
    recorded = set(data.history["field"].astype(str).unique().tolist())
    known_since = pd.to_datetime(data.opportunities.set_index("id")["known_since"])
    before = (pd.to_datetime(rows["as_of"]) < rows["opportunity_id"].map(known_since)).to_numpy()
    rows = rows.copy()
    for tracked, columns in MASKED.items():
        if tracked in recorded or not before.any():
            continue
        for column in columns:
            rows.loc[before, column] = np.nan
        if tracked == HistoryField.STAGE.value:
            rows.loc[before, "stage"] = STAGE_NOT_RECORDED
        if tracked == HistoryField.FORECAST_CATEGORY.value:
            rows.loc[before, "forecast_category"] = None
    return rows


def horizon_labels(
    snapshots: pd.DataFrame, lives: DealLives, as_of: pd.Timestamp, horizon_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """For snapshots taken before ``as_of``: whether the label is known at ``as_of`` (the snapshot's horizon
    ended by then) and whether the deal was won within the horizon after the snapshot."""
    taken = snapshots["as_of"].to_numpy().view(np.int64)
    horizon_end = taken + horizon_days * NS_PER_DAY
    known = horizon_end <= as_of.value
    rows = snapshots["row"].to_numpy(np.int64)
    closed = lives.closed_ns[rows]
    won = lives.won[rows] & (closed != NAT) & (closed <= horizon_end) & (closed <= as_of.value)
    return known, won


def realised(
    lives: DealLives, rows: np.ndarray, as_of: pd.Timestamp, horizon_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """For evaluation only: whether each deal (by its index in ``lives``) was won within
    ``(as_of, as_of + horizon]``, and the amount it was won for (0 when not won, NaN amounts count 0)."""
    closed = lives.closed_ns[rows]
    won = lives.won[rows] & (closed > as_of.value) & (closed <= as_of.value + horizon_days * NS_PER_DAY)
    amount = np.where(won, np.nan_to_num(lives.final_amount[rows]), 0.0)
    return won, amount


def amounts_known_only_at_close(lives: DealLives, as_of: pd.Timestamp) -> bool:
    """Whether, among the deals closed by ``as_of``, the lost ones almost never have an amount while the won
    ones almost always do (see :data:`AMOUNT_LEAK_SHARE`): then an open deal's amount says it will be won."""
    closed = (lives.closed_ns != NAT) & (lives.closed_ns <= as_of.value)
    has_amount = np.isfinite(lives.final_amount) & (lives.final_amount > 0)
    won, other = closed & lives.won, closed & ~lives.won
    if not won.any() or not other.any():
        return False
    return bool(
        (1 - has_amount[other].mean()) >= AMOUNT_LEAK_SHARE and has_amount[won].mean() >= AMOUNT_LEAK_SHARE
    )


def expected_amounts(open_rows: pd.DataFrame, lives: DealLives, as_of: pd.Timestamp) -> np.ndarray:
    """The amount each open deal brings if won, as known at ``as_of``: its replayed amount, except when
    amounts are known only at the close or missing, where it is the mean amount of the deals of the same
    product won by ``as_of`` (else of every deal won by then; NaN when none was)."""
    closed = (lives.closed_ns != NAT) & (lives.closed_ns <= as_of.value) & lives.won
    won_amount = pd.Series(lives.final_amount[closed])
    products = lives.product[open_rows["row"].to_numpy(np.int64)]
    by_product = (
        won_amount.groupby(lives.product[closed]).mean() if len(won_amount) else pd.Series(dtype=float)
    )
    overall = float(np.nanmean(won_amount)) if won_amount.notna().any() else np.nan
    estimate = pd.Series(products).map(by_product).fillna(overall).to_numpy(np.float64)
    replayed = pd.to_numeric(open_rows["amount"], errors="coerce").to_numpy(np.float64)
    if amounts_known_only_at_close(lives, as_of):
        return estimate
    return np.where(np.isfinite(replayed), replayed, estimate)


__all__ = [
    "CALENDAR_FEATURES",
    "CLOSE_DATE_FEATURES",
    "MASKED",
    "DealLives",
    "ReplayedSnapshots",
    "amounts_known_only_at_close",
    "as_of_grid",
    "calendar_features",
    "data_as_of",
    "deal_lives",
    "expected_amounts",
    "horizon_labels",
    "open_pairs",
    "realised",
    "replay_snapshots",
    "sampled_per_instant",
    "unreplayable_masked",
]
