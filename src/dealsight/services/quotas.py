"""Quotas: who reads which, and the admin's changes, each audited in the change's transaction.

Who sees what (the deals' rules, :mod:`dealsight.domain.access`, applied to targets):

- a **rep** reads their own quotas;
- a **manager** reads the quotas of everyone in their view (themself and everyone below them) and of the
  teams they lead: the teams managed by anyone in their view, and those teams' sub-teams at any depth;
- an **executive** reads every quota; an **admin** reads every quota and is the only one who creates,
  changes or deletes one.

A quota outside the caller's view is *not found* (404), in the same words as one that does not exist;
a quota in view that the caller may not change is *forbidden* (403). Bad input is one
:class:`ValidationError` naming each field: exactly one of ``user_id`` / ``team_id``, an existing user or
team, ``period_end`` on or after ``period_start``, an amount of 0 or more, a three-letter currency. A
second quota of the same owner and period is a :class:`ConflictError`. Every change writes the audit log
(entity ``quota``).

:func:`quotas_for_period` (from :mod:`dealsight.store.quotas`) is the forecast's read: every quota of one
period, no access filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.domain.access import Principal
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import UserRole
from dealsight.errors import ConflictError, FieldProblem, PermissionDeniedError
from dealsight.services.access import load_hierarchy, scope_of
from dealsight.services.records import (
    Cleaner,
    ListQuery,
    Page,
    Problem,
    changed,
    clean_fields,
    day,
    identifier,
    invalid,
    money,
    normalise_query,
    not_found,
    order_by,
)
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.quotas import (
    QUOTA_FIELDS,
    Quota,
    delete_quota_row,
    insert_quota,
    quota_by_id,
    quota_of,
    quota_select,
    quotas_for_period,
    read_quotas,
    update_quota_row,
)
from dealsight.store.schema import quotas, teams, users

ENTITY = "quota"
ADMIN_ONLY = "set quotas"


@dataclass(frozen=True)
class QuotaQuery(ListQuery):
    """Filters of :func:`list_quotas`: an owner, and a period overlapping ``period_from`` .. ``period_to``
    (both days included; either may be left open). Sorted by period start by default."""

    user_id: int | None = None
    team_id: int | None = None
    period_from: date | None = None
    period_to: date | None = None


SORTABLE: dict[str, Any] = {
    "period_start": quotas.c.period_start,
    "period_end": quotas.c.period_end,
    "amount": quotas.c.amount,
    "id": quotas.c.id,
}
DEFAULT_SORT = "period_start"


# who sees which --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuotaView:
    """The quotas a principal may read: ``None`` means all; else these reps' and these teams'."""

    user_ids: frozenset[int] | None
    team_ids: frozenset[int]

    def covers(self, quota: Quota) -> bool:
        if self.user_ids is None:
            return True
        if quota.user_id is not None:
            return quota.user_id in self.user_ids
        return quota.team_id in self.team_ids

    def condition(self) -> sa.ColumnElement[bool]:
        if self.user_ids is None:
            return sa.true()
        return sa.or_(
            quotas.c.user_id.in_(sorted(self.user_ids)), quotas.c.team_id.in_(sorted(self.team_ids))
        )


def _led_teams(conn: Connection, leaders: frozenset[int]) -> frozenset[int]:
    """Teams managed by one of ``leaders``, and every team below those."""
    hierarchy = load_hierarchy(conn)
    children: dict[int, list[int]] = {}
    for team, parent in hierarchy.team_parent.items():
        if parent is not None:
            children.setdefault(parent, []).append(team)
    queue = [team for team, boss in hierarchy.team_manager.items() if boss in leaders]
    seen: set[int] = set()
    while queue:
        team = queue.pop()
        if team not in seen:
            seen.add(team)
            queue.extend(children.get(team, ()))
    return frozenset(seen)


def quota_view(conn: Connection, principal: Principal) -> QuotaView:
    """What ``principal`` may read (see the module docstring)."""
    if principal.role in (UserRole.ADMIN, UserRole.EXECUTIVE):
        return QuotaView(None, frozenset())
    if principal.role is not UserRole.MANAGER:
        return QuotaView(frozenset({principal.user_id}), frozenset())
    people = scope_of(conn, principal).owner_ids or frozenset({principal.user_id})
    return QuotaView(people, _led_teams(conn, people))


def _visible(conn: Connection, principal: Principal, quota_id: int) -> Quota:
    quota = quota_by_id(conn, quota_id)
    if quota is None or not quota_view(conn, principal).covers(quota):
        raise not_found(ENTITY, quota_id)
    return quota


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDeniedError(f"only an admin may {ADMIN_ONLY}")


# reading ---------------------------------------------------------------------------------------------------
def list_quotas(engine: Engine, principal: Principal, query: QuotaQuery | None = None) -> Page[Quota]:
    """One page of the quotas ``principal`` may read, filtered (:class:`QuotaQuery`)."""
    query = normalise_query(query or QuotaQuery())
    where: list[sa.ColumnElement[bool]] = []
    if query.user_id is not None:
        where.append(quotas.c.user_id == query.user_id)
    if query.team_id is not None:
        where.append(quotas.c.team_id == query.team_id)
    if query.period_from is not None:
        where.append(quotas.c.period_end >= query.period_from)
    if query.period_to is not None:
        where.append(quotas.c.period_start <= query.period_to)
    ordering = order_by(query.sort, SORTABLE, DEFAULT_SORT, quotas.c.id)
    with engine.connect() as conn:
        where.append(quota_view(conn, principal).condition())
        items = read_quotas(
            conn, quota_select().where(*where).order_by(*ordering).limit(query.limit).offset(query.offset)
        )
        total = conn.execute(sa.select(sa.func.count()).select_from(quotas).where(*where)).scalar_one()
    return Page(tuple(items), int(total), query.limit, query.offset)


def get_quota(engine: Engine, principal: Principal, quota_id: int) -> Quota:
    """The quota ``quota_id`` if ``principal`` may read it, else :class:`NotFoundError`."""
    with engine.connect() as conn:
        return _visible(conn, principal, quota_id)


# writing ---------------------------------------------------------------------------------------------------
def _currency(value: object) -> object:
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        raise Problem(f"expected a three-letter currency code such as USD, got {value!r}")
    return value.strip().upper()


CLEANERS: dict[str, Cleaner] = {
    "period_start": day,
    "period_end": day,
    "user_id": identifier,
    "team_id": identifier,
    "amount": money,
    "currency": _currency,
}


def _exists(conn: Connection, table: sa.Table, record_id: int) -> bool:
    return conn.execute(sa.select(table.c.id).where(table.c.id == record_id)).first() is not None


def _rule_problems(conn: Connection, values: Mapping[str, Any]) -> list[FieldProblem]:
    """The problems of a quota's complete values (after a create's defaults or an update's merge)."""
    problems: list[FieldProblem] = []
    user_id, team_id = values.get("user_id"), values.get("team_id")
    if (user_id is None) == (team_id is None):
        problems.append(FieldProblem("user_id", "give exactly one of user_id (a rep's quota) and team_id"))
    if user_id is not None and not _exists(conn, users, user_id):
        problems.append(FieldProblem("user_id", f"no user with id {user_id}"))
    if team_id is not None and not _exists(conn, teams, team_id):
        problems.append(FieldProblem("team_id", f"no team with id {team_id}"))
    for name in ("period_start", "period_end", "amount"):
        if values.get(name) is None:
            problems.append(FieldProblem(name, "a value is required"))
    start, end = values.get("period_start"), values.get("period_end")
    if start is not None and end is not None and end < start:
        problems.append(FieldProblem("period_end", f"must be on or after period_start ({start.isoformat()})"))
    return problems


def _taken(conn: Connection, values: Mapping[str, Any], other_than: int | None) -> None:
    found = quota_of(
        conn,
        user_id=values["user_id"],
        team_id=values["team_id"],
        period_start=values["period_start"],
        period_end=values["period_end"],
    )
    if found is not None and found != other_than:
        owner = f"user {values['user_id']}" if values["user_id"] is not None else f"team {values['team_id']}"
        raise ConflictError(
            f"{owner} already has a quota for {values['period_start']} .. {values['period_end']} "
            f"(id {found}); change that one instead"
        )


def _cleaned(data: Mapping[str, object], required: tuple[str, ...] = ()) -> dict[str, Any]:
    cleaned, problems = clean_fields(data, CLEANERS, "a quota", required)
    if problems:
        raise invalid(problems)
    return cleaned


def create_quota(engine: Engine, principal: Principal, data: Mapping[str, object], via: str = "api") -> Quota:
    """A new quota (admins only): ``period_start``, ``period_end``, ``amount`` and one of ``user_id`` /
    ``team_id``; ``currency`` defaults to USD."""
    _require_admin(principal)
    values: dict[str, Any] = {"user_id": None, "team_id": None, "currency": "USD"}
    values.update(_cleaned(data, ("period_start", "period_end", "amount")))
    with transaction(engine) as conn:
        problems = _rule_problems(conn, values)
        if problems:
            raise invalid(problems)
        _taken(conn, values, None)
        quota_id = insert_quota(conn, values)
        created = {name: (None, values[name]) for name in QUOTA_FIELDS if values.get(name) is not None}
        record_changes(
            conn,
            actor=principal,
            via=via,
            entity=ENTITY,
            entity_id=quota_id,
            action="create",
            changes=created,
        )
        quota = quota_by_id(conn, quota_id)
        assert quota is not None
        return quota


def update_quota(
    engine: Engine, principal: Principal, quota_id: int, changes: Mapping[str, object], via: str = "api"
) -> Quota:
    """Change some fields of a quota (admins only; a quota outside the caller's view is not found)."""
    with transaction(engine) as conn:
        before = _visible(conn, principal, quota_id)
        _require_admin(principal)
        cleaned = _cleaned(changes)
        old = {name: getattr(before, name) for name in QUOTA_FIELDS}
        merged = {**old, **cleaned}
        problems = [
            FieldProblem(name, "required: it cannot be cleared")
            for name in ("period_start", "period_end", "amount", "currency")
            if name in cleaned and cleaned[name] is None
        ]
        problems += _rule_problems(conn, merged)
        if problems:
            raise invalid(problems)
        diff = changed(old, cleaned)
        if not diff:
            return before
        _taken(conn, merged, quota_id)
        update_quota_row(conn, quota_id, {name: new for name, (_, new) in diff.items()}, utc_now())
        record_changes(
            conn, actor=principal, via=via, entity=ENTITY, entity_id=quota_id, action="update", changes=diff
        )
        quota = quota_by_id(conn, quota_id)
        assert quota is not None
        return quota


def delete_quota(engine: Engine, principal: Principal, quota_id: int, via: str = "api") -> None:
    """Delete a quota (admins only); the audit log keeps its last values."""
    with transaction(engine) as conn:
        before = _visible(conn, principal, quota_id)
        _require_admin(principal)
        delete_quota_row(conn, quota_id)
        gone = {name: (getattr(before, name), None) for name in QUOTA_FIELDS}
        record_changes(
            conn, actor=principal, via=via, entity=ENTITY, entity_id=quota_id, action="delete", changes=gone
        )


__all__ = [
    "DEFAULT_SORT",
    "Quota",
    "QuotaQuery",
    "QuotaView",
    "create_quota",
    "delete_quota",
    "get_quota",
    "list_quotas",
    "quota_view",
    "quotas_for_period",
    "update_quota",
]
