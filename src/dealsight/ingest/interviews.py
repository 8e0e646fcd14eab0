"""Reading interview answers from a CSV or XLSX file: one row per answer, checked all at once.

The layout (docs/interviews.md has an example):

- ``contact_email`` or ``contact_id``: who was interviewed (one of the two in every row; ``email`` is
  read as ``contact_email``);
- ``date``: the interview's day, ``YYYY-MM-DD`` (``interviewed_on`` is read as ``date``);
- ``question``: the guide question's key (``why_bought``);
- ``answer``: what the customer said;
- ``tags`` (optional): ``kind:value`` tags separated by ``;`` (``need:price; stage:decision``);
- ``interview`` (optional): the interview's own id in the file or the system it came from; rows with
  the same id are one interview (without it, rows of one contact on one day are);
- ``interviewer_email`` (optional): the dealsight user who interviewed;
- ``deal`` (optional): the deal the interview was about, by the deal's external (CRM) id or dealsight id;
- ``note`` (optional): a note on the interview.

This module checks each cell on its own (a day, a key, text within limits, well-formed tags); whether the
contact, question, user and deal exist is the import service's check
(:mod:`dealsight.services.interview_imports`), which names the file, row and column the same way. Rows
are numbered as a spreadsheet does (the header is row 1); nothing is returned unless every row is valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dealsight.domain.interviews import ANSWER_LENGTH, Tag, key_problem, parse_tags, split_tags
from dealsight.errors import ImportError_, RowError, RowProblem
from dealsight.ingest.importer import MAX_PROBLEMS
from dealsight.ingest.readers import open_table

COLUMNS = (
    "contact_email",
    "contact_id",
    "date",
    "question",
    "answer",
    "tags",
    "interview",
    "interviewer_email",
    "deal",
    "note",
)
ALIASES = {"email": "contact_email", "interviewed_on": "date", "question_key": "question"}
REQUIRED = ("date", "question", "answer")
TEXT_LENGTH = 320


@dataclass(frozen=True)
class FileAnswer:
    """One valid row: where it is, who, when, which question, the answer and its tags."""

    row: int
    contact_email: str | None
    contact_id: int | None
    interviewed_on: date
    question: str
    answer: str
    tags: tuple[Tag, ...]
    interview: str | None
    interviewer_email: str | None
    deal: str | None
    note: str | None


@dataclass
class InterviewFile:
    label: str
    answers: list[FileAnswer] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Problems:
    """Problems of one file, the first :data:`MAX_PROBLEMS` kept and the rest counted."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.found: list[RowProblem] = []
        self.more = 0

    def add(self, row: int, column: str, value: str, expected: str) -> None:
        if len(self.found) < MAX_PROBLEMS:
            self.found.append(RowProblem(self.label, row, column, value, expected))
        else:
            self.more += 1

    def raise_any(self) -> None:
        if self.found:
            raise RowError(self.found, self.more)


def _header(path: Path, header: list[str]) -> tuple[dict[str, str], list[str]]:
    """Our column name -> the file's, and the file's columns not read."""
    columns: dict[str, str] = {}
    ignored: list[str] = []
    for name in header:
        if not name:
            continue
        key = name.strip().lower().replace(" ", "_")
        key = ALIASES.get(key, key)
        if key in COLUMNS and key not in columns:
            columns[key] = name
        else:
            ignored.append(name)
    missing = [c for c in REQUIRED if c not in columns]
    if "contact_email" not in columns and "contact_id" not in columns:
        missing.insert(0, "contact_email or contact_id")
    if missing:
        raise ImportError_(
            f"{path.name}, row 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(columns are {', '.join(COLUMNS)}; docs/interviews.md)"
        )
    return columns, ignored


def _cell(row: dict[str, str], columns: dict[str, str], name: str) -> str:
    return row.get(columns[name], "").strip() if name in columns else ""


def _answer(number: int, cells: dict[str, str], problems: Problems) -> FileAnswer | None:
    before = len(problems.found) + problems.more
    email, contact = cells["contact_email"], cells["contact_id"]
    contact_id = None
    if not email and not contact:
        problems.add(number, "contact_email", "", "the contact's e-mail (or a contact_id)")
    elif contact and not email:
        if not contact.isdecimal() or len(contact) > 9:
            problems.add(number, "contact_id", contact, "a dealsight contact id (a whole number)")
        else:
            contact_id = int(contact)
    if email and ("@" not in email or len(email) > TEXT_LENGTH):
        problems.add(number, "contact_email", email, "an e-mail address")
    try:
        day = date.fromisoformat(cells["date"])
    except ValueError:
        problems.add(number, "date", cells["date"], "a day such as 2026-09-30")
        day = date.min
    key = cells["question"].lower()
    if not key or key_problem(key):
        problems.add(number, "question", cells["question"], "a guide question's key, such as why_bought")
    said = cells["answer"].strip()
    if not said:
        problems.add(number, "answer", "", "the customer's answer")
    elif len(said) > ANSWER_LENGTH:
        problems.add(number, "answer", said, f"at most {ANSWER_LENGTH:,} characters")
    tags, tag_problems = parse_tags(split_tags(cells["tags"]))
    for problem in tag_problems:
        problems.add(number, "tags", cells["tags"], f"kind:value tags separated by ';' ({problem})")
    for name in ("interview", "interviewer_email", "deal"):
        if len(cells[name]) > TEXT_LENGTH:
            problems.add(number, name, cells[name], f"at most {TEXT_LENGTH} characters")
    if len(problems.found) + problems.more > before:
        return None
    return FileAnswer(
        number,
        email.lower() or None,
        contact_id,
        day,
        key,
        said,
        tags,
        cells["interview"] or None,
        cells["interviewer_email"].lower() or None,
        cells["deal"] or None,
        cells["note"] or None,
    )


def read_interview_file(path: Path, sheet: str | None = None) -> InterviewFile:
    """The answers of ``path`` (module docstring); a :class:`RowError` naming each bad cell."""
    table = open_table(path, sheet)
    parsed = InterviewFile(path.name)
    problems = Problems(path.name)
    try:
        columns, ignored = _header(path, table.header)
        if ignored:
            parsed.warnings.append(
                f"columns not read: {', '.join(ignored)} (docs/interviews.md lists the columns)"
            )
        for number, row in table.rows:
            cells = {name: _cell(row, columns, name) for name in COLUMNS}
            found = _answer(number, cells, problems)
            if found is not None:
                parsed.answers.append(found)
    finally:
        table.close()
    problems.raise_any()
    if not parsed.answers:
        raise ImportError_(f"{path.name}: no answers in the file; expected one row per answer")
    return parsed


__all__ = ["COLUMNS", "FileAnswer", "InterviewFile", "Problems", "read_interview_file"]
