"""``dealsight risks`` and ``dealsight model``: the open deals at risk with their next actions, and the win
model versions with their evaluation (both read what the last scoring run stored; ``dealsight score``
makes them). The CLI acts for the whole organisation (no sign-in), like the other commands."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import typer
from rich.table import Table

from dealsight.cli.console import DatabaseOption, open_store, out
from dealsight.domain.access import Scope
from dealsight.errors import ValidationError
from dealsight.services.insights import SEVERITIES, RiskQuery, deals_at_risk, win_model_versions
from dealsight.services.users import find_user

EVERYONE = Scope(owner_ids=None, can_write=False)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


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
    table = Table(title=f"Deals at risk ({page.total:,} in all)", title_justify="left", show_lines=True)
    for column in ("deal", "owner", "stage", "win chance", "risks and next actions"):
        table.add_column(column, justify="right" if column == "win chance" else "left")
    for deal in page.items:
        risks = "\n".join(f"[bold]{r.severity}[/]: {r.risk}\n  → {r.action}" for r in deal.risks)
        table.add_row(
            f"{deal.name} (#{deal.opportunity_id})",
            deal.owner_name or "–",
            deal.stage,
            _percent(deal.win_probability),
            risks,
        )
    out.print(table)


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


__all__ = ["model_command", "risks_command"]
