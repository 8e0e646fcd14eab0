"""Is the product able to serve: database reachable, schema current, how much data."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight import __version__
from dealsight.errors import StorageError
from dealsight.store import schema
from dealsight.store.database import head_revision, stored_revision

_COUNT = sa.select(sa.func.count()).select_from(schema.opportunities)
_ESTIMATE = sa.text("SELECT reltuples::bigint FROM pg_class WHERE oid = 'opportunities'::regclass")
EXACT_UP_TO = 10_000
"""PostgreSQL counts rows by reading them (~10 ms at 100,000 deals); above this many deals its planner's
estimate (kept by autovacuum) is reported instead. SQLite counts a table from its b-tree at once: exact."""


def deal_count(conn: sa.Connection) -> int:
    """How many deals there are: exact, or PostgreSQL's estimate when it is :data:`EXACT_UP_TO` or more."""
    if conn.dialect.name == "postgresql":
        estimate = conn.execute(_ESTIMATE).scalar()
        if estimate is not None and int(estimate) >= EXACT_UP_TO:
            return int(estimate)
    return int(conn.execute(_COUNT).scalar_one())


def health(engine: Engine) -> dict[str, Any]:
    """Two small reads on one connection: the schema revision and the number of deals (the load benchmark
    measures every route against this one, so it reads no table in full: see :data:`EXACT_UP_TO`)."""
    try:
        with engine.connect() as conn:
            revision = stored_revision(conn)
            count = deal_count(conn)
    except (StorageError, sa.exc.SQLAlchemyError) as exc:
        return {"status": "error", "version": __version__, "problem": str(exc).splitlines()[0]}
    current = revision == head_revision()
    return {
        "status": "ok" if current else "schema_out_of_date",
        "version": __version__,
        "database": engine.dialect.name,
        "schema_revision": revision,
        "opportunities": count,
    }
