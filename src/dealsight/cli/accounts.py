"""``dealsight accounts``: find duplicate accounts, merge them, show the merge log (see docs/accounts.md)."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.table import Table

from dealsight.analytics.account_matching import DEFAULT_THRESHOLD
from dealsight.cli.console import DatabaseOption, open_store, out
from dealsight.services.accounts import (
    AccountSummary,
    MergePlan,
    find_duplicates,
    merge_accounts,
    merge_log,
    plan_merge,
)

app = typer.Typer(help="Find and merge duplicate accounts.", no_args_is_help=True)


def _account(summary: AccountSummary) -> str:
    domain = f"\n{summary.domain}" if summary.domain else ""
    return f"{summary.name} [dim](id {summary.id})[/]{domain}"


@app.command("duplicates")
def duplicates_command(
    threshold: float = typer.Option(
        DEFAULT_THRESHOLD, "--threshold", "-t", min=0, max=100, help="Lowest score shown (0-100)."
    ),
    limit: int = typer.Option(50, "--limit", "-n", min=0, help="Show at most this many pairs."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON list instead of a table."),
    database: str | None = DatabaseOption,
) -> None:
    """List pairs of accounts that look like the same company, best match first."""
    pairs = find_duplicates(open_store(database), threshold=threshold, limit=limit)
    if as_json:
        typer.echo(json.dumps([pair.as_dict() for pair in pairs], indent=2))
        return
    if not pairs:
        out.print(f"No duplicate accounts at threshold {threshold:g}.")
        return
    table = Table(title=f"Possible duplicate accounts (score >= {threshold:g})", title_justify="left")
    table.add_column("score", justify="right")
    table.add_column("account")
    table.add_column("opps", justify="right")
    table.add_column("looks like")
    table.add_column("opps", justify="right")
    table.add_column("evidence")
    for pair in pairs:
        table.add_row(
            f"{pair.score:.0f}",
            _account(pair.left),
            str(pair.left.opportunities),
            _account(pair.right),
            str(pair.right.opportunities),
            "\n".join(pair.evidence),
        )
    out.print(table)
    first = pairs[0]
    out.print(
        f"Merge one into another with `dealsight accounts merge KEEP MERGE`, "
        f"e.g. `dealsight accounts merge {first.suggested_keep.id} {first.suggested_merge.id}`.",
        highlight=False,
        soft_wrap=True,
    )


def _show_plan(plan: MergePlan) -> None:
    out.print(
        f"Keep   {plan.keep.name} (id {plan.keep.id}, {plan.keep.opportunities} opportunities)\n"
        f"Merge  {plan.merge.name} (id {plan.merge.id}, {plan.merge.opportunities} opportunities)\n"
        f"Match  score {plan.score:.0f}: {plan.evidence}",
        highlight=False,
        soft_wrap=True,
    )
    moves = plan.moves
    out.print(
        f"Moves  {moves.opportunities} opportunities, {moves.contacts} contacts, {moves.activities} "
        f"activities and {moves.children} child accounts to '{plan.keep.name}'",
        highlight=False,
        soft_wrap=True,
    )
    if plan.fills:
        filled = ", ".join(f"{name} = {value}" for name, value in plan.fills.items())
        out.print(f"Fills  {filled}", highlight=False)


@app.command("merge")
def merge_command(
    keep: str = typer.Argument(..., help="The account to keep: id, external id or name."),
    merge: str = typer.Argument(..., help="The account merged into it: id, external id or name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    database: str | None = DatabaseOption,
) -> None:
    """Merge account MERGE into account KEEP: its deals, contacts, activities and children move."""
    engine = open_store(database)
    plan = plan_merge(engine, keep, merge)
    _show_plan(plan)
    if not yes:
        typer.confirm("Merge?", abort=True)
    done = merge_accounts(engine, str(plan.keep.id), str(plan.merge.id))
    out.print(
        f"Merged '{done.merged_name}' (id {done.merged_id}) into '{plan.keep.name}' (id {done.kept_id}): "
        f"moved {done.moved_opportunities} opportunities, {done.moved_contacts} contacts, "
        f"{plan.moves.activities} activities and {plan.moves.children} child accounts.",
        highlight=False,
        soft_wrap=True,
    )


@app.command("merges")
def merges_command(
    limit: int | None = typer.Option(None, "--limit", "-n", min=0, help="Show at most this many."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON list instead of a table."),
    database: str | None = DatabaseOption,
) -> None:
    """The merge log, the latest first."""
    entries = merge_log(open_store(database), limit=limit)
    if as_json:
        rows = [
            {**asdict(e.merge), "kept_name": e.kept_name, "merged_external_id": e.merged_external_id}
            for e in entries
        ]
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not entries:
        out.print("No accounts have been merged.")
        return
    table = Table(title="Account merges", title_justify="left")
    for column in ("merged at", "kept", "merged", "opps", "contacts", "score", "evidence"):
        table.add_column(column, justify="right" if column in ("opps", "contacts", "score") else "left")
    for entry in entries:
        m = entry.merge
        external = f", {entry.merged_external_id}" if entry.merged_external_id else ""
        table.add_row(
            m.merged_at.strftime("%Y-%m-%d %H:%M"),
            f"{entry.kept_name} (id {m.kept_id})",
            f"{m.merged_name} (id {m.merged_id}{external})",
            str(m.moved_opportunities),
            str(m.moved_contacts),
            "" if m.score is None else f"{m.score:.0f}",
            m.evidence or "",
        )
    out.print(table)
