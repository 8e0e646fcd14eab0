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


def health(engine: Engine) -> dict[str, Any]:
    """Two small reads on one connection: the schema revision and the number of deals (the load benchmark
    measures every route against this one)."""
    try:
        with engine.connect() as conn:
            revision = stored_revision(conn)
            count = conn.execute(_COUNT).scalar_one()
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
