"""``dealsight import interviews FILE``: interview answers from a CSV or XLSX file, all or nothing.

The file's layout is :mod:`dealsight.ingest.interviews`' (one row per answer; docs/interviews.md). Rows
become interviews: those with the same ``interview`` id, or else of the same contact on the same day. Each
row must name a contact that exists (by e-mail or id), a question of the guide (``--guide``, default the
team's ``default`` guide) that is not retired, and where given an interviewer who is a dealsight user and
a deal of the contact's account; every problem names the file, the row and the column, and nothing is
written unless every row is right.

Re-importing updates instead of duplicating: an interview found again (by its ``interview`` id, else by
contact and day) gets the file's answers in place of its own when they differ, and is left as it is when
they are the same. The import is one transaction, recorded in ``import_runs`` and, in the audit log, as one
row per interview created or updated (actor the system, via cli).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from dealsight.domain.clock import utc_now
from dealsight.domain.interviews import DEFAULT_GUIDE, Guide
from dealsight.ingest.importer import EntityReport
from dealsight.ingest.interviews import FileAnswer, Problems, read_interview_file
from dealsight.services.interview_guides import stored_guide
from dealsight.services.interviews import INTERVIEW
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.interviews import (
    AnswerInput,
    contact_accounts,
    deals_by_reference,
    external_ids,
    insert_interview,
    interview_keys,
    read_interviews,
    update_interview,
    users_by_email,
    write_answers,
)
from dealsight.store.schema import import_runs, interviews
from dealsight.store.surveys import contacts_by_email


@dataclass
class InterviewImport:
    """What an import did: the report (rows, created / updated / unchanged interviews), the guide used."""

    report: EntityReport
    guide: Guide | None = None
    answers: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Interview:
    """The rows of one interview in the file, resolved."""

    rows: list[FileAnswer]
    contact_id: int
    values: dict[str, Any]
    answers: list[AnswerInput]


class _DryRun(Exception):
    """Rolls a dry run's transaction back."""


def _resolve(
    conn: Connection, rows: Sequence[FileAnswer], guide: Guide, problems: Problems
) -> list[_Interview]:
    emails = contacts_by_email(conn, [r.contact_email for r in rows if r.contact_email])
    by_id = contact_accounts(conn, [r.contact_id for r in rows if r.contact_id is not None])
    people = users_by_email(conn, [r.interviewer_email for r in rows if r.interviewer_email])
    deals = deals_by_reference(conn, [r.deal for r in rows if r.deal])
    grouped: dict[tuple[Any, ...], _Interview] = {}
    for row in rows:
        if row.contact_email is not None:
            contact_id, account_id = emails.get(row.contact_email, (None, None))
            if contact_id is None:
                problems.add(
                    row.row, "contact_email", row.contact_email, "the e-mail of a contact in dealsight"
                )
                continue
        else:
            contact_id = row.contact_id
            if contact_id not in by_id:
                problems.add(row.row, "contact_id", str(contact_id), "the id of a contact in dealsight")
                continue
            account_id = by_id[contact_id]
        question = guide.question(row.question)
        if question is None:
            keys = ", ".join(q.key for q in guide.active)
            problems.add(row.row, "question", row.question, f"a question of the guide {guide.name!r}: {keys}")
        elif question.retired:
            problems.add(row.row, "question", row.question, "a question that is not retired")
        interviewer = people.get(row.interviewer_email) if row.interviewer_email else None
        if row.interviewer_email and interviewer is None:
            problems.add(
                row.row, "interviewer_email", row.interviewer_email, "the e-mail of a dealsight user"
            )
        deal = deals.get(row.deal) if row.deal else None
        if row.deal and deal is None:
            problems.add(row.row, "deal", row.deal, "a deal's external id or dealsight id")
        elif row.deal and deal is not None and deal[1] != account_id:
            problems.add(row.row, "deal", row.deal, "a deal of the contact's account")
        if question is None or question.retired:
            continue
        key = ("id", row.interview) if row.interview else ("contact", contact_id, row.interviewed_on)
        values = {
            "external_id": row.interview,
            "contact_id": contact_id,
            "interviewed_on": row.interviewed_on,
            "interviewer_id": interviewer,
            "opportunity_id": deal[0] if deal else None,
            "note": row.note,
        }
        found = grouped.get(key)
        if found is None:
            found = grouped[key] = _Interview([], int(contact_id or 0), values, [])
        else:
            for name, value in values.items():
                if value is not None and found.values.get(name) not in (None, value):
                    column = {"opportunity_id": "deal", "interviewer_id": "interviewer_email"}.get(name, name)
                    problems.add(
                        row.row, column, str(value), f"the same as row {found.rows[0].row} of this interview"
                    )
                elif value is not None:
                    found.values[name] = value
        found.rows.append(row)
        found.answers.append(AnswerInput(int(question.id or 0), question.text, row.answer, row.tags))
    return list(grouped.values())


def _same(old: Any, new: _Interview) -> bool:
    fields = ("contact_id", "interviewed_on", "interviewer_id", "opportunity_id", "note")
    if any(getattr(old, name) != new.values.get(name) for name in fields if new.values.get(name) is not None):
        return False
    before = [(a.question_id, a.answer, tuple(sorted(a.tags))) for a in old.answers]
    after = [(a.question_id, a.answer, tuple(sorted(str(t) for t in a.tags))) for a in new.answers]
    return before == after


def _write(conn: Connection, label: str, guide: Guide, found: list[_Interview], report: EntityReport) -> None:
    keys = interview_keys(conn, [f.contact_id for f in found])
    ids = external_ids(conn, [str(f.values["external_id"]) for f in found if f.values.get("external_id")])
    now = utc_now()
    for interview in found:
        reference = interview.values.get("external_id")
        existing = (
            ids.get(str(reference))
            if reference
            else keys.get((interview.contact_id, interview.values["interviewed_on"]))
        )
        rows = (
            f"{label} rows {interview.rows[0].row}-{interview.rows[-1].row}"
            if len(interview.rows) > 1
            else f"{label} row {interview.rows[0].row}"
        )
        summary = f"{rows}: {len(interview.answers)} answer{'s' if len(interview.answers) != 1 else ''}"
        if existing is None:
            row = {
                **interview.values,
                "guide_id": guide.id,
                "guide_version": guide.version,
                "created_at": now,
                "updated_at": now,
            }
            interview_id = insert_interview(conn, row)
            write_answers(conn, interview_id, interview.answers)
            report.created += 1
            action = "create"
        else:
            (old,) = read_interviews(conn, interviews.c.id == existing)
            if _same(old, interview):
                report.unchanged += 1
                continue
            changes = {k: v for k, v in interview.values.items() if v is not None}
            update_interview(
                conn,
                existing,
                {**changes, "guide_id": guide.id, "guide_version": guide.version, "updated_at": now},
            )
            write_answers(conn, existing, interview.answers, replace=True)
            interview_id, action = existing, "update"
            report.updated += 1
        record_changes(
            conn,
            actor=None,
            via="cli",
            entity=INTERVIEW,
            entity_id=interview_id,
            action=action,
            changes={"import": (None, summary)},
        )


def import_interviews(
    engine: Engine,
    path: Path,
    *,
    guide_name: str = DEFAULT_GUIDE,
    sheet: str | None = None,
    dry_run: bool = False,
) -> InterviewImport:
    """Import the answers of ``path`` (module docstring) in one transaction; ``dry_run`` checks
    everything and writes nothing."""
    parsed = read_interview_file(path, sheet)
    result = InterviewImport(EntityReport("interviews", path.name), warnings=list(parsed.warnings))
    started = utc_now()
    try:
        with transaction(engine) as conn:
            guide = stored_guide(conn, guide_name)
            problems = Problems(path.name)
            found = _resolve(conn, parsed.answers, guide, problems)
            problems.raise_any()
            result.guide, result.answers = guide, sum(len(f.answers) for f in found)
            result.report.rows = len(parsed.answers)
            _write(conn, path.name, guide, found, result.report)
            if dry_run:
                raise _DryRun
            report = result.report
            counts = {"rows": report.rows, "created": report.created, "updated": report.updated}
            run = {"entity": INTERVIEW, "file": str(path), "started_at": started, "finished_at": utc_now()}
            conn.execute(
                import_runs.insert().values(
                    **run, **counts, unchanged=report.unchanged, warnings=result.warnings
                )
            )
    except _DryRun:
        pass
    return result


__all__ = ["InterviewImport", "import_interviews"]
