"""``dealsight import quotas FILE``: reps' and teams' quotas from a CSV or XLSX file, all or nothing.

The file has a header row and the columns (any case; spaces or underscores alike):

- ``owner_email`` (a rep's quota) **or** ``team`` (a team's quota, by team name); each row gives exactly one;
- ``period_start`` and ``period_end`` (the last day included; the importers' date formats);
- ``amount`` (0 or more; ``1,250,000`` and ``$1,250,000.00`` read as numbers);
- ``currency``, optional (three letters; USD when left out).

The file is read with the importers' readers (delimiter and encoding detected, rows numbered as a
spreadsheet shows them). Every problem names the file, the row and the column, and no row is written
unless every row is valid. A quota of the same owner and period as a stored one updates it (re-importing
the same file changes nothing); a repeated owner and period within the file is a problem. Each created or
changed quota is recorded in the audit log (``via`` cli, actor the system) and the run in ``import_runs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from dealsight.domain.clock import utc_now
from dealsight.domain.names import name_key
from dealsight.errors import ImportError_, RowError, RowProblem
from dealsight.ingest.fields import BadValue, parse_date, parse_decimal
from dealsight.ingest.importer import MAX_PROBLEMS, EntityReport
from dealsight.ingest.readers import open_table
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.quotas import existing_quotas, insert_quota, owners_by_key, update_quota_row
from dealsight.store.schema import import_runs

COLUMNS = ("owner_email", "team", "period_start", "period_end", "amount", "currency")
Key = tuple[int | None, int | None, date, date]


@dataclass(frozen=True)
class QuotaRow:
    number: int
    key: Key
    amount: Decimal
    currency: str


class _DryRun(Exception):
    """Rolls a dry run's transaction back."""


class _Rows:
    """Reads the rows of one file, collecting problems (at most :data:`MAX_PROBLEMS` shown)."""

    def __init__(self, label: str, columns: dict[str, str], emails: dict[str, int], team_ids: dict[str, int]):
        self.label = label
        self.columns = columns
        self.emails = emails
        self.team_ids = team_ids
        self.problems: list[RowProblem] = []
        self.more = 0

    def problem(self, number: int, field: str, value: str, expected: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(
                RowProblem(self.label, number, self.columns.get(field, field), value, expected)
            )
        else:
            self.more += 1

    def owner(self, number: int, raw: dict[str, str]) -> tuple[int | None, int | None] | None:
        email = raw.get(self.columns.get("owner_email", ""), "")
        team = raw.get(self.columns.get("team", ""), "")
        if bool(email) == bool(team):
            shown = f"{email} / {team}" if email else ""
            self.problem(number, "owner_email", shown, "either an owner e-mail or a team name, not both")
            return None
        if email:
            user_id = self.emails.get(email.lower())
            if user_id is None:
                self.problem(number, "owner_email", email, "the e-mail of a user in dealsight")
                return None
            return user_id, None
        team_id = self.team_ids.get(team.strip().lower())
        if team_id is None:
            self.problem(number, "team", team, "the name of a team in dealsight")
            return None
        return None, team_id

    def day(self, number: int, raw: dict[str, str], field: str) -> date | None:
        text = raw.get(self.columns.get(field, ""), "")
        if not text:
            self.problem(number, field, "", "a date such as 2026-12-31")
            return None
        try:
            return parse_date(text)
        except (BadValue, ValueError):
            self.problem(number, field, text, "a date such as 2026-12-31")
            return None

    def amount(self, number: int, raw: dict[str, str]) -> Decimal | None:
        text = raw.get(self.columns.get("amount", ""), "")
        try:
            value = parse_decimal(text) if text else None
        except BadValue as bad:
            self.problem(number, "amount", text, str(bad))
            return None
        if value is None or value < 0:
            self.problem(number, "amount", text, "an amount of 0 or more such as 250000")
            return None
        return value.quantize(Decimal("0.01"))

    def currency(self, number: int, raw: dict[str, str]) -> str | None:
        text = raw.get(self.columns.get("currency", ""), "") or "USD"
        if len(text) != 3 or not text.isalpha():
            self.problem(number, "currency", text, "a three-letter currency code such as USD")
            return None
        return text.upper()

    def parse(self, number: int, raw: dict[str, str]) -> QuotaRow | None:
        owner = self.owner(number, raw)
        start, end = self.day(number, raw, "period_start"), self.day(number, raw, "period_end")
        amount, currency = self.amount(number, raw), self.currency(number, raw)
        if start is not None and end is not None and end < start:
            self.problem(number, "period_end", end.isoformat(), f"a day on or after period_start ({start})")
            return None
        if owner is None or start is None or end is None or amount is None or currency is None:
            return None
        return QuotaRow(number, (owner[0], owner[1], start, end), amount, currency)


def _columns(label: str, header: list[str]) -> dict[str, str]:
    """Field -> the file's column name; refuses a file without the columns a quota needs."""
    found = {name_key(h).replace(" ", "_"): h for h in header if h}
    columns = {field: found[field] for field in COLUMNS if field in found}
    missing = [f for f in ("period_start", "period_end", "amount") if f not in columns]
    if "owner_email" not in columns and "team" not in columns:
        missing.insert(0, "owner_email or team")
    if missing:
        raise ImportError_(
            f"{label}, row 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; a quota "
            f"file has the columns owner_email or team, period_start, period_end, amount and currency "
            f"(optional); found {', '.join(header) or 'none'}"
        )
    return columns


def _read(conn: Connection, path: Path, sheet: str | None) -> list[QuotaRow]:
    table = open_table(path, sheet)
    try:
        columns = _columns(path.name, table.header)
        emails, team_ids = owners_by_key(conn)
        reader = _Rows(path.name, columns, emails, team_ids)
        parsed: list[QuotaRow] = []
        seen: dict[Key, int] = {}
        for number, raw in table.rows:
            row = reader.parse(number, raw)
            if row is None:
                continue
            if row.key in seen:
                column = "owner_email" if row.key[0] is not None else "team"
                expected = f"one quota per owner and period (row {seen[row.key]} has this one)"
                reader.problem(number, column, raw.get(columns[column], ""), expected)
                continue
            seen[row.key] = number
            parsed.append(row)
    finally:
        table.close()
    if reader.problems:
        raise RowError(reader.problems, reader.more)
    return parsed


def _write(conn: Connection, rows: list[QuotaRow], report: EntityReport) -> None:
    stored = existing_quotas(conn, [row.key for row in rows])
    now = utc_now()
    for row in rows:
        user_id, team_id, start, end = row.key
        before = stored.get(row.key)
        if before is None:
            values = {"user_id": user_id, "team_id": team_id, "period_start": start, "period_end": end,
                      "amount": row.amount, "currency": row.currency}  # fmt: skip
            quota_id = insert_quota(conn, values)
            changes = {name: (None, value) for name, value in values.items() if value is not None}
            record_changes(conn, actor=None, via="cli", entity="quota", entity_id=quota_id, action="create",
                           changes=changes)  # fmt: skip
            report.created += 1
            continue
        quota_id, amount, currency = before
        diff = {
            name: (old, new)
            for name, old, new in (("amount", amount, row.amount), ("currency", currency, row.currency))
            if old != new
        }
        if not diff:
            report.unchanged += 1
            continue
        update_quota_row(conn, quota_id, {name: new for name, (_, new) in diff.items()}, now)
        record_changes(conn, actor=None, via="cli", entity="quota", entity_id=quota_id, action="update",
                       changes=diff)  # fmt: skip
        report.updated += 1


def import_quotas(
    engine: Engine, path: Path, *, sheet: str | None = None, dry_run: bool = False
) -> EntityReport:
    """Import the quotas of ``path`` (see the module docstring) in one transaction; ``dry_run`` checks
    everything and writes nothing. Returns what was created, updated and left unchanged."""
    report = EntityReport("quotas", path.name)
    started = utc_now()
    try:
        with transaction(engine) as conn:
            rows = _read(conn, path, sheet)
            report.rows = len(rows)
            _write(conn, rows, report)
            if dry_run:
                raise _DryRun
            counts = {"rows": report.rows, "created": report.created, "updated": report.updated}
            run = {"entity": "quotas", "file": str(path), "started_at": started, "finished_at": utc_now()}
            conn.execute(
                import_runs.insert().values(**run, **counts, unchanged=report.unchanged, warnings=[])
            )
    except _DryRun:
        pass
    return report


__all__ = ["COLUMNS", "import_quotas"]
