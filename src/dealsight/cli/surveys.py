"""``dealsight import survey FILE`` and ``dealsight needs``: needs surveys from a file, and what customers
say matters set against what each internal function believes (docs/needs.md).

``dealsight needs`` prints, for the newest survey (or ``--survey NAME``) and the customers of
``--segment`` / ``--industry`` (all by default): the weighted needs with 95% intervals, broken down by
segment (or ``--by industry``), the competitor grid with each vendor's weighted score, each internal
function's perception gap, the opportunity scores and the flanking candidates; ``--json`` prints one JSON
object instead of tables.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from dealsight.analytics.needs import FunctionGap, NeedsAnalysis, NeedWeights
from dealsight.analytics.survey_answers import DEFAULT_RESAMPLES
from dealsight.cli.console import DatabaseOption, err, open_store, out
from dealsight.cli.velocity import JsonOption, parse_day
from dealsight.services.survey_imports import import_survey
from dealsight.services.surveys import SurveyAnalysis, find_survey, survey_analysis


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [part.strip() for part in text.split(",") if part.strip()]


def import_survey_command(
    file: Path = typer.Argument(..., help="CSV or XLSX file, one row per respondent (docs/needs.md)."),
    name: str | None = typer.Option(None, "--name", help="The survey's name (default: the file's name)."),
    conducted_on: str | None = typer.Option(
        None, "--date", help="The survey's day, YYYY-MM-DD (default today)."
    ),
    us: str | None = typer.Option(None, "--us", help="Our own vendor in the rating columns (default 'us')."),
    needs: str | None = typer.Option(None, "--needs", help="The needs the file must ask, comma-separated."),
    vendors: str | None = typer.Option(
        None, "--vendors", help="The vendors the file must rate, comma-separated."
    ),
    sheet: str | None = typer.Option(None, "--sheet", help="XLSX: the sheet to read (default: the first)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything and report; write nothing."),
    database: str | None = DatabaseOption,
) -> None:
    """Import a needs survey: each respondent's 100 points across the needs, 0-10 ratings of each vendor."""
    result = import_survey(
        open_store(database),
        file,
        name=name,
        conducted_on=parse_day(conducted_on, "--date"),
        us=us,
        needs=_names(needs),
        vendors=_names(vendors),
        sheet=sheet,
        dry_run=dry_run,
    )
    report, survey = result.report, result.survey
    assert survey is not None
    what = "Dry run, nothing was written" if dry_run else "Imported"
    state = "a new survey" if result.created_survey else "an existing survey"
    out.print(
        f"{what}: {file.name} into {state} {survey.name!r} ({survey.conducted_on}; needs "
        f"{', '.join(survey.needs)}; vendors {', '.join(survey.vendors)}, us = {survey.us!r})",
        highlight=False,
    )
    out.print(
        f"{report.rows:,} respondents: {report.created:,} created, {report.updated:,} updated, "
        f"{report.unchanged:,} unchanged",
        highlight=False,
    )
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/] {warning}", highlight=False)


# printing the analysis -------------------------------------------------------------------------------------
def _n(value: float | None, digits: int = 1) -> str:
    """A figure to ``digits`` decimals (``-`` when unknown; never ``-0.0``)."""
    if value is None:
        return "-"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _interval(low: float | None, high: float | None, digits: int = 1) -> str:
    return "-" if low is None or high is None else f"{_n(low, digits)} to {_n(high, digits)}"


def _weights_table(weights: NeedWeights) -> Table:
    small = ", a small sample" if weights.small_sample else ""
    table = Table(
        title=f"Weighted needs: customers' mean points of 100 ({weights.group}, "
        f"{weights.respondents}{small})",
        title_justify="left",
    )
    for column in ("need", "points", "95% interval"):
        table.add_column(column, justify="left" if column == "need" else "right")
    for row in sorted(weights.needs, key=lambda w: -(w.points or 0)):
        table.add_row(row.need, _n(row.points), _interval(row.low, row.high))
    return table


def _breakdown_table(analysis: NeedsAnalysis) -> Table:
    by = analysis.breakdown[0].dimension
    table = Table(title=f"By {by}: mean points (95% interval)", title_justify="left")
    table.add_column(by)
    table.add_column("n", justify="right")
    for need in analysis.needs:
        table.add_column(need, justify="right")
    for group in analysis.breakdown:
        cells = [f"{_n(w.points, 0)} ({_interval(w.low, w.high, 0)})" for w in group.needs]
        table.add_row(group.group, f"{group.respondents}{'*' if group.small_sample else ''}", *cells)
    return table


def _grid_table(analysis: NeedsAnalysis) -> Table:
    grid = analysis.grid
    weights = ", ".join(f"{n} {w:.2f}" for n, w in zip(grid.needs, grid.weights, strict=True))
    table = Table(
        title=f"Competitor grid: customers' mean rating 0-10; weighted score = sum of weight x rating "
        f"(weights: {weights})",
        title_justify="left",
    )
    table.add_column("vendor")
    for need in grid.needs:
        table.add_column(need, justify="right")
    table.add_column("weighted", justify="right")
    for row in grid.vendors:
        name = row.vendor + (" (leader)" if row.vendor == grid.leader else "")
        if row.is_us and row.vendor.casefold() != "us":
            name += " (us)"
        score = _n(row.weighted_score, 2) + ("*" if row.partial else "")
        table.add_row(name, *(_n(r) for r in row.ratings), score)
    return table


def _gap_table(gap: FunctionGap) -> Table:
    small = ", a small sample" if gap.small_sample else ""
    table = Table(
        title=f"{gap.function} ({gap.respondents}{small}): points they believe customers give each need, "
        "and the rating of us they believe customers give, against customers'",
        title_justify="left",
    )
    for column in ("need", "believed", "customers", "gap (95% interval)", "us: believed", "customers", "gap"):
        table.add_column(column, justify="left" if column == "need" else "right", no_wrap=column != "need")
    for points, rating in zip(gap.weights, gap.ratings_of_us, strict=True):
        mark = " *" if points.distinguishable else ""
        table.add_row(
            points.need,
            _n(points.believed, 0),
            _n(points.customers, 0),
            f"{_n(points.gap)}{mark} ({_interval(points.low, points.high)})",
            _n(rating.believed),
            _n(rating.customers),
            _n(rating.gap) + (" *" if rating.distinguishable else ""),
        )
    return table


def _opportunity_table(analysis: NeedsAnalysis) -> Table:
    table = Table(
        title="Opportunity: importance + max(importance - satisfaction, 0), on 0-10 (importance: points, "
        "the most weighted need = 10; satisfaction: customers' rating of us)",
        title_justify="left",
    )
    for column in ("need", "points", "importance", "satisfaction", "score", "level"):
        table.add_column(column, justify="left" if column in ("need", "level") else "right")
    for o in analysis.opportunities:
        level = (o.level or "-") + (", overserved" if o.overserved else "")
        table.add_row(o.need, _n(o.points), _n(o.importance), _n(o.satisfaction), _n(o.score), level)
    return table


def show_analysis(result: SurveyAnalysis) -> None:
    survey, analysis = result.survey, result.analysis
    selection = ", ".join(
        f"{k} {v}" for k, v in (("segment", result.segment), ("industry", result.industry)) if v
    )
    out.print(
        f"[bold]{survey.name}[/] (conducted {survey.conducted_on}){': ' + selection if selection else ''}: "
        f"{analysis.customers} customers, {analysis.internal} internal respondents; 95% intervals from "
        f"{analysis.resamples:,} bootstrap resamples (seed {analysis.seed})",
        highlight=False,
    )
    out.print(_weights_table(analysis.weights))
    if analysis.breakdown:
        out.print(_breakdown_table(analysis))
        out.print("* fewer than 30 respondents: a small sample", highlight=False)
    out.print(_grid_table(analysis))
    if analysis.grid.leader:
        out.print(f"Leading competitor: {analysis.grid.leader}", highlight=False)
    if analysis.gaps:
        out.print("\n[bold]Perception gap[/]: believed minus customers' (* the interval leaves out 0)")
    for gap in analysis.gaps:
        out.print(_gap_table(gap))
        out.print(f"  {gap.summary}", highlight=False)
    out.print(_opportunity_table(analysis))
    out.print("\n[bold]Flanking candidates[/] (the leading competitor's first):")
    if not analysis.flanking:
        none = (
            "  none: no need where customers rate us 6 or more and a competitor at least 1 point lower, "
            "that customers weight or could be led to weight"
        )
        out.print(none, highlight=False)
    for number, candidate in enumerate(analysis.flanking, start=1):
        out.print(f"  {number}. {candidate.explanation}", highlight=False)
    for note in analysis.notes:
        out.print(f"[yellow]note:[/] {note}", highlight=False)


def needs_command(
    survey: str | None = typer.Option(None, "--survey", help="A survey's name or id (default: the newest)."),
    segment: str | None = typer.Option(None, "--segment", help="Only the customers of this segment."),
    industry: str | None = typer.Option(None, "--industry", help="Only the customers of this industry."),
    by: str = typer.Option("segment", "--by", help="Break the weighted needs down by segment or industry."),
    resamples: int = typer.Option(DEFAULT_RESAMPLES, "--resamples", help="Bootstrap resamples (100-10000)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap (same seed, same intervals)."),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """What customers say matters: weighted needs, competitor grid, perception gap, opportunity, flanking."""
    engine = open_store(database)
    found = find_survey(engine, survey)
    with err.status(f"analysing {found.name} ({found.respondents:,} respondents)"):
        result = survey_analysis(
            engine, found.id, segment=segment, industry=industry, by=by, resamples=resamples, seed=seed
        )
    if as_json:
        print(json.dumps(asdict(result), default=str, indent=2))
    else:
        show_analysis(result)


__all__ = ["import_survey_command", "needs_command", "show_analysis"]
