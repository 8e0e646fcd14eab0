"""Typical stage ages: how long deals of a segment usually spend in a stage, as known at an instant.

"Stage age against the team's typical" (DESIGN.md) compares how long a deal has been in its stage with the
median length of *completed* stage spells (:mod:`dealsight.analytics.stage_spells`) of that stage: spells
of deals in the same segment, or of all segments when the segment has fewer than
:data:`MIN_SEGMENT_SPELLS`. The upper quartile is kept beside the median (a deal past it is slower than
three deals in four).

Decisions:

- **No look-ahead.** A pair's typical comes from the spells left *before the calendar month of its as_of
  started*: one table per month present among the pairs. A spell ended before then was entirely known at
  the pair's instant, and a month is short against the stage ages compared (tens of days), while a table
  per pair would cost a pass over all spells per pair.
- Spells still running (no ``left_at``) are not typical of anything yet; spells of unknown length (a deal
  without a start) or of negative length (bad data) are left out.
- Quantiles interpolate linearly between sorted values (``numpy.quantile``'s default); each month's table
  is read from spells sorted once by (segment, stage, days): a mask per month, no sort per month.
- A stage with no completed spell before the month has no typical (NaN): the indicator says "unknown"
  rather than inventing a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dealsight.analytics.deal_timelines import NAT, NS_PER_DAY, IntArray, Timeline, instants_ns, mapped

MIN_SEGMENT_SPELLS = 20
"""Completed spells of a stage a segment needs before its own typical is used (else all segments')."""


def month_start_ns(ns: IntArray) -> IntArray:
    """The first instant of each instant's calendar month (nanoseconds)."""
    months = np.asarray(ns, dtype="datetime64[ns]").astype("datetime64[M]")
    return months.astype("datetime64[ns]").view(np.int64)


@dataclass(frozen=True)
class TypicalStageDays:
    """Median and upper quartile of completed spell days by month (of as_of), segment and stage."""

    months: IntArray  # sorted month starts (ns)
    segments: dict[str, int]
    stages: dict[str, int]
    median: np.ndarray  # [month, stage, segment]; the last segment index holds all segments
    p75: np.ndarray

    def lookup(
        self, as_of_ns: IntArray, segment: np.ndarray, stage: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Median and upper quartile for each pair (NaN where unknown)."""
        count = len(as_of_ns)
        month = np.searchsorted(self.months, month_start_ns(as_of_ns))
        stage_index = _index(stage, self.stages)
        segment_index = _index(segment, self.segments)
        segment_index = np.where(segment_index < 0, len(self.segments), segment_index)
        found = (stage_index >= 0) & (month < len(self.months))
        median, p75 = np.full(count, np.nan), np.full(count, np.nan)
        where = (month[found], stage_index[found], segment_index[found])
        median[found], p75[found] = self.median[where], self.p75[where]
        return median, p75


def _index(names: np.ndarray, index: dict[str, int]) -> IntArray:
    found = mapped(names, {k: float(v) for k, v in index.items()})
    return np.where(np.isnan(found), -1, found).astype(np.int64)


def ended_spells(
    changes: Timeline, old_values: np.ndarray, start_ns: IntArray, segment: np.ndarray
) -> pd.DataFrame:
    """The spells the stage changes ended, straight from the stage changes' timeline (grouped by deal
    code, already in time order): the completed spells of :func:`stage_spells.stage_spells` (each change
    ends a spell of its ``old_value``, entered at the deal's previous change or at its start), without
    sorting the history again. ``start_ns`` and ``segment`` are by deal code; ``old_values`` in key order.

    Columns: ``stage``, ``segment``, ``entered_at``, ``left_at`` (nanoseconds).
    """
    deal = changes.keys // changes.span
    first = np.r_[True, deal[1:] != deal[:-1]] if len(deal) else np.zeros(0, dtype=bool)
    entered = np.empty(len(deal), dtype=np.int64)
    entered[1:] = changes.ns[:-1]
    entered[first] = start_ns[deal[first]]
    known = pd.notna(old_values)
    return pd.DataFrame(
        {
            "stage": old_values[known],
            "segment": segment[deal[known]],
            "entered_at": entered[known],
            "left_at": changes.ns[known],
        }
    )


def typical_stage_days(spells: pd.DataFrame, months: IntArray) -> TypicalStageDays:
    """The tables for the month starts ``months``.

    ``spells``: ``stage``, ``segment`` (missing: counted under all segments only), ``entered_at`` and
    ``left_at`` (datetimes or nanoseconds; spells without ``left_at`` are still running and left out), e.g.
    :func:`ended_spells`, or :func:`stage_spells.stage_spells` with each deal's segment added.
    """
    months = np.unique(np.asarray(months, dtype=np.int64))
    entered = instants_ns(spells["entered_at"])
    left = instants_ns(spells["left_at"])
    days = (left - entered) / NS_PER_DAY
    usable = (entered != NAT) & (left != NAT) & (days >= 0)
    stage_codes, stage_names = pd.factorize(spells["stage"].to_numpy(dtype=object)[usable])
    segment_codes, segment_names = pd.factorize(spells["segment"].to_numpy(dtype=object)[usable])
    days, left = days[usable], left[usable]

    n_stages, n_segments = len(stage_names), len(segment_names)
    all_segments = n_segments  # the last column: every segment together
    median = np.full((len(months), n_stages, n_segments + 1), np.nan)
    p75 = np.full_like(median, np.nan)
    segment_group = stage_codes * (n_segments + 1) + np.where(segment_codes < 0, all_segments, segment_codes)
    longest = float(days.max()) + 1.0 if len(days) else 1.0
    by_segment = np.argsort(segment_group * longest + days)  # by group, then days: one float key
    by_stage = np.argsort(stage_codes * longest + days)
    for m, start in enumerate(months):
        own_counts = _quantiles(
            days[by_segment], segment_group[by_segment], left[by_segment] < start,
            n_stages * (n_segments + 1), (median[m], p75[m]),
        )  # fmt: skip
        own_median, own_p75 = median[m].copy(), p75[m].copy()
        everyone = np.full((n_stages, 1), np.nan), np.full((n_stages, 1), np.nan)
        _quantiles(days[by_stage], stage_codes[by_stage], left[by_stage] < start, n_stages, everyone)
        enough = own_counts.reshape(n_stages, n_segments + 1) >= MIN_SEGMENT_SPELLS
        median[m] = np.where(enough, own_median, everyone[0])
        p75[m] = np.where(enough, own_p75, everyone[1])
        median[m][:, all_segments] = everyone[0][:, 0]
        p75[m][:, all_segments] = everyone[1][:, 0]
    return TypicalStageDays(
        months,
        {str(name): i for i, name in enumerate(segment_names)},
        {str(name): i for i, name in enumerate(stage_names)},
        median,
        p75,
    )


def _quantiles(
    values: np.ndarray, groups: IntArray, keep: np.ndarray, n_groups: int, into: tuple[np.ndarray, np.ndarray]
) -> IntArray:
    """Median and upper quartile of ``values`` (sorted by group, then value) per group among ``keep``,
    written into ``into`` (arrays of ``n_groups`` cells in any shape); returns the count per group."""
    kept, kept_groups = values[keep], groups[keep]
    counts = np.bincount(kept_groups, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    present = counts > 0
    for target, q in zip(into, (0.5, 0.75), strict=True):
        flat = target.reshape(-1)
        position = (counts[present] - 1) * q
        low = np.floor(position).astype(np.int64)
        high = np.ceil(position).astype(np.int64)
        lower = kept[starts[present] + low]
        upper = kept[starts[present] + high]
        flat[present] = lower + (upper - lower) * (position - low)
    return counts


__all__ = ["MIN_SEGMENT_SPELLS", "TypicalStageDays", "ended_spells", "month_start_ns", "typical_stage_days"]
