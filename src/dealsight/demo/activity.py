"""A deal's activities (calls, e-mails, meetings, demos, proposals) along its stages.

Activities arrive as a Poisson process at a per-deal daily rate, 1.4x in Negotiation. In the last stage of
a deal that will be lost or end in no decision the rate decays exponentially (over 5-12 days when the deal
stalls there, over half the stage otherwise), so activity fades before a loss and while an open deal goes
quiet. Each Proposal stage starts with a "Proposal sent". Times fall in office hours, before ``end``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dealsight.domain.enums import ActivityType

Row = dict[str, Any]
PROPOSAL, NEGOTIATION = 3, 4
_ACTIVITY_MIX: tuple[tuple[tuple[ActivityType, float], ...], ...] = (
    ((ActivityType.EMAIL, 0.5), (ActivityType.CALL, 0.4), (ActivityType.MEETING, 0.1)),
    ((ActivityType.CALL, 0.4), (ActivityType.EMAIL, 0.4), (ActivityType.MEETING, 0.2)),
    (
        (ActivityType.MEETING, 0.35),
        (ActivityType.CALL, 0.25),
        (ActivityType.EMAIL, 0.25),
        (ActivityType.DEMO, 0.15),
    ),
    (
        (ActivityType.EMAIL, 0.4),
        (ActivityType.MEETING, 0.3),
        (ActivityType.CALL, 0.2),
        (ActivityType.DEMO, 0.1),
    ),
    ((ActivityType.EMAIL, 0.4), (ActivityType.CALL, 0.3), (ActivityType.MEETING, 0.3)),
)
_SUBJECTS = {
    ActivityType.EMAIL: "E-mail",
    ActivityType.CALL: "Call",
    ActivityType.MEETING: "Meeting",
    ActivityType.DEMO: "Product demo",
    ActivityType.PROPOSAL: "Proposal sent",
}


@dataclass(frozen=True)
class ActivityPlan:
    """Where a deal's activities go: its ids, when it was created and when time stops (today)."""

    deal_id: int
    account_id: int
    user_id: int
    created: float
    end: float


def simulate_activities(
    r: random.Random,
    plan: ActivityPlan,
    rate: float,
    timeline: tuple[list[int], list[float], list[float]],
    contacts: list[tuple[int, str]],
    *,
    doomed: bool,
    stall_at: int,
    moment: Callable[[float], datetime],
) -> list[tuple[Row, list[int]]]:
    """Activity rows (without ids) and their contact ids, for stages entered and left at the given times."""
    stages, entries, exits = timeline
    times: list[tuple[float, int]] = []
    for stage, start, stop in zip(stages, entries, exits, strict=True):
        length = stop - start
        if doomed and stage == stages[-1]:
            tau = r.uniform(5, 12) if stage == stall_at else max(2.0, length / 2)
            share = 1 - math.exp(-length / tau)
            for _ in range(_poisson(r, rate * tau * share)):
                times.append((start - tau * math.log(1 - r.random() * share), stage))
        else:
            boost = 1.4 if stage == NEGOTIATION else 1.0
            times += [(r.uniform(start, stop), stage) for _ in range(_poisson(r, rate * boost * length))]
        if stage == PROPOSAL:
            times.append((start + r.uniform(0.01, min(2.0, length) * 0.9), -1))
    names = dict(contacts)
    ids = [c for c, _ in contacts]
    result: list[tuple[Row, list[int]]] = []
    for when, stage in sorted(times):
        if when >= plan.end or when < plan.created:
            continue
        if stage < 0:
            kind = ActivityType.PROPOSAL
        else:
            mix = _ACTIVITY_MIX[stage]
            kind = r.choices([k for k, _ in mix], weights=[w for _, w in mix])[0]
        people = r.sample(ids, min(len(ids), 1 if r.random() < 0.7 else 2)) if ids else []
        subject = _SUBJECTS[kind]
        if people:
            subject = f"{subject} with {names[people[0]]}"
        at = _office_hours(when)
        row: Row = {
            "type": kind.value,
            "occurred_at": moment(at),
            "opportunity_id": plan.deal_id,
            "account_id": plan.account_id,
            "user_id": plan.user_id,
            "subject": subject,
        }
        result.append((row, people))
    return result


def _office_hours(t: float) -> float:
    """The same day, its time of day squeezed into 08:00-18:00."""
    day = math.floor(t)
    return day + (8 + (t - day) * 10) / 24


def _poisson(r: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(r.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, r.random()
    while p > limit:
        k += 1
        p *= r.random()
    return k
