"""How large a deal is against the team's recent deals: the percentile of its amount, as known at an instant.

A pair's ``amount_percentile`` places its as-of amount among the deals created in the
:data:`REFERENCE_DAYS` days before the day of its as_of: the share of those deals with a smaller amount,
ties counted half (a mid-rank, so a deal equal to every other sits at 0.5). NaN when the amount is unknown
or no deal was created in the window.

Decisions:

- Reference deals are compared by their **first known amount** (the amount they were created with: the
  value before their first amount change, else their amount when it never changed). It was known at the
  deal's creation, so it cannot carry anything from after the pair's as_of, and one value per deal lets
  every pair of a day share one sorted array (a replay of every reference deal at every pair's instant
  would cost a pass over all deals per pair).
- The window is whole days: deals started (created date, else ``known_since``) on or after the day 365
  days before the as_of day and before the as_of day itself. Deals created later on the as_of day are not
  in it (a created date carries no time of day).
- One sorted array per distinct as_of day: scoring (one as_of) sorts once; training pairs spread over a few
  hundred days sort a few hundred windows.
"""

from __future__ import annotations

import numpy as np

from dealsight.analytics.deal_timelines import NAT, NS_PER_DAY, IntArray

REFERENCE_DAYS = 365


def amount_percentile(
    first_amount: np.ndarray, start_ns: IntArray, amount: np.ndarray, as_of_ns: IntArray
) -> np.ndarray:
    """Percentile (0..1) of each pair's ``amount`` at ``as_of_ns`` among deals' ``first_amount`` by their
    ``start_ns`` (the reference arrays hold one value per deal)."""
    result = np.full(len(amount), np.nan)
    usable = (start_ns != NAT) & ~np.isnan(first_amount)
    order = np.argsort(start_ns[usable], kind="stable")
    starts, values = start_ns[usable][order], first_amount[usable][order]
    day = as_of_ns - np.mod(as_of_ns, NS_PER_DAY)
    pair_order = np.argsort(day, kind="stable")
    days, first_of_day = np.unique(day[pair_order], return_index=True)
    bounds = np.append(first_of_day, len(pair_order))
    for number, this_day in enumerate(days):
        lo = np.searchsorted(starts, this_day - REFERENCE_DAYS * NS_PER_DAY, side="left")
        hi = np.searchsorted(starts, this_day, side="left")
        if hi <= lo:
            continue
        window = np.sort(values[lo:hi])
        pairs = pair_order[bounds[number] : bounds[number + 1]]
        wanted = amount[pairs]
        below = np.searchsorted(window, wanted, side="left")
        equal = np.searchsorted(window, wanted, side="right") - below
        result[pairs] = np.where(np.isnan(wanted), np.nan, (below + equal / 2) / len(window))
    return result


__all__ = ["REFERENCE_DAYS", "amount_percentile"]
