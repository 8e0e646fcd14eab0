"""Deal timelines: each deal's events in time order, and which of them were known at any instant.

Every leading indicator is "what had happened to this deal by ``as_of``": stage changes up to then,
activities in the 30 days before, answers given by then. A :class:`Timeline` holds the events of one kind
(the stage changes, the activities, ...) sorted by deal and time, so that for a whole frame of pairs
(deal, as_of) the number of events at or before each pair's instant is one binary search per pair
(``numpy.searchsorted``): no loop over deals, no join of pairs with events.

Decisions:

- Events are sorted on one ``int64`` key, ``group * span + second``: ``group`` is the deal's dense code
  (or a deal crossed with a small category, e.g. a question's stage), ``second`` the event's time in whole
  seconds since the earliest event. One key makes the sort and the searches plain integer operations.
- Time is compared in whole seconds, an event's time rounded **up** and a pair's instant rounded **down**:
  an event counts for a pair only when it certainly happened at or before the pair's instant (at whole
  seconds, the precision CRMs keep, this is exact; a change at exactly ``as_of`` counts as known, as in
  :mod:`dealsight.analytics.replay`). Sub-second detail can only hide an event, never leak one from after
  ``as_of``.
- Input already sorted (the store reads history by deal and time) is detected and not sorted again.
- Events of deals unknown to the caller (code -1) and events without a time are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dealsight.errors import ValidationError

NAT = np.iinfo(np.int64).min
"""The integer form of a missing instant (``NaT``) in nanoseconds."""
NS_PER_SECOND = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND

IntArray = np.ndarray


def instants_ns(values: object) -> IntArray:
    """Instants (datetimes, dates, ISO text, datetime64 of any unit, or int64 nanoseconds) as int64
    nanoseconds since the epoch, :data:`NAT` where missing. Naive times are taken as they are (the store
    keeps naive UTC)."""
    array = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
    if array.dtype.kind in "iu":  # nanoseconds already
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "M":
        return array.astype("datetime64[ns]").view(np.int64)
    converted = pd.to_datetime(pd.Series(array, dtype=object))
    return np.asarray(converted, dtype="datetime64[ns]").view(np.int64)


def days_between(later_ns: IntArray, earlier_ns: IntArray) -> np.ndarray:
    """``later - earlier`` in days (float), NaN where either is missing."""
    missing = (later_ns == NAT) | (earlier_ns == NAT)
    days = (later_ns - earlier_ns) / NS_PER_DAY
    return np.where(missing, np.nan, days)


def mapped(values: object, mapping: dict[str, float]) -> np.ndarray:
    """``mapping[value]`` for each value as floats (NaN for missing or unmapped values); one dictionary
    look-up per distinct value (``Series.map`` hashes every value through a Series, ~5x slower)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    table = np.array([mapping.get(u, np.nan) for u in uniques] + [np.nan], dtype=np.float64)
    return table[codes]  # code -1 (missing) takes the trailing NaN


def categories_of(values: pd.Series) -> tuple[IntArray, np.ndarray]:
    """Integer codes (-1: missing) and the distinct values of a column; free for a categorical column."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(np.int64), np.asarray(values.cat.categories, dtype=object)
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


@dataclass(frozen=True)
class DealCodes:
    """Dense codes 0..n-1 of opportunity ids, in the ids' order (a deal's code sorts as its id)."""

    ids: np.ndarray  # sorted, unique int64

    @classmethod
    def of(cls, ids: object) -> DealCodes:
        values = np.unique(np.asarray(ids, dtype=np.int64))
        return cls(values)

    def __len__(self) -> int:
        return len(self.ids)

    def code(self, ids: object) -> IntArray:
        """The code of each id, -1 for ids not among these deals (or missing)."""
        raw = np.asarray(ids)
        if raw.dtype.kind not in "iu":
            numbers = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(np.float64)
            result = np.full(len(numbers), -1, dtype=np.int64)
            known = ~np.isnan(numbers)
            result[known] = self.code(numbers[known].astype(np.int64))
            return result
        wanted = raw.astype(np.int64, copy=False)
        if len(self.ids) == 0:
            return np.full(len(wanted), -1, dtype=np.int64)
        first, last = int(self.ids[0]), int(self.ids[-1])
        if last - first + 1 == len(self.ids):  # dense ids (the usual case): a subtraction
            codes = wanted - first
            return np.where((codes >= 0) & (codes < len(self.ids)), codes, -1)
        codes = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        return np.where(self.ids[codes] == wanted, codes, -1)


@dataclass(frozen=True)
class Timeline:
    """Events sorted by (group, time); see the module docstring.

    ``rows[i]`` is the position, in the arrays the timeline was built from, of the ``i``-th event in key
    order; ``ns[i]`` its exact time (nanoseconds). Use ``rows`` to carry any event column into key order.
    """

    keys: IntArray
    rows: IntArray
    ns: IntArray
    origin: int
    span: int

    @classmethod
    def build(cls, groups: IntArray, ns: IntArray) -> Timeline:
        """Events of group ``groups[i]`` (``>= 0``; -1 leaves the event out) at ``ns[i]``."""
        groups = np.asarray(groups, dtype=np.int64)
        ns = np.asarray(ns, dtype=np.int64)
        keep = np.flatnonzero((groups >= 0) & (ns != NAT))
        seconds = -((-ns[keep]) // NS_PER_SECOND)  # rounded up
        if len(keep) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, empty, 0, 1)
        origin = int(seconds.min())
        span = int(seconds.max()) - origin + 2
        if int(groups[keep].max()) + 1 > np.iinfo(np.int64).max // span:
            raise ValidationError("Too many deals over too long a time to index their events.")
        keys = groups[keep] * span + (seconds - origin)
        if len(keys) > 1 and not bool(np.all(keys[1:] >= keys[:-1])):
            order = np.argsort(keys, kind="stable")
            keys, keep = keys[order], keep[order]
        return cls(keys, keep, ns[keep], origin, span)

    def __len__(self) -> int:
        return len(self.keys)

    def _query(self, groups: IntArray, ns: IntArray) -> IntArray:
        seconds = np.where(ns == NAT, self.origin - 1, ns // NS_PER_SECOND)  # rounded down
        relative = np.clip(seconds - self.origin, -1, self.span - 1)
        return np.asarray(groups * self.span + relative, dtype=np.int64)

    def first(self, groups: IntArray) -> IntArray:
        """Position of each group's first event (where it would be when it has none)."""
        return np.searchsorted(self.keys, np.asarray(groups, dtype=np.int64) * self.span, side="left")

    def after_last(self, groups: IntArray) -> IntArray:
        """Position just after each group's last event."""
        return np.searchsorted(self.keys, (np.asarray(groups, dtype=np.int64) + 1) * self.span, side="left")

    def until(self, groups: IntArray, ns: IntArray) -> IntArray:
        """Position just after each group's last event at or before ``ns`` (``first`` when none)."""
        return np.searchsorted(self.keys, self._query(np.asarray(groups, dtype=np.int64), ns), side="right")

    def count(self, groups: IntArray, ns: IntArray) -> IntArray:
        """Number of each group's events at or before ``ns``."""
        return np.asarray(self.until(groups, ns) - self.first(groups), dtype=np.int64)


__all__ = [
    "NAT",
    "NS_PER_DAY",
    "DealCodes",
    "Timeline",
    "categories_of",
    "days_between",
    "instants_ns",
    "mapped",
]
