"""Row-level access read from the store, on both back ends: scopes per role, on a hierarchy built in the
database and on the demo organisation (signed in through its demo logins)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.domain.access import Principal, Scope
from dealsight.domain.enums import UserRole
from dealsight.errors import PermissionDeniedError
from dealsight.services.access import load_hierarchy, require_admin, require_write, scope_of
from dealsight.services.auth import authenticate
from dealsight.services.demo import DEMO_PASSWORD, create_demo
from dealsight.store import schema

pytestmark = pytest.mark.storage
TODAY = date(2025, 6, 15)


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` inside the block."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def org(engine: Engine) -> dict[str, int]:
    """Two levels below a VP: the VP (a manager) leads "Sales", whose sub-teams "East" and "West" have their
    own managers and reps; one rep reports to another rep directly; "Support" is elsewhere."""
    ids: dict[str, int] = {}
    with engine.begin() as conn:

        def user(key: str, role: UserRole, **values: Any) -> None:
            ids[key] = int(
                conn.execute(
                    schema.users.insert()
                    .values(name=key, name_key=key, role=role.value, **values)
                    .returning(schema.users.c.id)
                ).scalar_one()
            )

        def team(key: str, **values: Any) -> None:
            ids[key] = int(
                conn.execute(
                    schema.teams.insert().values(name=key, **values).returning(schema.teams.c.id)
                ).scalar_one()
            )

        user("vp", UserRole.MANAGER)
        team("sales", manager_id=ids["vp"])
        user("east_boss", UserRole.MANAGER)
        user("west_boss", UserRole.MANAGER)
        team("east", parent_id=ids["sales"], manager_id=ids["east_boss"])
        team("west", parent_id=ids["sales"], manager_id=ids["west_boss"])
        for boss, own in (("east_boss", "east"), ("west_boss", "west")):  # a team's manager is a member
            conn.execute(schema.users.update().where(schema.users.c.id == ids[boss]).values(team_id=ids[own]))
        team("support")
        user("east_1", UserRole.REP, team_id=ids["east"])
        user("east_2", UserRole.REP, team_id=ids["east"], active=False)
        user("west_1", UserRole.REP, team_id=ids["west"])
        user("trainee", UserRole.REP, manager_id=ids["west_1"])
        user("helpdesk", UserRole.REP, team_id=ids["support"])
        user("cfo", UserRole.EXECUTIVE)
        user("root", UserRole.ADMIN, team_id=ids["support"])
    return ids


def _principal(ids: dict[str, int], key: str, role: UserRole) -> Principal:
    return Principal(ids[key], key, role)


def test_rep_sees_their_own(engine: Engine, org: dict[str, int]) -> None:
    scope = scope_of(engine, _principal(org, "west_1", UserRole.REP))
    assert scope == Scope(frozenset({org["west_1"]}), can_write=True)
    require_write(scope)
    assert not scope.covers(org["trainee"])  # a rep with a report is still a rep: only their own


def test_managers_see_every_level_below(engine: Engine, org: dict[str, int]) -> None:
    with engine.connect() as conn:
        vp = scope_of(conn, _principal(org, "vp", UserRole.MANAGER))
        west = scope_of(conn, _principal(org, "west_boss", UserRole.MANAGER))
        east = scope_of(conn, _principal(org, "east_boss", UserRole.MANAGER))
    names = {v: k for k, v in org.items() if k not in ("sales", "east", "west", "support")}
    assert {names[i] for i in vp.owner_ids or ()} == {
        "vp",
        "east_boss",
        "west_boss",
        "east_1",
        "east_2",
        "west_1",
        "trainee",
    }
    assert {names[i] for i in west.owner_ids or ()} == {"west_boss", "west_1", "trainee"}
    assert {names[i] for i in east.owner_ids or ()} == {"east_boss", "east_1", "east_2"}  # inactive too
    assert vp.can_write and not vp.covers(org["helpdesk"]) and not vp.covers(None)


def test_executive_reads_everything_admin_changes_everything(engine: Engine, org: dict[str, int]) -> None:
    executive = scope_of(engine, _principal(org, "cfo", UserRole.EXECUTIVE))
    assert executive.sees_all and executive.covers(org["helpdesk"]) and executive.covers(None)
    with pytest.raises(PermissionDeniedError, match="executives have read-only access"):
        require_write(executive)
    admin = scope_of(engine, _principal(org, "root", UserRole.ADMIN))
    assert admin == Scope(None, can_write=True)
    require_write(admin)
    require_admin(_principal(org, "root", UserRole.ADMIN))
    require_admin(None)  # the system
    for key, role in (("cfo", UserRole.EXECUTIVE), ("vp", UserRole.MANAGER), ("east_1", UserRole.REP)):
        with pytest.raises(PermissionDeniedError, match="only an admin"):
            require_admin(_principal(org, key, role))


def test_scope_costs_two_queries_for_a_manager_and_none_otherwise(
    engine: Engine, org: dict[str, int]
) -> None:
    with engine.connect() as conn:
        conn.execute(sa.select(1))  # connected before counting
        with _statements(engine) as seen:
            for key, role in (
                ("east_1", UserRole.REP),
                ("cfo", UserRole.EXECUTIVE),
                ("root", UserRole.ADMIN),
            ):
                scope_of(conn, _principal(org, key, role))
        assert seen == []
        with _statements(engine) as seen:
            scope_of(conn, _principal(org, "vp", UserRole.MANAGER))
        assert len(seen) == 2 and "users" in seen[0] and "teams" in seen[1]


def test_a_change_of_reporting_lines_shows_at_once(engine: Engine, org: dict[str, int]) -> None:
    west_boss = _principal(org, "west_boss", UserRole.MANAGER)
    assert not scope_of(engine, west_boss).covers(org["helpdesk"])
    with engine.begin() as conn:
        conn.execute(
            schema.teams.update().where(schema.teams.c.id == org["support"]).values(parent_id=org["west"])
        )
    assert scope_of(engine, west_boss).covers(org["helpdesk"])  # nothing cached
    with engine.connect() as conn:
        hierarchy = load_hierarchy(conn)
    assert hierarchy.team_parent[org["support"]] == org["west"]
    assert hierarchy.user_manager[org["trainee"]] == org["west_1"]


def test_demo_logins_sign_in_and_the_manager_sees_their_team(engine: Engine) -> None:
    summary = create_demo(engine, seed=3, scale=0.05, today=TODAY)
    assert [login.role for login in summary.logins] == [
        UserRole.ADMIN,
        UserRole.EXECUTIVE,
        UserRole.MANAGER,
        UserRole.REP,
    ]
    signed_in = {login.role: authenticate(engine, login.email, DEMO_PASSWORD) for login in summary.logins}
    assert {role: p.role for role, p in signed_in.items()} == {role: role for role in signed_in}
    assert signed_in[UserRole.ADMIN].name == "Demo Admin"
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.users)).mappings().all()
        teams = conn.execute(sa.select(schema.teams)).mappings().all()
    assert len(rows) == summary.users
    assert sum(1 for row in rows if row["password_hash"]) == 4
    manager = signed_in[UserRole.MANAGER]
    [team] = [t for t in teams if t["manager_id"] == manager.user_id]
    team_reps = {r["id"] for r in rows if r["team_id"] == team["id"] and r["role"] == "rep"}
    other_reps = {r["id"] for r in rows if r["role"] == "rep"} - team_reps
    assert len(team_reps) >= 5 and other_reps
    scope = scope_of(engine, manager)
    assert team_reps < (scope.owner_ids or frozenset()) and not other_reps & (scope.owner_ids or frozenset())
    rep = signed_in[UserRole.REP]
    assert rep.user_id in team_reps and scope_of(engine, rep).owner_ids == {rep.user_id}
    assert scope_of(engine, signed_in[UserRole.EXECUTIVE]) == Scope(None, can_write=False)
