"""``/forecast``, ``/forecast/snapshots``, ``/forecast/movement`` and ``/backtest``: the period forecast as
calibrated ranges for the caller's view, how it moved, and the newest backtest
(:mod:`dealsight.services.forecasts`, :mod:`dealsight.services.backtests`; docs/forecasts.md).

Decisions:

- **Scope first**, as in the analytics routes: a rep sees their own figures (and a ``total`` of their own
  deals), a manager the reps below them and the teams whose every member is below them, executives and
  admins the company and every team and rep. A group outside the view is 404, worded as one that does not
  exist.
- **Computed once per data version**: ``/forecast`` serves the stored forecast of the same as-of day,
  period and method when the data has not changed since it was made, else computes and stores it
  company-wide, as ``dealsight forecast`` does (``stored`` says how many snapshots the call wrote; the
  service :func:`~dealsight.services.forecasts.read_forecast`); ``/forecast/movement`` keeps its per-deal
  inputs in the server's memory per data version. The other routes never store.
- ``as_of`` lies between 1900-01-01 and 9999-12-30; after today it is 422 (a forecast knows only the past);
  before the data has a won deal it is 422 with the service's message and no problem (too little data).
- ``/backtest`` is 404 with a clear message until ``dealsight backtest`` has stored a run; its per-date
  ``rows`` (company-wide won figures) are for executives and admins only (``null`` for others).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import forecast_schemas as schemas
from dealsight.api.auth import Caller, current_caller, engine_of
from dealsight.api.errors import Error
from dealsight.api.inputs import QueryId
from dealsight.api.routing import new_router, reading
from dealsight.api.schemas import render
from dealsight.services.backtests import latest_backtest
from dealsight.services.forecasts import forecast_snapshots, read_forecast, read_movement

router = new_router("forecast")

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9999, 12, 30)
ForecastDay = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
Method = Literal[
    "model",
    "competing_risks",
    "competing_risks_seasonal",
    "snapshot_gbm",
    "stage_weighted_ttc",
    "stage_weighted",
    "rep_commit",
]
"""Every method of :data:`dealsight.analytics.time_to_close.METHODS` (tests/test_api_forecasts.py keeps
them the same)."""


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    answers = reading(*statuses)
    answers[422] = {
        "model": Error,
        "description": "The input is invalid (each problem names the parameter), or there is too little "
        "history for a forecast (the message says what is missing; no problem is named).",
    }
    return answers


class ForecastParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Literal["quarter", "month"] = Field(
        "quarter", description="The calendar period containing as_of."
    )
    as_of: ForecastDay | None = Field(None, description="Forecast as of the end of this day (default today).")
    method: Method = Field("model", description="How each open deal's probability is estimated.")


class SnapshotParams(ForecastParams):
    level: Literal["company", "team", "rep"] = Field("company", description="Whose forecasts.")
    team_id: QueryId | None = Field(None, description="The team (with level=team).")
    user_id: QueryId | None = Field(None, description="The rep (with level=rep).")


class MovementParams(ForecastParams):
    days: int = Field(7, ge=1, le=366, description="Compare with the forecast this many days before as_of.")


@router.get(
    "/forecast", response_model=schemas.PeriodForecast, responses=_responses(), summary="Period forecast"
)
def get_forecast(
    params: Annotated[ForecastParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The range (P10/P50/P90, expected) of the amount and count won in the period, with the chance to
    reach the quota, beside the stage-weighted pipeline, commit, best case and the model's own forecast a
    week, a month and a quarter earlier: the total of the caller's view, teams and reps."""
    report = read_forecast(
        engine, caller.scope, period=params.period, as_of=params.as_of, method=params.method
    )
    return render(schemas.PeriodForecast, report)


@router.get(
    "/forecast/snapshots",
    response_model=schemas.SnapshotSeries,
    responses=_responses(404),
    summary="A group's stored forecasts over a period",
)
def get_forecast_snapshots(
    params: Annotated[SnapshotParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """How the forecast of the period containing `as_of` moved: the group's stored forecasts, oldest
    first (the fan chart). A group outside the caller's view is 404."""
    series = forecast_snapshots(
        engine,
        caller.scope,
        level=params.level,
        team_id=params.team_id,
        user_id=params.user_id,
        period=params.period,
        as_of=params.as_of,
        method=params.method,
    )
    return render(schemas.SnapshotSeries, series)


@router.get(
    "/forecast/movement",
    response_model=schemas.Movement,
    responses=_responses(),
    summary="What moved the forecast",
)
def get_forecast_movement(
    params: Annotated[MovementParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The change of the expected won amount of the period over the `days` before `as_of`, for the
    caller's deals, as a waterfall: won, lost, new deals, slipped out, pulled in, amount and probability
    changes; the steps add up to the change, with the deals that moved most."""
    report = read_movement(
        engine, caller.scope, period=params.period, as_of=params.as_of, days=params.days, method=params.method
    )
    return render(schemas.Movement, report)


@router.get(
    "/backtest", response_model=schemas.Backtest, responses=_responses(404), summary="The newest backtest"
)
def get_backtest(caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)) -> Response:
    """The newest stored backtest (`dealsight backtest`): per method and measure MAPE, bias, MdAPE and
    P10-P90 coverage in percent; per date the forecast against the actual (executives and admins). 404
    until a backtest has been run."""
    return render(schemas.Backtest, latest_backtest(engine, caller.scope))


__all__ = ["router"]
