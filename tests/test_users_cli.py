"""`dealsight users` and `dealsight tokens`: the first admin, listing, passwords, deactivation, API tokens."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from dealsight.cli.main import app
from dealsight.domain.enums import UserRole
from dealsight.errors import AuthenticationError, ValidationError
from dealsight.services.auth import authenticate, principal_for_token
from dealsight.store.audit import audit_entries
from dealsight.store.schema import api_tokens, users
from tests import auth_fixtures
from tests.auth_fixtures import PASSWORD
from tests.dbdump import count

pytestmark = [pytest.mark.storage, pytest.mark.usefixtures("fast_hashing")]
fast_hashing = auth_fixtures.fast_hashing
runner = CliRunner()
DEALSIGHT = [sys.executable, "-m", "dealsight.cli.main"]
ROOT = ["users", "create", "--email", "Root@Example.com", "--name", "Root"]


def _create_admin(database_url: str) -> None:
    done = runner.invoke(
        app,
        [*ROOT, "--role", "admin", "--password-stdin", "-d", database_url],
        input=PASSWORD + "\n",
    )
    assert done.exit_code == 0, done.output
    assert "created user 1: Root <root@example.com>, admin" in done.output


def test_first_admin_from_stdin_signs_in_and_is_audited_as_the_system(
    engine: Engine, database_url: str
) -> None:
    _create_admin(database_url)
    root = authenticate(engine, "root@example.com", PASSWORD)
    assert root.role is UserRole.ADMIN
    with engine.connect() as conn:
        entries = audit_entries(conn, entity="user", entity_id=root.user_id)
    assert entries and all(
        e.via == "cli" and e.actor_id is None and e.actor_name == "system" for e in entries
    )
    assert {e.field for e in entries} >= {"email", "role", "password"}


def test_create_prompts_twice_and_refuses_a_short_password(engine: Engine, database_url: str) -> None:
    typed = runner.invoke(
        app,
        ["users", "create", "-e", "ada@example.com", "-n", "Ada", "-d", database_url],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert typed.exit_code == 0, typed.output
    assert typed.output.count("Password") == 1 and "Repeat for confirmation" in typed.output
    assert PASSWORD not in typed.output  # hidden input
    assert authenticate(engine, "ada@example.com", PASSWORD).role is UserRole.REP

    short = runner.invoke(
        app,
        ["users", "create", "-e", "bo@example.com", "-n", "Bo", "--password-stdin", "-d", database_url],
        input="short\n",
    )
    assert short.exit_code == 1 and isinstance(short.exception, ValidationError)
    assert count(engine, "users") == 1


def test_list_json_and_table(database_url: str) -> None:
    _create_admin(database_url)
    runner.invoke(
        app,
        ["users", "create", "-e", "rep@example.com", "-n", "Rep One", "--no-password", "-d", database_url],
    )
    listed = runner.invoke(app, ["users", "list", "--json", "-d", database_url])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["email"], r["role"], r["has_password"], r["active"]) for r in rows] == [
        ("root@example.com", "admin", True, True),
        ("rep@example.com", "rep", False, True),
    ]
    assert all("password_hash" not in r for r in rows)
    only_reps = json.loads(
        runner.invoke(app, ["users", "list", "--json", "-r", "rep", "-d", database_url]).output
    )
    assert [r["email"] for r in only_reps] == ["rep@example.com"]
    table = runner.invoke(app, ["users", "list", "-d", database_url])
    assert table.exit_code == 0 and "Users (2)" in table.output
    assert "never yet" in table.output and "cannot" in table.output  # root can sign in, the rep cannot


def test_set_password_and_deactivate(engine: Engine, database_url: str) -> None:
    _create_admin(database_url)
    runner.invoke(
        app, ["users", "create", "-e", "rep@example.com", "-n", "Rep", "--no-password", "-d", database_url]
    )
    with pytest.raises(AuthenticationError):
        authenticate(engine, "rep@example.com", PASSWORD)
    done = runner.invoke(
        app,
        ["users", "set-password", "REP@example.com", "--password-stdin", "-d", database_url],
        input=PASSWORD,
    )
    assert done.exit_code == 0, done.output
    assert authenticate(engine, "rep@example.com", PASSWORD).name == "Rep"
    off = runner.invoke(app, ["users", "deactivate", "rep@example.com", "-d", database_url])
    assert off.exit_code == 0 and "deactivated" in off.output
    with pytest.raises(AuthenticationError):
        authenticate(engine, "rep@example.com", PASSWORD)
    on = runner.invoke(app, ["users", "activate", "rep@example.com", "-d", database_url])
    assert on.exit_code == 0 and authenticate(engine, "rep@example.com", PASSWORD).name == "Rep"
    last_admin = runner.invoke(app, ["users", "deactivate", "root@example.com", "-d", database_url])
    assert last_admin.exit_code == 1 and "last active admin" in str(last_admin.exception)


def test_tokens_create_list_revoke_round_trip(engine: Engine, database_url: str) -> None:
    _create_admin(database_url)
    made = runner.invoke(
        app, ["tokens", "create", "root@example.com", "--name", "nightly export", "-d", database_url]
    )
    assert made.exit_code == 0, made.output
    [token] = [line for line in made.output.splitlines() if line.startswith("ds_")]
    assert "will not be shown again" in made.output and "Authorization: Bearer" in made.output
    assert principal_for_token(engine, token).role is UserRole.ADMIN
    with engine.connect() as conn:
        stored = conn.execute(sa.select(api_tokens.c.secret_hash, api_tokens.c.prefix)).one()
    assert token not in stored and token.startswith(f"ds_{stored.prefix}_")

    listed = runner.invoke(app, ["tokens", "list", "root@example.com", "--json", "-d", database_url])
    [row] = json.loads(listed.output)
    assert (row["name"], row["prefix"], row["active"], row["revoked_at"]) == (
        "nightly export",
        stored.prefix,
        True,
        None,
    )
    assert token not in listed.output
    table = runner.invoke(app, ["tokens", "list", "-d", database_url])
    assert stored.prefix in table.output and "active" in table.output and token not in table.output

    revoked = runner.invoke(app, ["tokens", "revoke", str(row["id"]), "-d", database_url])
    assert revoked.exit_code == 0 and "revoked API token" in revoked.output
    with pytest.raises(AuthenticationError):
        principal_for_token(engine, token)
    assert (
        json.loads(runner.invoke(app, ["tokens", "list", "--json", "-d", database_url]).output)[0]["active"]
        is False
    )
    with engine.connect() as conn:
        actions = [(e.action, e.field, e.via) for e in audit_entries(conn, entity="api_token")]
    assert ("update", "revoked_at", "cli") in actions and ("create", "name", "cli") in actions


def test_errors_are_one_line_and_exit_1(engine: Engine, database_url: str) -> None:
    _create_admin(database_url)
    env = {**os.environ, "DEALSIGHT_DATABASE_URL": database_url}
    for command in (
        ["users", "create", "-e", "root@example.com", "-n", "Again", "--no-password"],
        ["users", "set-password", "nobody@example.com", "--password-stdin"],
        ["tokens", "revoke", "77"],
        ["tokens", "create", "root@example.com", "--name", "  "],
    ):
        done = subprocess.run(
            [*DEALSIGHT, *command], input="", capture_output=True, text=True, env=env, timeout=60
        )
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and len(lines) == 1 and lines[0].startswith("error:"), (
            command,
            done.stderr,
        )
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() == 1


def test_demo_prints_its_logins(engine: Engine, database_url: str) -> None:
    done = runner.invoke(app, ["demo", "--no-serve", "--scale", "0.05", "--seed", "4", "-d", database_url])
    assert done.exit_code == 0, done.output
    assert "with password dealsight-demo (demo only) as:" in done.output
    lines = [line.split() for line in done.output.splitlines() if line.startswith("  ")]
    assert [line[0] for line in lines] == ["admin", "executive", "manager", "rep"]
    assert lines[0][1] == "admin@demo.dealsight.test"
    for line in lines:
        assert authenticate(engine, line[1], "dealsight-demo").role.value == line[0]
