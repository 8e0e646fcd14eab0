"""Connecting to the store and keeping its schema current.

``connect(url)`` returns a SQLAlchemy engine for SQLite (the default, one file) or PostgreSQL (psycopg 3),
set up for a threaded server (see :func:`connect`).
``upgrade(url)`` applies Alembic migrations; ``require_current_schema(engine)`` raises
:class:`~dealsight.errors.SchemaOutOfDateError` with the command to run when they have not been applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from dealsight.config import get_settings, normalise_database_url
from dealsight.errors import ConfigurationError, SchemaOutOfDateError, StorageError
from dealsight.store.bulk import analyze, has_statistics

MIGRATIONS = Path(__file__).parent / "migrations"


# Each pooled connection of a server process; sized for the thread pool that runs request handlers
# (anyio's default: 40 threads), so that a burst of requests never opens and closes connections.
POOL_SIZE = 40
POOL_OVERFLOW = 10
# PostgreSQL counts connections against max_connections (100 by default): each of up to 4 worker processes
# keeps 10 and opens up to 10 more in a burst (80 in all); a request waits for one beyond that.
PG_POOL_SIZE = 10
PG_POOL_OVERFLOW = 10
SQLITE_PRAGMAS = (
    "foreign_keys=ON",
    "journal_mode=WAL",  # readers never wait for the writer, nor the writer for readers
    "synchronous=NORMAL",  # safe in WAL mode: a power cut may lose the last commits, never corrupts
    "busy_timeout=5000",  # a writer waits up to 5 s for another writer instead of failing at once
    "cache_size=-16384",  # 16 MiB of page cache per connection (the default is 2 MiB)
    "mmap_size=1073741824",  # read the file through a shared memory map (up to 1 GiB): no copy per read
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _pool_options(url: str) -> dict[str, Any]:
    """Pool sizes for ``url``: SQLite files and PostgreSQL get a :class:`~sqlalchemy.pool.QueuePool` fit
    for a threaded server; in-memory SQLite keeps SQLAlchemy's default (one connection per thread)."""
    name = sa.engine.make_url(url).get_backend_name()
    if name == "postgresql":
        return {"pool_size": PG_POOL_SIZE, "max_overflow": PG_POOL_OVERFLOW, "pool_pre_ping": False}
    database = sa.engine.make_url(url).database
    if (
        name == "sqlite"
        and database not in (None, "", ":memory:")
        and not database.startswith("file::memory:")
    ):
        return {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
    return {}


def connect(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: ``DEALSIGHT_DATABASE_URL``).

    SQLite files are opened in WAL mode with ``synchronous=NORMAL``, a 5 s busy timeout, a 16 MiB page
    cache and a 1 GiB memory map (:data:`SQLITE_PRAGMAS`: row reads at 100k deals take about a third less
    time than with SQLite's defaults); connections are pooled (:data:`POOL_SIZE`, enough for the server's
    thread pool). PostgreSQL keeps :data:`PG_POOL_SIZE` connections per process.
    """
    url = normalise_database_url(url or get_settings().database_url)
    try:
        engine = sa.create_engine(url, future=True, **_pool_options(url))
    except (sa.exc.ArgumentError, ModuleNotFoundError) as exc:
        raise ConfigurationError(
            f"cannot use database URL {url!r}: {exc}; expected sqlite:///FILE or "
            "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB"
        ) from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on the database behind ``engine``, and gather the planner's
    statistics when the database has none yet (:func:`dealsight.store.bulk.analyze`)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            if not has_statistics(connection):  # a database made before dealsight gathered them
                analyze(connection)
    except sa.exc.OperationalError as exc:
        raise StorageError(f"cannot reach the database at {engine.url!r}: {exc.orig}") from exc


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration shipped with this version (read once: the scripts do not change while running)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


_VERSION_TABLE = sa.table("alembic_version", sa.column("version_num"))
_STORED_REVISION = sa.select(_VERSION_TABLE.c.version_num)


def stored_revision(connection: sa.Connection) -> str | None:
    """The migration the database is at, read in one statement on an open connection (cheaper than
    :func:`current_revision`, which reflects the table first: the health route uses this one). ``None``
    when there is no dealsight schema; a failed read is rolled back."""
    try:
        revisions = connection.execute(_STORED_REVISION).scalars().all()
    except sa.exc.DBAPIError:
        connection.rollback()
        return None
    return str(revisions[0]) if len(revisions) == 1 else None


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except sa.exc.OperationalError as exc:
        raise StorageError(f"cannot reach the database at {engine.url!r}: {exc.orig}") from exc


def require_current_schema(engine: Engine) -> None:
    """Raise :class:`SchemaOutOfDateError` unless every migration has been applied."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no dealsight schema" if current is None else f"is at revision {current}, not {head}"
        raise SchemaOutOfDateError(
            f"the database {engine.url.render_as_string(hide_password=True)} {state}; "
            "run `dealsight db upgrade`"
        )


@contextmanager
def transaction(engine: Engine) -> Iterator[sa.Connection]:
    """One transaction: committed when the block ends, rolled back on any exception."""
    with engine.begin() as connection:
        yield connection
