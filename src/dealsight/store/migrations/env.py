"""Alembic environment: migrations run on the connection dealsight hands over, or on the configured URL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from dealsight.store.schema import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///dealsight.db")
    with engine.begin() as conn:
        _run_on(conn)


def _run_on(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
