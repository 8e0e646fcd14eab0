"""Sign-in on both back ends: password hashing and rules, authenticate, web sessions and API tokens."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.domain.access import Principal
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import UserRole
from dealsight.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from dealsight.services import auth
from dealsight.services.auth import (
    authenticate,
    create_api_token,
    end_session,
    hash_password,
    list_api_tokens,
    principal_for_token,
    revoke_api_token,
    session_principal,
    start_session,
    verify_password,
)
from dealsight.store.audit import audit_entries
from dealsight.store.schema import api_tokens, users, web_sessions
from tests import auth_fixtures
from tests.auth_fixtures import FAST, PASSWORD

pytestmark = pytest.mark.storage
fast_hashing = auth_fixtures.fast_hashing


def _user(
    engine: Engine,
    name: str,
    email: str | None,
    *,
    role: UserRole = UserRole.REP,
    password: str | None = PASSWORD,
    active: bool = True,
) -> Principal:
    hashed = auth._hasher.hash(password) if password else None
    with engine.begin() as conn:
        user_id = conn.execute(
            users.insert()
            .values(
                name=name, name_key=name.lower(), email=email, role=role, active=active, password_hash=hashed
            )
            .returning(users.c.id)
        ).scalar_one()
    return Principal(int(user_id), name, role)


# passwords -------------------------------------------------------------------------------------------------
def test_hash_verifies_the_right_password_only() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "!")
    assert not verify_password("not a hash", PASSWORD)
    assert hash_password(PASSWORD) != hashed  # salted


@pytest.mark.parametrize("password", ["", "short", "123456789", " " * 12])
def test_password_rules(password: str) -> None:
    with pytest.raises(ValidationError) as caught:
        hash_password(password)
    assert [p.field for p in caught.value.problems] == ["password"]


def test_ten_characters_are_enough() -> None:
    assert verify_password(hash_password("0123456789"), "0123456789")


# authenticate ----------------------------------------------------------------------------------------------
def test_authenticate_right_password_records_the_login(engine: Engine) -> None:
    ada = _user(engine, "Ada", "ada@example.com", role=UserRole.MANAGER)
    assert authenticate(engine, " Ada@Example.COM ", PASSWORD) == ada
    with engine.connect() as conn:
        last = conn.execute(sa.select(users.c.last_login_at).where(users.c.id == ada.user_id)).scalar_one()
    assert last is not None and abs(utc_now() - last) < timedelta(minutes=1)


def test_every_failure_says_the_same(engine: Engine, fast_hashing: None) -> None:
    _user(engine, "Ada", "ada@example.com")
    _user(engine, "Bo", "bo@example.com", active=False)
    _user(engine, "Cy", "cy@example.com", password=None)
    attempts = [
        ("ada@example.com", "wrong password!"),
        ("nobody@example.com", PASSWORD),
        ("bo@example.com", PASSWORD),
        ("cy@example.com", PASSWORD),
        ("", PASSWORD),
    ]
    for email, password in attempts:
        with pytest.raises(AuthenticationError) as caught:
            authenticate(engine, email, password)
        assert caught.value.message == "wrong e-mail or password", email
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(users.c.last_login_at).where(users.c.last_login_at.is_not(None))).all()
            == []
        )


def test_an_unknown_email_still_costs_a_verification(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = auth.verify_password

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    with pytest.raises(AuthenticationError):
        authenticate(engine, "nobody@example.com", PASSWORD)
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")


def test_a_hash_with_old_parameters_is_replaced_at_sign_in(engine: Engine) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_hasher", FAST)
        ada = _user(engine, "Ada", "ada@example.com")
    with engine.connect() as conn:
        old = conn.execute(sa.select(users.c.password_hash).where(users.c.id == ada.user_id)).scalar_one()
    assert auth.password_needs_rehash(old)
    authenticate(engine, "ada@example.com", PASSWORD)
    with engine.connect() as conn:
        new = conn.execute(sa.select(users.c.password_hash).where(users.c.id == ada.user_id)).scalar_one()
    assert new != old and not auth.password_needs_rehash(new) and verify_password(new, PASSWORD)


# sessions --------------------------------------------------------------------------------------------------
def test_session_start_resolve_end(engine: Engine, fast_hashing: None) -> None:
    ada = _user(engine, "Ada", "ada@example.com")
    ticket = start_session(engine, ada)
    assert ticket.token != ticket.csrf_token and len(ticket.token) >= 43
    assert session_principal(engine, ticket.token) == (ada, ticket.csrf_token)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(web_sessions.c.token_hash)).scalar_one()
    assert stored == hashlib.sha256(ticket.token.encode()).hexdigest() and ticket.token not in stored
    end_session(engine, ticket.token)
    with pytest.raises(AuthenticationError):
        session_principal(engine, ticket.token)
    end_session(engine, ticket.token)  # ending twice is harmless


def test_session_expiry_unknown_and_deactivated(engine: Engine, fast_hashing: None) -> None:
    ada = _user(engine, "Ada", "ada@example.com")
    start = datetime(2025, 1, 1, 9, 0)
    ticket = start_session(engine, ada, lifetime=timedelta(hours=12), now=start)
    assert ticket.expires_at == datetime(2025, 1, 1, 21, 0)
    assert session_principal(engine, ticket.token, now=start + timedelta(hours=11))[0] == ada
    with pytest.raises(AuthenticationError):
        session_principal(engine, ticket.token, now=start + timedelta(hours=12))
    expired = start_session(engine, ada, lifetime=timedelta(seconds=-1))
    with pytest.raises(AuthenticationError):
        session_principal(engine, expired.token)
    with pytest.raises(AuthenticationError):
        session_principal(engine, "no-such-session")
    live = start_session(engine, ada)
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == ada.user_id).values(active=False))
    with pytest.raises(AuthenticationError):
        session_principal(engine, live.token)


# API tokens ------------------------------------------------------------------------------------------------
def test_token_is_shown_once_stored_hashed_resolves_and_is_audited(
    engine: Engine, fast_hashing: None
) -> None:
    ada = _user(engine, "Ada", "ada@example.com")
    issued = create_api_token(engine, ada, ada.user_id, " laptop ", via="web")
    assert issued.token.startswith(f"ds_{issued.prefix}_") and len(issued.prefix) == 8
    assert issued.prefix.isalnum() and issued.name == "laptop"
    with engine.connect() as conn:
        row = conn.execute(sa.select(api_tokens)).mappings().one()
        entries = audit_entries(conn, entity="api_token", entity_id=issued.id)
    assert row["secret_hash"] == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in str(dict(row)) and row["last_used_at"] is None
    assert {e.field: e.new_value for e in entries} == {
        "user_id": str(ada.user_id),
        "name": "laptop",
        "prefix": issued.prefix,
    }
    assert all(e.via == "web" and e.actor_id == ada.user_id for e in entries)
    assert all(issued.token not in (e.new_value or "") for e in entries)

    assert principal_for_token(engine, issued.token) == ada
    [listed] = list_api_tokens(engine, ada)
    assert listed.id == issued.id and listed.last_used_at is not None and listed.active
    assert "token" not in listed.__dataclass_fields__ and not hasattr(listed, "secret_hash")


def test_last_used_is_written_at_most_once_a_minute(engine: Engine, fast_hashing: None) -> None:
    ada = _user(engine, "Ada", "ada@example.com")
    issued = create_api_token(engine, ada, ada.user_id, "ci")
    noon = datetime(2025, 3, 1, 12, 0, 0)

    def last_used() -> datetime | None:
        with engine.connect() as conn:
            return conn.execute(sa.select(api_tokens.c.last_used_at)).scalar_one()  # type: ignore[no-any-return]

    principal_for_token(engine, issued.token, now=noon)
    principal_for_token(engine, issued.token, now=noon + timedelta(seconds=59))
    assert last_used() == noon
    principal_for_token(engine, issued.token, now=noon + timedelta(seconds=61))
    assert last_used() == noon + timedelta(seconds=61)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "Bearer x",
        "ds_",
        "ds_abc_def",
        "xx_ABCDEFGH_" + "a" * 43,
        "ds_ABCDEFGH_" + "a" * 42,
        "ds_ABCDEFG!_" + "a" * 43,
    ],
)
def test_malformed_tokens_are_refused(engine: Engine, token: str) -> None:
    with pytest.raises(AuthenticationError, match="malformed"):
        principal_for_token(engine, token)


def test_wrong_secret_revoked_and_deactivated_tokens_are_refused(engine: Engine, fast_hashing: None) -> None:
    ada = _user(engine, "Ada", "ada@example.com")
    bo = _user(engine, "Bo", "bo@example.com")
    issued = create_api_token(engine, ada, ada.user_id, "laptop")
    secret = issued.token[len("ds_12345678_") :]
    forged = f"ds_{issued.prefix}_" + ("A" if not secret.startswith("A") else "B") + secret[1:]
    with pytest.raises(AuthenticationError):
        principal_for_token(engine, forged)

    bos = create_api_token(engine, bo, bo.user_id, "script")
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == bo.user_id).values(active=False))
    with pytest.raises(AuthenticationError):
        principal_for_token(engine, bos.token)

    revoked = revoke_api_token(engine, ada, issued.id)
    assert revoked.revoked_at is not None and not revoked.active
    with pytest.raises(AuthenticationError):
        principal_for_token(engine, issued.token)
    assert revoke_api_token(engine, ada, issued.id).revoked_at == revoked.revoked_at  # again: no change
    with engine.connect() as conn:
        revocations = [e for e in audit_entries(conn, entity="api_token") if e.field == "revoked_at"]
    assert len(revocations) == 1 and revocations[0].old_value is None


def test_who_may_create_list_and_revoke_whose_tokens(engine: Engine, fast_hashing: None) -> None:
    ada = _user(engine, "Ada", "ada@example.com")
    bo = _user(engine, "Bo", "bo@example.com", role=UserRole.MANAGER)
    root = _user(engine, "Root", "root@example.com", role=UserRole.ADMIN)
    with pytest.raises(PermissionDeniedError):
        create_api_token(engine, bo, ada.user_id, "not mine")
    adas = create_api_token(engine, root, ada.user_id, "made by the admin")
    bos = create_api_token(engine, None, bo.user_id, "made by the system", via="cli")
    with pytest.raises(NotFoundError):
        revoke_api_token(engine, bo, adas.id)  # someone else's token does not exist for Bo
    with pytest.raises(NotFoundError):
        revoke_api_token(engine, bo, 9999)
    with pytest.raises(PermissionDeniedError):
        list_api_tokens(engine, bo, ada.user_id)
    assert [t.id for t in list_api_tokens(engine, bo)] == [bos.id]
    assert [t.id for t in list_api_tokens(engine, root)] == [adas.id, bos.id]
    assert [t.id for t in list_api_tokens(engine, root, ada.user_id)] == [adas.id]
    assert revoke_api_token(engine, root, bos.id).revoked_at is not None
    assert principal_for_token(engine, adas.token) == ada


def test_token_for_unknown_or_deactivated_user_or_without_name(engine: Engine, fast_hashing: None) -> None:
    gone = _user(engine, "Gone", "gone@example.com", active=False)
    with pytest.raises(NotFoundError):
        create_api_token(engine, None, 4242, "x")
    with pytest.raises(ConflictError):
        create_api_token(engine, None, gone.user_id, "x")
    with pytest.raises(ValidationError) as caught:
        create_api_token(engine, gone, gone.user_id, "  ")
    assert caught.value.problems[0].field == "name"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(api_tokens)).scalar_one() == 0
