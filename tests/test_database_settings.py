"""Connection settings of the store: SQLite pragmas on every pooled connection, pool sizes for a threaded
server, and the composite indexes the pipeline lists rely on (used by the query plans)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool, SingletonThreadPool

from dealsight.store.database import PG_POOL_SIZE, POOL_SIZE, connect, upgrade


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[Engine]:
    engine = connect(f"sqlite:///{tmp_path / 'settings.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def pragmas(conn: sa.Connection) -> dict[str, object]:
    names = ("journal_mode", "synchronous", "busy_timeout", "cache_size", "mmap_size", "foreign_keys")
    return {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names}


def test_every_sqlite_connection_is_set_up_for_a_server(sqlite_file: Engine) -> None:
    expected = {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "busy_timeout": 5000,
        "cache_size": -16384,
        "mmap_size": 1 << 30,
        "foreign_keys": 1,
    }

    def settings(_: int) -> dict[str, object]:
        with sqlite_file.connect() as conn:
            return pragmas(conn)

    # several connections at once (as the server's threads open them): each has every setting
    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(settings, range(8)))
    assert seen == [expected] * 8
    assert sqlite_file.pool.checkedin() >= 2  # they were kept for the next requests, not closed


def test_pools_fit_a_threaded_server(tmp_path: Path) -> None:
    file = connect(f"sqlite:///{tmp_path / 'pool.db'}")
    assert isinstance(file.pool, QueuePool) and file.pool.size() == POOL_SIZE >= 40
    postgres = connect("postgresql://nobody@127.0.0.1:1/none")  # no connection is made until used
    assert isinstance(postgres.pool, QueuePool) and postgres.pool.size() == PG_POOL_SIZE
    # 4 workers must stay under PostgreSQL's default max_connections (100)
    assert 4 * (PG_POOL_SIZE + postgres.pool._max_overflow) < 100
    memory = connect("sqlite://")
    assert isinstance(memory.pool, SingletonThreadPool)  # one in-memory database per thread, as before
    with memory.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


PIPELINE = ["stage", "expected_close_date", "currency", "amount"]
SCOPED = "owner_id IN (2, 3) AND stage IN ('Proposal', 'Negotiation')"
# what the pipeline page asks for a manager's open deals: their count, the first page's ids in the default
# order, the summary by stage (amount per currency)
PAGE_QUERIES = (
    f"SELECT count(*) FROM opportunities WHERE {SCOPED}",
    f"SELECT id FROM opportunities WHERE {SCOPED} ORDER BY expected_close_date, id LIMIT 25",
    f"SELECT stage, currency, count(*), sum(amount) FROM opportunities WHERE {SCOPED} "
    "GROUP BY owner_id, stage, currency",
)


@pytest.mark.storage
def test_the_pipeline_indexes_answer_a_scopes_open_deals(engine: Engine) -> None:
    """The composite indexes of migration 0003 exist on both back ends and replace the single ones; on
    SQLite (no statistics) the pipeline page's queries read the owner index alone."""
    indexes = {ix["name"]: ix["column_names"] for ix in sa.inspect(engine).get_indexes("opportunities")}
    assert indexes["ix_opportunities_pipeline_by_owner"] == ["owner_id", *PIPELINE]
    assert indexes["ix_opportunities_pipeline_by_stage"] == PIPELINE
    assert "ix_opportunities_owner_id" not in indexes and "ix_opportunities_stage" not in indexes
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            for query in PAGE_QUERIES:
                plan = " ".join(str(row[3]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}"))
                assert "COVERING INDEX ix_opportunities_pipeline_by_owner" in plan, (query, plan)
