"""Deals not yet created: how many of them a period usually wins, and for how much.

A period forecast from open deals misses the deals that will be created after the as-of date and won before
the period ends. :func:`new_deals_from_history` learns that contribution from the team's own past, per group
(a rep or a team), with only what was known at the as-of date:

* **Windows.** The period is ``(as_of, period_end]``, ``L`` days long. Past windows of the same length
  end at ``as_of``, ``as_of - 7 days``, ``as_of - 14 days``... (weekly shifts), as long as the window starts
  within ``lookback_days`` before ``as_of`` and not before the first deal the data knows of (a window
  before the data begins would count zero wins that were merely not recorded).
* **Count.** In each window, the deals created inside it and won inside it (``created_date`` and
  ``closed_date`` both in ``(start, end]``, ``outcome == 'won'``); ``expected_count[g]`` is the mean over
  windows. Nothing closed after ``as_of`` can enter, since every window ends at or before it.
* **Amounts.** The amounts of the distinct deals counted in any window (missing amounts count 0), per
  group: the empirical sample :func:`~dealsight.analytics.forecast_simulation.period_ranges` draws from.
* **Thin history.** Under a quarter (91 days) of history before ``as_of``, or no window at all, ``note``
  says so; the figures are still those the data gives (zero when no window fits), never invented.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dealsight.errors import FieldProblem, ValidationError

WINDOW_STEP_DAYS = 7
"""Past windows are shifted by a week."""
THIN_HISTORY_DAYS = 91
"""Under this much history (a quarter) the estimate is flagged as thin in :attr:`NewDeals.note`."""


@dataclass(frozen=True)
class NewDeals:
    """The expected contribution of deals not yet created, per group.

    ``expected_count[g]``: the expected number of deals created after as-of and won within the period;
    ``amounts[g]``: an empirical sample of such deals' amounts (non-negative, finite; empty when no such
    deal was seen, in which case ``expected_count[g]`` must be 0). ``windows``: how many past windows the
    estimate averages; ``history_days``: days of history before as-of it could use; ``note``: a plain
    warning when the history is too thin to trust, else None.
    """

    expected_count: np.ndarray
    amounts: tuple[np.ndarray, ...]
    windows: int = 0
    history_days: float = 0.0
    note: str | None = None

    def __post_init__(self) -> None:
        counts = np.asarray(self.expected_count, dtype=float)
        problems: list[FieldProblem] = []
        if counts.ndim != 1 or len(counts) != len(self.amounts):
            problems.append(FieldProblem("amounts", "one sample per group of expected_count"))
        elif not np.all(np.isfinite(counts)) or np.any(counts < 0):
            problems.append(FieldProblem("expected_count", "finite and >= 0"))
        else:
            for g, sample in enumerate(self.amounts):
                values = np.asarray(sample, dtype=float)
                if values.size and (not np.all(np.isfinite(values)) or np.any(values < 0)):
                    problems.append(FieldProblem(f"amounts[{g}]", "finite and >= 0"))
                if values.size == 0 and counts[g] > 0:
                    problems.append(FieldProblem(f"amounts[{g}]", "empty while expected_count > 0"))
        if problems:
            raise ValidationError("Invalid new deals", problems)
        object.__setattr__(self, "expected_count", counts)
        object.__setattr__(self, "amounts", tuple(np.asarray(a, dtype=float) for a in self.amounts))

    @property
    def n_groups(self) -> int:
        return len(self.expected_count)

    @property
    def expected_amount(self) -> np.ndarray:
        """Per group, ``expected_count`` times the mean sampled amount (0 without a sample)."""
        means = np.array([a.mean() if a.size else 0.0 for a in self.amounts])
        return np.asarray(self.expected_count * means, dtype=float)

    @classmethod
    def none(cls, n_groups: int = 1) -> NewDeals:
        """No new deals in any group."""
        return cls(np.zeros(n_groups), tuple(np.zeros(0) for _ in range(n_groups)))


def _dates(values: pd.Series) -> np.ndarray:
    """Dates as naive datetime64[s] (time zones dropped after conversion to UTC); NaT where missing."""
    parsed = pd.to_datetime(values, errors="coerce", utc=True).dt.tz_localize(None)
    return np.asarray(parsed.to_numpy(dtype="datetime64[s]"))


def _instant(value: pd.Timestamp) -> np.datetime64:
    """A naive datetime64[s] (an aware timestamp is converted to UTC first)."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return np.datetime64(stamp.value // 1_000_000_000, "s")


def new_deals_from_history(
    opportunities: pd.DataFrame,
    as_of: pd.Timestamp,
    period_end: pd.Timestamp,
    *,
    group_codes: np.ndarray | None = None,
    n_groups: int = 1,
    lookback_days: int = 365,
) -> NewDeals:
    """Learn the deals created and won within a period of this length from the past (module docstring).

    ``opportunities`` has at least ``created_date``, ``closed_date``, ``outcome`` and ``amount``;
    ``group_codes[i]`` is row i's group in ``0..n_groups-1`` (negative: in no group, ignored); None puts
    every row in group 0. Rows created after ``as_of`` or closed after it are never used.
    """
    as_of_s = _instant(as_of)
    end_s = _instant(period_end)
    problems: list[FieldProblem] = []
    missing = [c for c in ("created_date", "closed_date", "outcome", "amount") if c not in opportunities]
    problems += [FieldProblem(f"opportunities.{c}", "missing column") for c in missing]
    if end_s <= as_of_s:
        problems.append(FieldProblem("period_end", "after as_of"))
    if n_groups < 1:
        problems.append(FieldProblem("n_groups", ">= 1"))
    if lookback_days < 1:
        problems.append(FieldProblem("lookback_days", ">= 1"))
    rows = len(opportunities)
    codes = np.zeros(rows, dtype=np.int64) if group_codes is None else np.asarray(group_codes)
    if len(codes) != rows:
        problems.append(FieldProblem("group_codes", "one per opportunity"))
    elif rows and codes.max(initial=-1) >= n_groups:
        problems.append(FieldProblem("group_codes", f"below n_groups ({n_groups})"))
    if problems:
        raise ValidationError("Cannot learn new deals from history", problems)
    codes = codes.astype(np.int64)

    created = _dates(opportunities["created_date"])
    closed = _dates(opportunities["closed_date"])
    known = ~np.isnat(created) & (created <= as_of_s)
    history_start = created[known].min() if known.any() else as_of_s
    history_days = float((as_of_s - history_start) / np.timedelta64(1, "D"))
    period = end_s - as_of_s
    step = np.timedelta64(WINDOW_STEP_DAYS * 86400, "s")
    earliest_start = max(as_of_s - np.timedelta64(lookback_days * 86400, "s"), history_start)
    ends = []
    window_end = as_of_s
    while window_end - period >= earliest_start:
        ends.append(window_end)
        window_end = window_end - step

    won = (opportunities["outcome"].astype(object) == "won").to_numpy(dtype=bool)
    usable = won & known & ~np.isnat(closed) & (closed <= as_of_s) & (codes >= 0)
    amount = pd.to_numeric(opportunities["amount"], errors="coerce").to_numpy(dtype=float)
    amount = np.where(np.isfinite(amount), np.maximum(amount, 0.0), 0.0)
    totals = np.zeros(n_groups)
    counted = np.zeros(rows, dtype=bool)
    for window_end in ends:
        start = window_end - period
        inside = usable & (created > start) & (closed > start) & (closed <= window_end)
        totals += np.bincount(codes[inside], minlength=n_groups)[:n_groups]
        counted |= inside
    windows = len(ends)
    expected = totals / windows if windows else np.zeros(n_groups)
    samples = tuple(amount[counted & (codes == g)] for g in range(n_groups))

    note = None
    period_days = float(period / np.timedelta64(1, "D"))
    if windows == 0:
        note = (
            f"No past window of {period_days:.0f} days fits in the {history_days:.0f} days of history "
            f"before as-of (lookback {lookback_days} days): new deals are not counted"
        )
    elif history_days < THIN_HISTORY_DAYS:
        note = (
            f"Only {history_days:.0f} days of history before as-of (under a quarter): the expected new "
            f"deals rest on {windows} window(s) and may be far off"
        )
    return NewDeals(expected, samples, windows=windows, history_days=history_days, note=note)


__all__ = ["THIN_HISTORY_DAYS", "WINDOW_STEP_DAYS", "NewDeals", "new_deals_from_history"]
