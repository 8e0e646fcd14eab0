"""Pipeline analytics for a scope: velocity, the stage funnel, stage durations, the win / loss / no-decision
breakdown and the changes between two days.

Each function reads the deals the :class:`~dealsight.domain.access.Scope` may see (narrowed by
:class:`DealFilters`: a team and its sub-teams, an owner, a segment) with their history and the sales
process, in one connection, and hands them to :mod:`dealsight.analytics.pipeline_flow`,
:mod:`~dealsight.analytics.stage_flow` and :mod:`~dealsight.analytics.pipeline_changes`, which replay that
history to the days asked for. Results are frozen dataclasses of plain values (dates, numbers, text, lists,
dicts): ``dataclasses.asdict`` gives JSON for the API and the CLI.

Decisions:

- **Scope first.** A rep's figures are those of their own deals, a manager's those of the hierarchy below
  them; filters only narrow the scope. A team or owner outside it is *not found*, exactly as one that does
  not exist, so a rep does not learn another team's names from the error.
- A deal counts for its owner's current team, its owner and its account's current segment (none of these
  has history); owners with the same name are told apart by their id (``Ana Silva (#12)``).
- ``as_of`` defaults to today (UTC). Dates are days: a figure as of a day includes every change made that
  day.
- An empty selection (no deals in scope after the filters) is :class:`InsufficientDataError`, as is an
  analysis with nothing to measure (say, no deal closed in the window); bad options are
  :class:`ValidationError` naming the field.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from dealsight.analytics.pipeline_changes import PipelineChanges, pipeline_changes
from dealsight.analytics.pipeline_flow import (
    OutcomeBreakdown,
    SalesProcess,
    Velocity,
    check_group_by,
    outcome_breakdown,
    pipeline_velocity,
)
from dealsight.analytics.stage_flow import Funnel, StageDurations, stage_durations, stage_funnel
from dealsight.domain.access import Scope
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import Segment
from dealsight.errors import FieldProblem, InsufficientDataError, NotFoundError, ValidationError
from dealsight.store import frames

FULL_SIGHT = Scope(owner_ids=None, can_write=False)
"""Every deal, read-only: the scope of the command line (whoever holds the database URL sees it all)."""
DEFAULT_WINDOW_DAYS = 90
MAX_WINDOW_DAYS = 3660


@dataclass(frozen=True)
class DealFilters:
    """Narrowing within a scope: ``team`` (and its sub-teams), ``owner``, ``segment``; names in any case."""

    team: str | None = None
    owner: str | None = None
    segment: str | None = None

    def describe(self) -> str:
        """``"team East, segment smb"``; empty without filters."""
        parts = [f"{name} {value}" for name, value in vars(self).items() if value]
        return ", ".join(parts)


_WINDOW = re.compile(r"^\s*(\d+)\s*([dwmy]?)\s*$", re.IGNORECASE)
_UNIT_DAYS = {"": 1, "d": 1, "w": 7, "m": 30, "y": 365}


def parse_window(text: str) -> int:
    """A window written ``90d``, ``12w``, ``3m`` (30 days each), ``1y`` (365 days) or ``90``, in days."""
    match = _WINDOW.match(text)
    days = int(match.group(1)) * _UNIT_DAYS[match.group(2).lower()] if match else 0
    if not match or not 1 <= days <= MAX_WINDOW_DAYS:
        message = (
            f"--window {text!r}: expected a length such as 90d, 12w, 3m or 1y (1 to {MAX_WINDOW_DAYS} days)"
        )
        raise ValidationError(
            message, [FieldProblem("window", "expected a length such as 90d, 12w, 3m or 1y")]
        )
    return days


def _check_window(days: int) -> None:
    if not 1 <= days <= MAX_WINDOW_DAYS:
        message = f"window of {days} days: expected 1 to {MAX_WINDOW_DAYS} days"
        raise ValidationError(message, [FieldProblem("window", message)])


def _check_period(first: date | None, last: date | None) -> None:
    if first is not None and last is not None and first > last:
        message = f"--from {first.isoformat()} is after --to {last.isoformat()}"
        raise ValidationError(message, [FieldProblem("from", "must be on or before to")])


# loading -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Selection:
    deals: pd.DataFrame
    history: pd.DataFrame
    process: SalesProcess


def _owners(conn: Connection, scope: Scope, filters: DealFilters) -> list[int] | None:
    """The owners whose deals are analysed (``None``: every deal)."""
    owners: set[int] | None = None if scope.owner_ids is None else set(scope.owner_ids)
    if filters.team is not None:
        found = frames.find_team(conn, filters.team)
        members = (
            set(frames.users_in_teams(conn, frames.team_ids_with_subteams(conn, found[0])))
            if found
            else set()
        )
        if found is None or (owners is not None and not members & owners):
            known = ", ".join(frames.team_names(conn)) if scope.sees_all else ""
            raise NotFoundError(
                f"no team named {filters.team!r}" + (f"; teams are: {known}" if known else "")
            )
        owners = members if owners is None else owners & members
    if filters.owner is not None:
        named = set(frames.users_named(conn, filters.owner))
        visible = named if scope.owner_ids is None else named & scope.owner_ids
        if not visible:
            raise NotFoundError(f"no deal owner named {filters.owner!r}")
        owners = visible if owners is None else owners & visible
    return None if owners is None else sorted(owners)


def _owner_labels(names: dict[int, str]) -> dict[int, str]:
    twice = {name for name, count in Counter(names.values()).items() if count > 1}
    return {user: f"{name} (#{user})" if name in twice else name for user, name in names.items()}


def _segment(conn: Connection, deals: pd.DataFrame, segment: str) -> pd.DataFrame:
    known = sorted(set(frames.account_segments(conn)) | {s.value for s in Segment})
    wanted = segment.strip().casefold()
    if wanted not in {s.casefold() for s in known}:
        message = f"no segment named {segment!r}; segments are: {', '.join(known)}"
        raise ValidationError(message, [FieldProblem("segment", message)])
    return deals[deals["segment"].map(lambda s: isinstance(s, str) and s.casefold() == wanted)]


def _select(engine: Engine, scope: Scope, filters: DealFilters) -> _Selection:
    with engine.connect() as conn:
        owners = _owners(conn, scope, filters)
        deals = frames.opportunity_frame(conn, owners)
        deals = deals.merge(frames.deal_attributes(conn, owners), on="id", how="left")
        if filters.segment is not None:
            deals = _segment(conn, deals, filters.segment)
        narrowed = owners is not None or filters.segment is not None
        history = frames.history_frame(conn, deals["id"] if narrowed else None)
        stages = frames.stage_table(conn)
        teams = frames.team_of_users(conn)
        names = _owner_labels(frames.user_names(conn))
    if deals.empty:
        within = f" for {filters.describe()}" if filters.describe() else ""
        raise InsufficientDataError(f"no deals to analyse{within} among the deals you can see")
    deals["team"] = deals["owner_id"].map(teams)
    deals["owner"] = deals["owner_id"].map(names)
    process = SalesProcess(tuple(str(n) for n in stages["name"]), frames.stage_outcomes(stages))
    return _Selection(deals, history, process)


# use cases -----------------------------------------------------------------------------------------------
def _today(day: date | None) -> date:
    return day or utc_now().date()


def velocity_report(
    engine: Engine,
    scope: Scope,
    *,
    as_of: date | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    qualifying_stage: str | None = None,
    by: str | None = None,
    filters: DealFilters = DealFilters(),
) -> Velocity:
    """Pipeline velocity and its terms over the ``window_days`` days ending ``as_of`` and the window before,
    in total and per ``by`` (``team``, ``owner`` or ``segment``)."""
    _check_window(window_days)
    check_group_by(by)
    chosen = _select(engine, scope, filters)
    return pipeline_velocity(
        chosen.deals,
        chosen.history,
        chosen.process,
        as_of=_today(as_of),
        window_days=window_days,
        qualifying_stage=qualifying_stage,
        group_by=by,
    )


def funnel_report(
    engine: Engine,
    scope: Scope,
    *,
    as_of: date | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    filters: DealFilters = DealFilters(),
) -> Funnel:
    """The stage funnel of the deals created between two days (default: every deal) as known at ``as_of``."""
    _check_period(created_from, created_to)
    chosen = _select(engine, scope, filters)
    return stage_funnel(
        chosen.deals,
        chosen.history,
        chosen.process,
        as_of=_today(as_of),
        created_from=created_from,
        created_to=created_to,
    )


def stage_duration_report(
    engine: Engine,
    scope: Scope,
    *,
    as_of: date | None = None,
    by_segment: bool = False,
    ended_from: date | None = None,
    ended_to: date | None = None,
    filters: DealFilters = DealFilters(),
) -> StageDurations:
    """Median and upper quartile of the time spent in each stage (spells ended between two days, default
    all), for won, not won and open deals, optionally per segment."""
    _check_period(ended_from, ended_to)
    chosen = _select(engine, scope, filters)
    return stage_durations(
        chosen.deals,
        chosen.history,
        chosen.process,
        as_of=_today(as_of),
        by_segment=by_segment,
        ended_from=ended_from,
        ended_to=ended_to,
    )


def outcome_report(
    engine: Engine,
    scope: Scope,
    *,
    as_of: date | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    filters: DealFilters = DealFilters(),
) -> OutcomeBreakdown:
    """Won, lost and no-decision deals closed in the window, by segment, owner, team, source and product."""
    _check_window(window_days)
    chosen = _select(engine, scope, filters)
    return outcome_breakdown(
        chosen.deals, chosen.history, chosen.process, as_of=_today(as_of), window_days=window_days
    )


def changes_report(
    engine: Engine,
    scope: Scope,
    *,
    from_date: date,
    to_date: date | None = None,
    filters: DealFilters = DealFilters(),
) -> PipelineChanges:
    """The waterfall of the open pipeline from the end of ``from_date`` to the end of ``to_date`` (today)."""
    last = _today(to_date)
    _check_period(from_date, last)
    chosen = _select(engine, scope, filters)
    return pipeline_changes(chosen.deals, chosen.history, chosen.process, from_date=from_date, to_date=last)


__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "FULL_SIGHT",
    "DealFilters",
    "changes_report",
    "funnel_report",
    "outcome_report",
    "parse_window",
    "stage_duration_report",
    "velocity_report",
]
