"""What moved the forecast: the change of the period's expected won amount between the forecast ``days``
before as-of and the one at as-of (both with only what was known at their date), split deal by deal into
won, lost, new deals, slipped out, pulled in, amount and probability changes
(:mod:`dealsight.analytics.forecast_movement`), for the caller's deals; the waterfall of the forecast
page and ``/api/v1/forecast/movement``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.analytics.deal_timelines import NAT
from dealsight.analytics.forecast_movement import Movement, forecast_movement
from dealsight.analytics.forecast_replay import deal_lives
from dealsight.domain.access import Scope
from dealsight.errors import FieldProblem, ValidationError
from dealsight.services.forecast_state import (
    as_of_day,
    check_method,
    deal_state,
    instant,
    load_deals,
    owned,
    period_bounds,
)
from dealsight.store import schema


@dataclass(frozen=True)
class MovementStepOut:
    key: str
    label: str
    amount: float
    deals: int


@dataclass(frozen=True)
class DealMove:
    opportunity_id: int
    name: str
    step: str
    change: float


@dataclass(frozen=True)
class MovementReport:
    """The change of the expected won amount of the period between ``from_date`` and ``as_of``."""

    from_date: date
    as_of: date
    period_start: date
    period_end: date
    method: str
    start: float
    end: float
    steps: list[MovementStepOut]
    unexplained: float
    top_deals: list[DealMove]


def forecast_movement_report(
    engine: Engine,
    scope: Scope,
    *,
    period: str = "quarter",
    as_of: date | None = None,
    days: int = 7,
    method: str = "model",
    top: int = 10,
) -> MovementReport:
    """What changed the expected won amount of the period (containing ``as_of``) over the ``days`` before
    ``as_of``, for the caller's deals (:mod:`dealsight.analytics.forecast_movement`)."""
    check_method(method)
    if not 1 <= days <= 366:
        raise ValidationError("days: expected 1 to 366", [FieldProblem("days", "1 to 366")])
    day = as_of_day(as_of)
    first = day - timedelta(days=days)
    bounds = period_bounds(day, period)
    with engine.connect() as conn:
        data = load_deals(conn, first)

        names = _deal_names(conn)
    before = deal_state(data, first, bounds[0], bounds[1], method)
    after = deal_state(data, day, bounds[0], bounds[1], method)
    owners = None if scope.owner_ids is None else set(scope.owner_ids)
    lives = deal_lives(data)
    low, high = instant(first).value, instant(day).value
    shut = np.flatnonzero((lives.closed_ns != NAT) & (lives.closed_ns > low) & (lives.closed_ns <= high))
    period_low = instant(bounds[0] - timedelta(days=1)).value
    owner_of = data.opportunities.set_index("id")["owner_id"]
    closed = pd.DataFrame(
        {
            "opportunity_id": lives.opportunity_id[shut],
            "won": lives.won[shut],
            "amount": np.nan_to_num(lives.final_amount[shut]),
            "in_period": lives.closed_ns[shut] > period_low,
        }
    )
    closed["owner_id"] = owner_of.reindex(closed["opportunity_id"]).to_numpy()
    moved: Movement = forecast_movement(
        before.deals[owned(before.deals, owners)],
        after.deals[owned(after.deals, owners)],
        closed[owned(closed, owners)],
        won_to_date_start=float(before.won[owned(before.won, owners)]["amount"].sum()),
        won_to_date_end=float(after.won[owned(after.won, owners)]["amount"].sum()),
    )
    top_deals = [
        DealMove(int(deal), names.get(int(deal), f"#{deal}"), str(step), float(change))
        for deal, step, change in zip(
            moved.deals["opportunity_id"].head(top).tolist(),
            moved.deals["step"].head(top).tolist(),
            moved.deals["change"].head(top).tolist(),
            strict=True,
        )
    ]
    return MovementReport(
        from_date=first,
        as_of=day,
        period_start=bounds[0],
        period_end=bounds[1],
        method=method,
        start=moved.start,
        end=moved.end,
        steps=[MovementStepOut(s.key, s.label, s.amount, s.deals) for s in moved.steps],
        unexplained=moved.unexplained,
        top_deals=top_deals,
    )


def _deal_names(conn: Connection) -> dict[int, str]:
    o = schema.opportunities
    return {int(i): str(n) for i, n in conn.execute(sa.select(o.c.id, o.c.name))}


__all__ = ["DealMove", "MovementReport", "MovementStepOut", "forecast_movement_report"]
