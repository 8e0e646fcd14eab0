"""Storing backtest runs: each replay ``dealsight backtest`` made, its parameters and its result
(:meth:`dealsight.analytics.backtest.BacktestResult.to_json`), so the forecast page shows the newest and
the period forecast takes its dispersion from it. Runs on the caller's connection and transaction."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealsight.store.schema import backtest_runs


@dataclass(frozen=True)
class BacktestRun:
    """One stored backtest: ``params`` (from, to, every, horizon, methods) and ``result`` (JSON)."""

    id: int
    made_at: datetime
    params: dict[str, Any]
    result: dict[str, Any]


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float as ``None`` (JSON has no NaN; PostgreSQL refuses it)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def save_backtest_run(
    conn: Connection, *, made_at: datetime, params: dict[str, Any], result: dict[str, Any]
) -> int:
    """Store one run; returns its id."""
    statement = (
        backtest_runs.insert()
        .values(made_at=made_at, params=json_safe(params), result=json_safe(result))
        .returning(backtest_runs.c.id)
    )
    return int(conn.execute(statement).scalar_one())


def latest_backtest_run(conn: Connection) -> BacktestRun | None:
    """The newest run (by ``made_at``, then id), or ``None`` when no backtest was stored."""
    t = backtest_runs
    row = conn.execute(sa.select(t).order_by(t.c.made_at.desc(), t.c.id.desc()).limit(1)).mappings().first()
    return None if row is None else BacktestRun(**row)


__all__ = ["BacktestRun", "json_safe", "latest_backtest_run", "save_backtest_run"]
