"""The pipeline analytics page (``/analytics``): velocity, the stage funnel, stage durations, won / lost /
no decision and the waterfall of changes, for the visitor's view, as of any past day.

Every figure comes from :mod:`dealsight.services.pipeline_analytics` for the visitor's scope (a rep sees
their own deals' figures, a manager those of everyone below them, executives and admins every deal);
docs/analytics.md explains them. Filters are query parameters (a shareable URL), sent by htmx on every
change; the sections come back as one fragment and the URL follows.

Decisions:

- **Filters**: ``as_of`` (default today), ``window`` (30, 90 or 180 days, a year, or any length the
  service reads, such as ``12w``), ``team``, ``owner`` (names, as the service takes them; only those whose
  deals the visitor can see are offered, and reps have neither), ``segment``; and two choices of
  presentation: ``by`` (velocity per team, owner or segment) and ``breakdown`` (the dimension of the
  won / lost chart and table). A bad value never fails the page: it is named next to its field (400), left
  out, and the figures show what they can, as on the pipeline page.
- **Periods**: velocity compares the window ending at the as-of day with the one before; won / lost counts
  the deals closed in the window; the **waterfall covers the same window** (from the end of the day before
  it starts to the end of the as-of day), so the page tells one story. The funnel's cohort is every deal
  that existed at the as-of day, and durations use every stage spell completed by then: over one window
  a rep would have too few to be worth a median.
- **Too little data** (:class:`~dealsight.errors.InsufficientDataError`) is said in its section; the
  other sections still show.
- **Charts** are drawn by ``static/js/dealsight.js`` from ``<canvas data-chart='{json}'>`` (kinds ``bars``
  and ``waterfall``); each has a caption and a table with the same figures beside it.
- Velocity's chart shows **each term's effect** on velocity against the previous window: velocity is a
  product, so its change is the product of the terms' ratios (qualified deals, average won amount, win
  rate, and the previous cycle over this one, a shorter cycle being faster).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.engine import Engine

from dealsight.analytics.pipeline_changes import PipelineChanges, Waterfall
from dealsight.analytics.pipeline_flow import ALL, OutcomeBreakdown, OutcomeRow, Velocity, VelocityRow
from dealsight.analytics.stage_flow import Funnel, StageDurations
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import Segment, UserRole
from dealsight.errors import FieldProblem, InsufficientDataError, NotFoundError, ValidationError
from dealsight.services.pipeline_analytics import (
    DealFilters,
    changes_report,
    funnel_report,
    outcome_report,
    parse_window,
    stage_duration_report,
    velocity_report,
)
from dealsight.services.teams import list_teams
from dealsight.services.users import list_users
from dealsight.store.frames import account_segments
from dealsight.web.core import PageRoute, Visitor, current_visitor, is_htmx, render, web_of
from dealsight.web.formatting import label, money

router = APIRouter(route_class=PageRoute, include_in_schema=False)

R = TypeVar("R")
FIRST_DAY = date(1900, 1, 1)
WINDOWS = (("30d", "30 days"), ("90d", "90 days"), ("180d", "180 days"), ("1y", "1 year"))
GROUPINGS = (("team", "Team"), ("owner", "Owner"), ("segment", "Segment"))
BREAKDOWNS = (
    ("owner", "Owner"),
    ("team", "Team"),
    ("source", "Source"),
    ("product", "Product"),
)
MOST_BARS = 12
"""The most groups the won / lost chart draws (the table lists them all)."""
CATEGORIES = {
    "new": "New",
    "reopened": "Reopened",
    "won": "Won",
    "lost": "Lost",
    "no_decision": "No decision",
    "pushed_out": "Pushed out",
    "pulled_in": "Pulled in",
    "amount_up": "Amount up",
    "amount_down": "Amount down",
    "unchanged": "Unchanged",
    "created_closed": "Created and closed between",
}


# filters ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """The page's query parameters as text (what the form shows back)."""

    as_of: str = ""
    window: str = "90d"
    team: str = ""
    owner: str = ""
    segment: str = ""
    by: str = ""
    breakdown: str = ""
    """Empty: by segment."""

    def url(self, **changes: str) -> str:
        """``/analytics`` with these filters (and ``changes``); defaults are left out."""
        values, default = replace(self, **changes), Filters()
        params = {
            name: getattr(values, name)
            for name in self.__dataclass_fields__
            if getattr(values, name) != getattr(default, name)
        }
        return "/analytics" + ("?" + urlencode(params) if params else "")


@dataclass(frozen=True)
class Selection:
    """What the filters mean to the services."""

    as_of: date
    window_days: int
    deals: DealFilters
    by: str | None
    breakdown: str


@dataclass(frozen=True)
class Choices:
    """Options of the filter form: only teams and people whose deals the visitor can see."""

    teams: list[tuple[str, str]]
    owners: list[tuple[str, str]]
    segments: list[tuple[str, str]]


def filter_choices(engine: Engine, visitor: Visitor) -> Choices:
    with engine.connect() as conn:
        known = sorted(set(account_segments(conn)) | {segment.value for segment in Segment})
    segments = [(name, label(name)) for name in known]
    if visitor.principal.role is UserRole.REP:
        return Choices([], [], segments)
    people = [
        user
        for user in list_users(engine, limit=None)
        if visitor.scope.covers(user.id) and user.role in (UserRole.REP, UserRole.MANAGER)
    ]
    names = sorted({user.name for user in people}, key=str.casefold)
    seen_teams = {user.team_id for user in people}
    teams = sorted(
        (team.name for team in list_teams(engine) if visitor.scope.sees_all or team.id in seen_teams),
        key=str.casefold,
    )
    return Choices([(name, name) for name in teams], [(name, name) for name in names], segments)


def _chosen(value: str, options: list[tuple[str, str]]) -> str | None:
    """The option ``value`` names (any case), or ``None``."""
    return next((option for option, _ in options if option.casefold() == value.casefold()), None)


def parse_filters(
    params: Mapping[str, str], choices: Choices, today: date
) -> tuple[Filters, Selection, list[FieldProblem]]:
    """Filters from query parameters, what they mean, and the problems found (bad values are left out)."""
    text = {name: (params.get(name) or "").strip() for name in Filters.__dataclass_fields__}
    filters = Filters(**{name: value for name, value in text.items() if value})
    problems: list[FieldProblem] = []
    as_of = today
    if filters.as_of:
        try:
            as_of = date.fromisoformat(filters.as_of)
            if as_of < FIRST_DAY:
                raise ValueError
        except ValueError:
            as_of = today
            problems.append(
                FieldProblem(
                    "as_of", f"{filters.as_of!r}: expected a day from 1900-01-01, such as 2026-03-31"
                )
            )
    try:
        window_days = parse_window(filters.window)
    except ValidationError:
        problems.append(
            FieldProblem("window", f"{filters.window!r}: expected a length such as 90d, 12w, 3m or 1y")
        )
        filters = replace(filters, window=Filters.window)
        window_days = parse_window(filters.window)
    named: dict[str, str | None] = {}
    for field, options, kind in (
        ("team", choices.teams, "team"),
        ("owner", choices.owners, "deal owner"),
        ("segment", choices.segments, "segment"),
    ):
        value = getattr(filters, field)
        named[field] = _chosen(value, options) if value else None
        if value and named[field] is None:
            problems.append(FieldProblem(field, f"no {kind} named {value!r} among those you can see"))
    by = filters.by or None
    if by is not None and by not in dict(GROUPINGS):
        by = None
        problems.append(FieldProblem("by", "expected team, owner or segment"))
    breakdown = filters.breakdown or "segment"
    if breakdown not in {"segment", *dict(BREAKDOWNS)}:
        breakdown = "segment"
        problems.append(FieldProblem("breakdown", "expected segment, owner, team, source or product"))
    deals = DealFilters(named["team"], named["owner"], named["segment"])
    shown = {field: value for field, value in named.items() if value is not None}
    filters = replace(filters, **shown)  # the form shows the option chosen, whatever its case in the URL
    return filters, Selection(as_of, window_days, deals, by, breakdown), problems


# sections --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Section(Generic[R]):
    """One section's report, or why there is none (too little data, said in the section)."""

    report: R | None = None
    message: str | None = None


def section(compute: Callable[[], R]) -> Section[R]:
    try:
        return Section(compute())
    except (InsufficientDataError, NotFoundError, ValidationError) as error:
        return Section(message=error.message)


def _percent(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _days(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def _ratio(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or not before:
        return None
    return now / before - 1


def term_effects(row: VelocityRow) -> list[tuple[str, float | None]]:
    """Each term's effect on velocity against the previous window, as a relative change (velocity's own
    change is the product of the ratios); ``None`` when a term is unknown or was 0."""
    now, before = row.current, row.previous
    cycle = None
    if now.average_cycle_days and before.average_cycle_days:
        cycle = before.average_cycle_days / now.average_cycle_days - 1
    return [
        ("Qualified deals", _ratio(now.qualified_deals, before.qualified_deals)),
        ("Average won", _ratio(now.average_won_amount, before.average_won_amount)),
        ("Win rate", _ratio(now.win_rate, before.win_rate)),
        ("Cycle length", cycle),
    ]


def velocity_chart(row: VelocityRow) -> dict[str, Any] | None:
    """Horizontal bars of :func:`term_effects` in percent; ``None`` unless every effect is known."""
    effects = term_effects(row)
    if any(effect is None for _, effect in effects):
        return None
    return {
        "kind": "bars",
        "horizontal": True,
        "labels": [name for name, _ in effects],
        "series": [
            {
                "label": "Effect on velocity (%)",
                "values": [round((effect or 0.0) * 100, 1) for _, effect in effects],
            }
        ],
    }


def term_rows(row: VelocityRow) -> list[tuple[str, str, str, str]]:
    """(term, this window, previous window, effect on velocity) for the velocity table."""
    now, before, cur = row.current, row.previous, row.currency
    effects = [_percent(effect, signed=True) for _, effect in term_effects(row)]
    return [
        ("Qualified deals", f"{now.qualified_deals:,}", f"{before.qualified_deals:,}", effects[0]),
        (
            "Average won amount",
            money(now.average_won_amount, cur),
            money(before.average_won_amount, cur),
            effects[1],
        ),
        ("Win rate", _percent(now.win_rate), _percent(before.win_rate), effects[2]),
        ("Average cycle (days)", _days(now.average_cycle_days), _days(before.average_cycle_days), effects[3]),
        (
            "Won / lost / no decision",
            f"{now.won_deals:,} / {now.lost_deals:,} / {now.no_decision_deals:,}",
            f"{before.won_deals:,} / {before.lost_deals:,} / {before.no_decision_deals:,}",
            "",
        ),
    ]


def groups_chart(report: Velocity) -> dict[str, Any] | None:
    """Velocity per group (this window and the previous one) in the main currency, at most
    :data:`MOST_BARS` groups, fastest first."""
    main = report.overall[0].currency if report.overall else None
    rows = [row for row in report.groups if row.currency == main][:MOST_BARS]
    if not rows:
        return None
    return {
        "kind": "bars",
        "horizontal": True,
        "labels": [row.group for row in rows],
        "series": [
            {
                "label": f"This window ({main} a day)",
                "values": [row.current.velocity_per_day for row in rows],
            },
            {
                "label": f"Previous window ({main} a day)",
                "values": [row.previous.velocity_per_day for row in rows],
            },
        ],
    }


def funnel_chart(funnel: Funnel) -> dict[str, Any]:
    """Horizontal bars: deals that reached each open stage, then won."""
    return {
        "kind": "bars",
        "horizontal": True,
        "labels": [stage.stage for stage in funnel.stages] + ["Won"],
        "series": [{"label": "Deals", "values": [stage.reached for stage in funnel.stages] + [funnel.won]}],
    }


def durations_chart(durations: StageDurations) -> dict[str, Any] | None:
    """Median days in each stage, deals won against deals not won (the ``(all)`` rows)."""
    rows = [row for row in durations.stages if row.segment == ALL and row.all_deals.spells]
    if not rows:
        return None
    return {
        "kind": "bars",
        "horizontal": False,
        "labels": [row.stage for row in rows],
        "series": [
            {"label": "Won: median days", "values": [_rounded(row.won.median_days) for row in rows]},
            {"label": "Not won: median days", "values": [_rounded(row.not_won.median_days) for row in rows]},
        ],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def outcome_rows(breakdown: OutcomeBreakdown, dimension: str) -> list[OutcomeRow]:
    return breakdown.by.get(dimension, [])


def outcome_chart(rows: list[OutcomeRow]) -> dict[str, Any] | None:
    """Won, lost and no-decision deals per group (counts), at most :data:`MOST_BARS` groups."""
    shown = rows[:MOST_BARS]
    if not shown:
        return None
    currencies = {row.currency for row in shown}
    labels = [row.value if len(currencies) == 1 else f"{row.value} ({row.currency})" for row in shown]
    return {
        "kind": "bars",
        "horizontal": True,
        "labels": [label(text) for text in labels],
        "series": [
            {"label": "Won", "values": [row.won for row in shown]},
            {"label": "Lost", "values": [row.lost for row in shown]},
            {"label": "No decision", "values": [row.no_decision for row in shown]},
        ],
    }


@dataclass(frozen=True)
class WaterfallView:
    """One currency's waterfall: the chart's data and the table's rows (totals first and last)."""

    fall: Waterfall
    chart: dict[str, Any]


def waterfall_view(changes: PipelineChanges, fall: Waterfall) -> WaterfallView:
    """Open amount at the start, each kind of change that moved it, open amount at the end."""
    labels, steps = [f"Open {changes.from_date:%d %b}"], [[0.0, fall.start_amount]]
    level = fall.start_amount
    for step in fall.steps:
        if step.deals and step.delta:
            labels.append(CATEGORIES.get(step.category, step.category))
            steps.append([round(level, 2), round(level + step.delta, 2)])
            level += step.delta
    labels.append(f"Open {changes.to_date:%d %b}")
    steps.append([0.0, fall.end_amount])
    chart = {"kind": "waterfall", "labels": labels, "steps": steps, "currency": fall.currency}
    return WaterfallView(fall, chart)


# the page --------------------------------------------------------------------------------------------------
def sections(engine: Engine, visitor: Visitor, chosen: Selection) -> dict[str, Any]:
    """Every section's report (or its message) for the visitor's scope."""
    scope, deals, as_of, days = visitor.scope, chosen.deals, chosen.as_of, chosen.window_days
    changes = section(
        lambda: changes_report(
            engine, scope, from_date=as_of - timedelta(days=days), to_date=as_of, filters=deals
        )
    )
    return {
        "velocity": section(
            lambda: velocity_report(engine, scope, as_of=as_of, window_days=days, by=chosen.by, filters=deals)
        ),
        "funnel": section(lambda: funnel_report(engine, scope, as_of=as_of, filters=deals)),
        "durations": section(lambda: stage_duration_report(engine, scope, as_of=as_of, filters=deals)),
        "outcomes": section(
            lambda: outcome_report(engine, scope, as_of=as_of, window_days=days, filters=deals)
        ),
        "changes": changes,
        "waterfalls": (
            [waterfall_view(changes.report, fall) for fall in changes.report.waterfalls]
            if changes.report
            else []
        ),
    }


@router.get("/analytics")
def analytics_page(request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    engine = web_of(request).engine
    choices = filter_choices(engine, visitor)
    filters, chosen, problems = parse_filters(request.query_params, choices, utc_now().date())
    context = {
        "filters": filters,
        "chosen": chosen,
        "choices": choices,
        "windows": _with_current(WINDOWS, filters.window),
        "groupings": GROUPINGS,
        "breakdowns": BREAKDOWNS,
        "errors": {problem.field: problem.message for problem in problems},
        "term_rows": term_rows,
        "velocity_chart": velocity_chart,
        "groups_chart": groups_chart,
        "funnel_chart": funnel_chart,
        "durations_chart": durations_chart,
        "outcome_rows": outcome_rows,
        "outcome_chart": outcome_chart,
        "percent": _percent,
        "days": _days,
        "categories": CATEGORIES,
        "oob": is_htmx(request),
        **sections(engine, visitor, chosen),
    }
    template = "_analytics_results.html" if is_htmx(request) else "analytics.html"
    return render(request, template, context, status_code=400 if problems else 200)


def _with_current(options: tuple[tuple[str, str], ...], current: str) -> list[tuple[str, str]]:
    """The window options, with a valid length typed into the URL (``12w``) added so the form shows it."""
    known = list(options)
    if current and current not in dict(known):
        try:
            days = parse_window(current)
        except ValidationError:
            return known
        known.append((current, f"{days} days"))
    return known


__all__ = ["Filters", "Selection", "parse_filters", "router", "term_effects", "waterfall_view"]
