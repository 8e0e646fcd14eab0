"""Activity and stakeholder signals of a deal at an instant: is the deal alive, and who are we talking to.

Timestamped (replayed per pair, nothing after as_of counts):

- ``days_since_activity``: days from the last activity at or before as_of (NaN when there was none yet);
- ``activities_30d``: activities in the 30 days up to as_of, ``(as_of - 30 d, as_of]``;
- ``activities_prior_60d``: activities in the 60 days before those, ``(as_of - 90 d, as_of - 30 d]``;
- ``activity_trend``: ``log((activities_30d + 1) / (activities_prior_60d / 2 + 1))``: the last 30 days
  against the average 30 days of the two months before; 0 when steady, negative when activity decays
  (``log(1/3)`` ~ -1.1 when a deal with 4 activities a month went silent), positive when it picks up. The
  +1 keeps quiet deals finite; a deal younger than 90 days has a shorter "before" and so tends to show a
  rising trend, which the model can read beside ``deal_age_days``;
- ``sponsor_engaged``: the recorded executive sponsor was present at an activity in the 60 days up to
  as_of (0 when no sponsor is recorded);
- ``executives_engaged``: distinct executive contacts present at the deal's activities up to as_of.

As the CRM holds them now (the store keeps no history of a deal's contacts, roles or stances):
``contacts``, ``key_players_known`` (economic buyers, decision makers, or contacts of high influence),
``supporter_share`` (supporters among the contacts whose stance is known; NaN when none is) and
``opponents``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dealsight.analytics.deal_timelines import NAT, NS_PER_DAY, DealCodes, IntArray, Timeline, instants_ns
from dealsight.domain.enums import DealRole, Influence, Stance

KEY_ROLES = (DealRole.ECONOMIC_BUYER.value, DealRole.DECISION_MAKER.value)
RECENT_DAYS, PRIOR_DAYS, SPONSOR_DAYS = 30, 60, 60


@dataclass(frozen=True)
class ActivityTimelines:
    """A deal's activities; those its sponsor attended; the first activity of each executive contact."""

    activities: Timeline
    sponsor: Timeline
    executives: Timeline

    @classmethod
    def of(
        cls, activities: pd.DataFrame, attendees: pd.DataFrame, codes: DealCodes, sponsor_of: np.ndarray
    ) -> ActivityTimelines:
        """``attendees``: one row per (activity, contact present) with opportunity_id, occurred_at,
        contact_id, is_executive; ``sponsor_of``: each deal's sponsor contact id by code (NaN: none)."""
        timeline = Timeline.build(codes.code(activities["opportunity_id"].to_numpy()),
                                  instants_ns(activities["occurred_at"]))  # fmt: skip
        deal = codes.code(attendees["opportunity_id"].to_numpy())
        at = instants_ns(attendees["occurred_at"])
        contact = pd.to_numeric(attendees["contact_id"], errors="coerce").to_numpy(np.float64)
        sponsor = np.where(deal >= 0, sponsor_of[np.maximum(deal, 0)], np.nan)
        with_sponsor = Timeline.build(np.where(contact == sponsor, deal, -1), at)
        executive = _flags(attendees["is_executive"]) & (deal >= 0) & ~np.isnan(contact)
        # each (deal, executive) pair's first activity: a group-by on one integer key
        width = int(np.max(contact[executive], initial=0)) + 1
        pair_of = deal[executive] * width + contact[executive].astype(np.int64)
        first_seen = pd.Series(at[executive]).groupby(pair_of, sort=False).min()
        seen_deal = first_seen.index.to_numpy(np.int64) // width
        first = Timeline.build(seen_deal, first_seen.to_numpy(np.int64))
        return cls(timeline, with_sponsor, first)


def _flags(values: pd.Series) -> np.ndarray:
    """A column of booleans (missing: false) as a numpy bool array."""
    return values.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _count_between(timeline: Timeline, code: IntArray, as_of_ns: IntArray, after_days: int, until_days: int
                   ) -> np.ndarray:  # fmt: skip
    """Events in ``(as_of - after_days, as_of - until_days]``."""
    until = timeline.until(code, as_of_ns - until_days * NS_PER_DAY)
    after = timeline.until(code, as_of_ns - after_days * NS_PER_DAY)
    return np.asarray(until - after, dtype=np.float64)


def activity_signals(
    timelines: ActivityTimelines, code: IntArray, as_of_ns: IntArray
) -> dict[str, np.ndarray]:
    """The timestamped signals of the module docstring, one value per pair."""
    activities = timelines.activities
    first, until = activities.first(code), activities.until(code, as_of_ns)
    any_yet = until > first
    last_ns = np.full(len(code), NAT)
    if len(activities):
        last_ns[any_yet] = activities.ns[until[any_yet] - 1]
    days_since = np.where(any_yet, (as_of_ns - last_ns) / NS_PER_DAY, np.nan)
    recent = _count_between(activities, code, as_of_ns, RECENT_DAYS, 0)
    prior = _count_between(activities, code, as_of_ns, RECENT_DAYS + PRIOR_DAYS, RECENT_DAYS)
    sponsor = _count_between(timelines.sponsor, code, as_of_ns, SPONSOR_DAYS, 0)
    return {
        "days_since_activity": days_since,
        "activities_30d": recent,
        "activities_prior_60d": prior,
        "activity_trend": np.log((recent + 1.0) / (prior / 2.0 + 1.0)),
        "sponsor_engaged": (sponsor > 0).astype(np.float64),
        "executives_engaged": timelines.executives.count(code, as_of_ns).astype(np.float64),
    }


def stakeholder_coverage(deal_contacts: pd.DataFrame, codes: DealCodes) -> dict[str, np.ndarray]:
    """Per deal code, from the deal's contacts as they are now: contacts, key_players_known,
    supporter_share, opponents."""
    deal = codes.code(deal_contacts["opportunity_id"].to_numpy())
    known = deal >= 0
    size = len(codes)

    def per_deal(mask: np.ndarray) -> np.ndarray:
        return np.bincount(deal[known & mask], minlength=size).astype(np.float64)

    role = deal_contacts["role"].to_numpy(dtype=object)
    influence = deal_contacts["influence"].to_numpy(dtype=object)
    stance = deal_contacts["stance"].to_numpy(dtype=object)
    key = np.isin(role, KEY_ROLES) | (influence == Influence.HIGH.value)
    stance_known = pd.notna(stance) & (stance != Stance.UNKNOWN.value)
    supporters, with_stance = per_deal(stance == Stance.SUPPORTER.value), per_deal(stance_known)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(with_stance > 0, supporters / with_stance, np.nan)
    return {
        "contacts": per_deal(np.ones(len(deal), dtype=bool)),
        "key_players_known": per_deal(key),
        "supporter_share": share,
        "opponents": per_deal(stance == Stance.OPPONENT.value),
    }


__all__ = ["ActivityTimelines", "activity_signals", "stakeholder_coverage"]
