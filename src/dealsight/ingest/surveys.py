"""Reading a needs survey from a CSV or XLSX file: one row per respondent, checked all at once.

The layout (docs/needs.md has an example) is the one a team fills in a spreadsheet, one row per person:

- ``respondent``: an id or name, once per file (a survey's respondents are told apart by it);
- ``respondent_type``: ``customer`` or ``internal``; left empty (or left out), a row with a function is
  internal and one without is a customer;
- ``function``: an internal respondent's function (marketing, sales, service, leadership);
- ``email`` (a customer's: links the answers to that dealsight contact and its account), ``account`` (the
  account's name, when the contact is not in dealsight), ``segment`` and ``industry`` (else the linked
  account's): all optional;
- ``points: <need>``, one column per need: the respondent's share of 100 points (an empty cell is 0);
- ``<vendor>: <need>``, one column per vendor and need: their rating of that vendor on that need, 0 to
  10 (an empty cell: not rated). Our own vendor's columns are ``us: <need>`` unless told otherwise.

The header defines the survey: its needs are the ``points:`` columns, its vendors those of the rating
columns, both in the order they first appear. Names match in any case. A need or vendor given beforehand
(``needs`` / ``vendors``, for instance a stored survey's) must be exactly the file's: any other is an
unknown need or vendor. Every problem names the file, the row (as a spreadsheet numbers it, the header is
row 1) and the column; up to :data:`~dealsight.ingest.importer.MAX_PROBLEMS` are reported at once and
nothing is returned unless every row is valid. Columns without ``:`` that are not listed above are not
read (a warning says which).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from dealsight.domain.names import name_key
from dealsight.domain.surveys import (
    OUR_VENDOR,
    RESPONDENT_LENGTH,
    SEPARATOR,
    Definition,
    Function,
    RespondentType,
    Response,
    as_number,
    clean_name,
    define_survey,
    label_key,
    points_problems,
    rating_problem,
    respondent_problems,
)
from dealsight.errors import ImportError_, RowError, RowProblem
from dealsight.ingest.importer import MAX_PROBLEMS
from dealsight.ingest.readers import open_table

FIXED = ("respondent", "respondent_type", "function", "email", "account", "segment", "industry")
POINTS = "points"
TEXT_LENGTH = 200


@dataclass(frozen=True)
class FileResponse:
    """One valid row: its number, the answers, and the e-mail and account name to link it by."""

    row: int
    response: Response
    email: str | None
    account: str | None


@dataclass
class SurveyFile:
    """A valid file: the survey it defines, its rows, and what was assumed (warnings)."""

    definition: Definition
    responses: list[FileResponse] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    """Where everything is in the header: fixed fields, points by need, ratings by (vendor, need)."""

    fixed: dict[str, str]
    points: dict[str, str]
    ratings: dict[tuple[str, str], str]
    definition: Definition
    ignored: list[str]


class _Problems:
    def __init__(self, label: str) -> None:
        self.label = label
        self.found: list[RowProblem] = []
        self.more = 0

    def add(self, row: int, column: str, value: str, expected: str) -> None:
        if len(self.found) < MAX_PROBLEMS:
            self.found.append(RowProblem(self.label, row, column, value, expected))
        else:
            self.more += 1


def _split(header: str) -> tuple[str, str] | None:
    if SEPARATOR not in header:
        return None
    left, right = header.split(SEPARATOR, 1)
    return clean_name(left), clean_name(right)


def _match(names: Sequence[str], given: Sequence[str] | None, what: str) -> tuple[list[str], list[str]]:
    """The file's ``names`` in the given spelling and order, and those unknown to ``given``."""
    if given is None:
        return list(names), []
    spelled = {label_key(name): name for name in given}
    return [spelled.get(label_key(name), name) for name in names], [
        name for name in names if label_key(name) not in spelled
    ]


def read_layout(
    label: str,
    header: list[str],
    *,
    needs: Sequence[str] | None = None,
    vendors: Sequence[str] | None = None,
    us: str = OUR_VENDOR,
) -> Layout:
    """The survey the header defines (module docstring); an :class:`ImportError_` or a :class:`RowError`
    on row 1 naming the columns at fault."""
    problems = _Problems(label)
    fixed: dict[str, str] = {}
    points: dict[str, str] = {}
    ratings: dict[tuple[str, str], str] = {}
    ignored: list[str] = []
    for column in header:
        if not column:
            continue
        parts = _split(column)
        if parts is None:
            key = name_key(column).replace(" ", "_")
            if key in FIXED:
                fixed[key] = column
            else:
                ignored.append(column)
        elif label_key(parts[0]) == POINTS:
            points.setdefault(parts[1], column)
        else:
            ratings.setdefault(parts, column)
    if "respondent" not in fixed:
        raise ImportError_(
            f"{label}, row 1: no 'respondent' column; a survey file has one row per respondent with the "
            f"columns respondent, respondent_type, function, email, account, segment, industry, "
            f"'points: <need>' per need and '<vendor>: <need>' per vendor and need (docs/needs.md); found "
            f"{', '.join(header)}"
        )
    if not points:
        raise ImportError_(f"{label}, row 1: no 'points: <need>' column, such as 'points: service'")
    file_needs, unknown_needs = _match(list(points), needs, "need")
    file_vendors, unknown_vendors = _match(list(dict.fromkeys(v for v, _ in ratings)), vendors, "vendor")
    known_needs = {label_key(n) for n in file_needs}
    for name in unknown_needs:
        problems.add(1, points[name], name, f"one of the survey's needs ({', '.join(needs or ())})")
    for name in unknown_vendors:
        column = next(c for (v, _), c in ratings.items() if v == name)
        problems.add(1, column, name, f"one of the survey's vendors ({', '.join(vendors or ())})")
    for (_, need), column in ratings.items():
        if label_key(need) not in known_needs:
            problems.add(1, column, need, f"a need with a points column ({', '.join(file_needs)})")
    for name in needs or ():
        if label_key(name) not in known_needs:
            problems.add(1, "points", "", f"a column 'points: {name}' (the survey asks about {name})")
    definition = define_survey(file_needs, file_vendors, us)
    for problem in definition.problems:
        problems.add(
            1, "(header)", "", problem.replace("our own vendor", "a rating column of our own vendor")
        )
    if problems.found:
        raise RowError(problems.found, problems.more)
    need_of = {label_key(n): n for n in definition.needs}
    vendor_of = {label_key(v): v for v in definition.vendors}
    return Layout(
        fixed,
        {need_of[label_key(n)]: c for n, c in points.items()},
        {(vendor_of[label_key(v)], need_of[label_key(n)]): c for (v, n), c in ratings.items()},
        definition,
        ignored,
    )


class _Rows:
    def __init__(self, layout: Layout, problems: _Problems) -> None:
        self.layout = layout
        self.problems = problems

    def text(self, raw: dict[str, str], name: str) -> str | None:
        column = self.layout.fixed.get(name)
        return raw.get(column) if column else None

    def who(self, row: int, raw: dict[str, str]) -> tuple[RespondentType, Function | None] | None:
        kind_text, function_text = self.text(raw, "respondent_type"), self.text(raw, "function")
        function = None
        if function_text:
            try:
                function = Function(function_text.strip().lower())
            except ValueError:
                functions = ", ".join(f.value for f in Function)
                self.problems.add(row, self.layout.fixed["function"], function_text, f"one of {functions}")
                return None
        if kind_text:
            try:
                kind = RespondentType(kind_text.strip().lower())
            except ValueError:
                column = self.layout.fixed["respondent_type"]
                self.problems.add(row, column, kind_text, "customer or internal")
                return None
        else:
            kind = RespondentType.INTERNAL if function else RespondentType.CUSTOMER
        for _, problem in respondent_problems(kind, function):
            self.problems.add(
                row, self.layout.fixed.get("function", "function"), function_text or "", problem
            )
            return None
        return kind, function

    def points(self, row: int, raw: dict[str, str]) -> dict[str, Decimal] | None:
        values: dict[str, Decimal] = {}
        ok = True
        for need, column in self.layout.points.items():
            text = raw.get(column, "")
            value = as_number(text) if text else Decimal(0)
            if value is None:
                self.problems.add(row, column, text, "points: a number from 0 to 100 (empty is 0)")
                ok = False
            else:
                values[need] = value
        if not ok:
            return None
        found = points_problems(values)
        columns = list(self.layout.points.values())
        for problem in found:
            column = self.layout.points[problem.need] if problem.need else f"{columns[0]} .. {columns[-1]}"
            self.problems.add(row, column, problem.value, problem.expected)
        return None if found else values

    def ratings(self, row: int, raw: dict[str, str]) -> dict[tuple[str, str], Decimal] | None:
        values: dict[tuple[str, str], Decimal] = {}
        ok = True
        for (vendor, need), column in self.layout.ratings.items():
            text = raw.get(column, "")
            if not text:
                continue
            value = as_number(text)
            problem = rating_problem(vendor, need, value) if value is not None else None
            if value is None or problem is not None:
                self.problems.add(row, column, text, "a rating from 0 to 10 (empty: not rated)")
                ok = False
            else:
                values[(vendor, need)] = value
        return values if ok else None

    def linked(self, row: int, raw: dict[str, str], name: str) -> str | None:
        value = self.text(raw, name)
        if value and len(value) > TEXT_LENGTH:
            self.problems.add(row, self.layout.fixed[name], value, f"at most {TEXT_LENGTH} characters")
            return None
        return value or None

    def read(self, row: int, raw: dict[str, str], seen: dict[str, int]) -> FileResponse | None:
        respondent = (self.text(raw, "respondent") or "").strip()
        column = self.layout.fixed["respondent"]
        if not respondent or len(respondent) > RESPONDENT_LENGTH:
            expected = f"the respondent's id or name (1 to {RESPONDENT_LENGTH} characters), once per file"
            self.problems.add(row, column, respondent, expected)
            respondent = ""
        elif label_key(respondent) in seen:
            first = seen[label_key(respondent)]
            self.problems.add(row, column, respondent, f"each respondent once (row {first} has this one)")
            respondent = ""
        else:
            seen[label_key(respondent)] = row
        who, points, ratings = self.who(row, raw), self.points(row, raw), self.ratings(row, raw)
        email, account = self.linked(row, raw, "email"), self.linked(row, raw, "account")
        segment, industry = self.linked(row, raw, "segment"), self.linked(row, raw, "industry")
        if not respondent or who is None or points is None or ratings is None:
            return None
        if who[0] is RespondentType.INTERNAL:
            email = account = segment = industry = None
        response = Response(
            respondent,
            who[0],
            who[1],
            points,
            ratings,
            segment=segment.strip().lower() if segment else None,
            industry=industry.strip().lower() if industry else None,
        )
        return FileResponse(row, response, email.strip().lower() if email else None, account)


def read_survey_file(
    path: Path,
    *,
    sheet: str | None = None,
    needs: Sequence[str] | None = None,
    vendors: Sequence[str] | None = None,
    us: str = OUR_VENDOR,
) -> SurveyFile:
    """Every row of ``path`` checked (module docstring): the survey it defines and its responses, or a
    :class:`RowError` naming each problem's file, row and column."""
    table = open_table(path, sheet)
    try:
        layout = read_layout(path.name, table.header, needs=needs, vendors=vendors, us=us)
        problems = _Problems(path.name)
        reader = _Rows(layout, problems)
        found = SurveyFile(layout.definition)
        seen: dict[str, int] = {}
        for row, raw in table.rows:
            response = reader.read(row, raw, seen)
            if response is not None:
                found.responses.append(response)
    finally:
        table.close()
    if problems.found:
        raise RowError(problems.found, problems.more)
    if not found.responses:
        raise ImportError_(f"{path.name}: no respondent's answers below the header; nothing was imported")
    if layout.ignored:
        found.warnings.append(
            f"columns not read (not part of the survey layout): {', '.join(layout.ignored)}"
        )
    missing = [
        f"{vendor}: {need}"
        for vendor in layout.definition.vendors
        for need in layout.definition.needs
        if (vendor, need) not in layout.ratings
    ]
    if missing:
        found.warnings.append(f"no column for {', '.join(missing)}: nobody rated those")
    return found


__all__ = ["FIXED", "FileResponse", "Layout", "SurveyFile", "read_layout", "read_survey_file"]
