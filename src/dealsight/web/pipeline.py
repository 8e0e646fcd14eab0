"""The pipeline page (``/pipeline``) and its CSV export (``/pipeline.csv``).

The page lists the deals the visitor may see (open ones unless the status filter says otherwise) with
filters for status, team, owner, stage, close period (this quarter, next quarter, or custom dates) and a
text search, sortable columns, pages of :data:`PER_PAGE`, and a summary of *all* matching deals (count,
total amount, amount by stage). Every filter is a query parameter, so a filtered view is a shareable URL;
htmx asks for the results fragment only and pushes the URL.

Decisions:

- Bad parameters never fail the page: each is named next to its filter (400) and the list shows what it
  can. An unknown sort column falls back to the default (expected close date).
- The summary is one grouped query over the same filters and scope as the list
  (:func:`~dealsight.services.opportunities.pipeline_totals`); the export reads every matching deal in
  pages of :data:`BATCH` through :func:`~dealsight.services.opportunities.list_opportunities` and streams
  them, so both see exactly what the list sees.
- The CSV export streams the filtered list (all pages, in the page's order) as UTF-8 with a header row,
  quoted by :mod:`csv` (RFC 4180); text cells starting with ``=``, ``+``, ``-``, ``@``, tab or CR get a
  leading apostrophe so a spreadsheet does not run them as formulas. The file is named
  ``dealsight-pipeline-YYYY-MM-DD.csv``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Engine

from dealsight.domain.access import Scope
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import UserRole
from dealsight.errors import FieldProblem, ValidationError
from dealsight.services.opportunities import (
    DealStatus,
    OpportunityQuery,
    OpportunitySummary,
    list_opportunities,
    pipeline_totals,
)
from dealsight.services.records import Page, query_from_params
from dealsight.services.users import list_teams, list_users
from dealsight.store.records import stage_rows
from dealsight.web.core import PageRoute, Visitor, current_visitor, is_htmx, render, web_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PER_PAGE = 25
BATCH = 500
DEFAULT_SORT = "expected_close_date"
SORTABLE = (
    "name",
    "account_name",
    "owner_name",
    "stage",
    "amount",
    "forecast_category",
    "expected_close_date",
    "days_in_stage",
    "win_probability",
    "risk_count",
)
PERIODS = (("this_quarter", "This quarter"), ("next_quarter", "Next quarter"), ("custom", "Custom dates"))
STATUSES = (
    (DealStatus.OPEN, "Open"),
    (DealStatus.WON, "Won"),
    (DealStatus.LOST, "Lost"),
    (DealStatus.NO_DECISION, "No decision"),
    (DealStatus.CLOSED, "All closed"),
    (DealStatus.ALL, "All"),
)
PARAM_OF_FIELD = {"owner_id": "owner", "limit": "page", "offset": "page"}
CSV_COLUMNS = (
    "id",
    "name",
    "account",
    "owner",
    "team",
    "stage",
    "amount",
    "currency",
    "forecast_category",
    "expected_close_date",
    "days_in_stage",
    "created_date",
    "closed_date",
    "outcome",
    "win_probability",
    "health",
    "risk_count",
    "top_risk",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# filters ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """The pipeline's query parameters, as text (what the form shows back)."""

    status: str = DealStatus.OPEN.value
    team: str = ""
    owner: str = ""
    stage: str = ""
    close: str = ""
    close_from: str = ""
    close_to: str = ""
    q: str = ""
    sort: str = DEFAULT_SORT
    page: int = 1

    def url(self, path: str = "/pipeline", **changes: Any) -> str:
        """``path`` with these filters (and ``changes``) as its query; defaults are left out."""
        values = replace(self, **changes)
        default = Filters()
        params = {
            name: getattr(values, name)
            for name in self.__dataclass_fields__
            if getattr(values, name) != getattr(default, name)
        }
        return path + ("?" + urlencode(params) if params else "")

    def sorted_by(self, column: str) -> str:
        """The URL that sorts by ``column`` (ascending, or descending when it is already ascending)."""
        return self.url(sort=f"-{column}" if self.sort == column else column, page=1)

    def direction(self, column: str) -> str | None:
        if self.sort == column:
            return "ascending"
        if self.sort == f"-{column}":
            return "descending"
        return None


def quarter(today: date, ahead: int = 0) -> tuple[date, date]:
    """The first and last day of the quarter ``ahead`` quarters after the one holding ``today``."""
    index = (today.year * 4 + (today.month - 1) // 3) + ahead
    year, q = divmod(index, 4)
    first = date(year, 3 * q + 1, 1)
    following = date(year + (q == 3), (3 * q + 3) % 12 + 1, 1)
    return first, following - timedelta(days=1)


def parse_filters(
    params: Mapping[str, str], today: date
) -> tuple[Filters, OpportunityQuery, list[FieldProblem]]:
    """Filters from query parameters, the service query they mean, and the problems found."""
    text = {name: (params.get(name) or "").strip() for name in Filters.__dataclass_fields__}
    problems: list[FieldProblem] = []
    page = 1
    if text["page"]:
        if text["page"].isdecimal() and int(text["page"]) >= 1:
            page = int(text["page"])
        else:
            problems.append(
                FieldProblem("page", f"a page number is a whole number from 1, got {text['page']!r}")
            )
    sort = text["sort"] if text["sort"].lstrip("-") in SORTABLE else DEFAULT_SORT
    close = text["close"] if text["close"] in dict(PERIODS) else ""
    filters = Filters(
        status=text["status"] or DealStatus.OPEN.value,
        team=text["team"],
        owner=text["owner"],
        stage=text["stage"],
        close=close,
        close_from=text["close_from"],
        close_to=text["close_to"],
        q=text["q"],
        sort=sort,
        page=page,
    )
    close_from, close_to = filters.close_from, filters.close_to
    if close in ("this_quarter", "next_quarter"):
        first, last = quarter(today, 0 if close == "this_quarter" else 1)
        close_from, close_to = first.isoformat(), last.isoformat()
    values = {
        "status": filters.status,
        "team": filters.team,
        "owner_id": filters.owner,
        "stage": filters.stage,
        "close_from": close_from,
        "close_to": close_to,
        "q": filters.q,
        "sort": sort,
        "limit": str(PER_PAGE),
        "offset": str((page - 1) * PER_PAGE),
    }
    try:
        query = query_from_params(OpportunityQuery, values)
    except ValidationError as error:
        problems += [FieldProblem(PARAM_OF_FIELD.get(p.field, p.field), p.message) for p in error.problems]
        bad = {p.field for p in error.problems}
        query = query_from_params(OpportunityQuery, {k: v for k, v in values.items() if k not in bad})
    return filters, query, problems


# summary ---------------------------------------------------------------------------------------------------
@dataclass
class StageTotal:
    stage: str
    count: int = 0
    amount: Decimal = Decimal(0)


@dataclass
class Totals:
    """All deals matching the filters: how many, their amount per currency and by stage."""

    count: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)
    by_stage: list[StageTotal] = field(default_factory=list)

    @property
    def currency(self) -> str:
        """The currency most of the amount is in (the chart and the stage table show that one)."""
        if not self.amounts:
            return "USD"
        return max(self.amounts, key=lambda code: self.amounts[code])

    def chart(self) -> dict[str, Any]:
        stages = [total for total in self.by_stage if total.count]
        return {
            "labels": [total.stage for total in stages],
            "amounts": [float(total.amount) for total in stages],
            "counts": [total.count for total in stages],
            "currency": self.currency,
        }


def matching(
    engine: Engine, scope: Scope, query: OpportunityQuery, *, start: int = 0, today: date | None = None
) -> Iterator[OpportunitySummary]:
    """Every deal matching ``query`` from the ``start``-th on (its paging ignored), in its order, read in
    batches of :data:`BATCH`."""
    offset: int | None = start
    while offset is not None:
        page = list_opportunities(engine, scope, replace(query, limit=BATCH, offset=offset), today=today)
        yield from page.items
        offset = page.next_offset


def totals_of(engine: Engine, scope: Scope, query: OpportunityQuery) -> Totals:
    """The summary of every deal matching ``query`` (one grouped query, see
    :func:`~dealsight.services.opportunities.pipeline_totals`); stages in the sales process's order, the
    amount of each in the main currency."""
    found = pipeline_totals(engine, scope, query)
    totals = Totals(count=found.count, amounts=dict(found.amounts))
    main = totals.currency
    totals.by_stage = [
        StageTotal(stage.stage, stage.count, stage.amounts.get(main, Decimal(0))) for stage in found.by_stage
    ]
    return totals


# choices of the filter form --------------------------------------------------------------------------------
def filter_choices(engine: Engine, visitor: Visitor) -> dict[str, list[tuple[str, str]]]:
    """Options of the team, owner and stage filters: only teams and people the visitor can see deals of."""
    with engine.connect() as conn:
        process = stage_rows(conn)
    choices: dict[str, list[tuple[str, str]]] = {
        "stages": [(row.name, row.name) for row in process],
        "teams": [],
        "owners": [],
    }
    if visitor.principal.role is UserRole.REP:
        return choices
    people = [
        user
        for user in list_users(engine, limit=None)
        if visitor.scope.covers(user.id) and user.role in (UserRole.REP, UserRole.MANAGER)
    ]
    seen_teams = {user.team_id for user in people}
    choices["owners"] = [
        (str(user.id), user.name + ("" if user.active else " (deactivated)"))
        for user in sorted(people, key=lambda u: (u.name.casefold(), u.id))
    ]
    choices["teams"] = [
        (str(team.id), team.name)
        for team in list_teams(engine)
        if visitor.scope.sees_all or team.id in seen_teams
    ]
    return choices


# routes ----------------------------------------------------------------------------------------------------
@router.get("/pipeline")
def pipeline(request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    engine = web_of(request).engine
    today = utc_now().date()
    filters, query, problems = parse_filters(request.query_params, today)
    choices = filter_choices(engine, visitor)
    page: Page[OpportunitySummary] = Page((), 0, PER_PAGE, 0)
    totals = Totals()
    try:
        page = list_opportunities(engine, visitor.scope, query, today=today)
        totals = totals_of(engine, visitor.scope, query)
    except ValidationError as error:
        problems += [FieldProblem(PARAM_OF_FIELD.get(p.field, p.field), p.message) for p in error.problems]
    context = {
        "filters": filters,
        "page": page,
        "totals": totals,
        "choices": choices,
        "errors": {problem.field: problem.message for problem in problems},
        "periods": PERIODS,
        "statuses": [(status.value, text) for status, text in STATUSES],
        "pages": (page.total + PER_PAGE - 1) // PER_PAGE,
        "today": today,
        "oob": is_htmx(request),
    }
    template = "_pipeline_results.html" if is_htmx(request) else "pipeline.html"
    return render(request, template, context, status_code=400 if problems else 200)


def _csv_text(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_row(deal: OpportunitySummary) -> list[object]:
    return [
        deal.id,
        _csv_text(deal.name),
        _csv_text(deal.account_name),
        _csv_text(deal.owner_name),
        _csv_text(deal.team_name),
        _csv_text(deal.stage),
        "" if deal.amount is None else format(deal.amount, "f"),
        deal.currency,
        "" if deal.forecast_category is None else deal.forecast_category.value,
        "" if deal.expected_close_date is None else deal.expected_close_date.isoformat(),
        "" if deal.days_in_stage is None else deal.days_in_stage,
        "" if deal.created_date is None else deal.created_date.isoformat(),
        "" if deal.closed_date is None else deal.closed_date.isoformat(),
        "" if deal.outcome is None else deal.outcome.value,
        "" if deal.win_probability is None else round(deal.win_probability, 4),
        deal.health or "",
        "" if deal.risk_count is None else deal.risk_count,
        _csv_text(deal.top_risk),
    ]


def csv_lines(first: Page[OpportunitySummary], rest: Iterator[OpportunitySummary]) -> Iterator[str]:
    """The CSV text: the header, then every deal (the first batch already read), a batch at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(deal) for deal in first.items)
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for count, deal in enumerate(rest, start=1):
        writer.writerow(csv_row(deal))
        if count % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


@router.get("/pipeline.csv")
def pipeline_csv(request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    engine = web_of(request).engine
    today = utc_now().date()
    _, query, problems = parse_filters(request.query_params, today)
    if problems:
        raise ValidationError("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    first = list_opportunities(engine, visitor.scope, replace(query, limit=BATCH, offset=0), today=today)
    rest: Iterator[OpportunitySummary] = iter(())
    if first.next_offset is not None:
        rest = matching(engine, visitor.scope, query, start=first.next_offset, today=today)
    filename = f"dealsight-pipeline-{today.isoformat()}.csv"
    return StreamingResponse(
        csv_lines(first, rest),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


__all__ = ["Filters", "parse_filters", "quarter", "router"]
