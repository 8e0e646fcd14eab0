"""Serving forecasts without computing them again: the forecast page and ``GET /api/v1/forecast`` read the
stored forecast of the same as-of day, period and method when the data has not changed since it was made
(:func:`dealsight.services.forecasts.read_forecast`); the movement report keeps its per-deal inputs in
memory on the same terms (:func:`dealsight.services.forecast_movement.read_movement`).

Decisions:

- **The data version** (:func:`data_version`) is a hash of the largest ``id`` of every table a forecast
  reads or that records a change: the deals and their history, activities, contacts, accounts,
  qualification answers and questions, question sets, stages, users, teams, quotas, backtest runs, and
  the change logs (``audit_log``, ``import_runs``, ``account_merges``), with the product's version. One
  statement of index look-ups (a millisecond at 100,000 deals), whatever the size of the data. Every
  change made through dealsight moves it: a new row has a larger id, and an edit or a deletion through
  the API, the pages or the command line writes an audit row (an import an import run, a merge a merge
  row); a new backtest changes the dispersion, a new quota the quota figures. It is read *before* the
  deals are loaded, so a change that lands while a forecast is computed makes the stored forecast look
  older than it is (computed again next time), never newer. It does not see a change made in the
  database behind dealsight's back (an ``UPDATE`` by hand writes no audit row): ``dealsight forecast``
  always computes afresh and stores, and its snapshot is then the one served. On PostgreSQL, two writes
  in flight at once whose ids commit out of order could leave the largest id unchanged for the later
  one; the next change of any kind moves the version again.
- **What is stored** is the company-wide forecast, as ``dealsight forecast`` stores it: one snapshot per
  group (company, every team, every rep) with what each had already won and the data version
  (:func:`dealsight.store.forecast_snapshots.snapshot_set_of_version`). A restricted caller's total is
  never stored: it is served from the stored group whose owners are exactly the caller's (a rep's own
  row, the team a manager leads, without its quota, as the computed "your view" is); a view that is no
  group's is computed. The scope filters the stored groups exactly as it filters computed ones, so a rep
  never sees another group's figures.
- **In memory** (per process, least recently used, keyed by the database and the data version so never
  stale): the deal states behind a forecast and the movement's per-deal inputs, so the movement after a
  forecast, and the movement of every view, compute no deal probability again. A forecast missing from
  the store is computed by one thread of the process at a time (the others then find it stored).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight import __version__
from dealsight.analytics.deal_data import DealData
from dealsight.domain.access import Scope
from dealsight.services.forecast_groups import (
    Figures,
    GroupForecast,
    rep_order,
    team_order,
)
from dealsight.services.forecast_state import (
    DealState,
    Organisation,
    deal_state,
    instant,
    organisation,
)
from dealsight.store import schema
from dealsight.store.forecast_snapshots import ForecastSnapshot, snapshot_set_of_version

T = TypeVar("T")
DATA_TABLES: tuple[sa.Table, ...] = (
    schema.opportunities,
    schema.opportunity_history,
    schema.activities,
    schema.contacts,
    schema.accounts,
    schema.qualification_answers,
    schema.qualification_questions,
    schema.question_sets,
    schema.stages,
    schema.users,
    schema.teams,
    schema.quotas,
    schema.backtest_runs,
    schema.audit_log,
    schema.import_runs,
    schema.account_merges,
)
"""Every table whose largest id makes the data version (module docstring)."""
FORMAT = 2
"""Bumped when the way a forecast is computed changes, so older stored forecasts are not served."""


# the data version ------------------------------------------------------------------------------------------
def data_version(conn: Connection) -> str:
    """The marker of the data forecasts are made from (module docstring): 40 hexadecimal digits."""
    newest = [sa.select(sa.func.max(table.c.id)).scalar_subquery() for table in DATA_TABLES]
    row = conn.execute(sa.select(*newest)).one()
    text = ".".join("-" if value is None else str(int(value)) for value in row)
    return hashlib.sha256(f"{FORMAT}:{__version__}:{text}".encode()).hexdigest()[:40]


# the stored forecast ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredGroups:
    """Every group of a stored company-wide forecast, in the order a computed one has them."""

    company: GroupForecast
    teams: list[GroupForecast]
    reps: list[GroupForecast]
    org: Organisation


def stored_groups(
    conn: Connection, *, version: str, day: date, bounds: tuple[date, date], method: str
) -> StoredGroups | None:
    """The newest stored forecast of the period as of ``day`` by ``method`` made from data ``version``;
    None when there is none (or it lacks a figure the page shows)."""
    rows = snapshot_set_of_version(
        conn,
        period_start=bounds[0],
        period_end=bounds[1],
        as_of=instant(day).to_pydatetime(),
        method=method,
        data_version=version,
    )
    companies = [r for r in rows if r.level == "company"]
    if len(companies) != 1 or any(r.won_amount is None or r.won_count is None for r in rows):
        return None
    org = organisation(conn)
    teams = {int(r.team_id): r for r in rows if r.level == "team" and r.team_id is not None}
    reps = {int(r.user_id): r for r in rows if r.level == "rep" and r.user_id is not None}
    if set(teams) != set(org.team_name) or len(rows) != 1 + len(teams) + len(reps):
        return None
    return StoredGroups(
        _group(companies[0], "Company"),
        [_group(teams[t], org.team_name[t]) for t in sorted(teams, key=team_order(org))],
        [_group(reps[u], org.user_name.get(u, f"user #{u}")) for u in sorted(reps, key=rep_order(org))],
        org,
    )


def _group(row: ForecastSnapshot, name: str) -> GroupForecast:
    return GroupForecast(
        level=row.level,
        team_id=row.team_id,
        user_id=row.user_id,
        name=name,
        won_amount=float(row.won_amount or 0.0),
        won_count=int(row.won_count or 0),
        open_deals=row.open_deals,
        amount=Figures(row.won_amount_p10, row.won_amount_p50, row.won_amount_p90, row.won_amount_expected),
        count=Figures(row.won_count_p10, row.won_count_p50, row.won_count_p90, row.won_count_expected),
        quota=row.quota,
        reach_probability=row.reach_probability,
        new_deals_expected=float(row.new_deals_expected or 0.0),
        stage_weighted=row.stage_weighted,
        commit=row.commit_amount,
        best_case=row.best_case_amount,
    )


def stored_view_total(groups: StoredGroups, scope: Scope) -> GroupForecast | None:
    """The total of the caller's view from the stored groups: the company with full sight, else the group
    whose owners are exactly the caller's, as a view (no quota, no earlier forecasts); None when no group
    has exactly the caller's owners (the view is then computed)."""
    if scope.owner_ids is None:
        return groups.company
    owners = set(scope.owner_ids)
    same = [r for r in groups.reps if {r.user_id} == owners]
    same += [t for t in groups.teams if t.team_id is not None and groups.org.members(t.team_id) == owners]
    if not same:
        return None
    return replace(
        same[0],
        level="view",
        name="Your view",
        team_id=None,
        user_id=None,
        quota=None,
        reach_probability=None,
        earlier={},
    )


# in memory -------------------------------------------------------------------------------------------------
class KeyLocks:
    """One lock per key, for as long as some thread holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def held(self, key: Hashable) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._locks[key]


class Memory:
    """The most recently used values by key, shared by the threads of the process; a missing value is
    computed once however many threads ask for it at the same time."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._guard = threading.Lock()
        self._computing = KeyLocks()

    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._computing.held(key):
            with self._guard:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key]  # type: ignore[no-any-return]
            value = compute()
            with self._guard:
                self._values[key] = value
                while len(self._values) > self._size:
                    self._values.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._guard:
            self._values.clear()


STATES = Memory(16)
"""Deal states by (database, data version, day, period bounds, method)."""
MOVEMENTS = Memory(8)
"""The movement's per-deal inputs by (database, data version, first day, day, period bounds, method)."""
_FORECASTS = KeyLocks()


def remembered_state(
    engine: Engine, version: str, data: DealData, day: date, bounds: tuple[date, date], method: str
) -> DealState:
    """:func:`~dealsight.services.forecast_state.deal_state`, computed once per database and data
    version (two databases may hold data of the same version: copies of one demo)."""
    key = (str(engine.url), version, day, bounds, method)
    return STATES.remember(key, lambda: deal_state(data, day, bounds[0], bounds[1], method))


@contextmanager
def one_at_a_time(key: Hashable) -> Iterator[None]:
    """Only one thread of the process computes the forecast of ``key`` at a time (the others then find
    it stored)."""
    with _FORECASTS.held(key):
        yield


def forget() -> None:
    """Empty the memory of this process (benchmarks measure a cold start with it)."""
    STATES.clear()
    MOVEMENTS.clear()


__all__ = [
    "DATA_TABLES",
    "MOVEMENTS",
    "KeyLocks",
    "Memory",
    "StoredGroups",
    "data_version",
    "forget",
    "one_at_a_time",
    "remembered_state",
    "stored_groups",
    "stored_view_total",
]
