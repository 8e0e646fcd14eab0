"""``dealsight db``: the database schema."""

from __future__ import annotations

import typer

from dealsight.cli.console import DatabaseOption, open_store, out
from dealsight.store.database import current_revision, head_revision, upgrade

app = typer.Typer(help="Create or upgrade the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(database: str | None = DatabaseOption) -> None:
    """Apply every migration (creates the database file on SQLite)."""
    engine = open_store(database, require_schema=False)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    shown = engine.url.render_as_string(hide_password=True)
    if before == after:
        out.print(f"[green]{shown} is up to date[/] (revision {after})")
    else:
        out.print(f"[green]upgraded {shown}[/] from {before or 'empty'} to {after}")


@app.command("status")
def status_command(database: str | None = DatabaseOption) -> None:
    """Show the schema revision of the database and of this version of dealsight."""
    engine = open_store(database, require_schema=False)
    current, head = current_revision(engine), head_revision()
    state = "[green]up to date[/]" if current == head else "[yellow]needs `dealsight db upgrade`[/]"
    out.print(f"database revision {current or 'none'}, code revision {head}: {state}")
