"""The demo's quotas: each rep's and each team's target per quarter, set as a sales team would set them.

A rep's quota of a quarter is about 1.1 times what they won in the same quarter a year before (a growth
target drawn between 1.05 and 1.15, rounded to the thousand); a rep with no wins that quarter gets the
median quota of their team's other reps. A team's quota is the sum of its reps' and of its sub-teams'
quotas. Quarters run from the first whose year-earlier quarter began half a year into the demo's
history up to the quarter after ``today`` (targets are set ahead).

The draws come from their own generator (seeded from the demo's seed and a fixed stream number), so
adding quotas moves no deal, account or person of the demo.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

import numpy as np

Row = dict[str, Any]
QUOTA_STREAM = 5
"""The demo's quotas draw from ``default_rng([seed, QUOTA_STREAM])``: a stream of their own."""


HISTORY_BEFORE_TARGETS = 180
"""Days of history before the year-earlier quarter of the first target."""


def quarter_of(day: date) -> tuple[date, date]:
    """The first and last day of the calendar quarter holding ``day``."""
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    following = date(first.year + (first.month + 3 > 12), (first.month + 2) % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _year_before(day: date) -> date:
    return date(day.year - 1, day.month, day.day)


def _quarters(start: date, today: date) -> list[tuple[date, date]]:
    first = quarter_of(start)[0]
    # the first year of the history is thin (deals take months to close): targets start once the quarter a
    # year earlier began at least half a year into it
    while _year_before(first) < start + timedelta(days=HISTORY_BEFORE_TARGETS):
        first = quarter_of(first + timedelta(days=92))[0]
    last, _ = quarter_of(quarter_of(today)[1] + timedelta(days=1))
    quarters = []
    current = first
    while current <= last:
        quarters.append(quarter_of(current))
        current = quarters[-1][1] + timedelta(days=1)
    return quarters


def _team_total(team_id: int, direct: dict[int, float], children: dict[int, list[int]]) -> float:
    """A team's reps' quotas and its sub-teams' totals, added up."""
    return direct.get(team_id, 0.0) + sum(_team_total(child, direct, children) for child in children[team_id])


def quota_rows(
    seed: int, start: date, today: date, users: list[Row], teams: list[Row], opportunities: list[Row]
) -> list[Row]:
    """The quota rows (ids from 1) of the demo organisation (see the module docstring)."""
    rng = np.random.default_rng([seed, QUOTA_STREAM])
    reps = [u for u in users if u["role"] == "rep"]
    won: dict[tuple[int, date], float] = defaultdict(float)
    for deal in opportunities:
        if deal["outcome"] == "won" and deal["closed_date"] is not None and deal["owner_id"] is not None:
            won[(deal["owner_id"], quarter_of(deal["closed_date"])[0])] += float(deal["amount"] or 0)
    children: dict[int, list[int]] = defaultdict(list)
    for team in teams:
        if team["parent_id"] is not None:
            children[team["parent_id"]].append(team["id"])
    rows: list[Row] = []
    for q_start, q_end in _quarters(start, today):
        factors = rng.uniform(1.05, 1.15, size=len(reps))
        earlier = _year_before(q_start)
        targets = {
            rep["id"]: round(won[(rep["id"], earlier)] * factor, -3)
            for rep, factor in zip(reps, factors.tolist(), strict=True)
        }
        for team_id in {rep["team_id"] for rep in reps}:
            members = [rep["id"] for rep in reps if rep["team_id"] == team_id]
            set_ones = [targets[m] for m in members if targets[m] > 0]
            fallback = round(median(set_ones), -3) if set_ones else 0.0
            for member in members:
                targets[member] = targets[member] or fallback
        direct: dict[int, float] = defaultdict(float)
        for rep in reps:
            direct[rep["team_id"]] += targets[rep["id"]]
        period = {"period_start": q_start, "period_end": q_end, "currency": "USD"}
        rows += [{**period, "user_id": rep["id"], "team_id": None,
                  "amount": Decimal(f"{targets[rep['id']]:.2f}")} for rep in reps]  # fmt: skip
        for team in teams:
            amount = Decimal(f"{_team_total(team['id'], direct, children):.2f}")
            rows.append({**period, "user_id": None, "team_id": team["id"], "amount": amount})
    return [{"id": number, **row} for number, row in enumerate(rows, start=1)]


__all__ = ["QUOTA_STREAM", "quarter_of", "quota_rows"]
