"""Managing users (and, in :mod:`dealsight.services.teams`, teams): the admin's use cases, each change
audited in its own transaction.

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
from dealsight.errors import ConflictError, NotFoundError, PermissionDeniedError
from dealsight.services.access import require_admin
from dealsight.services.auth import end_user_sessions, hash_password
from dealsight.services.org_fields import (
    clean_bool,
    clean_email,
    clean_id,
    clean_name,
    clean_role,
    invalid_field,
    reject_unknown,
    team_ref,
    user_ref,
)
from dealsight.services.record_writes import closes_loop, taken_by
from dealsight.services.teams import TeamView, create_team, get_team, list_teams, update_team
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.schema import teams, users

USER_FIELDS = ("name", "email", "role", "team_id", "manager_id", "active")


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
        query = query.where(users.c.role == clean_role(role).value)
    if team_id is not None:
        query = query.where(users.c.team_id == team_id)
    if active is not None:
        query = query.where(users.c.active.is_(active))
    with engine.connect() as conn:
        rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
    return [_user_view(row) for row in rows]


# checks ----------------------------------------------------------------------------------------------------
def _email_taken(conn: Connection, email: str, other_than: int | None = None) -> None:
    taken = taken_by(conn, users, sa.func.lower(users.c.email), email, other_than)
    if taken is not None:
        raise ConflictError(f"the e-mail {email} is already used by user {taken}")


def _check_manager_chain(conn: Connection, user_id: int, manager_id: int | None) -> None:
    """A ValidationError when making ``manager_id`` the manager of ``user_id`` would close a loop."""
    if manager_id is None:
        return
    if manager_id == user_id:
        raise invalid_field("manager_id", "a user cannot be their own manager")
    bosses = dict(conn.execute(sa.select(users.c.id, users.c.manager_id)).all())
    if closes_loop(bosses, user_id, manager_id):
        raise invalid_field("manager_id", f"user {manager_id} reports (indirectly) to user {user_id}")


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
    require_admin(actor)
    values: dict[str, Any] = {
        "name": clean_name(name),
        "email": clean_email(email),
        "role": clean_role(role).value,
        "active": True,
    }
    values["name_key"] = name_key(values["name"])
    password_hash = hash_password(password) if password is not None else None
    with transaction(engine) as conn:
        _email_taken(conn, values["email"])
        values["team_id"] = team_ref(conn, team)
        values["manager_id"] = user_ref(conn, manager)
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
    require_admin(actor)
    reject_unknown(changes, USER_FIELDS, "user")
    with transaction(engine) as conn:
        before = _read_user(conn, user_id)
        new: dict[str, Any] = {}
        for field, value in changes.items():
            if field == "name":
                new["name"] = clean_name(value)
                new["name_key"] = name_key(new["name"])
            elif field == "email":
                new["email"] = None if value is None else clean_email(value)
                if new["email"] is not None:
                    _email_taken(conn, new["email"], other_than=user_id)
            elif field == "role":
                new["role"] = clean_role(value).value
            elif field == "active":
                new["active"] = clean_bool(value, "active")
            elif field == "team_id":
                new["team_id"] = team_ref(conn, clean_id(value, "team_id"))
            else:
                new["manager_id"] = user_ref(conn, clean_id(value, "manager_id"))
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
