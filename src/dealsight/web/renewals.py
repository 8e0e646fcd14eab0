"""The renewals page (``/renewals``): the upcoming renewals the visitor may see with their chance of
renewal, ARR at risk, the strongest reason and its next action, and the portfolio's booked vs delivered
chart (ARR booked against the value customers confirmed, by quarter) and the renewed and expansion ARR of
the coming four quarters as ranges (:mod:`dealsight.services.renewal_forecasts`, the same model).

Renewal risk is :func:`~dealsight.services.renewals.upcoming_renewals` for the visitor's scope (a rep
sees the renewals of the accounts they may see, a manager their team's, executives and admins all); the
chart is the customer-value service's :func:`~dealsight.services.booked_value.portfolio_booked_value`
for the same scope. The window and as-of day are GET parameters; the chart has its table beside it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from dealsight.analytics.booked_value import BookedValue
from dealsight.domain.clock import utc_now
from dealsight.services.booked_value import portfolio_booked_value
from dealsight.services.renewal_forecasts import renewal_forecast
from dealsight.services.renewals import DEFAULT_WITHIN_DAYS, upcoming_renewals
from dealsight.web.core import PageRoute, Visitor, current_visitor, render, web_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)
WINDOWS = {"30": "30 days", "90": "90 days", "180": "180 days", "365": "a year"}
SHOWN = 50


def _day(value: str | None, today: date) -> date | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is None or day <= today else None


def booked_delivered_chart(summary: BookedValue) -> dict[str, Any]:
    """The chart's data: ARR booked at each quarter's end and the value confirmed in the 12 months to it."""
    currency = summary.currencies[0] if len(summary.currencies) == 1 else "USD"
    return {
        "kind": "lines",
        "labels": [q.quarter for q in summary.trend],
        "series": [
            {
                "label": "ARR booked",
                "values": [round(q.arr_booked, 2) for q in summary.trend],
                "color": "#2f5fb3",
            },
            {
                "label": "Value confirmed (12 months)",
                "values": [round(q.value_12m, 2) for q in summary.trend],
                "color": "#15803d",
            },
        ],
        "currency": currency,
    }


@router.get("/renewals")
def renewals_page(
    request: Request,
    within: str | None = None,
    as_of: str | None = None,
    visitor: Visitor = Depends(current_visitor),
) -> Response:
    engine = web_of(request).engine
    today = utc_now().date()
    window = within if within in WINDOWS else str(DEFAULT_WITHIN_DAYS)
    day = _day(as_of, today)
    outlook = upcoming_renewals(engine, visitor.scope, as_of=day, within_days=int(window))
    portfolio = portfolio_booked_value(engine, visitor.scope, as_of=outlook.as_of)
    forecast = renewal_forecast(engine, visitor.scope, as_of=outlook.as_of, quarters=4)
    context = {
        "outlook": outlook,
        "shown": outlook.renewals[:SHOWN],
        "windows": WINDOWS,
        "chosen": {"within": window, "as_of": day},
        "portfolio": portfolio.summary,
        "forecast": forecast,
        "chart": booked_delivered_chart(portfolio.summary) if portfolio.summary.trend else None,
    }
    return render(request, "renewals.html", context)


__all__ = ["booked_delivered_chart", "router"]
