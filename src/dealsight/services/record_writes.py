"""Steps that the record writes share, beside the cleaning and scope filters of
:mod:`dealsight.services.records`: accounts, contacts and activities use all of them, users and teams the
uniqueness and loop checks.

- :func:`require_visible`: a record to change must exist and be visible to the scope; anything else is
  *not found*, in the same words as reading it would be.
- :func:`stored_values`: a record's columns before a change, to compare the change with.
- :func:`taken_by` and :func:`external_id_problem`: a value that must be unique (an external id, an e-mail,
  a team name) which another record already holds.
- :func:`closes_loop`: whether a new parent link (an account's parent, a user's manager, a team's parent
  team) would make a record its own ancestor.
- :func:`stored_form`: enum members as the values the database stores.
- :func:`audit_creation`: the audit rows of a new record, one per field given a value.
- :func:`save_changes`: a change written (with ``updated_at``) and audited in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealsight.domain.access import Principal, Scope
from dealsight.domain.clock import utc_now
from dealsight.errors import FieldProblem
from dealsight.services.records import not_found
from dealsight.store.audit import record_changes

VisibleFilter = Callable[..., sa.ColumnElement[bool]]
"""A scope filter of :mod:`dealsight.services.records`: ``(scope, table, *, one)`` -> condition."""


def require_visible(
    conn: Connection, scope: Scope, table: sa.Table, visible: VisibleFilter, kind: str, record_id: int
) -> None:
    """Raise :class:`NotFoundError` unless the ``kind`` record ``record_id`` exists and ``scope`` sees it."""
    found = conn.execute(
        sa.select(table.c.id).where(table.c.id == record_id, visible(scope, table, one=True))
    ).first()
    if found is None:
        raise not_found(kind, record_id)


def stored_values(
    conn: Connection, table: sa.Table, columns: Iterable[str], record_id: int
) -> dict[str, Any]:
    """The ``columns`` of one row of ``table`` as stored (the row must exist)."""
    query = sa.select(*(table.c[name] for name in columns)).where(table.c.id == record_id)
    return dict(conn.execute(query).mappings().one())


def taken_by(
    conn: Connection, table: sa.Table, column: sa.ColumnElement[Any], value: object, other_than: int | None
) -> int | None:
    """The id of a row of ``table`` other than ``other_than`` whose ``column`` holds ``value``, if any."""
    query = sa.select(table.c.id).where(column == value)
    if other_than is not None:
        query = query.where(table.c.id != other_than)
    found = conn.execute(query).first()
    return None if found is None else int(found.id)


def external_id_problem(
    conn: Connection, table: sa.Table, kind: str, external_id: object, other_than: int | None
) -> FieldProblem | None:
    """A problem naming ``external_id`` when another ``kind`` record already has that external id."""
    if external_id is None or taken_by(conn, table, table.c.external_id, external_id, other_than) is None:
        return None
    return FieldProblem("external_id", f"{external_id!r} is already the id of another {kind}")


def closes_loop(parents: Mapping[int, int | None], record_id: int, parent_id: int) -> bool:
    """Would making ``parent_id`` the parent of ``record_id`` make the record its own ancestor?

    ``parents`` maps each record to its parent today; a loop already in the data ends the walk.
    """
    seen: set[int] = set()
    current: int | None = parent_id
    while current is not None and current not in seen:
        if current == record_id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def stored_form(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with enum members replaced by the values the database stores."""
    return {name: value.value if isinstance(value, Enum) else value for name, value in values.items()}


def audit_creation(
    conn: Connection, actor: Principal, via: str, entity: str, entity_id: int, values: Mapping[str, object]
) -> None:
    """Audit the creation of a record: one row per field of ``values`` that is not ``None``."""
    created = {name: (None, value) for name, value in values.items() if value is not None}
    record_changes(
        conn, actor=actor, via=via, entity=entity, entity_id=entity_id, action="create", changes=created
    )


def save_changes(
    conn: Connection,
    actor: Principal,
    via: str,
    table: sa.Table,
    kind: str,
    record_id: int,
    diff: Mapping[str, tuple[object, object]],
    derived: Mapping[str, object] | None = None,
) -> None:
    """Write the new values of ``diff`` (``{field: (old, new)}``, as from :func:`changed`) to the record,
    with ``updated_at`` and any ``derived`` columns (kept in step with a field, not audited), and audit
    them; nothing happens when ``diff`` is empty."""
    if not diff:
        return
    columns = stored_form({name: new for name, (_, new) in diff.items()})
    update = table.update().where(table.c.id == record_id)
    conn.execute(update.values(**columns, **(derived or {}), updated_at=utc_now()))
    record_changes(
        conn, actor=actor, via=via, entity=kind, entity_id=record_id, action="update", changes=diff
    )


__all__ = [
    "VisibleFilter",
    "audit_creation",
    "closes_loop",
    "external_id_problem",
    "require_visible",
    "save_changes",
    "stored_form",
    "stored_values",
    "taken_by",
]
