"""Is the product able to serve: database reachable, schema current, how much data."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight import __version__
from dealsight.errors import StorageError
from dealsight.store import schema
from dealsight.store.database import current_revision, head_revision


def health(engine: Engine) -> dict[str, Any]:
    try:
        revision = current_revision(engine)
        with engine.connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(schema.opportunities)).scalar_one()
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
