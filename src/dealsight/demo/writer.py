"""Writing the demo organisation into the store, on the caller's connection and transaction.

Decisions:
- The demo is written into empty data tables only (the service checks, or clears them with ``replace``),
  so rows carry the ids the generator gave them and links need no read-back. On PostgreSQL the id
  sequences are then moved past the written ids, so later inserts (imports) do not collide.
- Rows go in tables in foreign-key order; ``teams.manager_id`` is set after the users exist (the two
  tables refer to each other), in batches with :func:`dealsight.store.bulk.insert_many`: one prepared
  INSERT on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL, on the caller's transaction.
- ``clear_data`` empties every table in ``schema.metadata`` (not Alembic's): ``DELETE`` children first on
  SQLite, one ``TRUNCATE`` on PostgreSQL (transactional there too, and far faster than ``DELETE``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from dealsight.demo.generator import Organisation
from dealsight.store import schema
from dealsight.store.bulk import chunks, insert_many

Progress = Callable[[str, int, int], None]
BATCH = 5000


def data_counts(conn: sa.Connection) -> dict[str, int]:
    """Rows in each data table, by table name."""
    return {
        table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for table in schema.metadata.sorted_tables
    }


def clear_data(conn: sa.Connection) -> None:
    """Delete every row of every data table (children before parents)."""
    if conn.dialect.name == "postgresql":
        names = ", ".join(f'"{table.name}"' for table in schema.metadata.sorted_tables)
        conn.execute(sa.text(f"TRUNCATE {names}"))
        return
    conn.execute(schema.teams.update().values(manager_id=None))
    for table in reversed(schema.metadata.sorted_tables):
        conn.execute(table.delete())


def write_organisation(conn: sa.Connection, org: Organisation, progress: Progress | None = None) -> None:
    """Insert every row of ``org`` (into empty tables), reporting ``progress(table, done, total)``."""
    total = sum(len(rows) for rows in org.tables.values())
    done = 0
    for name, rows in org.tables.items():
        table = schema.metadata.tables[name]
        if name == "teams":
            rows = [{**row, "manager_id": None} for row in rows]
        for part in chunks(rows, BATCH):
            insert_many(conn, table, list(part))
            done += len(part)
            if progress is not None:
                progress(name, done, total)
        if name == "users":
            _link_team_managers(conn, org.tables["teams"])
    if conn.dialect.name == "postgresql":
        _advance_sequences(conn, [name for name in org.tables if "id" in schema.metadata.tables[name].c])


def _link_team_managers(conn: sa.Connection, teams: list[dict[str, Any]]) -> None:
    statement = (
        schema.teams.update()
        .where(schema.teams.c.id == sa.bindparam("team_id"))
        .values(manager_id=sa.bindparam("manager"))
    )
    conn.execute(statement, [{"team_id": t["id"], "manager": t["manager_id"]} for t in teams])


def _advance_sequences(conn: sa.Connection, names: list[str]) -> None:
    for name in names:
        conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
            )
        )
