"""The health check on both back ends: schema revision read in one statement (agreeing with Alembic's own
reading), the exact number of deals, and the states of a database behind or without a schema."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from dealsight.services.health import EXACT_UP_TO, health
from dealsight.store.database import alembic_config, current_revision, head_revision, stored_revision
from dealsight.store.schema import opportunities

pytestmark = pytest.mark.storage


def test_a_current_schema_is_ok_and_counts_every_deal(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(opportunities.insert(), [{"name": f"deal {i}", "stage": "Proposal"} for i in range(7)])
    answer = health(engine)
    assert answer["status"] == "ok" and answer["opportunities"] == 7
    assert answer["schema_revision"] == head_revision() == current_revision(engine)
    assert answer["database"] == engine.dialect.name


def test_an_older_schema_is_out_of_date(engine: Engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    with engine.connect() as conn:
        assert stored_revision(conn) == "0002" == current_revision(engine)
    answer = health(engine)
    assert answer["status"] == "schema_out_of_date" and answer["schema_revision"] == "0002"
    assert answer["opportunities"] == 0


def test_a_database_without_the_schema_is_an_error_not_a_crash(engine: Engine) -> None:
    cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
        conn.execute(sa.text(f"DROP TABLE opportunities{cascade}"))
    with engine.connect() as conn:
        assert stored_revision(conn) is None
        # the failed read was rolled back: the connection still works (PostgreSQL aborts a transaction)
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    answer = health(engine)
    assert answer["status"] == "error" and "opportunities" in answer["problem"]


def test_a_large_postgresql_table_is_counted_from_the_planners_estimate(engine: Engine) -> None:
    """Above EXACT_UP_TO deals PostgreSQL reports its estimate instead of reading every row; below it, and
    always on SQLite, the count is exact."""
    with engine.begin() as conn:
        conn.execute(opportunities.insert(), [{"name": f"deal {i}", "stage": "Proposal"} for i in range(3)])
    if engine.dialect.name != "postgresql":
        assert health(engine)["opportunities"] == 3
        return
    with engine.begin() as conn:  # what ANALYZE would record for a large table (the test cluster's superuser)
        conn.execute(sa.text("UPDATE pg_class SET reltuples = 123456 WHERE oid = 'opportunities'::regclass"))
    assert health(engine)["opportunities"] == 123456 >= EXACT_UP_TO
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE pg_class SET reltuples = 2 WHERE oid = 'opportunities'::regclass"))
    assert health(engine)["opportunities"] == 3  # a small (or stale) estimate: counted exactly
