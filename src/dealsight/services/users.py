"""Managing users and teams: the admin's use cases, each change audited in its own transaction.

Decisions (see docs/users.md):

- Only an admin changes users and teams; ``actor=None`` is the system (the ``dealsight users`` command,
  run by whoever holds the database, which is how the first admin is made). A user may set their own
  password (:func:`set_password`).
- E-mail addresses are stored trimmed and in lower case, and are unique ignoring case
  (:class:`ConflictError`); a user without an e-mail (an imported CRM owner) cannot sign in.
- Bad input is a :class:`ValidationError` whose problems name each field; a rule of the organisation
  (the last active admin cannot be demoted or deactivated, an e-mail or team name already taken) is a
  :class:`ConflictError`; an unknown user or team asked for by id is a :class:`NotFoundError`.
- Reporting lines must not loop: a user cannot end up (indirectly) managing their own manager, and a team
  cannot become its own (indirect) parent.
- The audit log gets one row per changed field; a password is recorded as ``(set)`` / ``(changed)``,
  never its value or hash. Setting a password ends the user's open web sessions (``end_sessions``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.domain.access import Principal
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import UserRole
from dealsight.domain.names import name_key
from dealsight.errors import (
    ConflictError,
    FieldProblem,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from dealsight.services.access import require_admin
from dealsight.services.auth import end_user_sessions, hash_password
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.schema import teams, users

USER_FIELDS = ("name", "email", "role", "team_id", "manager_id", "active")
TEAM_FIELDS = ("name", "parent_id", "manager_id")
NAME_LENGTH = 200
EMAIL_LENGTH = 320
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@dataclass(frozen=True)
class UserView:
    """A user as services show them: never their password hash."""

    id: int
    name: str
    email: str | None
    role: UserRole
    team_id: int | None
    team_name: str | None
    manager_id: int | None
    active: bool
    has_password: bool
    last_login_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "role": self.role.value,
            "team_id": self.team_id,
            "team_name": self.team_name,
            "manager_id": self.manager_id,
            "active": self.active,
            "has_password": self.has_password,
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
        }


@dataclass(frozen=True)
class TeamView:
    id: int
    name: str
    parent_id: int | None
    manager_id: int | None
    manager_name: str | None
    members: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "parent_id": self.parent_id,
            "manager_id": self.manager_id,
            "manager_name": self.manager_name,
            "members": self.members,
        }


# validation ------------------------------------------------------------------------------------------------
def _invalid(field: str, problem: str) -> ValidationError:
    return ValidationError(f"{field}: {problem}", [FieldProblem(field, problem)])


def _clean_name(value: object, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(field, "a name is required")
    cleaned = " ".join(value.split())
    if len(cleaned) > NAME_LENGTH:
        raise _invalid(field, f"at most {NAME_LENGTH} characters")
    return cleaned


def clean_email(value: object) -> str:
    """``value`` trimmed and in lower case; :class:`ValidationError` (field ``email``) unless it looks like
    an e-mail address."""
    if not isinstance(value, str) or not _EMAIL.fullmatch(value.strip()) or len(value.strip()) > EMAIL_LENGTH:
        raise _invalid("email", f"{value!r} is not an e-mail address (expected name@example.com)")
    return value.strip().lower()


def _clean_role(value: object) -> UserRole:
    try:
        return UserRole(str(value))
    except ValueError:
        allowed = ", ".join(role.value for role in UserRole)
        raise _invalid("role", f"{value!r} is not a role; expected one of {allowed}") from None


def _clean_bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise _invalid(field, f"expected true or false, got {value!r}")
    return value


def _clean_id(value: object, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field, f"expected an id (a whole number) or null, got {value!r}")
    return value


def _require_actor_admin(actor: Principal | None) -> None:
    require_admin(actor)


# reading ---------------------------------------------------------------------------------------------------
def _user_query() -> sa.Select[Any]:
    return (
        sa.select(
            users.c.id,
            users.c.name,
            users.c.email,
            users.c.role,
            users.c.team_id,
            teams.c.name.label("team_name"),
            users.c.manager_id,
            users.c.active,
            users.c.password_hash.is_not(None).label("has_password"),
            users.c.last_login_at,
        )
        .select_from(users.outerjoin(teams, teams.c.id == users.c.team_id))
        .order_by(users.c.id)
    )


def _user_view(row: sa.RowMapping) -> UserView:
    return UserView(**{**row, "role": UserRole(row["role"]), "has_password": bool(row["has_password"])})


def _read_user(conn: Connection, user_id: int) -> UserView:
    row = conn.execute(_user_query().where(users.c.id == user_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no user with id {user_id}")
    return _user_view(row)


def get_user(engine: Engine, user_id: int) -> UserView:
    """The user with id ``user_id``; :class:`NotFoundError` when there is none."""
    with engine.connect() as conn:
        return _read_user(conn, user_id)


def find_user(engine: Engine, email: str) -> UserView:
    """The user with e-mail ``email`` (any case); :class:`NotFoundError` when there is none."""
    with engine.connect() as conn:
        row = conn.execute(_user_query().where(users.c.email == email.strip().lower())).mappings().first()
    if row is None:
        raise NotFoundError(f"no user with e-mail {email.strip()!r}")
    return _user_view(row)


def list_users(
    engine: Engine,
    *,
    role: UserRole | str | None = None,
    team_id: int | None = None,
    active: bool | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> list[UserView]:
    """Users ordered by id, optionally of one role, one team or one state. Callers check who may list."""
    query = _user_query()
    if role is not None:
        query = query.where(users.c.role == _clean_role(role).value)
    if team_id is not None:
        query = query.where(users.c.team_id == team_id)
    if active is not None:
        query = query.where(users.c.active.is_(active))
    with engine.connect() as conn:
        rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
    return [_user_view(row) for row in rows]


def _team_query() -> sa.Select[Any]:
    manager = users.alias("manager")
    members = (
        sa.select(sa.func.count())
        .select_from(users)
        .where(users.c.team_id == teams.c.id)
        .scalar_subquery()
        .label("members")
    )
    return (
        sa.select(
            teams.c.id,
            teams.c.name,
            teams.c.parent_id,
            teams.c.manager_id,
            manager.c.name.label("manager_name"),
            members,
        )
        .select_from(teams.outerjoin(manager, manager.c.id == teams.c.manager_id))
        .order_by(teams.c.id)
    )


def _read_team(conn: Connection, team_id: int) -> TeamView:
    row = conn.execute(_team_query().where(teams.c.id == team_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no team with id {team_id}")
    return TeamView(**row)


def list_teams(engine: Engine) -> list[TeamView]:
    """Every team, ordered by id, with its manager's name and its number of members."""
    with engine.connect() as conn:
        return [TeamView(**row) for row in conn.execute(_team_query()).mappings()]


def get_team(engine: Engine, team_id: int) -> TeamView:
    with engine.connect() as conn:
        return _read_team(conn, team_id)


# references ------------------------------------------------------------------------------------------------
def _team_ref(conn: Connection, team: int | str | None, field: str = "team_id") -> int | None:
    """A team given by id or by name (ignoring case), checked to exist."""
    if team is None:
        return None
    if isinstance(team, str) and not team.strip().isdigit():
        found = conn.execute(
            sa.select(teams.c.id).where(sa.func.lower(teams.c.name) == team.strip().lower())
        ).scalar_one_or_none()
        if found is None:
            raise _invalid(field, f"no team named {team.strip()!r}")
        return int(found)
    team_id = _clean_id(int(team) if isinstance(team, str) else team, field)
    if (
        team_id is not None
        and conn.execute(sa.select(teams.c.id).where(teams.c.id == team_id)).first() is None
    ):
        raise _invalid(field, f"no team with id {team_id}")
    return team_id


def _user_ref(conn: Connection, user: int | str | None, field: str = "manager_id") -> int | None:
    """A user given by id or by e-mail, checked to exist."""
    if user is None:
        return None
    if isinstance(user, str) and "@" in user:
        found = conn.execute(
            sa.select(users.c.id).where(users.c.email == user.strip().lower())
        ).scalar_one_or_none()
        if found is None:
            raise _invalid(field, f"no user with e-mail {user.strip()!r}")
        return int(found)
    user_id = _clean_id(int(user) if isinstance(user, str) and user.strip().isdigit() else user, field)
    if (
        user_id is not None
        and conn.execute(sa.select(users.c.id).where(users.c.id == user_id)).first() is None
    ):
        raise _invalid(field, f"no user with id {user_id}")
    return user_id


def _email_taken(conn: Connection, email: str, other_than: int | None = None) -> None:
    query = sa.select(users.c.id).where(sa.func.lower(users.c.email) == email)
    if other_than is not None:
        query = query.where(users.c.id != other_than)
    taken = conn.execute(query).scalar_one_or_none()
    if taken is not None:
        raise ConflictError(f"the e-mail {email} is already used by user {taken}")


def _check_manager_chain(conn: Connection, user_id: int, manager_id: int | None) -> None:
    """A ValidationError when making ``manager_id`` the manager of ``user_id`` would close a loop."""
    if manager_id is None:
        return
    if manager_id == user_id:
        raise _invalid("manager_id", "a user cannot be their own manager")
    bosses = dict(conn.execute(sa.select(users.c.id, users.c.manager_id)).all())
    seen: set[int] = set()
    current: int | None = manager_id
    while current is not None and current not in seen:
        if current == user_id:
            raise _invalid("manager_id", f"user {manager_id} reports (indirectly) to user {user_id}")
        seen.add(current)
        current = bosses.get(current)


def _check_team_chain(conn: Connection, team_id: int, parent_id: int | None) -> None:
    if parent_id is None:
        return
    if parent_id == team_id:
        raise _invalid("parent_id", "a team cannot be its own parent")
    parents = dict(conn.execute(sa.select(teams.c.id, teams.c.parent_id)).all())
    seen: set[int] = set()
    current: int | None = parent_id
    while current is not None and current not in seen:
        if current == team_id:
            raise _invalid("parent_id", f"team {parent_id} is (indirectly) under team {team_id}")
        seen.add(current)
        current = parents.get(current)


def _other_active_admins(conn: Connection, user_id: int) -> int:
    """How many other active admins there are; their rows are locked (PostgreSQL) until the transaction
    ends, so that two admins cannot demote each other at the same moment."""
    query = (
        sa.select(users.c.id)
        .where(users.c.role == UserRole.ADMIN.value, users.c.active.is_(True), users.c.id != user_id)
        .with_for_update()
    )
    return len(conn.execute(query).all())


# users -----------------------------------------------------------------------------------------------------
def create_user(
    engine: Engine,
    actor: Principal | None,
    *,
    name: str,
    email: str,
    role: UserRole | str = UserRole.REP,
    password: str | None = None,
    team: int | str | None = None,
    manager: int | str | None = None,
    via: str = "api",
) -> UserView:
    """Create a user who can sign in (with ``password``, or once one is set).

    ``team`` is a team id or name, ``manager`` a user id or e-mail. Only an admin, or the system
    (``actor=None``, the CLI), may create users.
    """
    _require_actor_admin(actor)
    values: dict[str, Any] = {
        "name": _clean_name(name),
        "email": clean_email(email),
        "role": _clean_role(role).value,
        "active": True,
    }
    values["name_key"] = name_key(values["name"])
    password_hash = hash_password(password) if password is not None else None
    with transaction(engine) as conn:
        _email_taken(conn, values["email"])
        values["team_id"] = _team_ref(conn, team)
        values["manager_id"] = _user_ref(conn, manager)
        try:
            user_id = int(
                conn.execute(
                    users.insert().values(**values, password_hash=password_hash).returning(users.c.id)
                ).scalar_one()
            )
        except sa.exc.IntegrityError as exc:  # a concurrent insert of the same e-mail
            raise ConflictError(f"the e-mail {values['email']} is already used") from exc
        fields = {field: (None, values[field]) for field in USER_FIELDS}
        if password_hash is not None:
            fields["password"] = (None, "(set)")
        record_changes(
            conn, actor=actor, via=via, entity="user", entity_id=user_id, action="create", changes=fields
        )
        return _read_user(conn, user_id)


def update_user(
    engine: Engine,
    actor: Principal | None,
    user_id: int,
    changes: Mapping[str, object],
    *,
    via: str = "api",
) -> UserView:
    """Change some of ``name``, ``email``, ``role``, ``team_id``, ``manager_id`` and ``active``.

    Raises :class:`ValidationError` naming each unknown field or bad value (a manager loop among them),
    :class:`ConflictError` for a taken e-mail or for demoting or deactivating the last active admin.
    """
    _require_actor_admin(actor)
    unknown = sorted(set(changes) - set(USER_FIELDS))
    if unknown:
        problems = [
            FieldProblem(f, f"unknown field; expected one of {', '.join(USER_FIELDS)}") for f in unknown
        ]
        raise ValidationError(
            f"unknown user field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}", problems
        )
    with transaction(engine) as conn:
        before = _read_user(conn, user_id)
        new: dict[str, Any] = {}
        for field, value in changes.items():
            if field == "name":
                new["name"] = _clean_name(value)
                new["name_key"] = name_key(new["name"])
            elif field == "email":
                new["email"] = None if value is None else clean_email(value)
                if new["email"] is not None:
                    _email_taken(conn, new["email"], other_than=user_id)
            elif field == "role":
                new["role"] = _clean_role(value).value
            elif field == "active":
                new["active"] = _clean_bool(value, "active")
            elif field == "team_id":
                new["team_id"] = _team_ref(conn, _clean_id(value, "team_id"))
            else:
                new["manager_id"] = _user_ref(conn, _clean_id(value, "manager_id"))
                _check_manager_chain(conn, user_id, new["manager_id"])
        stays_admin = new.get("role", before.role.value) == UserRole.ADMIN.value and new.get(
            "active", before.active
        )
        demotes_an_admin = before.role is UserRole.ADMIN and before.active and not stays_admin
        if demotes_an_admin and _other_active_admins(conn, user_id) == 0:
            raise ConflictError(f"user {user_id} is the last active admin; make another user admin first")
        if not new:
            return before
        conn.execute(users.update().where(users.c.id == user_id).values(**new, updated_at=utc_now()))
        old = before.as_dict()
        record_changes(
            conn,
            actor=actor,
            via=via,
            entity="user",
            entity_id=user_id,
            action="update",
            changes={field: (old[field], new[field]) for field in USER_FIELDS if field in new},
        )
        return _read_user(conn, user_id)


def set_password(
    engine: Engine,
    actor: Principal | None,
    user_id: int,
    password: str,
    *,
    via: str = "api",
    end_sessions: bool = True,
) -> None:
    """Set the password of ``user_id``: one's own, or anyone's for an admin (or the system).

    With ``end_sessions`` (the default) the user's open web sessions end: whoever held one signs in again
    (a page that changes the signed-in user's own password starts them a new session).
    """
    if actor is not None and not actor.is_admin and actor.user_id != user_id:
        raise PermissionDeniedError("only an admin may set another user's password")
    password_hash = hash_password(password)
    with transaction(engine) as conn:
        had = conn.execute(sa.select(users.c.password_hash).where(users.c.id == user_id)).first()
        if had is None:
            raise NotFoundError(f"no user with id {user_id}")
        conn.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(password_hash=password_hash, updated_at=utc_now())
        )
        if end_sessions:
            end_user_sessions(conn, user_id)
        record_changes(
            conn,
            actor=actor,
            via=via,
            entity="user",
            entity_id=user_id,
            action="update",
            changes={
                "password": (
                    "(set)" if had.password_hash else None,
                    "(changed)" if had.password_hash else "(set)",
                )
            },
        )


# teams -----------------------------------------------------------------------------------------------------
def _team_name_taken(conn: Connection, name: str, other_than: int | None = None) -> None:
    query = sa.select(teams.c.id).where(sa.func.lower(teams.c.name) == name.lower())
    if other_than is not None:
        query = query.where(teams.c.id != other_than)
    taken = conn.execute(query).scalar_one_or_none()
    if taken is not None:
        raise ConflictError(f"a team named {name!r} already exists (id {taken})")


def create_team(
    engine: Engine,
    actor: Principal | None,
    name: str,
    parent_id: int | None = None,
    manager_id: int | None = None,
    *,
    via: str = "api",
) -> TeamView:
    """Create a team, optionally under ``parent_id`` and led by ``manager_id``. Admins only."""
    _require_actor_admin(actor)
    cleaned = _clean_name(name)
    with transaction(engine) as conn:
        _team_name_taken(conn, cleaned)
        parent = _team_ref(conn, _clean_id(parent_id, "parent_id"), "parent_id")
        manager = _user_ref(conn, _clean_id(manager_id, "manager_id"))
        team_id = int(
            conn.execute(
                teams.insert()
                .values(name=cleaned, parent_id=parent, manager_id=manager)
                .returning(teams.c.id)
            ).scalar_one()
        )
        record_changes(
            conn,
            actor=actor,
            via=via,
            entity="team",
            entity_id=team_id,
            action="create",
            changes={"name": (None, cleaned), "parent_id": (None, parent), "manager_id": (None, manager)},
        )
        return _read_team(conn, team_id)


def update_team(
    engine: Engine,
    actor: Principal | None,
    team_id: int,
    changes: Mapping[str, object],
    *,
    via: str = "api",
) -> TeamView:
    """Change some of a team's ``name``, ``parent_id`` and ``manager_id``. Admins only; a loop of parents
    is a :class:`ValidationError`, a taken name a :class:`ConflictError`."""
    _require_actor_admin(actor)
    unknown = sorted(set(changes) - set(TEAM_FIELDS))
    if unknown:
        problems = [
            FieldProblem(f, f"unknown field; expected one of {', '.join(TEAM_FIELDS)}") for f in unknown
        ]
        raise ValidationError(
            f"unknown team field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}", problems
        )
    with transaction(engine) as conn:
        before = _read_team(conn, team_id)
        new: dict[str, Any] = {}
        if "name" in changes:
            new["name"] = _clean_name(changes["name"])
            _team_name_taken(conn, new["name"], other_than=team_id)
        if "parent_id" in changes:
            new["parent_id"] = _team_ref(conn, _clean_id(changes["parent_id"], "parent_id"), "parent_id")
            _check_team_chain(conn, team_id, new["parent_id"])
        if "manager_id" in changes:
            new["manager_id"] = _user_ref(conn, _clean_id(changes["manager_id"], "manager_id"))
        if not new:
            return before
        conn.execute(teams.update().where(teams.c.id == team_id).values(**new, updated_at=utc_now()))
        old = before.as_dict()
        record_changes(
            conn,
            actor=actor,
            via=via,
            entity="team",
            entity_id=team_id,
            action="update",
            changes={field: (old[field], value) for field, value in new.items()},
        )
        return _read_team(conn, team_id)


__all__ = [
    "TeamView",
    "UserView",
    "clean_email",
    "create_team",
    "create_user",
    "find_user",
    "get_team",
    "get_user",
    "list_teams",
    "list_users",
    "set_password",
    "update_team",
    "update_user",
]
