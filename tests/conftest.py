"""Shared fixtures: every storage test runs on SQLite and on a real PostgreSQL server.

``engine`` is parametrised over both back ends. Each test gets a fresh database with the schema migrated:
on SQLite a copy of a migrated template file, on PostgreSQL ``CREATE DATABASE ... TEMPLATE``.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.store.database import connect, upgrade
from tests.pgcluster import Cluster, start_cluster

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_counter = itertools.count()


def shared_data(*parts: str) -> Path:
    """A path in ../shared/data; fails (never skips) with a clear message when it is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"shared data set missing: {path} (the repository expects ../shared/data beside it)")
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    try:
        template = connect(cluster.url())
        with template.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("CREATE DATABASE dealsight_template"))
        template.dispose()
        migrated = connect(cluster.url("dealsight_template"))
        upgrade(migrated)
        migrated.dispose()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = connect(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _fresh_postgres(cluster: Cluster) -> tuple[Engine, str]:
    name = f"dealsight_test_{next(_counter)}"
    admin = connect(cluster.url())
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} TEMPLATE dealsight_template"))
    admin.dispose()
    return connect(cluster.url(name)), name


def _drop_postgres(cluster: Cluster, name: str) -> None:
    admin = connect(cluster.url())
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database on each back end."""
    if request.param == "sqlite":
        path = tmp_path / "dealsight.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        eng = connect(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        cluster = request.getfixturevalue("pg_cluster")
        eng, name = _fresh_postgres(cluster)
        yield eng
        eng.dispose()
        _drop_postgres(cluster, name)


@pytest.fixture
def database_url(engine: Engine) -> str:
    """The URL of ``engine``'s database, for CLI tests (passed as DEALSIGHT_DATABASE_URL)."""
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def engine_url_pg(pg_cluster: Cluster) -> Iterator[str]:
    """The URL of a fresh, migrated PostgreSQL database (for tests that only need PostgreSQL)."""
    eng, name = _fresh_postgres(pg_cluster)
    eng.dispose()
    yield pg_cluster.url(name)
    _drop_postgres(pg_cluster, name)
