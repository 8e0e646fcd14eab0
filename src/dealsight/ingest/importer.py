"""The importer: stream a file, validate every row, write in batches, report what changed.

Everything happens on one connection inside the caller's transaction: the service commits when the whole
file (or bundle) is valid and rolls back otherwise, so an invalid row never leaves half-written data.
Once a row is invalid, writing stops but reading goes on to report up to 20 problems at once.

Decisions (see also docs/importing.md):
- A record is recognised again by its external id (or, for accounts, users and products without one, by
  its normalised name): re-importing a file updates, never duplicates.
- Accounts, users and teams named in a file but not in the store are created and counted in a warning.
- An opportunity's outcome comes from its stage (a closed stage carries won / lost / no decision); a lost
  deal whose loss reason says the buyer did nothing (:func:`is_no_decision`) is a no decision.
- When an import changes the stage, amount, close date or forecast category of an existing opportunity,
  the change is added to its history, timestamped with the row's ``last_modified`` (else the import time):
  repeated snapshot imports build history. New opportunities get no made-up history.
- A closed-lost deal with amount 0 has an unknown amount, not a zero one (a common CRM export quirk).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from dealsight.domain.clock import utc_now
from dealsight.domain.enums import HistoryField, Outcome, Stance, UserRole
from dealsight.domain.names import domain_of, name_key
from dealsight.errors import RowError, RowProblem
from dealsight.ingest.customer_value import CustomerValueWriters
from dealsight.ingest.entities import ENTITIES
from dealsight.ingest.mapping import FileMapping
from dealsight.ingest.readers import Table
from dealsight.ingest.rows import RowParser
from dealsight.store import schema
from dealsight.store.bulk import analyze, insert_many, upsert
from dealsight.store.lookups import References

MAX_PROBLEMS = 20
_NO_DECISION = re.compile(
    r"no[ \-_]?decision|status[ \-_]?quo|did nothing|do nothing|no action|project (?:cancel|shelved|on hold)"
    r"|went dark|no response|stalled",
    re.IGNORECASE,
)
_EXECUTIVE = re.compile(
    r"\b(?:chief|ceo|cfo|cio|coo|cto|cmo|cro|ciso|president|vp|svp|evp|vice president|owner|founder|"
    r"managing director|general manager|head of)\b",
    re.IGNORECASE,
)


def is_no_decision(loss_reason: str | None) -> bool:
    """True when a loss reason says the buyer kept the status quo rather than choosing someone else."""
    return bool(loss_reason and _NO_DECISION.search(loss_reason))


@dataclass
class EntityReport:
    entity: str
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)

    def warn(self, key: str, count: int = 1) -> None:
        self.notes[key] += count

    def finish(self, refs: References, rewrite_notes: list[str]) -> None:
        for kind, count in sorted(refs.created.items()):
            self.warnings.append(
                f"created {count} {kind} named in {self.file} that were not in the store yet"
            )
        refs.created.clear()
        for message, count in self.notes.items():
            self.warnings.append(
                message.format(n=count, s="" if count == 1 else "s", ies="y" if count == 1 else "ies")
            )
        self.warnings.extend(rewrite_notes)


Batch = list[tuple[int, dict[str, Any]]]


class FileImporter(CustomerValueWriters):
    """Imports one file of one entity on ``conn``; call :meth:`run`. (The writers of subscriptions and the
    other customer-value entities are in :mod:`dealsight.ingest.customer_value`.)"""

    def __init__(
        self,
        conn: sa.Connection,
        refs: References,
        mapping: FileMapping,
        table: Table,
        *,
        batch_size: int = 5000,
        label: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.conn = conn
        self.refs = refs
        self.mapping = mapping
        self.spec = ENTITIES[mapping.entity]
        self.table = table
        self.label = label or table.path.name
        self.parser = RowParser(mapping, self.spec, table.header, self.label)
        self.batch_size = batch_size
        self.progress = progress
        self.report = EntityReport(mapping.entity, self.label)
        self.problems: list[RowProblem] = []
        self.more_problems = 0
        self.now = utc_now()
        self.parents: list[tuple[int, str, int]] = []
        self.seen_keys: set[Any] = set()

    def run(self) -> EntityReport:
        for stage in self.mapping.stages:
            self.refs.define_stage(stage.name, stage.share, stage.outcome)
        write = getattr(self, f"_write_{self.mapping.entity}")
        analyzed_at = 10_000  # PostgreSQL statistics refreshed each time the rows written double
        for batch in self._batches():
            if not self.problems:
                write(batch)
                if self.report.rows >= 2 * analyzed_at and self.spec.table is not None:
                    analyze(self.conn, self.spec.table)
                    analyzed_at = self.report.rows
        if self.problems:
            raise RowError(self.problems, self.more_problems)
        self._after()
        if self.spec.table is not None and self.report.rows >= 1000:
            analyze(self.conn, self.spec.table)
        self.report.finish(self.refs, self.parser.rewrite_notes())
        return self.report

    def _batches(self) -> Iterator[Batch]:
        batch: Batch = []
        for number, raw in self.table.rows:
            self.report.rows += 1
            values, problems = self.parser.parse(number, raw)
            if problems:
                for problem in problems:
                    if len(self.problems) < MAX_PROBLEMS:
                        self.problems.append(problem)
                    else:
                        self.more_problems += 1
                continue
            batch.append((number, values))
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
                if self.progress:
                    self.progress(self.table.position())
        if batch:
            yield batch
        if self.progress:
            self.progress(self.table.size)

    def _problem(self, number: int, fieldname: str, value: Any, expected: str) -> None:
        column = self.mapping.columns.get(fieldname, fieldname)
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(RowProblem(self.label, number, column, str(value), expected))
        else:
            self.more_problems += 1

    def _count(self, created: int, updated: int, unchanged: int) -> None:
        self.report.created += created
        self.report.updated += updated
        self.report.unchanged += unchanged

    def _repeat_check(self, key: Any) -> None:
        if key in self.seen_keys:
            self.report.warn("{n} row{s} repeat an id seen earlier in the file; the later row wins")
        elif len(self.seen_keys) < 2_000_000:
            self.seen_keys.add(key)

    def _key(self, values: dict[str, Any]) -> tuple[str, Any]:
        if self.mapping.columns.get("external_id") or "external_id" in self.mapping.defaults:
            return "external_id", values.get("external_id")
        return "name_key", name_key(values["name"])

    # accounts ----------------------------------------------------------------------------------------
    def _write_accounts(self, batch: Batch) -> None:
        records, keycol = [], "name_key"
        for number, v in batch:
            keycol, key = self._key(v)
            if key is None:
                self._problem(number, "external_id", "", "an account id")
                continue
            self._repeat_check(key)
            record: dict[str, Any] = {"name": v["name"], "name_key": name_key(v["name"])}
            if keycol == "external_id":
                record["external_id"] = key
            if "domain" in v:
                record["domain"] = domain_of(v["domain"]) or v["domain"].lower()
            for name in ("industry", "segment", "country", "employees", "annual_revenue"):
                if name in v:
                    record[name] = v[name]
            if "owner" in v:
                record["owner_id"] = self.refs.user(v["owner"])
            records.append(record)
            if "parent" in v:
                self.parents.append((number, v["parent"], len(records) - 1))
        if self.problems:
            return
        result = upsert(self.conn, schema.accounts, records, [keycol], skip=lambda row: row["merged_into_id"])
        self._count(result.created, result.updated, result.unchanged)
        for key in result.skipped:
            self.report.warn(f"account {key!r} was merged into another account; its row was skipped")
        self.refs.remember_accounts(
            (result.ids[r[keycol]], r.get("external_id"), r["name"])
            for r in records
            if r[keycol] in result.ids
        )
        keyed = [r[keycol] for r in records]
        self.parents = [(n, parent, result.ids.get(keyed[i], 0)) for n, parent, i in self.parents]
        self._link_parents()

    def _link_parents(self) -> None:
        pending = []
        for number, parent, child_id in self.parents:
            parent_id = self.refs.find_account(parent)
            if parent_id is None:
                pending.append((number, parent, child_id))
            elif parent_id != child_id:
                self.conn.execute(
                    schema.accounts.update()
                    .where(schema.accounts.c.id == child_id)
                    .values(parent_id=parent_id)
                )
        self.parents = pending

    # users -------------------------------------------------------------------------------------------
    def _write_users(self, batch: Batch) -> None:
        records, keycol = [], "name_key"
        for _number, v in batch:
            keycol, key = self._key(v)
            self._repeat_check(key)
            record: dict[str, Any] = {"name": v["name"], "name_key": name_key(v["name"])}
            if keycol == "external_id":
                record["external_id"] = key
            if "email" in v:
                record["email"] = v["email"].lower()
            if "role" in v:
                record["role"] = v["role"].value
            if "active" in v:
                record["active"] = v["active"]
            if "team" in v:
                record["team_id"] = self.refs.team(v["team"])
                if "parent_team" in v:
                    parent = self.refs.team(v["parent_team"])
                    self.conn.execute(
                        schema.teams.update()
                        .where(schema.teams.c.id == record["team_id"])
                        .values(parent_id=parent)
                    )
            if "manager" in v:
                record["manager_id"] = self.refs.user(v["manager"], role=UserRole.MANAGER)
                if "team" in v:
                    self.conn.execute(
                        schema.users.update()
                        .where(schema.users.c.id == record["manager_id"], schema.users.c.team_id.is_(None))
                        .values(team_id=record["team_id"])
                    )
            records.append(record)
        result = upsert(self.conn, schema.users, records, [keycol])
        self._count(result.created, result.updated, result.unchanged)
        self.refs.forget_users()

    # products ----------------------------------------------------------------------------------------
    def _write_products(self, batch: Batch) -> None:
        records, keycol = [], "name_key"
        for _number, v in batch:
            keycol, key = self._key(v)
            record = {"name": v["name"], "name_key": name_key(v["name"])}
            if keycol == "external_id":
                record["external_id"] = key
            record.update({k: v[k] for k in ("series", "list_price") if k in v})
            records.append(record)
        result = upsert(self.conn, schema.products, records, [keycol])
        self._count(result.created, result.updated, result.unchanged)
        self.refs.forget_products()

    # contacts ----------------------------------------------------------------------------------------
    def _write_contacts(self, batch: Batch) -> None:
        records, links = [], []
        for _number, v in batch:
            self._repeat_check(v["external_id"])
            name = v.get("name") or " ".join(p for p in (v.get("first_name"), v.get("last_name")) if p)
            record: dict[str, Any] = {"external_id": v["external_id"], "name": name or v["external_id"]}
            record.update({k: v[k] for k in ("title", "is_executive") if k in v})
            if "email" in v:
                record["email"] = v["email"].lower()
            for enum_field in ("deal_role", "influence", "stance"):
                if enum_field in v:
                    record[enum_field] = v[enum_field].value
            if "is_executive" not in v and "title" in v:
                record["is_executive"] = bool(_EXECUTIVE.search(v["title"]))
            record.setdefault("stance", Stance.UNKNOWN.value)
            if "account" in v:
                record["account_id"] = self.refs.account(v["account"])
            records.append(record)
            if "opportunity" in v:
                links.append((v["external_id"], v["opportunity"], record.get("deal_role")))
        result = upsert(self.conn, schema.contacts, records, ["external_id"])
        self._count(result.created, result.updated, result.unchanged)
        self.refs.forget_contacts()
        if links:
            self._link_contacts(links, result.ids)

    def _link_contacts(self, links: list[tuple[str, str, str | None]], contact_ids: dict[Any, int]) -> None:
        opportunities = self.refs.opportunities(o for _, o, _ in links)
        table = schema.opportunity_contacts
        rows = {}
        for contact, opportunity, role in links:
            if opportunity not in opportunities:
                self.report.warn("{n} contact link{s} name an opportunity that is not in the store; skipped")
                continue
            rows[(opportunities[opportunity], contact_ids[contact])] = role
        if not rows:
            return
        existing = {
            tuple(row)
            for row in self.conn.execute(
                sa.select(table.c.opportunity_id, table.c.contact_id).where(
                    table.c.contact_id.in_({c for _, c in rows})
                )
            )
        }
        insert_many(
            self.conn,
            table,
            [
                {"opportunity_id": o, "contact_id": c, "deal_role": role}
                for (o, c), role in rows.items()
                if (o, c) not in existing
            ],
        )

    # opportunities -----------------------------------------------------------------------------------
    def _write_opportunities(self, batch: Batch) -> None:
        self.refs.ensure_accounts(v["account"] for _, v in batch if "account" in v)
        records = [self._opportunity_record(number, v) for number, v in batch]
        if self.problems:
            return
        for (_number, v), record in zip(batch, records, strict=True):
            self._repeat_check(v["external_id"])
            del record["_last_modified"]
        stamps = {
            r["external_id"]: v.get("last_modified", self.now)
            for (_, v), r in zip(batch, records, strict=True)
        }
        result = upsert(self.conn, schema.opportunities, records, ["external_id"], new_ids=False)
        self._count(result.created, result.updated, result.unchanged)
        history = []
        ids_to_key = {i: k for k, i in result.ids.items()}
        for change in result.changed:
            changed_at = stamps[ids_to_key[change.id]]
            for column, hist in _TRACKED.items():
                if column in change.new:
                    history.append(
                        {
                            "opportunity_id": change.id,
                            "field": hist.value,
                            "changed_at": changed_at,
                            "old_value": _text(change.old.get(column)),
                            "new_value": _text(change.new[column]),
                        }
                    )
        if history:
            upsert(
                self.conn,
                schema.opportunity_history,
                history,
                ["opportunity_id", "field", "changed_at"],
                new_ids=False,
            )

    def _opportunity_record(self, number: int, v: dict[str, Any]) -> dict[str, Any]:
        stage = self.refs.stage(v["stage"])
        record: dict[str, Any] = {
            "external_id": v["external_id"],
            "name": v.get("name") or v["external_id"],
            "stage": stage.name,
            "_last_modified": v.get("last_modified"),
        }
        for name in (
            "amount",
            "currency",
            "probability",
            "expected_close_date",
            "created_date",
            "closed_date",
            "loss_reason",
            "product",
            "source",
            "business_problem",
            "compelling_event",
            "decision_criteria",
            "engaged_before_preference",
            "preferred_competitor",
            "unique_business_value",
            "list_price",
            "discount",
            "margin",
            "competitors",
        ):
            if name in v:
                record[name] = v[name]
        for name in ("forecast_category", "problem_impact", "buyer_phase"):
            if name in v:
                record[name] = v[name].value
        if "currency" in record:
            record["currency"] = str(record["currency"]).upper()[:3]
        outcome = v.get("outcome") or stage.outcome
        if outcome == Outcome.LOST and is_no_decision(v.get("loss_reason")):
            outcome = Outcome.NO_DECISION
        record["outcome"] = outcome.value if outcome else None
        close_date: date | None = v.get("close_date")
        if close_date is not None:
            record.setdefault("expected_close_date", close_date)
            if outcome is not None:
                record.setdefault("closed_date", close_date)
        if outcome is not None and record.get("closed_date") is None:
            self.report.warn("{n} closed opportunit{ies} have no close date")
        if "created_date" not in record:
            self.report.warn(
                "{n} opportunit{ies} have no created date: replays count them from their first history change"
            )
        if outcome in (Outcome.LOST, Outcome.NO_DECISION) and record.get("amount") == 0:
            record["amount"] = None
            self.report.warn("{n} lost opportunit{ies} have amount 0: stored as unknown amount")
        if "owner" in v:
            record["owner_id"] = self.refs.user(v["owner"])
        if "account" in v:
            record["account_id"] = self.refs.account(v["account"])
        else:
            self.report.warn("{n} opportunit{ies} have no account")
        if "executive_sponsor" in v:
            sponsor = self.refs.contact(v["executive_sponsor"])
            if sponsor is None:
                self.report.warn("{n} executive sponsor{s} are not known contacts; left empty")
            record["executive_sponsor_id"] = sponsor
        if "product" in v:
            self._price_from_product(record, v["product"])
        return record

    def _price_from_product(self, record: dict[str, Any], product_name: str) -> None:
        product, loose = self.refs.product(product_name)
        if product is None:
            return
        if loose:
            self.report.warn(
                f"product {product_name!r} is not in the catalogue; matched to {product.name!r} "
                "({n} row{s})"
            )
        record["product"] = product.name
        if product.list_price is not None:
            record.setdefault("list_price", product.list_price)
        amount, price = record.get("amount"), record.get("list_price")
        if "discount" not in record and record.get("outcome") == "won" and amount and price:
            record["discount"] = round(float(1 - Decimal(amount) / Decimal(price)), 4)

    # activities --------------------------------------------------------------------------------------
    def _write_activities(self, batch: Batch) -> None:
        opportunities = self.refs.opportunities(v["opportunity"] for _, v in batch if "opportunity" in v)
        records, contact_links = [], []
        for _number, v in batch:
            self._repeat_check(v["external_id"])
            record: dict[str, Any] = {
                "external_id": v["external_id"],
                "type": v["type"].value,
                "occurred_at": v["occurred_at"],
            }
            record.update({k: v[k] for k in ("subject", "notes") if k in v})
            if "opportunity" in v:
                record["opportunity_id"] = opportunities.get(v["opportunity"])
                if record["opportunity_id"] is None:
                    self.report.warn(
                        "{n} activit{ies} name an opportunity that is not in the store; kept without it"
                    )
            if "account" in v:
                record["account_id"] = self.refs.account(v["account"])
            if "user" in v:
                record["user_id"] = self.refs.user(v["user"])
            records.append(record)
            for ref in v.get("contacts", []):
                contact = self.refs.contact(ref)
                if contact is None:
                    self.report.warn("{n} activity contact{s} are not known contacts; skipped")
                else:
                    contact_links.append((v["external_id"], contact))
        result = upsert(self.conn, schema.activities, records, ["external_id"])
        self._count(result.created, result.updated, result.unchanged)
        if contact_links:
            table = schema.activity_contacts
            wanted = {(result.ids[a], c) for a, c in contact_links}
            existing = {
                tuple(row)
                for row in self.conn.execute(
                    sa.select(table.c.activity_id, table.c.contact_id).where(
                        table.c.activity_id.in_({a for a, _ in wanted})
                    )
                )
            }
            insert_many(self.conn, table, [{"activity_id": a, "contact_id": c} for a, c in wanted - existing])

    # history -----------------------------------------------------------------------------------------
    def _write_history(self, batch: Batch) -> None:
        snapshot = "field" not in self.mapping.columns
        opportunities = self.refs.opportunities(v["opportunity"] for _, v in batch)
        records = []
        for number, v in batch:
            opportunity_id = opportunities.get(v["opportunity"])
            if opportunity_id is None:
                self._problem(
                    number,
                    "opportunity",
                    v["opportunity"],
                    "the id of an opportunity already imported (import opportunities first)",
                )
                continue
            base = {"opportunity_id": opportunity_id, "changed_at": v["changed_at"]}
            if "changed_by" in v:
                base["changed_by_id"] = self.refs.user(v["changed_by"])
            if snapshot:
                for column, hist in _TRACKED.items():
                    source = "close_date" if column == "expected_close_date" else column
                    if source in v:
                        value = self.refs.stage(v[source]).name if source == "stage" else v[source]
                        records.append({**base, "field": hist.value, "new_value": _text(value)})
            else:
                records.append(
                    {
                        **base,
                        "field": v["field"].value,
                        "old_value": v.get("old_value"),
                        "new_value": v.get("new_value"),
                    }
                )
        if self.problems:
            return
        result = upsert(
            self.conn,
            schema.opportunity_history,
            records,
            ["opportunity_id", "field", "changed_at"],
            new_ids=False,
        )
        self._count(result.created, result.updated, result.unchanged)

    def _after(self) -> None:
        if self.mapping.entity == "accounts" and self.parents:
            self._link_parents()
            for number, parent, _ in self.parents:
                self.report.warn(f"row {number}: parent account {parent!r} is not known; left empty")
        if self.mapping.entity == "history" and "field" not in self.mapping.columns:
            self.report.created -= fill_snapshot_history(self.conn)


_TRACKED = {
    "stage": HistoryField.STAGE,
    "amount": HistoryField.AMOUNT,
    "expected_close_date": HistoryField.CLOSE_DATE,
    "forecast_category": HistoryField.FORECAST_CATEGORY,
}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(getattr(value, "value", value))


def fill_snapshot_history(conn: sa.Connection) -> int:
    """Give snapshot history rows their old value and drop the rows that changed nothing.

    Returns how many rows were dropped. Runs in SQL with the (opportunity, field, changed_at) index.
    """
    h = schema.opportunity_history
    prev = h.alias("prev")
    previous_value = (
        sa.select(prev.c.new_value)
        .where(
            prev.c.opportunity_id == h.c.opportunity_id,
            prev.c.field == h.c.field,
            prev.c.changed_at < h.c.changed_at,
        )
        .order_by(prev.c.changed_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    conn.execute(h.update().where(h.c.old_value.is_(None)).values(old_value=previous_value))
    dropped = conn.execute(h.delete().where(h.c.old_value == h.c.new_value))
    return int(dropped.rowcount or 0)
