"""Connecting to the store and keeping its schema current.

``connect(url)`` returns a SQLAlchemy engine for SQLite (the default, one file) or PostgreSQL (psycopg 3).
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

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def connect(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: ``DEALSIGHT_DATABASE_URL``)."""
    url = normalise_database_url(url or get_settings().database_url)
    try:
        engine = sa.create_engine(url, future=True)
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
    """Apply migrations up to ``revision`` on the database behind ``engine``."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except sa.exc.OperationalError as exc:
        raise StorageError(f"cannot reach the database at {engine.url!r}: {exc.orig}") from exc


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration shipped with this version (read once: the scripts do not change while running)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


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
