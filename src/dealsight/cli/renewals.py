"""``dealsight renewals``: the upcoming renewals with their chance of renewal, ARR at risk, reasons and next
actions (largest ARR at risk first); ``dealsight renewals evaluate``: the renewal model against usage-only,
usage-and-support, logistic regression and the base rate on the renewals already decided, in time order.

The command line sees every account (whoever holds the database URL holds the data). Progress goes to
stderr, results to stdout.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.table import Table

from dealsight.analytics.forecast_simulation import Range
from dealsight.cli.console import DatabaseOption, err, open_store, out
from dealsight.cli.evaluate import show_scores
from dealsight.cli.velocity import JsonOption, parse_day
from dealsight.domain.access import Scope
from dealsight.errors import FieldProblem, ValidationError
from dealsight.services.pipeline_analytics import parse_window
from dealsight.services.renewal_forecasts import MAX_QUARTERS, renewal_backtest, renewal_forecast
from dealsight.services.renewals import RenewalOutlook, evaluate_renewal_model, upcoming_renewals

EVERYONE = Scope(owner_ids=None, can_write=False)
app = typer.Typer(
    help="Upcoming renewals at risk, and how well renewal risk predicted the renewals already decided.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _within(text: str) -> int:
    try:
        return parse_window(text)
    except ValidationError:
        message = f"--within {text!r}: expected a length such as 180d, 26w, 6m or 1y"
        raise ValidationError(message, [FieldProblem("within", message)]) from None


def _money(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:.2f}M"
    return f"{value / 1e3:.0f}k" if abs(value) >= 1e4 else f"{value:,.0f}"


def _show(outlook: RenewalOutlook, limit: int) -> None:
    info = outlook.model
    rate = "" if info.renewal_rate is None else f", {info.renewal_rate:.0%} of them renewed"
    out.print(
        f"[bold]Renewals due from {outlook.as_of} within {outlook.within_days} days[/]: "
        f"{len(outlook.renewals):,}, ARR {_money(outlook.arr)}, "
        f"[bold]at risk {_money(outlook.arr_at_risk)}[/] (ARR x (1 - chance of renewal))",
        highlight=False,
    )
    out.print(
        f"model: {info.method} ({info.note}); {info.decided_renewals:,} renewals decided before{rate}",
        highlight=False,
        style="dim",
    )
    if not outlook.renewals:
        out.print("No renewal is due in that window (import subscriptions, or run `dealsight demo`).")
        return
    table = Table(title_justify="left", show_lines=False)
    for name, justify in (("account", "left"), ("product", "left"), ("owner", "left"), ("renews", "left"),
                          ("ARR", "right"), ("chance", "right"), ("at risk", "right")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for item in outlook.renewals[:limit]:
        table.add_row(
            item.account_name,
            item.product or "-",
            item.owner_name or "-",
            f"{item.renewal_date} ({item.days_to_renewal} d)",
            _money(item.arr),
            f"{item.renewal_probability:.0%}",
            _money(item.arr_at_risk),
        )
    out.print(table)
    for item in outlook.renewals[:limit]:
        out.print(
            f"\n[bold]{item.account_name}[/] · {item.product or 'subscription'} #{item.subscription_id} · "
            f"renews {item.renewal_date} · ARR {_money(item.arr)} {item.currency} · chance "
            f"{item.renewal_probability:.0%} · at risk {_money(item.arr_at_risk)}",
            highlight=False,
        )
        for reason in item.reasons:
            out.print(f"  [bold]{reason.severity}[/]: {reason.reason}", highlight=False)
            out.print(f"    next: {reason.next_action}", highlight=False, style="dim")
        for strength in item.strengths:
            out.print(f"  for: {strength.reason}", highlight=False, style="green")
    if len(outlook.renewals) > limit:
        out.print(f"\n... and {len(outlook.renewals) - limit:,} more (--limit)", highlight=False)


@app.callback()
def renewals_command(
    ctx: typer.Context,
    within: str = typer.Option(
        "180d", "--within", help="Renewals due within this length: 180d, 26w, 6m, 1y."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="As of this day (YYYY-MM-DD; default today)."),
    limit: int = typer.Option(20, "--limit", min=1, max=100_000, help="Show at most this many renewals."),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """The upcoming renewals, largest ARR at risk first, with the chance of renewal and what to do."""
    if ctx.invoked_subcommand is not None:
        return
    days = _within(within)
    engine = open_store(database)
    with err.status("renewal risk ..."):
        outlook = upcoming_renewals(engine, EVERYONE, as_of=parse_day(as_of, "--as-of"), within_days=days)
    if as_json:
        payload = {
            "as_of": outlook.as_of,
            "within_days": outlook.within_days,
            "model": asdict(outlook.model),
            "total": len(outlook.renewals),
            "arr": outlook.arr,
            "arr_at_risk": outlook.arr_at_risk,
            "items": [asdict(item) for item in outlook.renewals[:limit]],
        }
        print(json.dumps(payload, default=str))
        return
    _show(outlook, limit)


@app.command("evaluate")
def evaluate_command(
    as_of: str | None = typer.Option(None, "--as-of", help="Only renewals decided before this day."),
    seed: int = typer.Option(0, "--seed", help="Seed of the models."),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """Renewal risk against usage-only, usage and support, logistic regression and the base rate, learnt
    from the older renewals and tested on the newest 20% (each looked at 30, 90 and 180 days before)."""
    engine = open_store(database)
    with err.status("evaluating renewal risk ..."):
        evaluation = evaluate_renewal_model(engine, as_of=parse_day(as_of, "--as-of"), seed=seed)
    if as_json:
        print(evaluation.to_json())
        return
    out.print(
        f"[bold]Renewal risk[/]: {evaluation.rows:,} looks at decided renewals, {evaluation.positives:,} "
        f"renewed ({evaluation.positives / evaluation.rows:.1%})",
        highlight=False,
    )
    out.print(evaluation.split, highlight=False)
    show_scores(evaluation, "renewal rate", "renewal snapshots")


def _range(r: Range | None) -> str:
    return "-" if r is None else f"{_money(r.p10)} / {_money(r.p50)} / {_money(r.p90)}"


@app.command("forecast")
def forecast_command(
    quarters: int = typer.Option(
        4, "--quarters", min=1, max=MAX_QUARTERS, help="Quarters from the current one."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="As of this day (YYYY-MM-DD; default today)."),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """Renewed and expansion ARR of the coming quarters as ranges (P10 / P50 / P90)."""
    engine = open_store(database)
    with err.status("renewal forecast ..."):
        report = renewal_forecast(engine, EVERYONE, as_of=parse_day(as_of, "--as-of"), quarters=quarters)
    if as_json:
        print(json.dumps(asdict(report), default=str))
        return
    table = Table(title=f"Renewals by quarter as of {report.as_of} (P10 / P50 / P90)", title_justify="left")
    for name in ("quarter", "renewals", "ARR due", "renewed ARR", "expected churn", "expansion ARR"):
        table.add_column(name, justify="left" if name == "quarter" else "right")
    for q in report.quarters:
        table.add_row(q.quarter, f"{q.renewals:,}", _money(q.arr_due), _range(q.renewed_arr),
                      _money(q.churned_arr_expected), _range(q.expansion_arr))  # fmt: skip
    out.print(table)
    e = report.expansion
    learnt = (
        ""
        if e is None
        else f"{e.renewals:,} renewals: {e.rate:.0%} grew, by {e.uplift:.0%} of the ARR on average"
    )
    out.print(
        "expansion: left out (too few renewals decided to learn it)"
        if e is None
        else f"expansion from {learnt}",
        highlight=False,
        style="dim",
    )


@app.command("backtest")
def backtest_command(
    first: str | None = typer.Option(
        None, "--from", help="First quarter's day (default: a year of history)."
    ),
    last: str | None = typer.Option(None, "--to", help="Last day (default today)."),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """Each past quarter's renewed ARR forecast on its first day against what renewed in it."""
    engine = open_store(database)
    with err.status("renewal backtest ..."):
        report = renewal_backtest(engine, first=parse_day(first, "--from"), last=parse_day(last, "--to"))
    if as_json:
        print(json.dumps(asdict(report), default=str))
        return
    table = Table(
        title="Renewed ARR forecast on each quarter's first day, against what renewed", title_justify="left"
    )
    for name in ("quarter", "renewals", "P10 / P50 / P90", "renewed", "P50 error", "in P10-P90"):
        table.add_column(name, justify="left" if name == "quarter" else "right")
    for q in report.quarters:
        error = "-" if q.error is None else f"{q.error:+.1%}"
        covered = "yes" if q.covered else "no"
        table.add_row(
            q.quarter, f"{q.renewals:,}", _range(q.renewed_arr), _money(q.actual_renewed_arr), error, covered
        )
    out.print(table)
    if report.coverage is not None:
        mae = "-" if report.mean_absolute_error is None else f"{report.mean_absolute_error:.1%}"
        out.print(
            f"P10-P90 held the outcome in {report.coverage:.0%} of quarters; mean absolute P50 error {mae}"
        )


__all__ = ["app"]
