"""The forecast page (``/forecast``): the period forecast as a calibrated range for the visitor's view, a
fan chart of how it moved over the period against the quota, the roll-up by team and rep, the movement
since last week as a waterfall, and the newest backtest of each method with its chart.

Every figure comes from :mod:`dealsight.services.forecasts` and :mod:`dealsight.services.backtests` for the
visitor's scope. The forecast is :func:`~dealsight.services.forecasts.read_forecast`'s: the stored one when
the data has not changed since it was made, else computed and stored company-wide (so the fan chart gains
the day); ``dealsight backtest`` stores the backtest. The movement needs every deal's chance a week ago and
now, so it is a fragment loaded after the page (``GET /forecast/movement``, a page of its own without
JavaScript), kept in the server's memory per data version. The fan chart shows the company for
executives and admins, a rep's own forecasts for a rep, and the first team a manager sees in full. Too
little data is said in its section; every chart has a table beside it.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response

from dealsight.errors import InsufficientDataError, NotFoundError, ValidationError
from dealsight.services.backtests import BacktestReport, latest_backtest
from dealsight.services.forecasts import (
    MovementReport,
    PeriodForecast,
    SnapshotSeries,
    forecast_snapshots,
    read_forecast,
    read_movement,
)
from dealsight.web.core import PageRoute, Visitor, current_visitor, is_htmx, render, web_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)
METHOD_LABELS = {
    "model": "dealsight's model",
    "competing_risks": "Competing risks on deal age",
    "competing_risks_seasonal": "Competing risks with the quarter's season",
    "snapshot_gbm": "Snapshot model (gradient boosting)",
    "stage_weighted_ttc": "Stage-weighted with time to close",
    "stage_weighted": "Stage-weighted pipeline",
    "rep_commit": "Rep commit",
}
PERIOD_LABELS = {"quarter": "Quarter", "month": "Month"}


def _choice(value: str | None, allowed: dict[str, str], default: str) -> str:
    return value if value in allowed else default


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def fan_chart(series: SnapshotSeries, won: float | None) -> dict[str, Any]:
    """The fan chart's data: P10-P90 band, P50 line, quota and won-to-date lines over the as-of days."""
    labels = [p.as_of.isoformat() for p in series.points]
    lines: list[dict[str, Any]] = [
        {"label": "P10", "values": [round(p.amount.p10, 2) for p in series.points], "color": "#93b4e6"},
        {
            "label": "P90 (band: P10 to P90)",
            "values": [round(p.amount.p90, 2) for p in series.points],
            "color": "#93b4e6",
            "fill": "-1",
        },
        {"label": "P50", "values": [round(p.amount.p50, 2) for p in series.points], "color": "#2f5fb3"},
    ]
    if any(p.quota is not None for p in series.points):
        lines.append(
            {"label": "Quota", "values": [p.quota for p in series.points], "color": "#b45309", "dashed": True}
        )
    if won is not None:
        lines.append(
            {"label": "Won to date (now)", "values": [won] * len(labels), "color": "#15803d", "dashed": True}
        )
    return {"kind": "lines", "labels": labels, "series": lines, "currency": "USD"}


def waterfall_chart(movement: MovementReport) -> dict[str, Any]:
    """The movement as floating bars from the start to the end (the analytics page's waterfall kind)."""
    labels, steps, level = ["a week ago"], [[0.0, round(movement.start, 2)]], movement.start
    for step in movement.steps:
        labels.append(step.label)
        steps.append([round(level, 2), round(level + step.amount, 2)])
        level += step.amount
    labels.append("now")
    steps.append([0.0, round(movement.end, 2)])
    return {"kind": "waterfall", "labels": labels, "steps": steps, "currency": "USD"}


def backtest_chart(report: BacktestReport, measure: str = "amount") -> dict[str, Any] | None:
    """Forecast (each method's expected value) against the actual, per as-of date."""
    if not report.rows:
        return None
    rows = [r for r in report.rows if r.get("measure") == measure]
    labels = sorted({str(r["as_of"]) for r in rows})
    actual: dict[str, float] = {}
    by_method: dict[str, dict[str, float]] = {}
    for r in rows:
        actual[str(r["as_of"])] = r.get("actual") or 0.0
        by_method.setdefault(str(r["method"]), {})[str(r["as_of"])] = r.get("forecast") or 0.0
    lines: list[dict[str, Any]] = [
        {"label": "Actual", "values": [actual.get(d) for d in labels], "color": "#111827"}
    ]
    lines += [
        {"label": METHOD_LABELS.get(m, m), "values": [values.get(d) for d in labels], "dashed": m != "model"}
        for m, values in by_method.items()
    ]
    return {
        "kind": "lines",
        "labels": labels,
        "series": lines,
        "currency": "USD" if measure == "amount" else "",
    }


def _fan_group(visitor: Visitor, forecast: PeriodForecast) -> tuple[str, dict[str, Any]] | None:
    """Whose stored forecasts the fan chart draws (module docstring)."""
    if visitor.scope.sees_all:
        return "the company", {"level": "company"}
    if len(forecast.reps) == 1 and not forecast.teams:
        rep = forecast.reps[0]
        return rep.name, {"level": "rep", "user_id": rep.user_id}
    if forecast.teams:
        team = forecast.teams[0]
        return team.name, {"level": "team", "team_id": team.team_id}
    return None


def _chosen(period: str | None = None, method: str | None = None, as_of: str | None = None) -> dict[str, Any]:
    """The period, method and as-of of the query, each the default when missing or not understood."""
    return {
        "period": _choice(period, PERIOD_LABELS, "quarter"),
        "method": _choice(method, METHOD_LABELS, "model"),
        "as_of": _day(as_of),
    }


def _picked(chosen: dict[str, Any]) -> dict[str, Any]:
    """The chosen period, method and as-of as the services' arguments."""
    return {"period": chosen["period"], "method": chosen["method"], "as_of": chosen["as_of"]}


def _query(chosen: dict[str, Any]) -> str:
    """The chosen period, method and as-of as a query string (the movement's and the way back)."""
    values = {"period": chosen["period"], "method": chosen["method"]}
    if chosen["as_of"] is not None:
        values["as_of"] = chosen["as_of"].isoformat()
    return urlencode(values)


@router.get("/forecast")
def forecast_page(
    request: Request,
    chosen: dict[str, Any] = Depends(_chosen),
    visitor: Visitor = Depends(current_visitor),
) -> Response:
    engine = web_of(request).engine
    context: dict[str, Any] = {"chosen": chosen, "methods": METHOD_LABELS, "periods": PERIOD_LABELS}
    context |= dict.fromkeys(("problem", "fan", "backtest", "backtest_chart"), None)
    context["backtest_problem"] = None
    context["movement_url"] = "/forecast/movement?" + _query(chosen)
    try:
        forecast = read_forecast(engine, visitor.scope, **_picked(chosen))
    except (InsufficientDataError, ValidationError) as error:
        context["problem"] = error.message
        return render(request, "forecast.html", context)
    context["forecast"] = forecast
    group = _fan_group(visitor, forecast)
    if group is not None:
        series = forecast_snapshots(
            engine,
            visitor.scope,
            **_picked(chosen),
            level=str(group[1]["level"]),
            team_id=group[1].get("team_id"),
            user_id=group[1].get("user_id"),
        )
        context["fan"] = {
            "name": group[0],
            "series": series,
            "chart": fan_chart(series, forecast.total.won_amount) if series.points else None,
        }
    try:
        backtest = latest_backtest(engine, visitor.scope)
        context["backtest"] = backtest
        context["backtest_chart"] = backtest_chart(backtest)
    except NotFoundError as error:
        context["backtest_problem"] = error.message
    return render(request, "forecast.html", context)


@router.get("/forecast/movement")
def movement_fragment(
    request: Request,
    chosen: dict[str, Any] = Depends(_chosen),
    visitor: Visitor = Depends(current_visitor),
) -> Response:
    """The movement section of the forecast page (a page of its own for a request without htmx)."""
    context: dict[str, Any] = {"movement": None, "waterfall": None, "movement_problem": None}
    context["forecast_url"] = "/forecast?" + _query(chosen)
    try:
        movement = read_movement(web_of(request).engine, visitor.scope, **_picked(chosen))
        context["movement"] = movement
        context["waterfall"] = waterfall_chart(movement)
    except (InsufficientDataError, ValidationError) as error:
        context["movement_problem"] = error.message
    template = "_forecast_movement.html" if is_htmx(request) else "forecast_movement.html"
    return render(request, template, context)


__all__ = ["backtest_chart", "fan_chart", "router", "waterfall_chart"]
