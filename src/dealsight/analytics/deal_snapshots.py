"""Training pairs: snapshots along each closed deal's life, with how the deal ended.

A win model learns from deals whose outcome is known, seen as they were *before* the outcome: each closed
deal contributes pairs (opportunity_id, as_of) at snapshots from its start until (not including) its close,
labelled with its ``outcome`` (won, lost, no_decision) and ``closed_at``. :func:`deal_indicators` then
computes each pair's indicators from what was known at its as_of.

Decisions:

- **Snapshots** fall at the end of a day (as a user's "as of DAY" does, :func:`replay.as_of_instant`):
  the end of the deal's start day (created date, else ``known_since``) plus ``min_age_days``, then every
  ``every_days`` days, while strictly before the close instant.
- **Close instant**: the deal's last stage change into a closed stage; without one, the start of its
  closed date (the time of day is unknown, so every snapshot stays before anything recorded that day).
  A deal is closed when its stage is a closed stage; its outcome is the stage's, except that a closed-lost
  stage recorded as ``no_decision`` stays no decision (as in :mod:`dealsight.analytics.replay`).
- **At most** ``max_per_deal`` snapshots per deal (default :data:`MAX_SNAPSHOTS`, a year of fortnights):
  a longer deal keeps that many, spread evenly from its first snapshot to its last.
- **Weights**: ``weight`` = 1 / the deal's number of snapshots, so every deal counts once in total and a
  long deal (many snapshots) does not outweigh short ones; pass it as ``sample_weight``.
- Only deals closed by ``until`` (the training as-of) qualify, so a backtest at ``until`` learns only from
  outcomes known then. Deals that close at their very start (no snapshot before the close) are left out.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from dealsight.analytics.deal_data import DealData
from dealsight.analytics.deal_timelines import NAT, NS_PER_DAY, NS_PER_SECOND, instants_ns
from dealsight.analytics.stage_spells import deal_start
from dealsight.domain.enums import HistoryField, Outcome
from dealsight.errors import FieldProblem, ValidationError

MAX_SNAPSHOTS = 26
PAIR_COLUMNS = ("opportunity_id", "as_of", "outcome", "closed_at", "weight")


def closed_deals(data: DealData) -> pd.DataFrame:
    """Deals in a closed stage: ``opportunity_id``, ``start`` (ns), ``closed_at``, ``outcome``."""
    deals = data.opportunities
    stage_outcome = {
        str(name): str(outcome)
        for name, outcome in zip(data.stages["name"], data.stages["outcome"], strict=True)
        if isinstance(outcome, str) and outcome
    }
    outcome = deals["stage"].map(stage_outcome)
    closed = outcome.notna().to_numpy()
    recorded = deals["outcome"].astype(object).to_numpy()
    no_decision = (outcome.to_numpy() == Outcome.LOST.value) & (recorded == Outcome.NO_DECISION.value)
    outcome = outcome.where(~no_decision, Outcome.NO_DECISION.value)

    history = data.history
    into_closed = history[
        (history["field"] == HistoryField.STAGE.value) & history["new_value"].isin(list(stage_outcome))
    ]
    # each deal's last change into a closed stage (nanoseconds), looked up by id
    moments = pd.Series(instants_ns(into_closed["changed_at"]))
    closing = moments.groupby(into_closed["opportunity_id"].to_numpy()).max()
    found = pd.Index(closing.index).get_indexer(deals["id"].to_numpy())
    closed_at = np.full(len(deals), NAT)
    closed_at[found >= 0] = closing.to_numpy(np.int64)[found[found >= 0]]
    closed_day = instants_ns(deals["closed_date"])
    closed_at = np.where(closed_at == NAT, closed_day, closed_at)
    frame = pd.DataFrame(
        {
            "opportunity_id": deals["id"].to_numpy(),
            "start": instants_ns(deal_start(deals)),
            "closed_at": closed_at,
            "outcome": outcome.to_numpy(dtype=object),
        }
    )
    return frame[closed & (frame["closed_at"] != NAT).to_numpy() & (frame["start"] != NAT).to_numpy()]


def snapshot_pairs(
    data: DealData,
    *,
    every_days: int = 14,
    min_age_days: int = 0,
    until: datetime | pd.Timestamp | None = None,
    max_per_deal: int = MAX_SNAPSHOTS,
) -> pd.DataFrame:
    """Training pairs (:data:`PAIR_COLUMNS`) of the deals closed by ``until`` (every closed deal when
    ``None``), ordered by deal and as_of; see the module docstring."""
    limits = (("every_days", every_days), ("max_per_deal", max_per_deal))
    problems = [FieldProblem(name, "must be positive") for name, value in limits if value < 1]
    if min_age_days < 0:
        problems.append(FieldProblem("min_age_days", "must not be negative"))
    if problems:
        raise ValidationError("Snapshots need a positive spacing and count.", problems)
    deals = closed_deals(data)
    if until is not None:
        deals = deals[deals["closed_at"] <= instants_ns(pd.Series([until]))[0]]
    start = deals["start"].to_numpy()
    first = start - np.mod(start, NS_PER_DAY) + min_age_days * NS_PER_DAY + NS_PER_DAY - NS_PER_SECOND
    closed_at = deals["closed_at"].to_numpy()
    step = every_days * NS_PER_DAY
    count = np.where(closed_at > first, (closed_at - first - 1) // step + 1, 0)
    kept = np.minimum(count, max_per_deal)
    deal_of = np.repeat(np.arange(len(deals)), kept)
    index = np.arange(len(deal_of)) - np.repeat(np.cumsum(kept) - kept, kept)  # 0..kept-1 per deal
    thinned = count[deal_of] > max_per_deal
    if max_per_deal > 1:
        spread = index * (count[deal_of] - 1) // (max_per_deal - 1)
        index = np.where(thinned, spread, index)
    as_of = first[deal_of] + index * step
    return pd.DataFrame(
        {
            "opportunity_id": deals["opportunity_id"].to_numpy()[deal_of],
            "as_of": as_of.view("datetime64[ns]"),
            "outcome": deals["outcome"].to_numpy()[deal_of],
            "closed_at": closed_at[deal_of].view("datetime64[ns]"),
            "weight": 1.0 / kept[deal_of],
        }
    )


__all__ = ["MAX_SNAPSHOTS", "PAIR_COLUMNS", "closed_deals", "snapshot_pairs"]
