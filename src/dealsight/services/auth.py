"""Sign-in: passwords, web sessions and API tokens. Every entry point (API, pages, CLI) resolves its
caller into a :class:`~dealsight.domain.access.Principal` here.

Decisions (see docs/users.md):

- **Passwords** are hashed with argon2id (argon2-cffi's ``PasswordHasher`` and its defaults); a stored hash
  made with older parameters is replaced on the next successful sign-in. A password has at least
  :data:`MIN_PASSWORD_LENGTH` characters (and at most :data:`MAX_PASSWORD_LENGTH`).
- :func:`authenticate` says the same thing (``wrong e-mail or password``) for an unknown e-mail, a wrong
  password, a user without a password and a deactivated user, and verifies a dummy hash for an unknown
  e-mail so that the answer takes about as long either way.
- **Sessions** and **API tokens** are random secrets (``secrets.token_urlsafe(32)``, 256 bits); only their
  SHA-256 is stored (a fast hash is right for high-entropy secrets), so a copy of the database signs no one
  in. A session lasts :data:`SESSION_LIFETIME` unless told otherwise and carries its own CSRF token.
- An API token reads ``ds_<prefix>_<secret>``: the public ``prefix`` (8 letters and digits) finds the row, the
  SHA-256 of the whole token is compared in constant time. The plaintext is returned once, by
  :func:`create_api_token`, and never again. ``last_used_at`` is written at most once a minute per token,
  so that authenticating a request is a single read almost always.
- A deactivated user's sessions and tokens stop working at once (they are checked on every use), and a
  revoked token never works again. Token creation and revocation are audited (entity ``api_token``).
- ``actor=None`` means the system: the ``dealsight`` command run by someone who holds the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from dealsight.domain.access import Principal
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import UserRole
from dealsight.errors import (
    AuthenticationError,
    ConflictError,
    FieldProblem,
    NotFoundError,
    PermissionDeniedError,
)
from dealsight.services.records import invalid
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.schema import api_tokens, users, web_sessions

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
SESSION_LIFETIME = timedelta(hours=12)
TOKEN_PREFIX = "ds_"
TOKEN_NAME_LENGTH = 100  # api_tokens.name
TOKEN_USE_PRECISION = timedelta(minutes=1)
WRONG_CREDENTIALS = "wrong e-mail or password"
_TOKEN_SHAPE = re.compile(r"ds_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{43})")
_PREFIX_ALPHABET = string.ascii_letters + string.digits
_hasher = PasswordHasher()


# passwords -------------------------------------------------------------------------------------------------
def check_password_rules(password: str) -> None:
    """Raise :class:`ValidationError` (field ``password``) unless ``password`` may be used."""
    if len(password) < MIN_PASSWORD_LENGTH:
        problem = f"a password needs at least {MIN_PASSWORD_LENGTH} characters (got {len(password)})"
    elif len(password) > MAX_PASSWORD_LENGTH:
        problem = f"a password has at most {MAX_PASSWORD_LENGTH} characters"
    elif not password.strip():
        problem = "a password cannot be only spaces"
    else:
        return
    raise invalid([FieldProblem("password", problem)])


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, after checking :func:`check_password_rules`."""
    check_password_rules(password)
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Does ``password`` match ``password_hash``? False for a wrong password and for a malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """Was ``password_hash`` made with other parameters than today's (and should be replaced)?"""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def authenticate(engine: Engine, email: str, password: str) -> Principal:
    """The user signing in with ``email`` and ``password``; records their ``last_login_at``.

    Raises :class:`AuthenticationError` ("wrong e-mail or password") for an unknown e-mail, a wrong
    password, a user without a password and a deactivated user alike.
    """
    key = email.strip().lower()
    query = sa.select(users.c.id, users.c.name, users.c.role, users.c.password_hash, users.c.active).where(
        users.c.email == key
    )
    with transaction(engine) as conn:
        row = conn.execute(query).first() if key else None
        if row is None or row.password_hash is None:
            verify_password(_dummy_hash(), password)  # the same work as for a known user
            raise AuthenticationError(WRONG_CREDENTIALS)
        if not verify_password(row.password_hash, password) or not row.active:
            raise AuthenticationError(WRONG_CREDENTIALS)
        values: dict[str, object] = {"last_login_at": utc_now()}
        if password_needs_rehash(row.password_hash):
            values["password_hash"] = _hasher.hash(password)
        conn.execute(users.update().where(users.c.id == row.id).values(**values))
    return Principal(user_id=row.id, name=row.name, role=UserRole(row.role))


# web sessions ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionTicket:
    """A new web session: ``token`` goes into the session cookie, ``csrf_token`` into every form."""

    token: str
    csrf_token: str
    expires_at: datetime


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def start_session(
    engine: Engine,
    principal: Principal,
    *,
    lifetime: timedelta = SESSION_LIFETIME,
    now: datetime | None = None,
) -> SessionTicket:
    """Open a web session for ``principal`` (after :func:`authenticate`); only the token's hash is kept."""
    now = now or utc_now()
    ticket = SessionTicket(
        token=secrets.token_urlsafe(32), csrf_token=secrets.token_urlsafe(32), expires_at=now + lifetime
    )
    with transaction(engine) as conn:
        conn.execute(
            web_sessions.insert().values(
                token_hash=_sha256(ticket.token),
                user_id=principal.user_id,
                csrf_token=ticket.csrf_token,
                created_at=now,
                expires_at=ticket.expires_at,
            )
        )
    return ticket


def session_principal(engine: Engine, token: str, *, now: datetime | None = None) -> tuple[Principal, str]:
    """The principal and CSRF token of the session ``token``.

    Raises :class:`AuthenticationError` when the session is unknown, ended or expired, or its user has been
    deactivated.
    """
    now = now or utc_now()
    query = (
        sa.select(users.c.id, users.c.name, users.c.role, web_sessions.c.csrf_token)
        .select_from(web_sessions.join(users, users.c.id == web_sessions.c.user_id))
        .where(
            web_sessions.c.token_hash == _sha256(token),
            web_sessions.c.ended_at.is_(None),
            web_sessions.c.expires_at > now,
            users.c.active.is_(True),
        )
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise AuthenticationError("the session has ended or expired; sign in again")
    return Principal(user_id=row.id, name=row.name, role=UserRole(row.role)), str(row.csrf_token)


def end_session(engine: Engine, token: str) -> None:
    """Sign out: the session ``token`` stops working (nothing happens for an unknown or ended one)."""
    with transaction(engine) as conn:
        conn.execute(
            web_sessions.update()
            .where(web_sessions.c.token_hash == _sha256(token), web_sessions.c.ended_at.is_(None))
            .values(ended_at=utc_now())
        )


def end_user_sessions(conn: sa.Connection, user_id: int, *, now: datetime | None = None) -> int:
    """End every open session of ``user_id`` in the caller's transaction; returns how many were open."""
    done = conn.execute(
        web_sessions.update()
        .where(web_sessions.c.user_id == user_id, web_sessions.c.ended_at.is_(None))
        .values(ended_at=now or utc_now())
    )
    return int(done.rowcount)


# API tokens ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IssuedToken:
    """A new API token. ``token`` is the only copy of the secret: show it once, it is never stored."""

    id: int
    token: str
    prefix: str
    name: str
    user_id: int
    created_at: datetime


@dataclass(frozen=True)
class ApiTokenView:
    """An API token as listed: never its secret."""

    id: int
    user_id: int
    user_email: str | None
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _may_act_for(actor: Principal | None, user_id: int) -> bool:
    return actor is None or actor.is_admin or actor.user_id == user_id


def _check_token_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > TOKEN_NAME_LENGTH:
        problem = f"a token needs a name of 1 to {TOKEN_NAME_LENGTH} characters"
        raise invalid([FieldProblem("name", problem)])
    return cleaned


def create_api_token(
    engine: Engine,
    actor: Principal | None,
    user_id: int,
    name: str,
    *,
    via: str = "api",
    now: datetime | None = None,
) -> IssuedToken:
    """Issue an API token for ``user_id``: a user for themselves, an admin (or the system) for anyone.

    Raises :class:`PermissionDeniedError` for anyone else, :class:`NotFoundError` for an unknown user,
    :class:`ConflictError` for a deactivated one and :class:`ValidationError` for an empty name.
    """
    if not _may_act_for(actor, user_id):
        raise PermissionDeniedError("only an admin may create API tokens for another user")
    name = _check_token_name(name)
    now = now or utc_now()
    with transaction(engine) as conn:
        active = conn.execute(sa.select(users.c.active).where(users.c.id == user_id)).scalar_one_or_none()
        if active is None:
            raise NotFoundError(f"no user with id {user_id}")
        if not active:
            raise ConflictError(f"user {user_id} is deactivated; activate them before issuing a token")
        prefix = _new_prefix(conn)
        token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        token_id = int(
            conn.execute(
                api_tokens.insert()
                .values(user_id=user_id, name=name, prefix=prefix, secret_hash=_sha256(token), created_at=now)
                .returning(api_tokens.c.id)
            ).scalar_one()
        )
        record_changes(
            conn,
            actor=actor,
            via=via,
            entity="api_token",
            entity_id=token_id,
            action="create",
            changes={"user_id": (None, user_id), "name": (None, name), "prefix": (None, prefix)},
        )
    return IssuedToken(id=token_id, token=token, prefix=prefix, name=name, user_id=user_id, created_at=now)


def _new_prefix(conn: sa.Connection) -> str:
    """8 random letters and digits not used by another token (a clash is rare: 62**8 prefixes)."""
    for _ in range(10):
        prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
        taken = conn.execute(sa.select(api_tokens.c.id).where(api_tokens.c.prefix == prefix)).first()
        if taken is None:
            return prefix
    raise ConflictError("could not find a free API token prefix; try again")  # pragma: no cover


# built once: every API request runs it, and building a join and its cache key costs more than running it
_TOKEN_HOLDER = (
    sa.select(
        api_tokens.c.id,
        api_tokens.c.secret_hash,
        api_tokens.c.revoked_at,
        api_tokens.c.last_used_at,
        users.c.id.label("user_id"),
        users.c.name,
        users.c.role,
        users.c.active,
    )
    .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id))
    .where(api_tokens.c.prefix == sa.bindparam("prefix"))
)


def principal_for_token(engine: Engine, token: str, *, now: datetime | None = None) -> Principal:
    """The principal an API token (``Authorization: Bearer ds_...``) stands for.

    Raises :class:`AuthenticationError` when the token is malformed, unknown or revoked, or its user has
    been deactivated.
    """
    shape = _TOKEN_SHAPE.fullmatch(token.strip())
    if shape is None:
        raise AuthenticationError("malformed API token; expected ds_<prefix>_<secret>")
    with engine.connect() as conn:
        row = conn.execute(_TOKEN_HOLDER, {"prefix": shape.group(1)}).first()
        valid = row is not None and hmac.compare_digest(_sha256(token.strip()), row.secret_hash)
        if row is None or not valid or row.revoked_at is not None or not row.active:
            raise AuthenticationError("unknown, revoked or deactivated API token")
        now = now or utc_now()
        if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_PRECISION:
            conn.execute(api_tokens.update().where(api_tokens.c.id == row.id).values(last_used_at=now))
            conn.commit()
    return Principal(user_id=row.user_id, name=row.name, role=UserRole(row.role))


def _token_views(conn: sa.Connection, where: sa.ColumnElement[bool] | None) -> list[ApiTokenView]:
    query = (
        sa.select(
            api_tokens.c.id,
            api_tokens.c.user_id,
            users.c.email.label("user_email"),
            api_tokens.c.name,
            api_tokens.c.prefix,
            api_tokens.c.created_at,
            api_tokens.c.last_used_at,
            api_tokens.c.revoked_at,
        )
        .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id))
        .order_by(api_tokens.c.id)
    )
    if where is not None:
        query = query.where(where)
    return [ApiTokenView(**row) for row in conn.execute(query).mappings()]


def list_api_tokens(
    engine: Engine, actor: Principal | None, user_id: int | None = None
) -> list[ApiTokenView]:
    """API tokens (revoked ones too), oldest first: a user's own; an admin's (or the system's) for
    ``user_id``, or everyone's when ``user_id`` is None."""
    if actor is not None and not actor.is_admin:
        if user_id not in (None, actor.user_id):
            raise PermissionDeniedError("only an admin may list another user's API tokens")
        user_id = actor.user_id
    with engine.connect() as conn:
        return _token_views(conn, None if user_id is None else api_tokens.c.user_id == user_id)


def revoke_api_token(
    engine: Engine,
    actor: Principal | None,
    token_id: int,
    *,
    via: str = "api",
    now: datetime | None = None,
) -> ApiTokenView:
    """Revoke a token for good: one's own, or anyone's for an admin (or the system).

    Someone else's token is :class:`NotFoundError` for a non-admin, as an unknown id is. Revoking a revoked
    token changes nothing.
    """
    with transaction(engine) as conn:
        found = _token_views(conn, api_tokens.c.id == token_id)
        if not found or not _may_act_for(actor, found[0].user_id):
            raise NotFoundError(f"no API token with id {token_id}")
        view = found[0]
        if view.revoked_at is not None:
            return view
        revoked_at = now or utc_now()
        conn.execute(api_tokens.update().where(api_tokens.c.id == token_id).values(revoked_at=revoked_at))
        record_changes(
            conn,
            actor=actor,
            via=via,
            entity="api_token",
            entity_id=token_id,
            action="update",
            changes={"revoked_at": (None, revoked_at)},
        )
    return replace(view, revoked_at=revoked_at)


__all__ = [
    "MIN_PASSWORD_LENGTH",
    "SESSION_LIFETIME",
    "ApiTokenView",
    "IssuedToken",
    "SessionTicket",
    "authenticate",
    "check_password_rules",
    "create_api_token",
    "end_session",
    "end_user_sessions",
    "hash_password",
    "list_api_tokens",
    "password_needs_rehash",
    "principal_for_token",
    "revoke_api_token",
    "session_principal",
    "start_session",
    "verify_password",
]
