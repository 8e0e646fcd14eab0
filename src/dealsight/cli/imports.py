"""``dealsight import``: CSV and XLSX importers (see docs/importing.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from dealsight.cli.console import DatabaseOption, err, open_store, out
from dealsight.ingest.entities import ENTITIES
from dealsight.ingest.mapping import load_preset, preset_names
from dealsight.services.imports import ImportResult, import_bundle, import_file

app = typer.Typer(
    help="Import CSV or XLSX exports (one transaction per file or bundle).", no_args_is_help=True
)

PresetOption = typer.Option(None, "--preset", "-p", help="Column names of a known export (see `presets`).")
MappingOption = typer.Option(None, "--mapping", "-m", help="A YAML mapping file.", exists=False)
SheetOption = typer.Option(None, "--sheet", help="XLSX: the sheet to read (default: the first).")
DryRunOption = typer.Option(False, "--dry-run", help="Check everything and report; write nothing.")


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def update(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = bar.add_task(f"importing {label}", total=total)
        bar.update(tasks[label], completed=done)

    with bar:
        yield update


def _show(result: ImportResult) -> None:
    title = "Dry run: nothing was written" if result.dry_run else "Imported"
    table = Table(title=title, title_justify="left")
    for column in ("file", "entity", "rows", "created", "updated", "unchanged"):
        table.add_column(column, justify="right" if column not in ("file", "entity") else "left")
    for r in result.reports:
        table.add_row(r.file, r.entity, f"{r.rows:,}", f"{r.created:,}", f"{r.updated:,}", f"{r.unchanged:,}")
    out.print(table)
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/] {warning}", highlight=False)


def _entity_command(entity: str) -> None:
    def command(
        file: Path = typer.Argument(..., help="CSV or XLSX file."),
        preset: str | None = PresetOption,
        mapping: Path | None = MappingOption,
        sheet: str | None = SheetOption,
        dry_run: bool = DryRunOption,
        database: str | None = DatabaseOption,
    ) -> None:
        engine = open_store(database)
        with _progress() as progress:
            result = import_file(
                engine,
                entity,
                file,
                preset=preset,
                mapping=mapping,
                sheet=sheet,
                dry_run=dry_run,
                progress=progress,
            )
        _show(result)

    command.__doc__ = f"Import {entity.replace('_', ' ')} from a CSV or XLSX file."
    app.command(entity.replace("_", "-"))(command)


for _entity in ENTITIES:  # accounts, ..., history; subscriptions, churn-events, ... (docs/customer-value.md)
    _entity_command(_entity)


@app.command("quotas")
def quotas_command(
    file: Path = typer.Argument(..., help="CSV or XLSX file (see docs/quotas.md)."),
    sheet: str | None = SheetOption,
    dry_run: bool = DryRunOption,
    database: str | None = DatabaseOption,
) -> None:
    """Import reps' and teams' quotas: owner_email or team, period_start, period_end, amount, currency."""
    from dealsight.services.quota_imports import import_quotas

    report = import_quotas(open_store(database), file, sheet=sheet, dry_run=dry_run)
    _show(ImportResult(reports=[report], dry_run=dry_run))


@app.command("bundle")
def bundle_command(
    mapping: Path = typer.Argument(..., help="A bundle mapping listing several files."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Folder of the files (default: beside the mapping)."
    ),
    dry_run: bool = DryRunOption,
    database: str | None = DatabaseOption,
) -> None:
    """Import several files in order, all in one transaction (e.g. examples/mappings/maven_crm.yaml)."""
    engine = open_store(database)
    with _progress() as progress:
        result = import_bundle(engine, mapping, data_dir=data_dir, dry_run=dry_run, progress=progress)
    _show(result)


@app.command("presets")
def presets_command() -> None:
    """List the presets for known exports and the columns each reads."""
    table = Table(title="Presets", title_justify="left")
    table.add_column("preset")
    table.add_column("imports")
    table.add_column("columns (dealsight field <- export column)")
    for name in preset_names():
        preset = load_preset(name)
        columns = ", ".join(f"{f} <- {c!r}" for f, c in preset.columns.items())
        table.add_row(name, preset.entity, columns)
    out.print(table)
