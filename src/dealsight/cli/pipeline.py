"""``dealsight pipeline``: the open pipeline by stage, team and forecast category, as of any date."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime

import typer
from rich.table import Table

from dealsight.analytics.pipeline import PipelineGroup, PipelineSummary
from dealsight.cli.console import DatabaseOption, open_store, out
from dealsight.services.pipeline import pipeline_summary


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: expected a date such as 2024-03-31", param_hint="--as-of"
        ) from None


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _group_table(title: str, first: str, groups: list[PipelineGroup], summary: PipelineSummary) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first)
    for column in ("deals", "amount", "stage-weighted"):
        table.add_column(column, justify="right")
    for group in groups:
        table.add_row(group.name, f"{group.deals:,}", _money(group.amount), _money(group.weighted_amount))
    table.add_section()
    table.add_row(
        "total",
        f"{summary.open_deals:,}",
        _money(summary.open_amount),
        _money(summary.weighted_amount),
        style="bold",
    )
    return table


def _show(summary: PipelineSummary, team: str | None) -> None:
    scope = f" for team {team}" if team else ""
    out.print(f"[bold]Open pipeline{scope} as of {summary.as_of.isoformat()}[/] (replayed from history)")
    out.print(_group_table("By stage", "stage", summary.by_stage, summary))
    out.print(_group_table("By team", "team", summary.by_team, summary))
    out.print(
        _group_table("By forecast category", "forecast category", summary.by_forecast_category, summary)
    )
    closed = Table(title=f"Closed from {summary.quarter_start} to {summary.as_of}", title_justify="left")
    for column in ("outcome", "deals", "amount"):
        closed.add_column(column, justify="left" if column == "outcome" else "right")
    for row in summary.closed_in_quarter:
        closed.add_row(row.outcome.replace("_", " "), f"{row.deals:,}", _money(row.amount))
    out.print(closed)
    if summary.unknown_amount:
        out.print(f"[yellow]note:[/] {summary.unknown_amount:,} open deals have no amount; they add 0 above")


def pipeline_command(
    as_of: str | None = typer.Option(
        None, "--as-of", help="Replay the pipeline as it was at the end of this day (YYYY-MM-DD)."
    ),
    team: str | None = typer.Option(None, "--team", help="Only deals owned by this team and its sub-teams."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    database: str | None = DatabaseOption,
) -> None:
    """Summarise the open pipeline by stage, team and forecast category, as of today or any past date."""
    day = _parse_day(as_of)
    engine = open_store(database)
    summary = pipeline_summary(engine, as_of=day, team=team)
    if as_json:
        print(json.dumps(asdict(summary), default=str, indent=2))
    else:
        _show(summary, team)
