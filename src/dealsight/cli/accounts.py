"""``dealsight accounts``: duplicates and merges. (Filled in by the duplicate-accounts work.)"""

from __future__ import annotations

import typer

app = typer.Typer(help="Find and merge duplicate accounts.", no_args_is_help=True)
