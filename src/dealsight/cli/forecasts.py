"""``dealsight forecast`` and ``dealsight backtest``: the period forecast as calibrated ranges (company,
teams, reps, beside the stage-weighted pipeline, commit, best case and the model's earlier forecasts),
and the replay of history that measures each method.

The command line sees every deal (whoever holds the database URL holds the data). ``dealsight forecast``
always computes and saves the company-wide snapshots of every group (``--no-store`` not to), which the
forecast page and the API then serve while the data is unchanged; ``--backfill`` also replays the weeks of
the period so far; ``dealsight backtest`` stores its run, which the forecast page shows and the forecast
takes its dispersion from. Progress goes to stderr, results to
stdout (Rich tables, or one JSON object with ``--json``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

import typer
from rich.table import Table

from dealsight.analytics.backtest import DEFAULT_METHODS, MEASURES
from dealsight.cli.console import DatabaseOption, err, open_store, out
from dealsight.cli.velocity import JsonOption, parse_day
from dealsight.errors import FieldProblem, ValidationError
from dealsight.services.backtests import run_backtest
from dealsight.services.forecasts import (
    EARLIER,
    GroupForecast,
    PeriodForecast,
    backfill_snapshots,
    forecast_period,
)
from dealsight.services.pipeline_analytics import FULL_SIGHT, parse_window


@contextlib.contextmanager
def _status(label: str) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr whose text follows the steps of a long run."""
    with err.status(label) as status:
        yield lambda step: status.update(f"{label}: {step}")


def _money(value: float | None) -> str:
    """An amount short enough for a table at 80 columns: 3.32M, 652k, 9,800."""
    if value is None:
        return "-"
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:,.2f}M"
    if size >= 1e4:
        return f"{value / 1e3:,.0f}k"
    return f"{value:,.0f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _forecast_tables(title: str, groups: list[GroupForecast]) -> tuple[Table, Table]:
    """The range (won so far included) and, beside it, the baselines and earlier forecasts (P50)."""
    ranges = Table(title=f"{title}: range of won amount", title_justify="left")
    for name in ("", "won", "P10", "P50", "P90", "mean", "count", "quota", "reach"):
        ranges.add_column(
            name, justify="right" if name else "left", no_wrap=bool(name), min_width=0 if name else 10
        )
    beside = Table(
        title=f"{title}: beside it (stage-weighted pipeline, commit, best case; our P50 a "
        + ", a ".join(n for n, _ in EARLIER)
        + " ago)",
        title_justify="left",
    )
    for name in ("", "weighted", "commit", "best", *(f"-1 {n}" for n, _ in EARLIER)):
        beside.add_column(
            name, justify="right" if name else "left", no_wrap=bool(name), min_width=0 if name else 10
        )
    for g in groups:
        ranges.add_row(
            g.name,
            _money(g.won_amount),
            _money(g.amount.p10),
            _money(g.amount.p50),
            _money(g.amount.p90),
            _money(g.amount.expected),
            f"{g.count.p10:.0f}-{g.count.p90:.0f}",
            _money(g.quota),
            _share(g.reach_probability),
        )
        earlier = [g.earlier.get(n) for n, _ in EARLIER]
        beside.add_row(
            g.name,
            _money(g.stage_weighted),
            _money(g.commit),
            _money(g.best_case),
            *("-" if e is None else _money(e.amount.p50) for e in earlier),
        )
    return ranges, beside


def _show_forecast(report: PeriodForecast) -> None:
    out.print(
        f"[bold]{report.period.capitalize()} {report.period_start} to {report.period_end}[/], as of "
        f"{report.as_of} ({report.days_left} days left), method {report.method}. Won amount (k thousand, "
        "M million): won so far, then P10/P50/P90 and the mean of the period's total, which includes what "
        "is already won; count: P10-P90 of deals won",
        highlight=False,
    )
    sections = [
        ("Total", [report.total]),
        ("Teams (sub-teams rolled up)", report.teams),
        ("Reps", report.reps),
    ]
    for title, groups in sections:
        if groups:
            for table in _forecast_tables(title, groups):
                out.print(table)
    for note in report.notes:
        out.print(f"[yellow]note:[/] {note}", highlight=False)
    if report.stored:
        out.print(f"stored {report.stored} forecast snapshots", highlight=False)


def forecast_command(
    period: str = typer.Option("quarter", "--period", help="quarter or month (the one containing --as-of)."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Forecast as of the end of this day (default today)."
    ),
    method: str = typer.Option("model", "--method", help="model, competing_risks, stage_weighted_ttc, ..."),
    store: bool = typer.Option(
        True, "--store/--no-store", help="Store the forecast snapshots (default yes)."
    ),
    backfill: bool = typer.Option(
        False, "--backfill", help="Also store the forecasts as of each week of the period so far (replayed)."
    ),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """The forecast of the period: company, teams and reps, P10/P50/P90 and expected won amount and
    count, quota and chance to reach it, beside stage-weighted, commit, best case and earlier forecasts."""
    engine = open_store(database)
    day = parse_day(as_of, "--as-of")
    with _status("forecast") as progress:
        if backfill:
            backfill_snapshots(engine, period=period, as_of=day, method=method, progress=progress)
        report = forecast_period(
            engine,
            FULL_SIGHT,
            period=period,
            as_of=day,
            method=method,
            store=store and not backfill,
            progress=progress,
        )
    if as_json:
        print(json.dumps(asdict(report), default=str))
        return
    _show_forecast(report)


def _days_option(text: str, option: str) -> int:
    try:
        return parse_window(text)
    except ValidationError:
        message = f"{option} {text!r}: expected a length such as 7d, 4w or 28"
        raise ValidationError(message, [FieldProblem(option.lstrip("-"), message)]) from None


def _percent(value: Any) -> str:
    return "-" if value is None else f"{value:.0f}%"


def backtest_command(
    first: str | None = typer.Option(
        None, "--from", help="First as-of date (default: 26 weeks before --to)."
    ),
    last: str | None = typer.Option(
        None, "--to", help="Last as-of date (default: the horizon before the last day of the data)."
    ),
    every: str = typer.Option("7d", "--every", help="Days between as-of dates: 7d, 1w, 14."),
    horizon: str = typer.Option("28d", "--horizon", help="Days forecast after each as-of date: 28d, 4w."),
    methods: list[str] | None = typer.Option(
        None, "--method", help=f"A method to compare (repeat; default all: {', '.join(DEFAULT_METHODS)})."
    ),
    store: bool = typer.Option(
        True, "--store/--no-store", help="Store the run for the page and the forecast."
    ),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """Replay history as of each date with only what was known then, forecast the won count and amount
    of the following horizon and compare with what happened: MAPE, bias, MdAPE and P10-P90 coverage per
    method."""
    engine = open_store(database)
    with _status("backtest") as progress:
        result, run_id = run_backtest(
            engine,
            start=parse_day(first, "--from"),
            end=parse_day(last, "--to"),
            every_days=_days_option(every, "--every"),
            horizon_days=_days_option(horizon, "--horizon"),
            methods=tuple(methods) if methods else DEFAULT_METHODS,
            store=store,
            progress=progress,
        )
    if as_json:
        print(json.dumps(result.to_json(), default=str))
        return
    out.print(
        f"[bold]Backtest[/] {result.start:%Y-%m-%d} to {result.end:%Y-%m-%d}, every {result.every_days} "
        f"days, {result.horizon_days}-day horizon, {result.rows['as_of'].nunique()} dates",
        highlight=False,
    )
    metrics = result.results()
    for measure in MEASURES:
        table = Table(title=f"won {measure}", title_justify="left")
        for name in ("method", "MAPE", "bias", "MdAPE", "P10-P90 coverage", "dates"):
            table.add_column(name, justify="left" if name == "method" else "right")
        for method, measures in metrics.items():
            m = measures.get(measure, {})
            table.add_row(
                method,
                _percent(m.get("mape")),
                _percent(m.get("bias")),
                _percent(m.get("mdape")),
                _percent(m.get("coverage_p10_p90")),
                str(m.get("dates", "-")),
            )
        out.print(table)
    for method, why in result.skipped.items():
        out.print(f"[yellow]skipped {method}:[/] {why}", highlight=False)
    if run_id is not None:
        out.print(f"stored as backtest run {run_id} (the forecast page shows it)", highlight=False)


__all__ = ["backtest_command", "forecast_command"]
