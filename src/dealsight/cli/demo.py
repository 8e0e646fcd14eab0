"""``dealsight demo``: write the seeded demo organisation into the database, then serve the product.

A progress bar on stderr while generating and writing; a short summary on stdout, with the demo logins;
then the open pipeline is scored (``dealsight score``: the win model learned from the demo's closed deals,
risks and next actions) and, unless ``--no-serve``, the web app runs at http://HOST:PORT (the same server
as ``dealsight serve``).
"""

from __future__ import annotations

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from dealsight.cli.console import DatabaseOption, err, open_store, out
from dealsight.cli.serve import run_server
from dealsight.services.demo import DEMO_PASSWORD, DemoSummary, check_scale, create_demo
from dealsight.services.scoring import score_open_deals
from dealsight.store.database import upgrade


def demo_command(
    seed: int = typer.Option(7, help="Seed of the generator: the same seed gives the same organisation."),
    scale: float = typer.Option(1.0, help="Size: 1 = ~600 accounts and ~5,000 deals (above 0, at most 20)."),
    replace: bool = typer.Option(False, "--replace", help="Delete the data already in the database first."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Write the demo and exit without serving."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    database: str | None = DatabaseOption,
) -> None:
    """Generate a demo organisation into the database and start the product."""
    check_scale(scale)
    engine = open_store(database, require_schema=False)
    upgrade(engine)  # the demo sets up its own database: a new file needs no `dealsight db upgrade` first
    with Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.completed:>9,.0f} / {task.total:,.0f}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(label: str, done: int, total: int) -> None:
            phase = "generating deals" if label == "generating" else "writing"
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            description = phase if label == "generating" else f"writing {label.replace('_', ' ')}"
            bar.update(tasks[phase], completed=done, total=total, description=description)

        summary = create_demo(engine, seed=seed, scale=scale, replace=replace, progress=progress)
    print_summary(summary)
    with err.status("scoring the open pipeline") as status:
        scored = score_open_deals(engine, retrain=True, progress=lambda step: status.update(step))
    out.print(
        f"scored {scored.deals:,} open deals with the win model learned from the demo's closed deals "
        f"({', '.join(f'{n:,} {h.replace(chr(95), chr(32))}' for h, n in scored.healths.items())})",
        highlight=False,
        soft_wrap=True,
    )
    print_logins(summary, None if no_serve else f"http://{host}:{port}")
    if not no_serve:
        run_server(engine, host, port)


def print_summary(summary: DemoSummary) -> None:
    closed = summary.won + summary.lost + summary.no_decision
    out.print(
        f"[green]demo organisation written[/]: {summary.teams} teams, {summary.reps} reps "
        f"({summary.users} users), {summary.accounts:,} accounts, {summary.contacts:,} contacts",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"opportunities: {summary.opportunities:,} ({summary.open:,} open, {summary.won:,} won, "
        f"{summary.lost:,} lost, {summary.no_decision:,} no decision); win rate {summary.win_rate:.0%} "
        f"of {closed:,} closed",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"from {summary.first_date.isoformat()} to {summary.last_date.isoformat()}; "
        f"{summary.history_rows:,} history rows, {summary.activities:,} activities, "
        f"{summary.qualification_answers:,} qualification answers",
        highlight=False,
        soft_wrap=True,
    )


def print_logins(summary: DemoSummary, url: str | None) -> None:
    """Who can sign in to the demo, and where (``url`` None: the demo is not being served)."""
    if not summary.logins:
        return
    where = f"Sign in at {url}" if url else "Sign in (after `dealsight serve`)"
    out.print(
        f"{where} with password [bold]{DEMO_PASSWORD}[/] (demo only) as:", highlight=False, soft_wrap=True
    )
    for login in summary.logins:
        out.print(f"  {login.role.value:<10} {login.email}  ({login.name})", highlight=False, soft_wrap=True)
