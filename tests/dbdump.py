"""A full dump of every table, to check that a failed operation left the database exactly as it was."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.store.schema import metadata


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name, table in metadata.tables.items():
            rows = conn.execute(sa.select(table)).all()
            tables[name] = sorted((tuple(row) for row in rows), key=repr)
    return tables


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
