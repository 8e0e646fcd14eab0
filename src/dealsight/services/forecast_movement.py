"""What moved the forecast: the change of the period's expected won amount between the forecast ``days``
before as-of and the one at as-of (both with only what was known at their date), split deal by deal into
won, lost, new deals, slipped out, pulled in, amount and probability changes
(:mod:`dealsight.analytics.forecast_movement`), for the caller's deals; the waterfall of the forecast
page and ``/api/v1/forecast/movement``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.analytics.deal_data import DealData
from dealsight.analytics.deal_timelines import NAT
from dealsight.analytics.forecast_movement import Movement, forecast_movement
from dealsight.analytics.forecast_replay import data_as_of, deal_lives
from dealsight.domain.access import Scope
from dealsight.errors import FieldProblem, ValidationError
from dealsight.services.forecast_cache import MOVEMENTS, data_version, remembered_state
from dealsight.services.forecast_state import (
    DealState,
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


@dataclass(frozen=True)
class MovementInputs:
    """What the movement of every view is computed from: the deal states at both ends and the deals
    closed between them (``opportunity_id``, ``won``, ``amount``, ``in_period``, ``owner_id``)."""

    before: DealState
    after: DealState
    closed: pd.DataFrame


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
    ``as_of``, for the caller's deals (:mod:`dealsight.analytics.forecast_movement`); always computed."""
    first, day, bounds = _window(period, as_of, days, method)
    with engine.connect() as conn:
        data = load_deals(conn, first)
    inputs = _inputs(data, first, day, bounds, lambda d: deal_state(data, d, bounds[0], bounds[1], method))
    return _report(engine, scope, inputs, bounds=bounds, method=method, top=top)


def read_movement(
    engine: Engine,
    scope: Scope,
    *,
    period: str = "quarter",
    as_of: date | None = None,
    days: int = 7,
    method: str = "model",
    top: int = 10,
) -> MovementReport:
    """:func:`forecast_movement_report` as the page and the API show it: its per-deal inputs are computed
    once per data version in this process, and the deal state at ``as_of`` is the forecast's when it was
    computed here (:mod:`dealsight.services.forecast_cache`)."""
    first, day, bounds = _window(period, as_of, days, method)
    with engine.connect() as conn:
        version = data_version(conn)

    def compute() -> MovementInputs:
        with engine.connect() as conn:
            data = load_deals(conn, first)
        return _inputs(
            data, first, day, bounds, lambda d: remembered_state(engine, version, data, d, bounds, method)
        )

    inputs = MOVEMENTS.remember((str(engine.url), version, first, day, bounds, method), compute)
    return _report(engine, scope, inputs, bounds=bounds, method=method, top=top)


def _window(period: str, as_of: date | None, days: int, method: str) -> tuple[date, date, tuple[date, date]]:
    check_method(method)
    if not 1 <= days <= 366:
        raise ValidationError("days: expected 1 to 366", [FieldProblem("days", "1 to 366")])
    day = as_of_day(as_of)
    return day - timedelta(days=days), day, period_bounds(day, period)


def _inputs(
    data: DealData,
    first: date,
    day: date,
    bounds: tuple[date, date],
    state_of: Callable[[date], DealState],
) -> MovementInputs:
    lives = deal_lives(data_as_of(data, instant(day)))  # the closes as known at the end of ``day``
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
    return MovementInputs(state_of(first), state_of(day), closed)


def _report(
    engine: Engine,
    scope: Scope,
    inputs: MovementInputs,
    *,
    bounds: tuple[date, date],
    method: str,
    top: int,
) -> MovementReport:
    owners = None if scope.owner_ids is None else set(scope.owner_ids)
    before, after, closed = inputs.before, inputs.after, inputs.closed
    moved: Movement = forecast_movement(
        before.deals[owned(before.deals, owners)],
        after.deals[owned(after.deals, owners)],
        closed[owned(closed, owners)],
        won_to_date_start=float(before.won[owned(before.won, owners)]["amount"].sum()),
        won_to_date_end=float(after.won[owned(after.won, owners)]["amount"].sum()),
    )
    ids = [int(deal) for deal in moved.deals["opportunity_id"].head(top).tolist()]
    names = _deal_names(engine, ids)
    top_deals = [
        DealMove(deal, names.get(deal, f"#{deal}"), str(step), float(change))
        for deal, step, change in zip(
            ids,
            moved.deals["step"].head(top).tolist(),
            moved.deals["change"].head(top).tolist(),
            strict=True,
        )
    ]
    return MovementReport(
        from_date=before.day,
        as_of=after.day,
        period_start=bounds[0],
        period_end=bounds[1],
        method=method,
        start=moved.start,
        end=moved.end,
        steps=[MovementStepOut(s.key, s.label, s.amount, s.deals) for s in moved.steps],
        unexplained=moved.unexplained,
        top_deals=top_deals,
    )


def _deal_names(engine: Engine, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    o = schema.opportunities
    with engine.connect() as conn:
        return {int(i): str(n) for i, n in conn.execute(sa.select(o.c.id, o.c.name).where(o.c.id.in_(ids)))}


__all__ = [
    "DealMove",
    "MovementInputs",
    "MovementReport",
    "MovementStepOut",
    "forecast_movement_report",
    "read_movement",
]
