"""``dealsight import account-goals FILE``: the customers' executive goals from a CSV or XLSX file, all or
nothing.

One row per goal, with a header row (any case; spaces or underscores alike):

- ``account`` (required): the account's external id or name; it must already be in dealsight;
- ``goal`` (required): the goal in the customer's words (at most 300 characters);
- ``executive``: the executive at the customer who owns it, a contact of that account by e-mail, external
  id or name;
- ``owner``: our owner of the goal, an active user by e-mail or name;
- ``target_date``, ``priority`` (high, medium, low; default medium), ``status`` (identified, in_progress,
  at_risk, achieved, dropped; default identified), ``measure`` (of success), ``note``;
- ``deals``: deals of the account the goal serves, by id, external id or name, separated by ``;`` (links are
  added, never removed: links made on the page stay);
- ``external_id``: the goal's id in the source.

A row updates the stored goal with its ``external_id`` or, without one, the account's goal of the same
text (any case), so importing the same file twice changes nothing. Every problem names the file, the row
(the header is row 1) and the column; any problem and nothing is written. Each created or changed goal and
each new link is recorded in the audit log (``via`` cli, actor the system) and the run in ``import_runs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from dealsight.domain.account_plans import GOAL_LENGTH, MEASURE_LENGTH, NOTE_LENGTH, GoalPriority, GoalStatus
from dealsight.domain.clock import utc_now
from dealsight.domain.names import name_key
from dealsight.errors import ImportError_, RowError, RowProblem
from dealsight.ingest.fields import BadValue, parse_date
from dealsight.ingest.importer import MAX_PROBLEMS, EntityReport
from dealsight.ingest.readers import open_table
from dealsight.services.account_goals import GOAL
from dealsight.services.records import changed
from dealsight.store import account_plans as store
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.schema import account_goals, import_runs

COLUMNS = (
    "account", "goal", "executive", "owner", "target_date", "priority", "status", "measure", "note", "deals",
    "external_id",
)  # fmt: skip
REQUIRED = ("account", "goal")


@dataclass
class GoalRow:
    number: int
    account_id: int
    values: dict[str, Any]
    deals: list[tuple[int, str]] = field(default_factory=list)


class _DryRun(Exception):
    """Rolls a dry run's transaction back."""


def _columns(label: str, header: list[str]) -> dict[str, str]:
    found = {name_key(h).replace(" ", "_"): h for h in header if h}
    columns = {name: found[name] for name in COLUMNS if name in found}
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ImportError_(
            f"{label}, row 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; a goals "
            f"file has the columns {', '.join(COLUMNS)} (account and goal required); found "
            f"{', '.join(header) or 'none'}"
        )
    return columns


class _Names:
    """Records by each way a file may name them (id, external id, e-mail, name), within a scope (an account;
    0 for users); a name may fit several records."""

    def __init__(self) -> None:
        self.found: dict[tuple[int, str], set[int]] = {}

    def add(self, scope: int, record_id: int, *refs: str | None) -> None:
        for ref in refs:
            if ref:
                self.found.setdefault((scope, ref), set()).add(record_id)

    def find(self, scope: int, ref: str) -> set[int]:
        for key in (ref, ref.lower(), name_key(ref)):
            if (scope, key) in self.found:
                return self.found[(scope, key)]
        return set()


class _Lookups:
    """What the rows name, read once for the whole file: accounts, their contacts and deals, users."""

    def __init__(self, conn: Connection, account_refs: set[str]) -> None:
        self.accounts = store.accounts_by_reference(conn, account_refs)
        ids = set(self.accounts.values())
        self.contacts, self.deals, self.users = _Names(), _Names(), _Names()
        for row in store.people_of_accounts(conn, ids):
            email = row.email.lower() if row.email else None
            self.contacts.add(int(row.account_id), int(row.id), email, row.external_id, name_key(row.name))
        self.deal_names: dict[int, str] = {}
        for row in store.deals_of_accounts(conn, ids):
            self.deals.add(int(row.account_id), int(row.id), str(row.id), row.external_id, name_key(row.name))
            self.deal_names[int(row.id)] = str(row.name)
        for row in store.active_users(conn):
            self.users.add(0, int(row.id), row.email.lower() if row.email else None, name_key(row.name))


class _Rows:
    def __init__(self, label: str, columns: dict[str, str], lookups: _Lookups) -> None:
        self.label, self.columns, self.lookups = label, columns, lookups
        self.problems: list[RowProblem] = []
        self.more = 0

    def problem(self, number: int, name: str, value: str, expected: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(
                RowProblem(self.label, number, self.columns.get(name, name), value, expected)
            )
        else:
            self.more += 1

    def one(self, number: int, column: str, ref: str, found: set[int], what: str, by: str) -> int | None:
        """The one record ``ref`` names, else a problem: none, or several (then say how to name one)."""
        if len(found) == 1:
            return next(iter(found))
        if found:
            expected = f"one {what}: {len(found)} have this name; give its {by}"
        else:
            expected = f"the {by} or name of {'an' if what[0] in 'aeiou' else 'a'} {what}"
        self.problem(number, column, ref, expected)
        return None

    def cell(self, raw: dict[str, str], name: str) -> str:
        return raw.get(self.columns.get(name, ""), "").strip()

    def text(self, number: int, raw: dict[str, str], name: str, longest: int) -> str | None:
        value = self.cell(raw, name)
        if len(value) > longest:
            self.problem(number, name, value, f"at most {longest} characters (it has {len(value)})")
        return value or None

    def choice(self, number: int, raw: dict[str, str], name: str, enum: Any, default: Any) -> Any:
        value = self.cell(raw, name)
        if not value:
            return default
        try:
            return enum(name_key(value).replace(" ", "_"))
        except ValueError:
            self.problem(number, name, value, f"one of {', '.join(e.value for e in enum)}")
            return default

    def day(self, number: int, raw: dict[str, str]) -> date | None:
        value = self.cell(raw, "target_date")
        if not value:
            return None
        try:
            return parse_date(value)
        except (BadValue, ValueError):
            self.problem(number, "target_date", value, "a date such as 2027-06-30")
            return None

    def parse(self, number: int, raw: dict[str, str]) -> GoalRow | None:
        before = len(self.problems) + self.more
        ref = self.cell(raw, "account")
        account_id = self.lookups.accounts.get(ref) if ref else None
        if account_id is None:
            self.problem(number, "account", ref, "the external id or name of one account in dealsight")
        goal = self.text(number, raw, "goal", GOAL_LENGTH)
        if not goal:
            self.problem(number, "goal", "", "the goal in the customer's words")
        values: dict[str, Any] = {
            "goal": goal,
            "target_date": self.day(number, raw),
            "priority": self.choice(number, raw, "priority", GoalPriority, GoalPriority.MEDIUM).value,
            "status": self.choice(number, raw, "status", GoalStatus, GoalStatus.IDENTIFIED).value,
            "measure": self.text(number, raw, "measure", MEASURE_LENGTH),
            "note": self.text(number, raw, "note", NOTE_LENGTH),
            "external_id": self.text(number, raw, "external_id", 128),
            "executive_id": None,
            "owner_id": None,
        }
        owner = self.cell(raw, "owner")
        if owner:
            found = self.lookups.users.find(0, owner)
            values["owner_id"] = self.one(number, "owner", owner, found, "active user", "e-mail")
        row = GoalRow(number, account_id or 0, values)
        if account_id is not None:
            executive = self.cell(raw, "executive")
            if executive:
                found = self.lookups.contacts.find(account_id, executive)
                by = "e-mail or external id"
                values["executive_id"] = self.one(
                    number, "executive", executive, found, "contact of the account", by
                )
            for deal_ref in filter(None, (part.strip() for part in self.cell(raw, "deals").split(";"))):
                found = self.lookups.deals.find(account_id, deal_ref)
                deal_id = self.one(
                    number, "deals", deal_ref, found, "deal of the account", "id or external id"
                )
                if deal_id is not None:
                    row.deals.append((deal_id, self.lookups.deal_names[deal_id]))
        return row if len(self.problems) + self.more == before else None


def _read(conn: Connection, path: Path, sheet: str | None) -> list[GoalRow]:
    table = open_table(path, sheet)
    try:
        columns = _columns(path.name, table.header)
        rows = list(table.rows)
    finally:
        table.close()
    refs = {raw.get(columns["account"], "").strip() for _, raw in rows}
    reader = _Rows(path.name, columns, _Lookups(conn, refs - {""}))
    parsed: list[GoalRow] = []
    seen: dict[tuple[int, str], int] = {}
    for number, raw in rows:
        row = reader.parse(number, raw)
        if row is None:
            continue
        key = (row.account_id, row.values["external_id"] or str(row.values["goal"]).casefold())
        if key in seen:
            reader.problem(
                number, "goal", str(row.values["goal"]), f"one row per goal (row {seen[key]} has it)"
            )
            continue
        seen[key] = number
        parsed.append(row)
    if reader.problems:
        raise RowError(reader.problems, reader.more)
    return parsed


def _stored(conn: Connection, rows: list[GoalRow]) -> dict[tuple[int, str], dict[str, Any]]:
    """The stored goals of the file's accounts, by (account, external id) and by (account, goal text)."""
    found: dict[tuple[int, str], dict[str, Any]] = {}
    ids = sorted({row.account_id for row in rows})
    for stored in store.goal_rows(conn, account_goals.c.account_id.in_(ids)) if ids else []:
        values = {name: stored[name] for name in ("id", *store.GOAL_FIELDS)}
        if stored["external_id"]:
            found[(int(stored["account_id"]), "#" + stored["external_id"])] = values
        found.setdefault((int(stored["account_id"]), str(stored["goal"]).casefold()), values)
    return found


def _write(conn: Connection, rows: list[GoalRow], report: EntityReport) -> None:
    stored = _stored(conn, rows)
    now = utc_now()
    for row in rows:
        external = row.values["external_id"]
        before = stored.get((row.account_id, "#" + external)) if external else None
        before = before or stored.get((row.account_id, str(row.values["goal"]).casefold()))
        diff: dict[str, tuple[object, object]] = {}
        if before is None:
            goal_id = store.insert_goal(conn, row.account_id, row.values, now)
            created = {"account_id": (None, row.account_id)} | {
                name: (None, value) for name, value in row.values.items() if value is not None
            }
            record_changes(conn, actor=None, via="cli", entity=GOAL, entity_id=goal_id, action="create",
                           changes=created)  # fmt: skip
            report.created += 1
        else:
            goal_id = int(before["id"])
            given = {
                name: value
                for name, value in row.values.items()
                if value is not None or name == "target_date"
            }
            diff = changed({name: before[name] for name in given}, given)
            if diff:
                store.update_goal_row(conn, goal_id, {name: new for name, (_, new) in diff.items()}, now)
                record_changes(conn, actor=None, via="cli", entity=GOAL, entity_id=goal_id, action="update",
                               changes=diff)  # fmt: skip
        linked = [
            (deal_id, name) for deal_id, name in row.deals if store.link_deal(conn, goal_id, deal_id, now)
        ]
        for deal_id, name in linked:
            record_changes(conn, actor=None, via="cli", entity=GOAL, entity_id=goal_id, action="update",
                           changes={"linked_deal": (None, f"{name} ({deal_id})")})  # fmt: skip
        if before is not None:
            if diff or linked:
                report.updated += 1
            else:
                report.unchanged += 1


def import_account_goals(
    engine: Engine, path: Path, *, sheet: str | None = None, dry_run: bool = False
) -> EntityReport:
    """Import the goals of ``path`` (see the module docstring) in one transaction; ``dry_run`` checks
    everything and writes nothing."""
    report = EntityReport("account goals", path.name)
    started = utc_now()
    try:
        with transaction(engine) as conn:
            rows = _read(conn, path, sheet)
            report.rows = len(rows)
            _write(conn, rows, report)
            if dry_run:
                raise _DryRun
            run = {
                "entity": "account_goals",
                "file": str(path),
                "started_at": started,
                "finished_at": utc_now(),
            }
            counts = {"rows": report.rows, "created": report.created, "updated": report.updated}
            conn.execute(
                import_runs.insert().values(**run, **counts, unchanged=report.unchanged, warnings=[])
            )
    except _DryRun:
        pass
    return report


__all__ = ["COLUMNS", "import_account_goals"]
