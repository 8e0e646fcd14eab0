"""The Alembic migrations build exactly the schema that store/schema.py declares, on both back ends."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from dealsight.store.database import current_revision, head_revision, require_current_schema
from dealsight.store.schema import metadata


def test_migrations_reach_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    require_current_schema(engine)


def test_migrations_match_declared_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == [], f"schema.py and the migrations disagree: {diff}; run `make migration`"


def test_every_declared_table_exists(engine: Engine) -> None:
    assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    from dealsight.store.database import upgrade

    upgrade(engine, "head")
    from alembic import command

    from dealsight.store.database import alembic_config

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert "opportunities" not in sa.inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == head_revision()
