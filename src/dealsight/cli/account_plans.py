"""``dealsight account-plan ACCOUNT`` and ``dealsight import account-goals FILE`` (docs/account-plans.md).

The plan prints the customer's goals with the deals serving them, the goals no deal serves, the open deals
that serve no goal, the relationship map with its gaps and the whitespace; ``--json`` prints one JSON
object instead. The command line sees every account and deal (whoever holds the database URL holds the
data); the API and the pages apply each user's view.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import typer
from rich.table import Table

from dealsight.cli.console import DatabaseOption, open_store, out
from dealsight.cli.velocity import JsonOption, parse_day
from dealsight.domain.access import Scope
from dealsight.services.account_goal_imports import import_account_goals
from dealsight.services.account_plans import AccountPlan, PlanDealView, account_plan
from dealsight.services.booked_value import named_account
from dealsight.services.records import plain

EVERYTHING = Scope(owner_ids=None, can_write=False)
GOAL_COLUMNS = (
    "goal",
    "their executive",
    "our owner",
    "target",
    "priority, status",
    "open",
    "pipeline",
    "won",
)
NUMBERS = ("open", "pipeline", "won", "goals", "last met", "list price", "adoption", "amount")


def _money(amount: Decimal | None) -> str:
    return "–" if amount is None else f"{amount:,.0f}"


def _label(value: object) -> str:
    text = getattr(value, "value", value)
    return "–" if text is None else str(text).replace("_", " ")


def _goals(plan: AccountPlan) -> Table:
    table = Table(title="Goals of the customer and the deals serving them", title_justify="left")
    for column in GOAL_COLUMNS:
        wraps = column in ("goal", "their executive", "our owner")
        table.add_column(column, justify="right" if column in NUMBERS else "left", no_wrap=not wraps)
    for line in plan.goals:
        g = line.goal
        table.add_row(
            g.goal,
            g.executive_name or "–",
            g.owner_name or "–",
            g.target_date.isoformat() if g.target_date else "–",
            f"{_label(g.priority)}, {_label(g.status)}",
            str(line.open_deals),
            _money(line.open_amount),
            _money(line.won_amount),
        )
    return table


def _deal_row(deal: PlanDealView) -> tuple[str, ...]:
    when = deal.expected_close_date if deal.is_open else deal.closed_date
    status = "open" if deal.is_open else _label(deal.outcome)
    return (
        f"{deal.name} ({deal.id})",
        deal.stage,
        status,
        _money(deal.amount),
        when.isoformat() if when else "–",
    )


def _serving(plan: AccountPlan) -> Table:
    table = Table(title="Top-down pipeline: each goal's deals", title_justify="left")
    for column in ("goal", "deal", "stage", "status", "amount", "close"):
        table.add_column(column, justify="right" if column == "amount" else "left")
    for line in plan.goals:
        for number, deal in enumerate(line.deals):
            table.add_row(line.goal.goal if number == 0 else "", *_deal_row(deal))
    return table


def _unaligned(plan: AccountPlan) -> Table:
    table = Table(title="Open deals that serve no goal", title_justify="left")
    for column in ("deal", "stage", "status", "amount", "close", "owner"):
        table.add_column(column, justify="right" if column == "amount" else "left")
    for deal in plan.unaligned_deals:
        table.add_row(*_deal_row(deal), deal.owner_name or "–")
    return table


def _relationships(plan: AccountPlan) -> Table:
    table = Table(title="Relationship map", title_justify="left")
    for column in ("contact", "level", "role", "influence", "stance", "covered by", "goals", "last met"):
        wraps = column in ("contact", "role", "covered by")
        table.add_column(column, justify="right" if column in NUMBERS else "left", no_wrap=not wraps)
    for c in plan.contacts:
        last = "never" if c.days_since_interaction is None else f"{c.days_since_interaction} d ago"
        table.add_row(
            f"{c.name}, {c.title}" if c.title else c.name,
            _label(c.level),
            _label(c.deal_role),
            _label(c.influence),
            _label(c.stance),
            ", ".join(u.name for u in c.covered_by) or "nobody",
            str(len(c.goal_ids)),
            last,
        )
    return table


def _whitespace(plan: AccountPlan) -> Table:
    space = plan.whitespace
    title = f"Whitespace: products it does not have; adoption among {space.peer_group} ({space.peers})"
    table = Table(title=title, title_justify="left")
    for column in ("product", "series", "list price", "adoption", "in pipeline"):
        table.add_column(column, justify="right" if column in ("list price", "adoption") else "left")
    for p in space.products:
        share = "–" if p.share is None else f"{p.share:.0%} ({p.adopters})"
        table.add_row(p.product, p.series or "–", _money(p.list_price), share, "yes" if p.in_pipeline else "")
    return table


def _show(plan: AccountPlan) -> None:
    parts = [f"account {plan.account_id}", plan.industry, f"segment {plan.segment}" if plan.segment else None]
    where = ", ".join(part for part in parts if part)
    owner = plan.owner_name or "nobody"
    out.print(
        f"[bold]Account plan: {plan.account_name}[/] ({where}; owner {owner}), as of {plan.as_of}",
        highlight=False,
    )
    currency = "/".join(plan.currencies) or "USD"
    share = "" if plan.aligned_share is None else f": {plan.aligned_share:.0%} of it serves a goal"
    out.print(
        f"Open pipeline {_money(plan.open_amount)} {currency}{share} ({_money(plan.aligned_amount)} aligned, "
        f"{_money(plan.unaligned_amount)} serving no goal)",
        highlight=False,
    )
    if plan.goals:
        out.print(_goals(plan))
        if any(line.deals for line in plan.goals):
            out.print(_serving(plan))
    else:
        out.print("No goals recorded yet: ask the customer's executives what they must achieve this year.")
    if plan.uncovered_goals:
        out.print("[bold]Goals no deal serves[/]")
        for g in plan.uncovered_goals:
            out.print(f"  - {g.goal} ({_label(g.priority)} priority)", highlight=False)
    if plan.unaligned_deals:
        out.print(_unaligned(plan))
    out.print(_relationships(plan))
    out.print("[bold]Relationship gaps[/]" if plan.gaps else "No relationship gaps found.")
    for number, gap in enumerate(plan.gaps, 1):
        line = f"  {number}. {gap.severity}: {gap.message}; next: {gap.action}"
        out.print(line, highlight=False, markup=False)
    if plan.whitespace.owned:
        out.print(f"Has: {', '.join(plan.whitespace.owned)}", highlight=False)
    out.print(_whitespace(plan))


def account_plan_command(
    account: str = typer.Argument(..., help="The account: its id, external id or name."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Days since the last interaction counted to this day."
    ),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """An account's plan: the customer's goals with the deals serving them, the goals no deal serves, the
    open deals that serve no goal, the relationship map with its gaps, and the whitespace."""
    engine = open_store(database)
    account_id, _ = named_account(engine, account)
    plan = account_plan(engine, EVERYTHING, account_id, today=parse_day(as_of, "--as-of"))
    if as_json:
        print(json.dumps(plain(plan)))
        return
    _show(plan)


def import_account_goals_command(
    file: Path = typer.Argument(..., help="CSV or XLSX file, one row per goal (docs/account-plans.md)."),
    sheet: str | None = typer.Option(None, "--sheet", help="XLSX: the sheet to read (default: the first)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything and report; write nothing."),
    database: str | None = DatabaseOption,
) -> None:
    """Import customers' executive goals (account, goal, executive, owner, target date, priority, status,
    measure, deals they serve); all or nothing, re-imports update."""
    report = import_account_goals(open_store(database), file, sheet=sheet, dry_run=dry_run)
    title = "Dry run: nothing was written" if dry_run else "Imported"
    table = Table(title=title, title_justify="left")
    for column in ("file", "entity", "rows", "created", "updated", "unchanged"):
        table.add_column(column, justify="right" if column not in ("file", "entity") else "left")
    counts = (report.rows, report.created, report.updated, report.unchanged)
    table.add_row(report.file, report.entity, *(f"{n:,}" for n in counts))
    out.print(table)


__all__ = ["account_plan_command", "import_account_goals_command"]
