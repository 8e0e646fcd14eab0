"""The demo organisation behind the API tests, built once per back end and shared by the API test modules.

A :class:`World` is a demo database (``create_demo(seed=7, scale=0.2)``, ~1,000 deals) with an API token
for each demo login (admin, executive, manager, rep) and the ids the role matrix needs: records of the
rep, of a colleague in the rep's team (visible to the manager only) and of another team (visible to
neither). Tests that change data restore it or use records they create themselves.

Test modules register the fixtures by assignment (``sqlite_world = api_fixtures.sqlite_world``); the
worlds themselves are cached here, so the demo is built once per back end per session.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from dealsight.api.app import create_app
from dealsight.domain.access import Principal, Scope
from dealsight.domain.enums import UserRole
from dealsight.services.access import scope_of
from dealsight.services.auth import create_api_token
from dealsight.services.demo import create_demo
from dealsight.services.opportunities import get_opportunity
from dealsight.services.records import account_visible, activity_visible, contact_visible
from dealsight.services.users import find_user
from dealsight.store.database import connect, upgrade
from dealsight.store.schema import accounts, activities, audit_log, contacts, opportunities
from tests.pgcluster import Cluster

ROLES = ("admin", "executive", "manager", "rep")
_worlds: dict[str, World] = {}
_names = itertools.count()


@dataclass
class World:
    """A demo database served by the app, with tokens and the ids tests need."""

    backend: str
    engine: Engine
    client: TestClient
    tokens: dict[str, str]
    users: dict[str, int]
    ids: dict[str, int] = field(default_factory=dict)

    def headers(self, role: str | None) -> dict[str, str]:
        """The Authorization header of ``role`` (none for ``None``: anonymous)."""
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, role: str | None, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, f"/api/v1{path}", headers=self.headers(role), **kwargs)

    def count(self, table: sa.Table) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def counts(self, *tables: sa.Table) -> dict[str, int]:
        """Rows of ``tables`` and of the audit log: compare before and after a refused request."""
        return {table.name: self.count(table) for table in (*tables, audit_log)}

    def principal(self, role: str) -> Principal:
        return Principal(self.users[role], role, UserRole(role))

    def scope(self, role: str) -> Scope:
        return scope_of(self.engine, self.principal(role))


def unique(prefix: str) -> str:
    """A name no other test uses (records created by tests stay in the shared world)."""
    return f"{prefix} {next(_names)}"


def _first(engine: Engine, query: sa.Select[Any]) -> int:
    with engine.connect() as conn:
        found = conn.execute(query.limit(1)).scalar_one_or_none()
    assert found is not None, f"the demo has no record for {query}"
    return int(found)


def _ids(engine: Engine, rep: Scope, manager: Scope) -> dict[str, int]:
    o, a, c, act = opportunities, accounts, contacts, activities
    mine = o.c.owner_id.in_(sorted(rep.owner_ids or ()))
    team = o.c.owner_id.in_(sorted((manager.owner_ids or frozenset()) - (rep.owner_ids or frozenset())))
    outside = o.c.owner_id.not_in(sorted(manager.owner_ids or ()))
    ids = {
        "own_deal": _first(engine, sa.select(o.c.id).where(mine).order_by(o.c.id)),
        "team_deal": _first(engine, sa.select(o.c.id).where(team).order_by(o.c.id)),
        "other_deal": _first(engine, sa.select(o.c.id).where(outside).order_by(o.c.id)),
        "other_account": _first(
            engine, sa.select(a.c.id).where(sa.not_(account_visible(manager))).order_by(a.c.id)
        ),
        "own_contact": _first(engine, sa.select(c.c.id).where(contact_visible(rep)).order_by(c.c.id)),
        "other_contact": _first(
            engine, sa.select(c.c.id).where(sa.not_(contact_visible(manager))).order_by(c.c.id)
        ),
        "own_activity": _first(engine, sa.select(act.c.id).where(activity_visible(rep)).order_by(act.c.id)),
        "other_activity": _first(
            engine, sa.select(act.c.id).where(sa.not_(activity_visible(manager))).order_by(act.c.id)
        ),
    }
    with engine.connect() as conn:
        ids["own_account"] = int(
            conn.execute(sa.select(o.c.account_id).where(o.c.id == ids["own_deal"])).scalar_one()
        )
    everyone = Scope(owner_ids=None, can_write=True)
    for kind in ("own", "team", "other"):
        deal = get_opportunity(engine, everyone, ids[f"{kind}_deal"])
        assert deal.qualification, f"the {kind} deal has no qualification questions"
        ids[f"{kind}_question"] = deal.qualification[0].question_id
    return ids


def build_world(engine: Engine, backend: str) -> World:
    """The demo organisation in ``engine`` (migrated, empty), with a token per demo login."""
    summary = create_demo(engine, seed=7, scale=0.2)
    users = {login.role.value: find_user(engine, login.email).id for login in summary.logins}
    assert sorted(users) == sorted(ROLES)
    tokens = {
        role: create_api_token(engine, None, uid, "api tests", via="cli").token for role, uid in users.items()
    }
    world = World(backend, engine, TestClient(create_app(engine)), tokens, users)
    world.ids = _ids(engine, world.scope("rep"), world.scope("manager"))
    return world


def sqlite_engine(directory: Path) -> Engine:
    engine = connect(f"sqlite:///{directory / 'api-demo.db'}")
    upgrade(engine)
    return engine


def postgres_engine(cluster: Cluster) -> Engine:
    name = f"dealsight_api_{next(_names)}"
    admin = connect(cluster.url())
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} TEMPLATE dealsight_template"))
    admin.dispose()
    return connect(cluster.url(name))


@pytest.fixture(scope="session")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if "sqlite" not in _worlds:
        _worlds["sqlite"] = build_world(sqlite_engine(tmp_path_factory.mktemp("api-world")), "sqlite")
    yield _worlds["sqlite"]
    _worlds["sqlite"].engine.dispose()


@pytest.fixture(scope="session")
def pg_world(pg_cluster: Cluster) -> Iterator[World]:
    if "postgresql" not in _worlds:
        _worlds["postgresql"] = build_world(postgres_engine(pg_cluster), "postgresql")
    yield _worlds["postgresql"]
    _worlds["postgresql"].engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest) -> World:
    """The shared demo world on each back end."""
    world: World = request.getfixturevalue("sqlite_world" if request.param == "sqlite" else "pg_world")
    return world
