"""``dealsight velocity`` and the other pipeline analytics commands: funnel, stage durations, win / loss and
the changes between two days; each as of any past day, replayed from history.

Every command takes ``--team``, ``--owner`` and ``--segment`` to narrow the deals, prints Rich tables, or
one JSON object with ``--json`` (the service's dataclass as is). Bad options are one-line
:class:`~dealsight.errors.ValidationError` messages (the entry point prints them and exits 1). The command
line sees every deal (:data:`~dealsight.services.pipeline_analytics.FULL_SIGHT`): whoever holds the
database URL holds the data.

Registered by ``dealsight.cli.main`` as ``velocity``, ``funnel``, ``stage-durations``, ``win-loss`` and
``pipeline-changes``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime

import typer
from rich.table import Table

from dealsight.analytics.pipeline_changes import PipelineChanges
from dealsight.analytics.pipeline_flow import (
    ALL,
    DIMENSIONS,
    OutcomeBreakdown,
    OutcomeRow,
    Velocity,
    VelocityTerms,
)
from dealsight.analytics.stage_flow import Funnel, SpellStats, StageDurations
from dealsight.cli.console import DatabaseOption, open_store, out
from dealsight.errors import FieldProblem, ValidationError
from dealsight.services.pipeline_analytics import (
    FULL_SIGHT,
    DealFilters,
    changes_report,
    funnel_report,
    outcome_report,
    parse_window,
    stage_duration_report,
    velocity_report,
)

AsOfOption = typer.Option(
    None, "--as-of", help="Replay history to the end of this day (YYYY-MM-DD; default today)."
)
TeamOption = typer.Option(None, "--team", help="Only deals owned by this team and its sub-teams.")
OwnerOption = typer.Option(None, "--owner", help="Only deals owned by this person (by name).")
SegmentOption = typer.Option(None, "--segment", help="Only deals of accounts in this segment (smb, ...).")
WindowOption = typer.Option(
    "90d", "--window", help="Length of the window ending at --as-of: 90d, 12w, 3m, 1y."
)
JsonOption = typer.Option(False, "--json", help="Print one JSON object instead of tables.")


def parse_day(text: str | None, option: str) -> date | None:
    """``YYYY-MM-DD`` as a date; :class:`ValidationError` naming ``option`` otherwise."""
    if text is None:
        return None
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        message = f"{option} {text!r}: expected a date such as 2024-03-31"
        raise ValidationError(
            message, [FieldProblem(option.lstrip("-"), "expected a date such as 2024-03-31")]
        ) from None


Report = Velocity | Funnel | StageDurations | OutcomeBreakdown | PipelineChanges


def _required_day(text: str, option: str) -> date:
    day = parse_day(text, option)
    if day is None:  # never: parse_day gives a day for any text or raises
        raise ValidationError(f"{option} is required", [FieldProblem(option.lstrip("-"), "required")])
    return day


def _print_json(report: Report) -> None:
    print(json.dumps(asdict(report), default=str, indent=2))


def _money(value: float | None, currency: str) -> str:
    return "-" if value is None else f"{value:,.0f} {currency}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _change(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1%}"


def _table(title: str, *columns: str, labels: int = 1) -> Table:
    """A table whose first ``labels`` columns are text (left) and the others figures (right)."""
    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index < labels else "right")
    return table


def _selection(filters: DealFilters) -> str:
    return f" ({filters.describe()})" if filters.describe() else ""


# velocity ------------------------------------------------------------------------------------------------
def _terms_rows(now: VelocityTerms, before: VelocityTerms, currency: str) -> list[tuple[str, str, str]]:
    rows = [
        ("qualified deals (open at the end)", f"{now.qualified_deals:,}", f"{before.qualified_deals:,}"),
        (
            "average won amount",
            _money(now.average_won_amount, currency),
            _money(before.average_won_amount, currency),
        ),
        ("win rate", _share(now.win_rate), _share(before.win_rate)),
        ("average cycle (days, won deals)", _days(now.average_cycle_days), _days(before.average_cycle_days)),
        ("closed: won / lost / no decision", _counts(now), _counts(before)),
    ]
    if now.open_stage_unknown or before.open_stage_unknown:
        unknown = (
            "open, stage not recorded (not qualified)",
            f"{now.open_stage_unknown:,}",
            f"{before.open_stage_unknown:,}",
        )
        rows.insert(1, unknown)
    return rows


def _counts(terms: VelocityTerms) -> str:
    return f"{terms.won_deals} / {terms.lost_deals} / {terms.no_decision_deals}"


def _velocity_notes(report: Velocity) -> list[str]:
    notes = []
    for row in report.overall:
        now, unit = row.current, f" ({row.currency})" if len(report.overall) > 1 else ""
        if now.won_without_amount:
            notes.append(
                f"{now.won_without_amount:,} won deals have no amount{unit}: left out of the average"
            )
        if now.won_without_created_date:
            notes.append(
                f"{now.won_without_created_date:,} won deals have no created date{unit}: not in the cycle"
            )
        if now.velocity_per_day is None:
            notes.append(
                f"velocity unknown{unit}: it needs deals won in the window (and their created dates)"
            )
    return notes


def _show_velocity(report: Velocity, filters: DealFilters) -> None:
    window, previous = report.window, report.previous_window
    out.print(
        f"[bold]Pipeline velocity{_selection(filters)} as of {report.as_of}[/]: "
        f"{window.start} to {window.end} ({window.days} days) against {previous.start} to {previous.end}"
    )
    out.print(
        "velocity = qualified deals x average won amount x win rate / average cycle days; "
        f"qualified: open in {', '.join(report.qualifying_stages)}"
    )
    for row in report.overall:
        table = _table(f"Velocity in {row.currency}", "term", "this window", "previous window")
        for term in _terms_rows(row.current, row.previous, row.currency):
            table.add_row(*term)
        table.add_section()
        table.add_row(
            "velocity per day",
            _money(row.current.velocity_per_day, row.currency),
            _money(row.previous.velocity_per_day, row.currency),
            style="bold",
        )
        table.add_row("change", _change(row.change), "")
        out.print(table)
    if report.group_by:
        columns = ("qualified", "avg won", "win rate", "cycle days", "velocity/day", "previous", "change")
        table = _table(f"By {report.group_by}", report.group_by, *columns)
        for row in report.groups:
            now = row.current
            table.add_row(
                row.group,
                f"{now.qualified_deals:,}",
                _money(now.average_won_amount, row.currency),
                _share(now.win_rate),
                _days(now.average_cycle_days),
                _money(now.velocity_per_day, row.currency),
                _money(row.previous.velocity_per_day, row.currency),
                _change(row.change),
            )
        out.print(table)
    for note in _velocity_notes(report):
        out.print(f"[yellow]note:[/] {note}")


def velocity_command(
    as_of: str | None = AsOfOption,
    window: str = WindowOption,
    qualifying_stage: str | None = typer.Option(
        None,
        "--qualifying-stage",
        help="First stage whose open deals count as qualified (default: the second).",
    ),
    team: str | None = TeamOption,
    owner: str | None = OwnerOption,
    segment: str | None = SegmentOption,
    by: str | None = typer.Option(None, "--by", help="Also per team, owner or segment."),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """Pipeline velocity (money per day) with its terms, against the previous window."""
    day, days = parse_day(as_of, "--as-of"), parse_window(window)
    filters = DealFilters(team, owner, segment)
    report = velocity_report(
        open_store(database),
        FULL_SIGHT,
        as_of=day,
        window_days=days,
        qualifying_stage=qualifying_stage,
        by=by,
        filters=filters,
    )
    if as_json:
        _print_json(report)
    else:
        _show_velocity(report, filters)


# funnel --------------------------------------------------------------------------------------------------
def _show_funnel(funnel: Funnel, filters: DealFilters) -> None:
    created = ""
    if funnel.created_from or funnel.created_to:
        created = (
            f", created {funnel.created_from or 'from the start'} to {funnel.created_to or funnel.as_of}"
        )
    out.print(
        f"[bold]Stage funnel{_selection(filters)} as of {funnel.as_of}[/]: {funnel.deals:,} deals{created}"
    )
    table = _table("", "stage", "reached", "to next", "to won", "open here", "lost here", "no decision here")
    for stage in funnel.stages:
        table.add_row(
            stage.stage,
            f"{stage.reached:,}",
            _share(stage.to_next),
            _share(stage.to_won),
            f"{stage.open_here:,}",
            f"{stage.lost_here:,}",
            f"{stage.no_decision_here:,}",
        )
    table.add_section()
    table.add_row("won", f"{funnel.won:,}", style="bold")
    out.print(table)
    out.print(
        f"{funnel.deals:,} deals: {funnel.won:,} won, {funnel.lost:,} lost, "
        f"{funnel.no_decision:,} no decision, {funnel.still_open:,} still open"
    )
    out.print("a deal that skipped a stage counts as having passed it when it reached a later one")
    if funnel.furthest_stage_unknown:
        out.print(
            f"[yellow]note:[/] {funnel.furthest_stage_unknown:,} deals have no recorded open stage: "
            f"counted at {funnel.stages[0].stage if funnel.stages else 'the first stage'} only"
        )


def funnel_command(
    as_of: str | None = AsOfOption,
    created_from: str | None = typer.Option(None, "--from", help="Only deals created on or after this day."),
    created_to: str | None = typer.Option(None, "--to", help="Only deals created on or before this day."),
    team: str | None = TeamOption,
    owner: str | None = OwnerOption,
    segment: str | None = SegmentOption,
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """How many deals reached each stage, converted to the next and to won; lost and no decision apart."""
    filters = DealFilters(team, owner, segment)
    funnel = funnel_report(
        open_store(database),
        FULL_SIGHT,
        as_of=parse_day(as_of, "--as-of"),
        created_from=parse_day(created_from, "--from"),
        created_to=parse_day(created_to, "--to"),
        filters=filters,
    )
    if as_json:
        _print_json(funnel)
    else:
        _show_funnel(funnel, filters)


# stage durations -----------------------------------------------------------------------------------------
def _stats(stats: SpellStats) -> str:
    if not stats.spells:
        return "-"
    return f"{_days(stats.median_days)} ({stats.spells:,})"


def _show_durations(durations: StageDurations, filters: DealFilters) -> None:
    ended = ""
    if durations.ended_from or durations.ended_to:
        first_day, last_day = durations.ended_from or "the start", durations.ended_to or durations.as_of
        ended = f", spells ended {first_day} to {last_day}"
    out.print(f"[bold]Days in each stage{_selection(filters)} as of {durations.as_of}[/]{ended}")
    first = ("stage", "segment") if durations.by_segment else ("stage",)
    columns = ("spells", "median", "upper quartile", "won", "not won", "still open")
    title = "completed spells; won / not won / still open: median days (spells)"
    table = _table(title, *first, *columns, labels=len(first))
    for row in durations.stages:
        if durations.by_segment and row.segment == ALL:
            table.add_section()
        every = row.all_deals
        table.add_row(
            row.stage,
            *((row.segment,) if durations.by_segment else ()),
            f"{every.spells:,}",
            _days(every.median_days),
            _days(every.upper_quartile_days),
            _stats(row.won),
            _stats(row.not_won),
            _stats(row.still_open),
        )
    out.print(table)


def stage_durations_command(
    as_of: str | None = AsOfOption,
    by_segment: bool = typer.Option(False, "--by-segment", help="Also one row per segment."),
    ended_from: str | None = typer.Option(
        None, "--from", help="Only spells that ended on or after this day."
    ),
    ended_to: str | None = typer.Option(None, "--to", help="Only spells that ended on or before this day."),
    team: str | None = TeamOption,
    owner: str | None = OwnerOption,
    segment: str | None = SegmentOption,
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """Median and upper quartile of the days deals spent in each stage, for won, not won and open deals."""
    filters = DealFilters(team, owner, segment)
    durations = stage_duration_report(
        open_store(database),
        FULL_SIGHT,
        as_of=parse_day(as_of, "--as-of"),
        by_segment=by_segment,
        ended_from=parse_day(ended_from, "--from"),
        ended_to=parse_day(ended_to, "--to"),
        filters=filters,
    )
    if as_json:
        _print_json(durations)
    else:
        _show_durations(durations, filters)


# win / loss / no decision --------------------------------------------------------------------------------
def _outcome_table(title: str, first: str, rows: list[OutcomeRow]) -> Table:
    columns = (
        "closed",
        "won",
        "lost",
        "no decision",
        "win rate",
        "no-decision rate",
        "won amount",
        "lost amount",
    )
    table = _table(title, first, *columns)
    for row in rows:
        table.add_row(
            row.value if row.value != ALL else "total",
            f"{row.closed:,}",
            f"{row.won:,}",
            f"{row.lost:,}",
            f"{row.no_decision:,}",
            _share(row.win_rate),
            _share(row.no_decision_rate),
            _money(row.won_amount, row.currency),
            _money(row.lost_amount, row.currency),
        )
    return table


def _show_outcomes(breakdown: OutcomeBreakdown, filters: DealFilters, only: str | None) -> None:
    window = breakdown.window
    out.print(
        f"[bold]Won, lost and no decision{_selection(filters)}[/]: "
        f"deals closed {window.start} to {window.end} ({window.days} days)"
    )
    out.print(_outcome_table("Total", "", breakdown.total))
    for dimension in [only] if only else DIMENSIONS:
        out.print(_outcome_table(f"By {dimension}", dimension, breakdown.by[dimension]))
    unknown = sum(row.unknown_amount for row in breakdown.total)
    if unknown:
        out.print(f"[yellow]note:[/] {unknown:,} closed deals have no amount; they add 0 to the amounts")


def win_loss_command(
    as_of: str | None = AsOfOption,
    window: str = WindowOption,
    by: str | None = typer.Option(None, "--by", help="Only one of: segment, owner, team, source, product."),
    team: str | None = TeamOption,
    owner: str | None = OwnerOption,
    segment: str | None = SegmentOption,
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """Won, lost and no-decision deals closed in the window: counts, amounts and rates by segment, owner,
    team, source and product."""
    if by is not None and by not in DIMENSIONS:
        message = f"--by {by!r}: expected one of {', '.join(DIMENSIONS)}"
        raise ValidationError(message, [FieldProblem("by", message)])
    day, days = parse_day(as_of, "--as-of"), parse_window(window)
    filters = DealFilters(team, owner, segment)
    breakdown = outcome_report(open_store(database), FULL_SIGHT, as_of=day, window_days=days, filters=filters)
    if as_json:
        _print_json(breakdown)
    else:
        _show_outcomes(breakdown, filters, by)


# changes -------------------------------------------------------------------------------------------------
_LABELS: dict[str, str] = {
    "new": "new",
    "reopened": "reopened",
    "won": "won",
    "lost": "lost",
    "no_decision": "no decision",
    "pushed_out": "pushed out",
    "pulled_in": "pulled in",
    "amount_up": "amount up",
    "amount_down": "amount down",
    "unchanged": "unchanged",
    "created_closed": "created and closed between",
}


def _show_changes(changes: PipelineChanges, filters: DealFilters) -> None:
    out.print(f"[bold]Open pipeline{_selection(filters)} from {changes.from_date} to {changes.to_date}[/]")
    for fall in changes.waterfalls:
        cur = fall.currency
        table = _table(
            f"In {cur}", "", "deals", f"amount {changes.from_date}", f"amount {changes.to_date}", "change"
        )
        table.add_row(
            f"open at {changes.from_date}", f"{fall.start_deals:,}", _money(fall.start_amount, cur), "", ""
        )
        table.add_section()
        for step in fall.steps:
            if step.deals:
                table.add_row(
                    _LABELS.get(step.category, step.category),
                    f"{step.deals:,}",
                    _money(step.amount_before, cur),
                    _money(step.amount_after, cur),
                    f"{step.delta:+,.0f}",
                )
        table.add_section()
        table.add_row(
            f"open at {changes.to_date}",
            f"{fall.end_deals:,}",
            "",
            _money(fall.end_amount, cur),
            "",
            style="bold",
        )
        out.print(table)
        unknown = fall.unknown_amount_start + fall.unknown_amount_end
        if unknown:
            out.print(f"[yellow]note:[/] open deals without an amount count as 0 ({unknown:,} at either day)")
    out.print("a deal both moved and resized counts as moved; its amount change is in that row")


def changes_command(
    from_date: str = typer.Option(..., "--from", help="The earlier day (YYYY-MM-DD)."),
    to_date: str | None = typer.Option(None, "--to", help="The later day (default today)."),
    team: str | None = TeamOption,
    owner: str | None = OwnerOption,
    segment: str | None = SegmentOption,
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """What changed in the open pipeline between two days: new, won, lost, no decision, pushed out, pulled
    in, resized; pieces that add up from one day's total to the other's."""
    first = _required_day(from_date, "--from")
    filters = DealFilters(team, owner, segment)
    changes = changes_report(
        open_store(database), FULL_SIGHT, from_date=first, to_date=parse_day(to_date, "--to"), filters=filters
    )
    if as_json:
        _print_json(changes)
    else:
        _show_changes(changes, filters)


__all__ = [
    "changes_command",
    "funnel_command",
    "parse_day",
    "stage_durations_command",
    "velocity_command",
    "win_loss_command",
]
