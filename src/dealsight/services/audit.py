"""Reading the audit log: one record's trail for whoever may see the record, the whole log for admins.

- :func:`audit_trail` shows the changes of one opportunity, account, contact or activity, newest first, to
  a scope that can see that record; a record outside the scope (or that does not exist) is *not found*,
  exactly as reading the record itself would be.
- :func:`audit_log` is the whole log with filters (entity, record, actor, days), for admins only; anyone
  else gets :class:`PermissionDeniedError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.domain.access import Principal, Scope
from dealsight.errors import FieldProblem, PermissionDeniedError
from dealsight.services.record_writes import VisibleFilter, require_visible
from dealsight.services.records import (
    ListQuery,
    Page,
    account_visible,
    activity_visible,
    contact_visible,
    invalid,
    normalise_query,
    opportunity_visible,
)
from dealsight.store.audit import AuditEntry
from dealsight.store.schema import accounts, activities, contacts, opportunities
from dealsight.store.schema import audit_log as audit_table

RECORDS: dict[str, tuple[sa.Table, VisibleFilter]] = {
    "opportunity": (opportunities, opportunity_visible),
    "account": (accounts, account_visible),
    "contact": (contacts, contact_visible),
    "activity": (activities, activity_visible),
}
"""Entities with a record-level trail, and the scope filter that says who may see each."""


@dataclass(frozen=True)
class AuditQuery(ListQuery):
    """Filters of :func:`audit_log`; ``since`` / ``until`` are days, both included. Always newest first."""

    entity: str | None = None
    entity_id: int | None = None
    actor_id: int | None = None
    since: date | None = None
    until: date | None = None


def _page(engine: Engine, query: AuditQuery) -> Page[AuditEntry]:
    log = audit_table
    where: list[sa.ColumnElement[bool]] = []
    if query.entity is not None:
        where.append(log.c.entity == query.entity)
    if query.entity_id is not None:
        where.append(log.c.entity_id == query.entity_id)
    if query.actor_id is not None:
        where.append(log.c.actor_id == query.actor_id)
    if query.since is not None:
        where.append(log.c.at >= datetime.combine(query.since, time.min))
    if query.until is not None:
        where.append(log.c.at < datetime.combine(query.until + timedelta(days=1), time.min))
    rows = (
        sa.select(log)
        .where(*where)
        .order_by(log.c.at.desc(), log.c.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    )
    with engine.connect() as conn:
        items = tuple(AuditEntry(**row) for row in conn.execute(rows).mappings())
        total = conn.execute(sa.select(sa.func.count()).select_from(log).where(*where)).scalar_one()
    return Page(items, int(total), query.limit, query.offset)


def audit_trail(
    engine: Engine, scope: Scope, entity: str, entity_id: int, *, limit: int = 100, offset: int = 0
) -> Page[AuditEntry]:
    """The changes of one record, newest first, if ``scope`` may see it (else :class:`NotFoundError`)."""
    if entity not in RECORDS:
        allowed = ", ".join(RECORDS)
        raise invalid([FieldProblem("entity", f"{entity!r} has no audit trail here; one of {allowed}")])
    query = normalise_query(AuditQuery(entity=entity, entity_id=entity_id, limit=limit, offset=offset))
    table, visible = RECORDS[entity]
    with engine.connect() as conn:
        require_visible(conn, scope, table, visible, entity, entity_id)
    return _page(engine, query)


def audit_log(
    engine: Engine,
    principal: Principal,
    *,
    entity: str | None = None,
    entity_id: int | None = None,
    actor_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[AuditEntry]:
    """The whole audit log, newest first, filtered; admins only (:class:`PermissionDeniedError`)."""
    if not principal.is_admin:
        raise PermissionDeniedError("only an admin may read the audit log")
    query = AuditQuery(
        entity=entity,
        entity_id=entity_id,
        actor_id=actor_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return _page(engine, normalise_query(query))


__all__ = ["RECORDS", "AuditEntry", "AuditQuery", "audit_log", "audit_trail"]
