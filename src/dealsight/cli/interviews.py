"""``dealsight interviews search TEXT``, ``dealsight interviews guide`` and ``dealsight import interviews
FILE``: what customers said, the interview guide, and interviews from a file (docs/interviews.md).

The command line sees every interview (it runs as the system, like imports).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from dealsight.cli.console import DatabaseOption, open_store, out
from dealsight.cli.velocity import JsonOption, parse_day
from dealsight.domain.access import Scope
from dealsight.domain.interviews import DEFAULT_GUIDE, TOPIC_LABELS, parse_topic
from dealsight.errors import ValidationError
from dealsight.services.interview_guides import get_guide
from dealsight.services.interview_imports import import_interviews
from dealsight.services.interviews import AnswerQuery, search_answers
from dealsight.services.records import plain

app = typer.Typer(
    help="Customer interviews: search what customers said, show the guide.", no_args_is_help=True
)
EVERYONE = Scope(owner_ids=None, can_write=False)
SHOWN = 200
"""Characters of an answer shown in the table (the JSON has all of it)."""


@app.command("search")
def search_command(
    text: str = typer.Argument("", help="Words that must all appear in the answer (any case); empty: all."),
    topic: str | None = typer.Option(None, "--topic", help="A topic: why_bought, almost_stopped, ..."),
    question: str | None = typer.Option(None, "--question", help="A guide question's key."),
    tag: str | None = typer.Option(None, "--tag", help="A tag: stage:decision, need:price, or a bare value."),
    segment: str | None = typer.Option(None, "--segment", help="The account's segment."),
    since: str | None = typer.Option(None, "--since", help="Interviews on or after this day (YYYY-MM-DD)."),
    limit: int = typer.Option(20, "--limit", help="At most this many answers (1 to 500)."),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """Search the answers customers gave in interviews, newest first."""
    chosen = None
    if topic is not None:
        chosen = parse_topic(topic)
        if chosen is None:
            raise ValidationError(
                f"--topic: {topic!r} is not a topic; topics are {', '.join(t.value for t in TOPIC_LABELS)}"
            )
    query = AnswerQuery(
        text=text or None,
        topic=chosen,
        question=question,
        tag=tag,
        segment=segment,
        since=parse_day(since, "--since"),
        limit=limit,
    )
    page = search_answers(open_store(database), EVERYONE, query)
    if as_json:
        print(json.dumps(plain(page), indent=2))
        return
    if not page.items:
        out.print("No answers match.", highlight=False)
        return
    table = Table(
        title=f"{page.total:,} answer{'s' if page.total != 1 else ''}"
        + (f" with {text!r}" if text else "")
        + (f" (the newest {len(page.items)})" if page.total > len(page.items) else ""),
        title_justify="left",
    )
    for column in ("day", "who", "question", "answer", "tags"):
        table.add_column(column, overflow="fold")
    for hit in page.items:
        who = hit.contact_name + (f", {hit.account_name}" if hit.account_name else "")
        said = hit.answer if len(hit.answer) <= SHOWN else hit.answer[: SHOWN - 3] + "..."
        table.add_row(hit.interviewed_on.isoformat(), who, hit.question_key, said, "; ".join(hit.tags))
    out.print(table)


@app.command("guide")
def guide_command(
    name: str = typer.Option(DEFAULT_GUIDE, "--name", help="The guide's name."),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """The interview guide's questions, in the order they are asked."""
    guide = get_guide(open_store(database), name)
    if as_json:
        print(json.dumps(plain(guide), indent=2))
        return
    stored = f"version {guide.version}" if guide.version else "as shipped, not edited yet"
    table = Table(title=f"Interview guide {guide.name!r} ({stored})", title_justify="left")
    for column in ("#", "key", "topic", "question"):
        table.add_column(column, overflow="fold")
    for number, q in enumerate(guide.questions, start=1):
        retired = " [dim](retired)[/]" if q.retired else ""
        table.add_row(str(number), q.key, TOPIC_LABELS[q.topic], q.text + retired)
    out.print(table)


def import_interviews_command(
    file: Path = typer.Argument(..., help="CSV or XLSX file, one row per answer (docs/interviews.md)."),
    guide: str = typer.Option(DEFAULT_GUIDE, "--guide", help="The guide the answers follow."),
    sheet: str | None = typer.Option(None, "--sheet", help="XLSX: the sheet to read (default: the first)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything and report; write nothing."),
    database: str | None = DatabaseOption,
) -> None:
    """Import customer interviews: one row per answer (contact, day, question, answer, tags)."""
    result = import_interviews(open_store(database), file, guide_name=guide, sheet=sheet, dry_run=dry_run)
    report = result.report
    what = "Dry run, nothing was written" if dry_run else "Imported"
    version = f" v{result.guide.version}" if result.guide else ""
    out.print(
        f"{what}: {file.name}, {report.rows:,} answers following the guide {guide!r}{version}",
        highlight=False,
    )
    out.print(
        f"{report.created + report.updated + report.unchanged:,} interviews: {report.created:,} created, "
        f"{report.updated:,} updated, {report.unchanged:,} unchanged",
        highlight=False,
    )
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/] {warning}", highlight=False)


__all__ = ["app", "import_interviews_command"]
