"""Shared terminal output: one console for results, one for messages, and the database option."""

from __future__ import annotations

import os

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from dealsight.store.database import connect, require_current_schema

out = Console()
err = Console(stderr=True)

DatabaseOption = typer.Option(
    None,
    "--database",
    "-d",
    envvar="DEALSIGHT_DATABASE_URL",
    help="Database URL (default sqlite:///dealsight.db).",
    show_default=False,
)


def open_store(url: str | None, *, require_schema: bool = True) -> Engine:
    """The engine for ``url``, its schema checked to be current unless told otherwise."""
    engine = connect(url)
    if require_schema:
        require_current_schema(engine)
    return engine


def debug_enabled() -> bool:
    return os.environ.get("DEALSIGHT_DEBUG", "") not in ("", "0", "false")
