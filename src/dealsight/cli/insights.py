"""``dealsight score``, ``dealsight train``, ``dealsight risks`` and ``dealsight model``: score the open
pipeline (retraining the win model when it is stale), learn the win model, list the open deals at risk
with their next actions, and show the model versions with their evaluation. The CLI acts for the whole
organisation (no sign-in), like the other commands; progress goes to stderr, results to stdout."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from dealsight.analytics.win_training import GRADIENT_BOOSTING
from dealsight.cli.console import DatabaseOption, err, open_store, out
from dealsight.domain.access import Scope
from dealsight.errors import ValidationError
from dealsight.services.insights import SEVERITIES, RiskQuery, deals_at_risk, win_model_versions
from dealsight.services.scoring import TrainingReport, score_open_deals, train_win_model
from dealsight.services.users import find_user

EVERYONE = Scope(owner_ids=None, can_write=False)


def _status(label: str) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr whose text follows the steps of a long run."""
    with err.status(label) as status:
        yield lambda step: status.update(f"{label}: {step}")


def _show_training(report: TrainingReport) -> None:
    kind = "gradient-boosted model" if report.kind == GRADIENT_BOOSTING else "historical stage win rates"
    out.print(
        f"[green]win model {report.model_id}[/] ({kind}) learned from {report.closed_deals:,} closed deals "
        f"({report.snapshots:,} snapshots) in {report.seconds:.1f} s",
        highlight=False,
    )
    if report.note:
        out.print(f"[yellow]note:[/] {report.note}", highlight=False)
    results = (report.evaluation or {}).get("results")
    if results:
        out.print(_metrics_table("Time-ordered evaluation (held-out newest deals)", results))


def score_command(
    retrain: bool | None = typer.Option(
        None,
        "--retrain/--no-retrain",
        help="Retrain the win model first (default: only when it is older than DEALSIGHT_RETRAIN_DAYS).",
    ),
    playbook: Path | None = typer.Option(
        None,
        "--playbook",
        help="The team's risk playbook (YAML); default DEALSIGHT_PLAYBOOK or the shipped one.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
    database: str | None = DatabaseOption,
) -> None:
    """Score every open deal now: indicators, win probability beside the baselines, factors, risks."""
    engine = open_store(database)
    with contextlib.contextmanager(_status)("scoring") as progress:
        report = score_open_deals(engine, retrain=retrain, playbook=playbook, progress=progress)
    if as_json:
        print(json.dumps(asdict(report), default=str))
        return
    if report.trained is not None:
        _show_training(report.trained)
    healths = ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in report.healths.items())
    out.print(
        f"[green]scored {report.deals:,} open deals[/] with model {report.model_id} in "
        f"{report.seconds:.1f} s: {healths}; {report.risks:,} risks. See `dealsight risks`, the pipeline "
        "page or /api/v1/risks.",
        highlight=False,
    )


def train_command(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
    database: str | None = DatabaseOption,
) -> None:
    """Learn the win model from the closed deals, evaluate it in time order against the baselines, and make
    it the active model (`dealsight score` then uses it)."""
    engine = open_store(database)
    with contextlib.contextmanager(_status)("training") as progress:
        report = train_win_model(engine, progress=progress)
    if as_json:
        print(json.dumps(asdict(report), default=str))
        return
    _show_training(report)


def _percent(value: float | None) -> str:
    if value is None:
        return "–"
    return "<1%" if 0 < value < 0.005 else f"{value * 100:.0f}%"


def risks_command(
    owner: str | None = typer.Option(None, "--owner", help="Only the deals of the user with this e-mail."),
    severity: str | None = typer.Option(
        None, "--severity", help="At least this severe: high, medium or low (default: any)."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="At most this many deals."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
    database: str | None = DatabaseOption,
) -> None:
    """List the open deals at risk, lowest win probability first, with each risk and its next action."""
    if severity is not None and severity not in SEVERITIES:
        raise ValidationError(f"--severity {severity!r}: expected one of {', '.join(SEVERITIES)}")
    engine = open_store(database)
    owner_id = None if owner is None else find_user(engine, owner).id
    page = deals_at_risk(engine, EVERYONE, RiskQuery(limit=limit, owner_id=owner_id, severity=severity))
    if as_json:
        print(json.dumps({"total": page.total, "items": [asdict(item) for item in page.items]}, default=str))
        return
    if not page.items:
        out.print("No scored open deal has risks (run `dealsight score` to score the pipeline).")
        return
    out.print(f"[bold]Deals at risk[/] ({page.total:,} in all, lowest chance to win first)", highlight=False)
    for deal in page.items:
        amount = "–" if deal.amount is None else f"{deal.amount:,.0f} {deal.currency}"
        out.print(
            f"\n[bold]{deal.name}[/] (#{deal.opportunity_id}) · {deal.owner_name or 'no owner'} · "
            f"{deal.stage} · {amount} · win chance {_percent(deal.win_probability)} · "
            f"{deal.health.replace('_', ' ')}",
            highlight=False,
        )
        for risk in deal.risks:
            out.print(f"  [bold]{risk.severity}[/]: {risk.risk}", highlight=False)
            out.print(f"    next: {risk.action}", highlight=False, style="dim")


def _metrics_table(title: str, results: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("method")
    for column in ("AUC", "Brier", "log loss", "ECE"):
        table.add_column(column, justify="right")
    for method, metrics in results.items():

        def cell(name: str, metrics: dict[str, Any] = metrics) -> str:
            value = metrics.get(name)
            return "–" if value is None else f"{value:.3f}"

        table.add_row(method, cell("auc"), cell("brier"), cell("log_loss"), cell("ece"))
    return table


def model_command(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    versions: int = typer.Option(1, "--versions", min=1, help="Show this many versions, newest first."),
    database: str | None = DatabaseOption,
) -> None:
    """Show the win model: what it learned from and its time-ordered evaluation beside the baselines."""
    models = win_model_versions(open_store(database), limit=versions)
    if as_json:
        print(json.dumps({"items": [asdict(m) | {"artifact": None} for m in models]}, default=str))
        return
    if not models:
        out.print("There is no win model yet: `dealsight score` learns one from the closed deals.")
        return
    for model in models:
        state = "active" if model.active else "retired"
        out.print(
            f"[bold]Model {model.id}[/] ({model.kind.replace('_', ' ')}, {state}): trained "
            f"{model.trained_at:%Y-%m-%d %H:%M} UTC on {model.closed_deals:,} closed deals "
            f"({model.snapshots:,} snapshots), outcomes {', '.join(model.outcomes)}"
        )
        if model.note:
            out.print(f"[yellow]note:[/] {model.note}")
        evaluation = model.evaluation or {}
        if evaluation.get("results"):
            out.print(
                f"Time-ordered evaluation: trained on deals closed by {evaluation.get('cutoff', '?')[:10]}, "
                f"tested on {evaluation.get('test_snapshots', 0):,} later snapshots of "
                f"{evaluation.get('test_deals', 0):,} deals"
            )
            out.print(_metrics_table("Overall", evaluation["results"]))
            for stage, part in (evaluation.get("by_stage") or {}).items():
                out.print(_metrics_table(f"In {stage} ({part['n']:,} snapshots)", part["results"]))


__all__ = ["model_command", "risks_command", "score_command", "train_command"]
