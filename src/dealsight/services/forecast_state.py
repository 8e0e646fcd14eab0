"""What a period forecast starts from: the period and its checks, the organisation (teams, their members,
names), the deals loaded from the store, and the **deal state** at an as-of day: each deal open at the end
of that day with its probability of being won by the period end, and what was won in the period by then.

Shared by the period forecast (:mod:`dealsight.services.forecasts`) and the movement report
(:mod:`dealsight.services.forecast_movement`), which compares the states of two days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealsight.analytics.backtest import horizon_forecast
from dealsight.analytics.deal_data import DealData
from dealsight.analytics.deal_timelines import NAT
from dealsight.analytics.forecast_replay import as_of_grid, data_as_of, deal_lives, replay_snapshots
from dealsight.analytics.time_to_close import METHODS
from dealsight.domain.clock import utc_now
from dealsight.errors import FieldProblem, InsufficientDataError, ValidationError
from dealsight.store import schema
from dealsight.store.deal_frames import load_deal_data

Period = Literal["quarter", "month"]
PERIODS: tuple[str, ...] = ("quarter", "month")


# periods and checks ----------------------------------------------------------------------------------------
def period_bounds(day: date, period: str) -> tuple[date, date]:
    """The first and last day of the calendar month or quarter containing ``day``."""
    if period not in PERIODS:
        raise ValidationError(
            f"period {period!r}: expected quarter or month", [FieldProblem("period", "quarter or month")]
        )
    first_month = day.month if period == "month" else 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    months = 1 if period == "month" else 3
    year, month = divmod(first_month - 1 + months, 12)
    return start, date(day.year + year, month + 1, 1) - timedelta(days=1)


def check_method(method: str) -> None:
    if method not in METHODS:
        names = ", ".join(METHODS)
        raise ValidationError(
            f"method {method!r}: expected one of {names}", [FieldProblem("method", f"one of {names}")]
        )


def as_of_day(as_of: date | None) -> date:
    """``as_of`` or today; a later day is a :class:`ValidationError` (a forecast knows only the past)."""
    today = utc_now().date()
    day = as_of or today
    if day > today:
        raise ValidationError(
            f"as_of {day.isoformat()} is in the future: a forecast knows only the past",
            [FieldProblem("as_of", "must not be after today")],
        )
    return day


def instant(day: date) -> pd.Timestamp:
    """The end of ``day``: the instant whose knowledge a forecast "as of day" uses."""
    return as_of_grid(pd.Timestamp(day), pd.Timestamp(day), 1)[0]


# organisation ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Organisation:
    """Who is in which team, the names of users and teams, and which team is under which."""

    user_team: dict[int, int | None]
    user_name: dict[int, str]
    team_name: dict[int, str]
    team_parent: dict[int, int | None]

    def subtree(self, team_id: int) -> set[int]:
        found, todo = set(), [team_id]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo += [t for t, p in self.team_parent.items() if p == current]
        return found

    def members(self, team_id: int) -> set[int]:
        teams = self.subtree(team_id)
        return {u for u, t in self.user_team.items() if t in teams}


def organisation(conn: Connection) -> Organisation:
    u, t = schema.users, schema.teams
    users = conn.execute(sa.select(u.c.id, u.c.name, u.c.team_id)).all()
    teams = conn.execute(sa.select(t.c.id, t.c.name, t.c.parent_id)).all()
    return Organisation(
        {int(r.id): None if r.team_id is None else int(r.team_id) for r in users},
        {int(r.id): str(r.name) for r in users},
        {int(r.id): str(r.name) for r in teams},
        {int(r.id): None if r.parent_id is None else int(r.parent_id) for r in teams},
    )


# the deals -------------------------------------------------------------------------------------------------
def load_deals(conn: Connection, day: date) -> DealData:
    """Every deal with what indicators need; :class:`InsufficientDataError` when none was won by ``day``."""
    data = load_deal_data(conn)
    closed = pd.to_datetime(data.opportunities["closed_date"], errors="coerce")
    won_before = (data.opportunities["outcome"].astype(object) == "won") & (closed <= pd.Timestamp(day))
    if not bool(won_before.any()):
        raise InsufficientDataError(
            f"No deal was won by {day.isoformat()}: the history is too thin to forecast from "
            "(import closed deals with their history, or pick a later --as-of)."
        )
    return data


# the per-deal state at an as-of ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DealState:
    """The deals open at the end of ``day`` with their probability of being won by the period end, and
    what was won in the period by then (replayed at ``day``: later corrections and reopenings change
    nothing)."""

    day: date
    deals: pd.DataFrame  # opportunity_id, owner_id, probability, amount, in_period, crm, category, crm_amount
    won: pd.DataFrame  # opportunity_id, owner_id, amount (won in the period by day)
    has_categories: bool
    known: pd.DataFrame
    """Every deal that existed at the end of ``day`` as it was then (:func:`data_as_of`): what the new deals
    expected in the rest of the period are learned from."""


def deal_state(data: DealData, day: date, period_start: date, period_end: date, method: str) -> DealState:
    """Each deal open at the end of ``day`` with ``method``'s probability of being won by ``period_end``,
    the CRM's figures as known then, and the deals won from ``period_start`` to ``day``."""
    at = instant(day)
    then = data_as_of(data, at)  # nothing recorded after ``day`` (a deal reopened later was won then)
    days_left = (period_end - day).days
    frame = horizon_forecast(then, pd.Timestamp(day), horizon_days=max(days_left, 1), method=method)
    if frame["probability"].isna().all() and len(frame):
        raise InsufficientDataError(
            f"The method {method} has nothing to forecast from here: the data records no forecast "
            "categories. Try --method model or competing_risks."
        )
    probability = frame["probability"].fillna(0.0).to_numpy(np.float64)
    if days_left <= 0:
        probability = np.zeros(len(frame))
    rows = replay_snapshots(then, [at]).at(at).set_index("opportunity_id")
    ids = frame["opportunity_id"].to_numpy()
    replayed = rows.reindex(ids)
    to_close = pd.to_numeric(replayed["days_to_expected_close"], errors="coerce").to_numpy(np.float64)
    owners = data.opportunities.set_index("id")["owner_id"]
    deals = pd.DataFrame(
        {
            "opportunity_id": ids,
            "owner_id": owners.reindex(ids).to_numpy(),
            "probability": probability,
            "amount": pd.to_numeric(frame["amount"], errors="coerce").fillna(0.0).to_numpy(np.float64),
            "in_period": np.isfinite(to_close) & (to_close <= days_left),
            "crm": pd.to_numeric(replayed["crm_stage_probability"], errors="coerce").fillna(0.0).to_numpy(),
            "category": replayed["forecast_category"].astype(object).to_numpy(),
            "crm_amount": pd.to_numeric(replayed["amount"], errors="coerce").fillna(0.0).to_numpy(),
        }
    )
    lives = deal_lives(then)
    lower = instant(period_start - timedelta(days=1)).value
    closed = (lives.closed_ns != NAT) & (lives.closed_ns > lower) & (lives.closed_ns <= at.value)
    won_rows = np.flatnonzero(closed & lives.won)
    won_ids = lives.opportunity_id[won_rows]
    won = pd.DataFrame(
        {
            "opportunity_id": won_ids,
            "owner_id": owners.reindex(won_ids).to_numpy(),
            "amount": np.nan_to_num(lives.final_amount[won_rows]),
        }
    )
    categories = data.opportunities["forecast_category"].dropna().astype(str)
    has_categories = bool((categories != "closed").any())
    return DealState(day, deals, won, has_categories, then.opportunities)


def owned(frame: pd.DataFrame, owners: set[int] | None) -> np.ndarray:
    """The rows of ``frame`` (with an ``owner_id`` column) owned by ``owners``; None: every row."""
    if owners is None:
        return np.ones(len(frame), dtype=bool)
    return np.asarray(frame["owner_id"].isin(list(owners)).to_numpy(), dtype=bool)


__all__ = [
    "PERIODS",
    "DealState",
    "Organisation",
    "Period",
    "as_of_day",
    "check_method",
    "deal_state",
    "instant",
    "load_deals",
    "organisation",
    "owned",
    "period_bounds",
]
