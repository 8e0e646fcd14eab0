"""``dealsight roadmap show PRODUCT``, ``dealsight roadmap gaps [PRODUCT]``, ``dealsight roadmap list`` and
``dealsight import roadmap FILE``: buying process roadmaps and their gaps (docs/roadmaps.md).

Gaps count the questions customers asked in every interview (the command line runs as the system).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from dealsight.analytics.roadmap_gaps import RoadmapGaps
from dealsight.cli.console import DatabaseOption, open_store, out
from dealsight.cli.velocity import JsonOption
from dealsight.domain.access import Scope
from dealsight.domain.roadmaps import STAGE_LABELS, STAGES, roadmap_to_data
from dealsight.services.records import plain
from dealsight.services.roadmap_imports import import_roadmaps
from dealsight.services.roadmaps import gaps, get_roadmap, list_roadmaps

app = typer.Typer(help="Buying process roadmaps per product and their gaps.", no_args_is_help=True)
EVERYONE = Scope(owner_ids=None, can_write=False)


@app.command("list")
def list_command(database: str | None = DatabaseOption) -> None:
    """Every product with a roadmap."""
    found = list_roadmaps(open_store(database))
    if not found:
        out.print("No roadmap yet: `dealsight import roadmap FILE` (docs/roadmaps.md).", highlight=False)
        return
    table = Table(title="Buying roadmaps", title_justify="left")
    for column in ("product", "questions", "version", "updated"):
        table.add_column(column, justify="right" if column in ("questions", "version") else "left")
    for r in found:
        table.add_row(r.product, str(r.questions), str(r.version), r.updated_at.date().isoformat())
    out.print(table)


@app.command("show")
def show_command(
    product: str = typer.Argument(..., help="The product's name (any case) or its roadmap's id."),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """A product's roadmap, stage by stage: concerns, questions, answers and tools."""
    roadmap = get_roadmap(open_store(database), product)
    if as_json:
        print(json.dumps(roadmap_to_data(roadmap), indent=2))
        return
    out.print(f"[bold]{roadmap.product}[/] buying roadmap (version {roadmap.version})", highlight=False)
    for stage in STAGES:
        own, questions = roadmap.stage(stage), roadmap.questions_at(stage)
        table = Table(title=f"{STAGE_LABELS[stage]}", title_justify="left", show_lines=True)
        for column in ("question", "answer", "tools"):
            table.add_column(column, overflow="fold", ratio=2 if column != "tools" else 1)
        for q in questions:
            answer = q.answer or "[red]no answer[/]"
            tools = "; ".join(q.tools) or ("[red]no tool[/]" if q.answer else "")
            table.add_row(q.question, answer, tools)
        extra = []
        if own.concerns:
            extra.append("concerns: " + "; ".join(own.concerns))
        stage_tools = roadmap.tools_at(stage)
        extra.append("tools: " + ("; ".join(stage_tools) if stage_tools else "[red]none[/]"))
        if questions:
            out.print(table)
        else:
            out.print(f"[italic]{STAGE_LABELS[stage]}[/]: no questions", highlight=False)
        out.print("  " + " · ".join(extra), highlight=False)


def _json(found: RoadmapGaps) -> dict[str, Any]:
    stages = [{**plain(s), "without_tool": s.without_tool, "gaps": s.gaps} for s in found.stages]  # type: ignore[dict-item]
    return {"product": found.product, "total": found.total, "summary": found.summary(), "stages": stages}


@app.command("gaps")
def gaps_command(
    product: str | None = typer.Argument(None, help="One product (default: every roadmap)."),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """Questions with no answer, answers with no tool, stages with no tool, and questions customers asked
    in interviews that the roadmap lacks."""
    found = gaps(open_store(database), EVERYONE, product)
    if as_json:
        print(json.dumps([_json(g) for g in found], indent=2))
        return
    if not found:
        out.print("No roadmap yet: `dealsight import roadmap FILE` (docs/roadmaps.md).", highlight=False)
    for roadmap in found:
        out.print(f"[bold]{roadmap.summary()}[/]", highlight=False)
        table = Table(title_justify="left", show_lines=True)
        for column in ("stage", "gap", "what"):
            table.add_column(column, overflow="fold")
        for stage in roadmap.stages:
            name = STAGE_LABELS[stage.stage]
            if stage.without_tool:
                table.add_row(name, "no tool", "nothing gives the buyer an answer at this stage")
            for q in stage.unanswered:
                table.add_row(name, "no answer", q.question)
            for q in stage.answers_without_tool:
                table.add_row(name, "answer, no tool", q.question)
            for m in stage.missing:
                asked = f"asked {m.asked}x in {m.interviews} interview{'s' if m.interviews != 1 else ''}"
                near = f"; closest: {m.closest!r}" if m.closest else ""
                table.add_row(name, "not in roadmap", f"{m.text} ({asked}{near})")
        if roadmap.total:
            out.print(table)


def import_roadmap_command(
    file: Path = typer.Argument(..., help="YAML, CSV or XLSX file of roadmaps (docs/roadmaps.md)."),
    sheet: str | None = typer.Option(None, "--sheet", help="XLSX: the sheet to read (default: the first)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything and report; write nothing."),
    database: str | None = DatabaseOption,
) -> None:
    """Import buying roadmaps: each replaces its product's roadmap (questions matched by key)."""
    result = import_roadmaps(open_store(database), file, sheet=sheet, dry_run=dry_run)
    report = result.report
    what = "Dry run, nothing was written" if dry_run else "Imported"
    out.print(
        f"{what}: {file.name}, {report.rows} roadmap{'s' if report.rows != 1 else ''}: "
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged",
        highlight=False,
    )
    for roadmap in result.roadmaps:
        out.print(
            f"  {roadmap.product}: {len(roadmap.questions)} questions (version {roadmap.version})",
            highlight=False,
        )
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/] {warning}", highlight=False)


__all__ = ["app", "import_roadmap_command"]
