"""``/analytics``: pipeline velocity, the stage funnel, stage durations, the win / loss / no-decision
breakdown and the changes between two days, for the caller's view
(:mod:`dealsight.services.pipeline_analytics`; docs/analytics.md explains the figures).

Decisions:

- **Scope first**, as in the service: a rep's figures are those of their own deals, a manager's those of
  everyone below them, executives and admins see every deal. ``team``, ``owner`` and ``segment`` only
  narrow that view; a team or owner outside it is 404, worded exactly as one that does not exist.
- Parameters are those of the command line, named for the API: ``as_of``, ``window`` (``90d``, ``12w``,
  ``3m``, ``1y`` or a number of days), ``qualifying_stage``, ``by``; the funnel's cohort is
  ``created_from`` / ``created_to``, the durations' spells ``ended_from`` / ``ended_to``, the changes'
  days ``from`` / ``to``. The service names a period's first day ``from`` in its problems (as the command
  line does); the routes give that problem the name of their own parameter.
- Days lie between :data:`FIRST_DAY` and 9999-12-30: a window and the one before it must still be days of
  the calendar (the service cannot compute a window ending in year 1).
- Too little data (no deal in the selection, none closed in the window, no stage history) is 422 with the
  service's message and no problem, so a client can tell it from bad input.
- ``/analytics/pipeline-changes`` takes its parameters one by one rather than as a model: ``from`` is a
  Python keyword, and a model field would need an alias, which the unknown-parameter check (it reads the
  models' field names) would refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import analytics_schemas as schemas
from dealsight.api.auth import Caller, current_caller, engine_of
from dealsight.api.errors import Error
from dealsight.api.inputs import QueryText
from dealsight.api.routing import new_router, reading
from dealsight.api.schemas import render
from dealsight.errors import FieldProblem, ValidationError
from dealsight.services.pipeline_analytics import (
    DEFAULT_WINDOW_DAYS,
    MAX_WINDOW_DAYS,
    DealFilters,
    changes_report,
    funnel_report,
    outcome_report,
    parse_window,
    stage_duration_report,
    velocity_report,
)

router = new_router("analytics")

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9999, 12, 30)
AnalyticsDay = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
Name = Annotated[QueryText, Field(min_length=1, max_length=200)]
WINDOW_PATTERN = r"^\s*\d+\s*[dwmyDWMY]?\s*$"

TEAM = "Only deals owned by this team and its sub-teams (the team's name, any case)."
OWNER = "Only deals owned by this person (their name, any case)."
SEGMENT = "Only deals of accounts in this segment: `smb`, `mid_market` or `enterprise` (any case)."
AS_OF = "Replay history to the end of this day (default today, UTC)."
WINDOW = (
    f"Length of the window ending at `as_of`: `90d`, `12w`, `3m` (30 days each), `1y` (365 days) or a "
    f"number of days; 1 to {MAX_WINDOW_DAYS} days."
)


def _responses() -> dict[int | str, dict[str, Any]]:
    """A read's error responses, with 404 and 422 worded for analytics."""
    answers = reading(404)
    answers[404] = {
        "model": Error,
        "description": "No team or deal owner of that name among those the caller can see.",
    }
    answers[422] = {
        "model": Error,
        "description": "The input is invalid (each problem names the parameter), or there is too little "
        "data for what was asked (the message says what is missing; no problem is named).",
    }
    return answers


RESPONSES = _responses()


# parameters ------------------------------------------------------------------------------------------------
class FilterParams(BaseModel):
    """Narrowing within the caller's view (every analytics route)."""

    model_config = ConfigDict(extra="forbid")

    team: Name | None = Field(None, description=TEAM)
    owner: Name | None = Field(None, description=OWNER)
    segment: Name | None = Field(None, description=SEGMENT)
    as_of: AnalyticsDay | None = Field(None, description=AS_OF)

    def filters(self) -> DealFilters:
        return DealFilters(self.team, self.owner, self.segment)


class WindowParams(FilterParams):
    window: QueryText = Field(
        f"{DEFAULT_WINDOW_DAYS}d",
        max_length=20,
        description=WINDOW,
        json_schema_extra={"pattern": WINDOW_PATTERN},
    )

    def window_days(self) -> int:
        """The window in days; a problem of ``window`` worded for the API (the service's names the CLI
        option)."""
        try:
            return parse_window(self.window)
        except ValidationError as error:
            message = (
                f"window {self.window!r}: expected a length such as 90d, 12w, 3m or 1y "
                f"(1 to {MAX_WINDOW_DAYS} days)"
            )
            raise ValidationError(message, error.problems) from None


class VelocityParams(WindowParams):
    qualifying_stage: QueryText | None = Field(
        None,
        description="First open stage whose deals count as qualified (any case); default every open "
        "stage after the first.",
    )
    by: Literal["team", "owner", "segment"] | None = Field(
        None, description="Also one row per team, owner or segment (`groups`)."
    )


class FunnelParams(FilterParams):
    created_from: AnalyticsDay | None = Field(None, description="Only deals created on or after this day.")
    created_to: AnalyticsDay | None = Field(None, description="Only deals created on or before this day.")


class DurationParams(FilterParams):
    by_segment: bool = Field(False, description="Also one row per segment for each stage.")
    ended_from: AnalyticsDay | None = Field(None, description="Only spells that ended on or after this day.")
    ended_to: AnalyticsDay | None = Field(None, description="Only spells that ended on or before this day.")


@contextmanager
def period_named(first: str, last: str) -> Iterator[None]:
    """The service's problem with a period (``from`` after ``to``) named as the route's ``first`` and
    ``last`` parameters."""
    try:
        yield
    except ValidationError as error:
        if not any(problem.field == "from" for problem in error.problems):
            raise
        problems = [
            FieldProblem(first, f"must be on or before {last}") if problem.field == "from" else problem
            for problem in error.problems
        ]
        raise ValidationError("; ".join(f"{p.field}: {p.message}" for p in problems), problems) from None


# routes ----------------------------------------------------------------------------------------------------
@router.get(
    "/analytics/velocity",
    response_model=schemas.Velocity,
    responses=RESPONSES,
    summary="Pipeline velocity",
)
def get_velocity(
    params: Annotated[VelocityParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Money the pipeline turns into wins per day, with its terms (qualified deals x average won amount x
    win rate / average cycle days) over the window ending at `as_of` and the window before it; per team,
    owner or segment with `by`. One row per currency."""
    report = velocity_report(
        engine,
        caller.scope,
        as_of=params.as_of,
        window_days=params.window_days(),
        qualifying_stage=params.qualifying_stage,
        by=params.by,
        filters=params.filters(),
    )
    return render(schemas.Velocity, report)


@router.get("/analytics/funnel", response_model=schemas.Funnel, responses=RESPONSES, summary="Stage funnel")
def get_funnel(
    params: Annotated[FunnelParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """How many deals reached each open stage (a skipped stage counts as passed), went on to the next and
    to a win, and where the others stopped (open, lost, no decision). The cohort is every deal that existed
    at `as_of`, or those created between `created_from` and `created_to`."""
    with period_named("created_from", "created_to"):
        funnel = funnel_report(
            engine,
            caller.scope,
            as_of=params.as_of,
            created_from=params.created_from,
            created_to=params.created_to,
            filters=params.filters(),
        )
    return render(schemas.Funnel, funnel)


@router.get(
    "/analytics/stage-durations",
    response_model=schemas.StageDurations,
    responses=RESPONSES,
    summary="Days in each stage",
)
def get_stage_durations(
    params: Annotated[DurationParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Median and upper quartile of the days deals spent in each stage (spells completed by `as_of`), for
    all deals and apart for deals won, not won and still open; per segment with `by_segment`."""
    with period_named("ended_from", "ended_to"):
        durations = stage_duration_report(
            engine,
            caller.scope,
            as_of=params.as_of,
            by_segment=params.by_segment,
            ended_from=params.ended_from,
            ended_to=params.ended_to,
            filters=params.filters(),
        )
    return render(schemas.StageDurations, durations)


@router.get(
    "/analytics/win-loss",
    response_model=schemas.OutcomeBreakdown,
    responses=RESPONSES,
    summary="Won, lost and no decision",
)
def get_win_loss(
    params: Annotated[WindowParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The deals closed in the window ending at `as_of`: counts, amounts and rates of won, lost and no
    decision (its own outcome, never folded into lost), in total and by segment, owner, team, source and
    product."""
    breakdown = outcome_report(
        engine,
        caller.scope,
        as_of=params.as_of,
        window_days=params.window_days(),
        filters=params.filters(),
    )
    return render(schemas.OutcomeBreakdown, breakdown)


@router.get(
    "/analytics/pipeline-changes",
    response_model=schemas.PipelineChanges,
    responses=RESPONSES,
    summary="Changes in the open pipeline between two days",
)
def get_pipeline_changes(
    from_date: Annotated[
        AnalyticsDay, Query(alias="from", description="The earlier day: the open pipeline at its end.")
    ],
    to_date: Annotated[
        AnalyticsDay | None, Query(alias="to", description="The later day (default today, UTC).")
    ] = None,
    team: Annotated[Name | None, Query(description=TEAM)] = None,
    owner: Annotated[Name | None, Query(description=OWNER)] = None,
    segment: Annotated[Name | None, Query(description=SEGMENT)] = None,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The waterfall of the open pipeline from the end of `from` to the end of `to`: each deal open at
    either day, or created between them, in exactly one category (new, reopened, won, lost, no decision,
    pushed out, pulled in, amount up, amount down, unchanged, created and closed between). The steps add
    up exactly, to the cent, from one day's total to the other's. One waterfall per currency."""
    with period_named("from", "to"):
        changes = changes_report(
            engine,
            caller.scope,
            from_date=from_date,
            to_date=to_date,
            filters=DealFilters(team, owner, segment),
        )
    return render(schemas.PipelineChanges, changes)


__all__ = ["FIRST_DAY", "router"]
