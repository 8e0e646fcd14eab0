"""Managing users and teams on both back ends: validation, conflicts, loops, the last admin, the audit log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.domain.access import Principal
from dealsight.domain.enums import UserRole
from dealsight.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from dealsight.services import auth
from dealsight.services.auth import authenticate, session_principal, start_session
from dealsight.services.users import (
    create_team,
    create_user,
    find_user,
    get_user,
    list_teams,
    list_users,
    set_password,
    update_team,
    update_user,
)
from dealsight.store.audit import audit_entries
from dealsight.store.schema import audit_log, users
from tests import auth_fixtures
from tests.auth_fixtures import PASSWORD
from tests.dbdump import dump

pytestmark = [pytest.mark.storage, pytest.mark.usefixtures("fast_hashing")]
fast_hashing = auth_fixtures.fast_hashing


@pytest.fixture
def root(engine: Engine) -> Principal:
    """The first admin, made by the system (as `dealsight users create` does)."""
    made = create_user(engine, None, name="Root", email="root@example.com", role="admin", via="cli")
    return Principal(made.id, made.name, made.role)


def _as(view_id: int, name: str, role: UserRole) -> Principal:
    return Principal(view_id, name, role)


def test_create_user_normalises_and_audits_without_secrets(engine: Engine, root: Principal) -> None:
    team = create_team(engine, root, "Enterprise")
    ada = create_user(
        engine,
        root,
        name="  Ada   Lovelace ",
        email=" Ada@Example.COM ",
        role=UserRole.MANAGER,
        password=PASSWORD,
        team="enterprise",
        via="web",
    )
    assert (ada.name, ada.email, ada.role, ada.team_id, ada.team_name) == (
        "Ada Lovelace",
        "ada@example.com",
        UserRole.MANAGER,
        team.id,
        "Enterprise",
    )
    assert ada.active and ada.has_password and ada.last_login_at is None
    assert get_user(engine, ada.id) == ada == find_user(engine, "ADA@example.com")
    assert authenticate(engine, "ada@example.com", PASSWORD).user_id == ada.id
    with engine.connect() as conn:
        entries = audit_entries(conn, entity="user", entity_id=ada.id)
        texts = conn.execute(sa.select(audit_log.c.old_value, audit_log.c.new_value)).all()
        stored_hash = conn.execute(sa.select(users.c.password_hash).where(users.c.id == ada.id)).scalar_one()
    assert {e.field: e.new_value for e in entries} == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "role": "manager",
        "team_id": str(team.id),
        "active": "true",
        "password": "(set)",
    }
    assert all(e.action == "create" and e.via == "web" and e.actor_id == root.user_id for e in entries)
    written = " ".join(str(value) for row in texts for value in row)
    assert PASSWORD not in written and stored_hash not in written


def test_duplicate_email_ignoring_case_is_a_conflict(engine: Engine, root: Principal) -> None:
    create_user(engine, root, name="Ada", email="ada@example.com")
    before = dump(engine)
    with pytest.raises(ConflictError, match=r"ada@example\.com is already used"):
        create_user(engine, root, name="Other Ada", email="ADA@example.com")
    bo = create_user(engine, root, name="Bo", email="bo@example.com")
    with pytest.raises(ConflictError):
        update_user(engine, root, bo.id, {"email": "Ada@Example.com"})
    assert get_user(engine, bo.id).email == "bo@example.com"
    assert len(dump(engine)["users"]) == len(before["users"]) + 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"name": "   "}, "name"),
        ({"role": "superuser"}, "role"),
        ({"password": "short"}, "password"),
        ({"team": "No Such Team"}, "team_id"),
        ({"manager": 999}, "manager_id"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    engine: Engine, root: Principal, values: dict[str, object], field: str
) -> None:
    before = dump(engine)
    arguments: dict[str, object] = {"name": "Ada", "email": "ada@example.com", **values}
    with pytest.raises(ValidationError) as caught:
        create_user(engine, root, **arguments)  # type: ignore[arg-type]
    assert [p.field for p in caught.value.problems] == [field]
    assert dump(engine) == before


def test_only_admins_manage_users_and_teams(engine: Engine, root: Principal) -> None:
    made = create_user(engine, root, name="Mia", email="mia@example.com", role="manager")
    mia = _as(made.id, "Mia", UserRole.MANAGER)
    cfo = _as(
        create_user(engine, root, name="Cfo", email="cfo@example.com", role="executive").id,
        "Cfo",
        UserRole.EXECUTIVE,
    )
    for actor in (mia, cfo):
        with pytest.raises(PermissionDeniedError):
            create_user(engine, actor, name="X", email="x@example.com")
        with pytest.raises(PermissionDeniedError):
            update_user(engine, actor, made.id, {"name": "Mia B"})
        with pytest.raises(PermissionDeniedError):
            create_team(engine, actor, "Mine")
    with pytest.raises(PermissionDeniedError):
        set_password(engine, mia, root.user_id, PASSWORD)
    set_password(engine, mia, mia.user_id, PASSWORD)  # one's own
    assert authenticate(engine, "mia@example.com", PASSWORD) == mia


def test_update_user_checks_fields_and_values(engine: Engine, root: Principal) -> None:
    ada = create_user(engine, root, name="Ada", email="ada@example.com")
    with pytest.raises(ValidationError) as caught:
        update_user(engine, root, ada.id, {"name": "Ada B", "salary": 1, "password_hash": "x"})
    assert sorted(p.field for p in caught.value.problems) == ["password_hash", "salary"]
    for changes, field in (
        ({"active": "yes"}, "active"),
        ({"team_id": "3"}, "team_id"),
        ({"team_id": 404}, "team_id"),
        ({"manager_id": True}, "manager_id"),
        ({"role": "boss"}, "role"),
        ({"email": None}, None),
    ):
        if field is None:
            assert update_user(engine, root, ada.id, changes).email is None
            continue
        with pytest.raises(ValidationError) as caught:
            update_user(engine, root, ada.id, changes)
        assert [p.field for p in caught.value.problems] == [field]
    with pytest.raises(NotFoundError):
        update_user(engine, root, 4040, {"name": "Nobody"})
    assert get_user(engine, ada.id).name == "Ada"


def test_updates_are_audited_with_old_and_new_values(engine: Engine, root: Principal) -> None:
    team = create_team(engine, root, "Mid-Market")
    boss = create_user(engine, root, name="Boss", email="boss@example.com", role="manager")
    ada = create_user(engine, root, name="Ada", email="ada@example.com")
    updated = update_user(
        engine,
        root,
        ada.id,
        {"name": "Ada King", "role": "manager", "team_id": team.id, "manager_id": boss.id, "active": True},
        via="web",
    )
    assert (updated.name, updated.role, updated.team_id, updated.manager_id) == (
        "Ada King",
        UserRole.MANAGER,
        team.id,
        boss.id,
    )
    with engine.connect() as conn:
        entries = [e for e in audit_entries(conn, entity="user", entity_id=ada.id) if e.action == "update"]
    assert {e.field: (e.old_value, e.new_value) for e in entries} == {
        "name": ("Ada", "Ada King"),
        "role": ("rep", "manager"),
        "team_id": (None, str(team.id)),
        "manager_id": (None, str(boss.id)),
    }  # active did not change: no row
    assert all(e.via == "web" and e.actor_name == "Root" for e in entries)
    unchanged = update_user(engine, root, ada.id, {})
    with engine.connect() as conn:
        assert (
            len(audit_entries(conn, entity="user", entity_id=ada.id)) == len(entries) + 4
        )  # name, email, role, active created
    assert unchanged == updated


def test_a_manager_loop_is_refused(engine: Engine, root: Principal) -> None:
    a = create_user(engine, root, name="A", email="a@example.com", role="manager")
    b = create_user(engine, root, name="B", email="b@example.com", role="manager", manager=a.id)
    c = create_user(engine, root, name="C", email="c@example.com", manager="b@example.com")
    assert c.manager_id == b.id
    with pytest.raises(ValidationError) as caught:
        update_user(engine, root, a.id, {"manager_id": c.id})
    assert caught.value.problems[0].field == "manager_id" and "reports (indirectly)" in caught.value.message
    with pytest.raises(ValidationError):
        update_user(engine, root, a.id, {"manager_id": a.id})
    assert get_user(engine, a.id).manager_id is None
    assert update_user(engine, root, c.id, {"manager_id": a.id}).manager_id == a.id  # no loop: fine


def test_the_last_active_admin_stays(engine: Engine, root: Principal) -> None:
    for changes in ({"role": "manager"}, {"active": False}):
        with pytest.raises(ConflictError, match="last active admin"):
            update_user(engine, root, root.user_id, changes)
    assert get_user(engine, root.user_id).role is UserRole.ADMIN
    second = create_user(engine, root, name="Second", email="second@example.com", role="admin")
    update_user(engine, root, second.id, {"active": False})
    with pytest.raises(ConflictError):  # an inactive admin does not count
        update_user(engine, root, root.user_id, {"role": "rep"})
    update_user(engine, root, second.id, {"active": True})
    assert update_user(engine, root, root.user_id, {"role": "executive"}).role is UserRole.EXECUTIVE
    with pytest.raises(ConflictError):
        update_user(engine, None, second.id, {"role": "rep"})


def test_set_password_is_audited_without_the_password_and_ends_sessions(
    engine: Engine, root: Principal
) -> None:
    ada = create_user(engine, root, name="Ada", email="ada@example.com")
    assert not ada.has_password
    set_password(engine, root, ada.id, PASSWORD)
    principal = authenticate(engine, "ada@example.com", PASSWORD)
    ticket = start_session(engine, principal)
    set_password(engine, principal, ada.id, PASSWORD + " 2", via="web")
    with pytest.raises(auth.AuthenticationError):
        session_principal(engine, ticket.token)
    with pytest.raises(auth.AuthenticationError):
        authenticate(engine, "ada@example.com", PASSWORD)
    assert get_user(engine, ada.id).has_password
    with engine.connect() as conn:
        entries = [e for e in audit_entries(conn, entity="user", entity_id=ada.id) if e.field == "password"]
    assert [(e.old_value, e.new_value, e.actor_id) for e in entries] == [
        ("(set)", "(changed)", ada.id),
        (None, "(set)", root.user_id),
    ]
    with pytest.raises(ValidationError):
        set_password(engine, root, ada.id, "too short")
    with pytest.raises(NotFoundError):
        set_password(engine, root, 4040, PASSWORD)


def test_list_users_filters_and_pages(engine: Engine, root: Principal) -> None:
    team = create_team(engine, root, "Commercial")
    for index in range(5):
        create_user(engine, root, name=f"Rep {index}", email=f"rep{index}@example.com", team=team.id)
    gone = create_user(engine, root, name="Gone", email="gone@example.com", team=team.id)
    update_user(engine, root, gone.id, {"active": False})
    reps = list_users(engine, role="rep")
    assert [u.name for u in reps] == ["Rep 0", "Rep 1", "Rep 2", "Rep 3", "Rep 4", "Gone"]
    assert [u.name for u in list_users(engine, team_id=team.id, active=False)] == ["Gone"]
    assert [u.name for u in list_users(engine, role=UserRole.REP, limit=2, offset=2)] == ["Rep 2", "Rep 3"]
    assert [u.name for u in list_users(engine, role="admin")] == ["Root"]
    with pytest.raises(ValidationError):
        list_users(engine, role="king")
    with pytest.raises(NotFoundError):
        get_user(engine, 4040)
    with pytest.raises(NotFoundError):
        find_user(engine, "nobody@example.com")
    assert reps[0].as_dict()["role"] == "rep" and "password_hash" not in reps[0].as_dict()


def test_teams_create_update_list_and_refuse_loops(engine: Engine, root: Principal) -> None:
    boss = create_user(engine, root, name="Boss", email="boss@example.com", role="manager")
    sales = create_team(engine, root, "Sales", manager_id=boss.id)
    east = create_team(engine, root, "East", parent_id=sales.id)
    west = create_team(engine, root, "West", parent_id=east.id)
    create_user(engine, root, name="Rep", email="rep@example.com", team="West")
    with pytest.raises(ConflictError):
        create_team(engine, root, "sales")
    with pytest.raises(ValidationError) as caught:
        update_team(engine, root, sales.id, {"parent_id": west.id})
    assert caught.value.problems[0].field == "parent_id"
    with pytest.raises(ValidationError):
        update_team(engine, root, sales.id, {"parent_id": sales.id})
    with pytest.raises(ValidationError) as caught:
        update_team(engine, root, sales.id, {"colour": "red"})
    assert caught.value.problems[0].field == "colour"
    with pytest.raises(ConflictError):
        update_team(engine, root, east.id, {"name": "WEST"})
    moved = update_team(engine, root, west.id, {"parent_id": sales.id, "name": "West Coast"}, via="web")
    assert (moved.parent_id, moved.name, moved.members) == (sales.id, "West Coast", 1)
    listed = list_teams(engine)
    assert [(t.name, t.manager_name, t.members) for t in listed] == [
        ("Sales", "Boss", 0),
        ("East", None, 0),
        ("West Coast", None, 1),
    ]
    with engine.connect() as conn:
        entries = audit_entries(conn, entity="team", entity_id=west.id)
    assert {(e.action, e.field): (e.old_value, e.new_value) for e in entries} == {
        ("update", "parent_id"): (str(east.id), str(sales.id)),
        ("update", "name"): ("West", "West Coast"),
        ("create", "name"): (None, "West"),
        ("create", "parent_id"): (None, str(east.id)),
    }
    with pytest.raises(NotFoundError):
        update_team(engine, root, 4040, {"name": "Nowhere"})
