"""Stage spells: each stretch of time a deal spent in one stage, rebuilt from its stage history.

A deal's stage history is a list of changes ``old_value -> new_value`` at ``changed_at``. Its spells are:

* before the first change, the first change's ``old_value``, from the deal's start (created date, else the
  moment it reached dealsight) to that change;
* between two changes, the earlier change's ``new_value``;
* after the last change, the last change's ``new_value`` (the current stage when the history is complete),
  with no end: ``left_at`` is missing while the deal is still in it (or when that stage is where the deal
  closed: a closed stage is not left).

A deal without stage history has one spell: its current stage since its start. A spell whose stage is not
known (a first change without ``old_value``) is left out. Spells are what stage durations, typical stage
ages, conversion funnels and stage paths are computed from; every spell carries its times, so a caller
replaying the past keeps only what had happened by then (``left_at <= as_of`` for a completed spell).

Frames in, frames out (pandas): this runs over every deal of an organisation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dealsight.domain.enums import HistoryField

SPELL_COLUMNS = ("opportunity_id", "stage", "entered_at", "left_at", "next_stage", "position")
"""One row per spell: ``position`` counts the deal's spells from 0; ``next_stage`` is where the deal went
when it left (missing for a spell not left)."""


def deal_start(opportunities: pd.DataFrame) -> pd.Series:
    """When each deal started (index: ``opportunities.index``): its created date, else the moment it reached
    dealsight (``known_since``)."""
    start = pd.to_datetime(opportunities["created_date"])
    if "known_since" in opportunities:
        start = start.fillna(pd.to_datetime(opportunities["known_since"]))
    return start


def stage_spells(opportunities: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Every spell of every deal (:data:`SPELL_COLUMNS`), ordered by deal and time.

    ``opportunities`` needs ``id``, ``stage``, ``created_date`` (and ``known_since`` when created dates may be
    missing); ``history`` needs ``opportunity_id``, ``field``, ``changed_at``, ``old_value``, ``new_value``
    (other fields than the stage are ignored).
    """
    start = pd.Series(deal_start(opportunities).to_numpy(), index=opportunities["id"].to_numpy())
    changes = history[history["field"] == HistoryField.STAGE.value]
    changes = changes[changes["opportunity_id"].isin(start.index)]
    changes = changes.sort_values(["opportunity_id", "changed_at"], kind="stable")
    changed_at = pd.to_datetime(changes["changed_at"])
    deal = changes["opportunity_id"].to_numpy()
    first = np.r_[True, deal[1:] != deal[:-1]] if len(deal) else np.zeros(0, dtype=bool)
    last = np.r_[deal[1:] != deal[:-1], True] if len(deal) else np.zeros(0, dtype=bool)

    # the spell each change ends: its old value, from the previous change (or the deal's start)
    previous_change = changed_at.shift(1).to_numpy()
    entered = np.where(first, start.reindex(deal).to_numpy(), previous_change)
    ended = pd.DataFrame(
        {
            "opportunity_id": deal,
            "stage": changes["old_value"].to_numpy(),
            "entered_at": pd.to_datetime(entered),
            "left_at": changed_at.to_numpy(),
            "next_stage": changes["new_value"].to_numpy(),
        }
    )
    # the spell after each deal's last change, still running (or closed)
    ongoing = pd.DataFrame(
        {
            "opportunity_id": deal[last],
            "stage": changes["new_value"].to_numpy()[last],
            "entered_at": changed_at.to_numpy()[last],
            "left_at": pd.NaT,
            "next_stage": None,
        }
    )
    # deals without stage history: their current stage since their start
    without = opportunities[~opportunities["id"].isin(set(deal.tolist()))]
    whole = pd.DataFrame(
        {
            "opportunity_id": without["id"].to_numpy(),
            "stage": without["stage"].to_numpy(),
            "entered_at": start.reindex(without["id"].to_numpy()).to_numpy(),
            "left_at": pd.NaT,
            "next_stage": None,
        }
    )
    parts = [frame for frame in (ended, ongoing, whole) if len(frame)]
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in SPELL_COLUMNS})
    spells = pd.concat(parts, ignore_index=True)
    spells = spells[spells["stage"].notna()]
    spells["entered_at"] = pd.to_datetime(spells["entered_at"])
    spells["left_at"] = pd.to_datetime(spells["left_at"])
    spells = spells.sort_values(
        ["opportunity_id", "entered_at", "left_at"], kind="stable", na_position="last"
    )
    spells["position"] = spells.groupby("opportunity_id").cumcount()
    return spells.reset_index(drop=True)[list(SPELL_COLUMNS)]


def spell_days(spells: pd.DataFrame, until: pd.Timestamp | None = None) -> pd.Series:
    """Each spell's length in days: to ``left_at``, or for a spell not left to ``until`` (missing without
    ``until``)."""
    end = spells["left_at"]
    if until is not None:
        end = end.fillna(until)
    # in whole seconds: a spell of centuries (a mistyped year) overflows nanoseconds
    span = end.to_numpy(dtype="datetime64[s]") - spells["entered_at"].to_numpy(dtype="datetime64[s]")
    days = np.where(np.isnat(span), np.nan, span.astype(np.int64) / 86400.0)
    return pd.Series(days, index=spells.index, dtype=np.float64)


__all__ = ["SPELL_COLUMNS", "deal_start", "spell_days", "stage_spells"]
