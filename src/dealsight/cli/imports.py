"""``dealsight import``: CSV and XLSX importers. (Filled in by the importer work.)"""

from __future__ import annotations

import typer

app = typer.Typer(help="Import CSV or XLSX exports.", no_args_is_help=True)
