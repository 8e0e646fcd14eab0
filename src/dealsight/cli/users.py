"""``dealsight users`` and ``dealsight tokens``: sign-in accounts and API tokens from the command line.

The commands are for whoever holds the database: creating the first admin, recovering a lost admin
password, issuing a token to a script. They act as the system (audited with ``via="cli"`` and no actor).
See docs/users.md.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import typer
from rich.table import Table

from dealsight.cli.console import DatabaseOption, open_store, out
from dealsight.domain.enums import UserRole
from dealsight.services.auth import (
    check_password_rules,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
)
from dealsight.services.users import (
    UserView,
    create_user,
    find_user,
    list_users,
    set_password,
    update_user,
)

app = typer.Typer(
    help="Users who can sign in: create, list, set passwords, deactivate.", no_args_is_help=True
)
tokens_app = typer.Typer(help="API tokens for scripts and integrations.", no_args_is_help=True)

PasswordStdinOption = typer.Option(
    False, "--password-stdin", help="Read the password from the first line of standard input."
)
EmailArgument = typer.Argument(..., help="The user's e-mail.")
ROLES = ", ".join(role.value for role in UserRole)


def _table(title: str, columns: tuple[str, ...]) -> Table:
    """A table with these columns, ids right-aligned, long values folded rather than cut."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column == "id" else "left", overflow="fold")
    return table


def _read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice without echo."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    check_password_rules(password)
    return password


@app.command("create")
def create_command(
    email: str = typer.Option(..., "--email", "-e", help="E-mail address, used to sign in."),
    name: str = typer.Option(..., "--name", "-n", help="Full name."),
    role: str = typer.Option(UserRole.REP.value, "--role", "-r", help=f"One of {ROLES}."),
    team: str | None = typer.Option(None, "--team", "-t", help="Team name or id."),
    manager: str | None = typer.Option(None, "--manager", "-m", help="The manager's e-mail or id."),
    password_stdin: bool = PasswordStdinOption,
    no_password: bool = typer.Option(
        False, "--no-password", help="Create the user without a password (they cannot sign in yet)."
    ),
    database: str | None = DatabaseOption,
) -> None:
    """Create a user (the first admin: --role admin); asks for the password twice unless told otherwise."""
    engine = open_store(database)
    password = None if no_password else _read_password(password_stdin)
    user = create_user(
        engine,
        None,
        name=name,
        email=email,
        role=role,
        password=password,
        team=team,
        manager=manager,
        via="cli",
    )
    out.print(
        f"created user {user.id}: {user.name} <{user.email}>, {user.role.value}"
        + ("" if user.has_password else " (no password: set one with `dealsight users set-password`)"),
        highlight=False,
        soft_wrap=True,
    )


@app.command("list")
def list_command(
    role: str | None = typer.Option(None, "--role", "-r", help=f"Only this role ({ROLES})."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON list instead of a table."),
    database: str | None = DatabaseOption,
) -> None:
    """Every user, with role, team and whether they can sign in."""
    found = list_users(open_store(database), role=role, limit=None)
    if as_json:
        typer.echo(json.dumps([user.as_dict() for user in found], indent=2))
        return
    if not found:
        out.print("No users. Create the first admin with `dealsight users create --role admin`.")
        return
    table = _table(f"Users ({len(found)})", ("id", "name", "e-mail", "role", "team", "sign-in"))
    for user in found:
        table.add_row(
            str(user.id), user.name, user.email or "", user.role.value, user.team_name or "", _sign_in(user)
        )
    out.print(table)


def _sign_in(user: UserView) -> str:
    if not user.active:
        return "[red]deactivated[/]"
    if not user.has_password or not user.email:
        return "[dim]cannot[/]"
    return f"last {user.last_login_at:%Y-%m-%d}" if user.last_login_at else "never yet"


@app.command("set-password")
def set_password_command(
    email: str = EmailArgument,
    password_stdin: bool = PasswordStdinOption,
    database: str | None = DatabaseOption,
) -> None:
    """Set (or reset) a user's password; their open web sessions end."""
    engine = open_store(database)
    user = find_user(engine, email)
    set_password(engine, None, user.id, _read_password(password_stdin), via="cli")
    out.print(f"password set for {user.name} <{user.email}>", highlight=False)


def _set_active(email: str, database: str | None, active: bool) -> None:
    engine = open_store(database)
    user = update_user(engine, None, find_user(engine, email).id, {"active": active}, via="cli")
    state = "active" if user.active else "deactivated: their sessions and API tokens no longer work"
    out.print(f"{user.name} <{user.email}> is {state}", highlight=False, soft_wrap=True)


@app.command("deactivate")
def deactivate_command(email: str = EmailArgument, database: str | None = DatabaseOption) -> None:
    """Stop a user from signing in (their deals and history stay)."""
    _set_active(email, database, False)


@app.command("activate")
def activate_command(email: str = EmailArgument, database: str | None = DatabaseOption) -> None:
    """Let a deactivated user sign in again."""
    _set_active(email, database, True)


@tokens_app.command("create")
def token_create_command(
    email: str = typer.Argument(..., help="The e-mail of the user the token acts for."),
    name: str = typer.Option(..., "--name", "-n", help="What the token is for, e.g. 'nightly export'."),
    database: str | None = DatabaseOption,
) -> None:
    """Issue an API token; it is printed once and cannot be shown again."""
    engine = open_store(database)
    user = find_user(engine, email)
    issued = create_api_token(engine, None, user.id, name, via="cli")
    out.print(
        f"API token {issued.id} '{issued.name}' for {user.name} <{user.email}>:",
        highlight=False,
        soft_wrap=True,
    )
    typer.echo(issued.token)
    out.print(
        "[yellow]Copy it now: it will not be shown again.[/] "
        "Send it as the header `Authorization: Bearer <token>`.",
        highlight=False,
        soft_wrap=True,
    )


@tokens_app.command("list")
def token_list_command(
    email: str | None = typer.Argument(None, help="Only this user's tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON list instead of a table."),
    database: str | None = DatabaseOption,
) -> None:
    """API tokens (never their secrets), revoked ones included."""
    engine = open_store(database)
    user_id = find_user(engine, email).id if email else None
    tokens = list_api_tokens(engine, None, user_id)
    if as_json:
        rows = [{**asdict(token), "active": token.active} for token in tokens]
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not tokens:
        out.print("No API tokens.")
        return
    table = _table("API tokens", ("id", "user", "name", "prefix", "created", "last used", "state"))
    for token in tokens:
        table.add_row(
            str(token.id),
            token.user_email or str(token.user_id),
            token.name,
            token.prefix,
            f"{token.created_at:%Y-%m-%d}",
            f"{token.last_used_at:%Y-%m-%d}" if token.last_used_at else "never",
            "active" if token.revoked_at is None else f"[red]revoked[/] {token.revoked_at:%Y-%m-%d}",
        )
    out.print(table)


@tokens_app.command("revoke")
def token_revoke_command(
    token_id: int = typer.Argument(..., help="The token's id (see `dealsight tokens list`)."),
    database: str | None = DatabaseOption,
) -> None:
    """Revoke an API token for good."""
    token = revoke_api_token(open_store(database), None, token_id, via="cli")
    out.print(f"revoked API token {token.id} '{token.name}' of {token.user_email}", highlight=False)
