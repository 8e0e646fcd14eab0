"""The fields of users and teams as the admin gives them: cleaning names, e-mails, roles, flags and ids, and
finding the teams and users a field refers to. Shared by :mod:`dealsight.services.users` and
:mod:`dealsight.services.teams`.

Every problem is a :class:`ValidationError` naming its field (``name``, ``email``, ``team_id``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealsight.domain.enums import UserRole
from dealsight.errors import FieldProblem, ValidationError
from dealsight.services.records import invalid
from dealsight.store.schema import teams, users

NAME_LENGTH = 200
EMAIL_LENGTH = 320
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def invalid_field(field: str, problem: str) -> ValidationError:
    """The error for one bad field: ``field: problem``."""
    return invalid([FieldProblem(field, problem)])


def reject_unknown(changes: Mapping[str, object], known: Sequence[str], kind: str) -> None:
    """Raise :class:`ValidationError` naming each field of ``changes`` that a ``kind`` does not have."""
    unknown = sorted(set(changes) - set(known))
    if unknown:
        problems = [FieldProblem(f, f"unknown field; expected one of {', '.join(known)}") for f in unknown]
        raise ValidationError(
            f"unknown {kind} field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}", problems
        )


def is_email_address(text: str) -> bool:
    """Does ``text`` look like an e-mail address (``name@example.com``)?"""
    return _EMAIL.fullmatch(text) is not None


def clean_name(value: object, field: str = "name") -> str:
    """A name with its spaces collapsed; :class:`ValidationError` when empty or too long."""
    if not isinstance(value, str) or not value.strip():
        raise invalid_field(field, "a name is required")
    cleaned = " ".join(value.split())
    if len(cleaned) > NAME_LENGTH:
        raise invalid_field(field, f"at most {NAME_LENGTH} characters")
    return cleaned


def clean_email(value: object) -> str:
    """``value`` trimmed and in lower case; :class:`ValidationError` (field ``email``) unless it looks like
    an e-mail address."""
    if not isinstance(value, str) or not is_email_address(value.strip()) or len(value.strip()) > EMAIL_LENGTH:
        raise invalid_field("email", f"{value!r} is not an e-mail address (expected name@example.com)")
    return value.strip().lower()


def clean_role(value: object) -> UserRole:
    try:
        return UserRole(str(value))
    except ValueError:
        allowed = ", ".join(role.value for role in UserRole)
        raise invalid_field("role", f"{value!r} is not a role; expected one of {allowed}") from None


def clean_bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise invalid_field(field, f"expected true or false, got {value!r}")
    return value


def clean_id(value: object, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_field(field, f"expected an id (a whole number) or null, got {value!r}")
    return value


def _existing(conn: Connection, table: sa.Table, record_id: int | None, field: str, kind: str) -> int | None:
    """``record_id`` after checking that the ``kind`` exists (``None`` stays ``None``)."""
    if (
        record_id is not None
        and conn.execute(sa.select(table.c.id).where(table.c.id == record_id)).first() is None
    ):
        raise invalid_field(field, f"no {kind} with id {record_id}")
    return record_id


def team_ref(conn: Connection, team: int | str | None, field: str = "team_id") -> int | None:
    """A team given by id or by name (ignoring case), checked to exist."""
    if isinstance(team, str) and not team.strip().isdecimal():
        found = conn.execute(
            sa.select(teams.c.id).where(sa.func.lower(teams.c.name) == team.strip().lower())
        ).scalar_one_or_none()
        if found is None:
            raise invalid_field(field, f"no team named {team.strip()!r}")
        return int(found)
    team_id = clean_id(int(team) if isinstance(team, str) else team, field)
    return _existing(conn, teams, team_id, field, "team")


def user_ref(conn: Connection, user: int | str | None, field: str = "manager_id") -> int | None:
    """A user given by id or by e-mail, checked to exist."""
    if isinstance(user, str) and "@" in user:
        found = conn.execute(
            sa.select(users.c.id).where(users.c.email == user.strip().lower())
        ).scalar_one_or_none()
        if found is None:
            raise invalid_field(field, f"no user with e-mail {user.strip()!r}")
        return int(found)
    user_id = clean_id(int(user) if isinstance(user, str) and user.strip().isdecimal() else user, field)
    return _existing(conn, users, user_id, field, "user")


__all__ = [
    "EMAIL_LENGTH",
    "NAME_LENGTH",
    "clean_bool",
    "clean_email",
    "clean_id",
    "clean_name",
    "clean_role",
    "invalid_field",
    "is_email_address",
    "reject_unknown",
    "team_ref",
    "user_ref",
]
