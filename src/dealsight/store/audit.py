"""The audit log: every change made through the API, the pages or the CLI, one row per changed field.

Written inside the same transaction as the change it records (pass the open connection), so a change and
its audit entry commit or roll back together. Values are stored as text: ``None`` stays NULL, dates and
datetimes in ISO form, enums as their values, everything else through ``str``.

``via`` says where the change came from: ``api``, ``web`` or ``cli``. ``action`` is ``create``,
``update`` or ``delete``; a create records each field set, with no old value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealsight.domain.access import Principal
from dealsight.domain.clock import utc_now
from dealsight.store.schema import audit_log

VIA = ("api", "web", "cli")
ACTIONS = ("create", "update", "delete")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    via: str
    entity: str
    entity_id: int
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None


def as_audit_text(value: object) -> str | None:
    """How a value is written in the audit log."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def record_changes(
    conn: Connection,
    *,
    actor: Principal | None,
    via: str,
    entity: str,
    entity_id: int,
    action: str,
    changes: Mapping[str, tuple[object, object]],
) -> int:
    """Write one audit row per field whose old and new values differ; returns how many were written.

    ``changes`` maps a field name to ``(old, new)``. A ``delete`` (or a change with no fields) is recorded as
    one row with no field. ``actor`` None means the system (an import or a command run without sign-in).
    """
    if via not in VIA:
        raise ValueError(f"audit via must be one of {VIA}, not {via!r}")
    if action not in ACTIONS:
        raise ValueError(f"audit action must be one of {ACTIONS}, not {action!r}")
    at = utc_now()
    base = {
        "at": at,
        "actor_id": actor.user_id if actor else None,
        "actor_name": actor.name if actor else "system",
        "via": via,
        "entity": entity,
        "entity_id": entity_id,
        "action": action,
    }
    rows = []
    for field, (old, new) in changes.items():
        old_text, new_text = as_audit_text(old), as_audit_text(new)
        if old_text != new_text:
            rows.append({**base, "field": field, "old_value": old_text, "new_value": new_text})
    if not rows and (action == "delete" or not changes):
        rows.append({**base, "field": None, "old_value": None, "new_value": None})
    if rows:
        conn.execute(audit_log.insert(), rows)
    return len(rows)


def audit_entries(
    conn: Connection,
    *,
    entity: str | None = None,
    entity_id: int | None = None,
    actor_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """Audit rows, newest first, optionally for one record or one actor."""
    query = sa.select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
    if entity is not None:
        query = query.where(audit_log.c.entity == entity)
    if entity_id is not None:
        query = query.where(audit_log.c.entity_id == entity_id)
    if actor_id is not None:
        query = query.where(audit_log.c.actor_id == actor_id)
    rows = conn.execute(query.limit(limit).offset(offset)).mappings()
    return [AuditEntry(**row) for row in rows]
