"""Importing customer value: subscriptions, churn events, value evidence, RIQ answers, feature usage and
support tickets, through the same machinery as every other import (mappings and presets, typed fields, one
transaction, problems naming file, row and column, re-imports that update).

:class:`CustomerValueWriters` is a mixin of :class:`~dealsight.ingest.importer.FileImporter`: one
``_write_<entity>`` method per entity, called with each batch of parsed rows.

Decisions (see docs/customer-value.md):

- Every row belongs to an account already in dealsight, named by its external id (``A-2e4581``) or its
  name: an unknown account is a problem, never a new account (import the accounts file first). Feature
  usage names its subscription instead, and takes the subscription's account.
- A subscription's status is ``active`` or ``churned``: a ``status`` column, else a ``churned`` flag.
- A subscription's ARR or MRR may be left out (the other gives it: ARR = 12 x MRR); neither, or a
  negative amount, is a problem, as are negative seats and a term that ends before it starts. Its renewal
  date follows :func:`dealsight.domain.customer_value.renewal_date_of` (the one given, else the term end,
  else start + one billing term).
- Subscriptions, feature usage and support tickets are recognised again by their external id (required);
  churn events, value evidence and RIQ answers by theirs when the file has one, else by account and day
  (and metric, for value evidence).
- A contact named as the confirmer of a value or the person who answered the RIQ (external id or e-mail)
  who is not in dealsight is left empty, with a warning; the confirmer's title and level are still kept.
  A value confirmed by a contact marked executive is at the executive level unless the file says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from dealsight.domain.customer_value import (
    BillingFrequency,
    ContactLevel,
    SubscriptionStatus,
    arr_and_mrr,
    renewal_date_of,
)
from dealsight.ingest.mapping import FileMapping
from dealsight.store import schema
from dealsight.store.bulk import UpsertResult, upsert
from dealsight.store.customer_value import subscriptions_by_external_id
from dealsight.store.lookups import References

if TYPE_CHECKING:
    from dealsight.ingest.importer import EntityReport

Batch = list[tuple[int, dict[str, Any]]]
CENT = Decimal("0.01")
MAX_MONEY = Decimal(10) ** 16
UNKNOWN_ACCOUNT = "the id or name of an account in dealsight (import the accounts file first)"
UNKNOWN_SUBSCRIPTION = "the id of a subscription in dealsight (import the subscriptions file first)"


def _status(churned: bool | None) -> SubscriptionStatus:
    """A ``churned`` flag (a churn flag column) as a status, when the file has no status column."""
    return SubscriptionStatus.CHURNED if churned else SubscriptionStatus.ACTIVE


class CustomerValueWriters:
    """The writers of the customer-value entities (mixed into the file importer)."""

    conn: sa.Connection
    refs: References
    mapping: FileMapping
    problems: list[Any]
    report: EntityReport

    # provided by the importer
    def _problem(self, number: int, fieldname: str, value: Any, expected: str) -> None:
        raise NotImplementedError

    def _count(self, created: int, updated: int, unchanged: int) -> None:
        raise NotImplementedError

    def _repeat_check(self, key: Any) -> None:
        raise NotImplementedError

    # shared steps ----------------------------------------------------------------------------------------
    def _account_of(self, number: int, v: dict[str, Any]) -> int | None:
        account_id = self.refs.find_account(v["account"])
        if account_id is None:
            self._problem(number, "account", v["account"], UNKNOWN_ACCOUNT)
        return account_id

    def _not_negative(self, number: int, v: dict[str, Any], *names: str) -> bool:
        fine = True
        for name in names:
            if v.get(name) is not None and v[name] < 0:
                self._problem(number, name, v[name], "a value of 0 or more")
                fine = False
        return fine

    def _currency(self, v: dict[str, Any]) -> str:
        return str(v.get("currency") or "USD").upper()[:3]

    def _contact(self, ref: str | None, warning: str) -> int | None:
        if ref is None:
            return None
        found = self.refs.contact(ref)
        if found is None:
            self.report.warn(warning)
        return found

    def _has_external_id(self) -> bool:
        return bool(self.mapping.columns.get("external_id") or "external_id" in self.mapping.defaults)

    def _subscriptions(self, refs: Iterable[str]) -> dict[str, tuple[int, int]]:
        return subscriptions_by_external_id(self.conn, refs)

    def _save(self, table: sa.Table, records: list[dict[str, Any]], natural_key: list[str]) -> UpsertResult:
        """Upsert ``records`` by external id when the file has one, else by ``natural_key``."""
        key = ["external_id"] if self._has_external_id() else natural_key
        for record in records:
            self._repeat_check(tuple(record.get(k) for k in key))
        result = upsert(self.conn, table, records, key, new_ids=False)
        self._count(result.created, result.updated, result.unchanged)
        return result

    def _linked_subscription(
        self, number: int, v: dict[str, Any], account_id: int, found: dict[str, tuple[int, int]]
    ) -> int | None:
        if "subscription" not in v:
            return None
        match = found.get(v["subscription"])
        if match is None:
            self._problem(number, "subscription", v["subscription"], UNKNOWN_SUBSCRIPTION)
            return None
        if match[1] != account_id:
            self._problem(number, "subscription", v["subscription"], "a subscription of the row's account")
            return None
        return match[0]

    # subscriptions ---------------------------------------------------------------------------------------
    def _write_subscriptions(self, batch: Batch) -> None:
        records = []
        for number, v in batch:
            account_id = self._account_of(number, v)
            fine = self._not_negative(number, v, "arr", "mrr", "seats")
            revenue = arr_and_mrr(v.get("arr"), v.get("mrr"))
            if revenue is None:
                self._problem(number, "arr", "", "an ARR or an MRR (one gives the other)")
            elif revenue[0] >= MAX_MONEY:
                self._problem(number, "mrr", v["mrr"], "an MRR below 10^16 / 12")
                revenue = None
            end, start = v.get("term_end"), v["term_start"]
            if end is not None and end < start:
                self._problem(number, "term_end", end.isoformat(), f"a day on or after term_start ({start})")
                fine = False
            frequency = BillingFrequency(v.get("billing_frequency") or BillingFrequency.ANNUAL)
            try:
                renewal = renewal_date_of(start, frequency, term_end=end, renewal_date=v.get("renewal_date"))
            except ValueError:  # a term running past the year 9999
                self._problem(
                    number, "term_start", start.isoformat(), "a start whose first term ends by 9999"
                )
                fine = False
            if account_id is None or revenue is None or not fine:
                continue
            record: dict[str, Any] = {
                "external_id": v["external_id"],
                "account_id": account_id,
                "arr": revenue[0].quantize(CENT),
                "mrr": revenue[1].quantize(CENT),
                "currency": self._currency(v),
                "term_start": start,
                "term_end": end,
                "billing_frequency": frequency.value,
                "renewal_date": renewal,
                "is_trial": bool(v.get("is_trial", False)),
                "status": str(v.get("status") or _status(v.get("churned"))),
            }
            for name in (
                "product",
                "plan",
                "seats",
                "auto_renew",
                "upgraded",
                "downgraded",
                "plan_changed_on",
            ):
                if name in v:
                    record[name] = v[name]
            records.append(record)
        if not self.problems:
            self._save(schema.subscriptions, records, ["external_id"])

    # churn events ----------------------------------------------------------------------------------------
    def _write_churn_events(self, batch: Batch) -> None:
        found = self._subscriptions(v["subscription"] for _, v in batch if "subscription" in v)
        records = []
        for number, v in batch:
            account_id = self._account_of(number, v)
            fine = self._not_negative(number, v, "refund_amount")
            if account_id is None or not fine:
                continue
            record: dict[str, Any] = {
                "account_id": account_id,
                "churned_on": v["churned_on"],
                "reason": str(v.get("reason") or "unknown"),
                "currency": self._currency(v),
                "subscription_id": self._linked_subscription(number, v, account_id, found),
            }
            if "refund_amount" in v:
                record["refund_amount"] = v["refund_amount"].quantize(CENT)
            for name in ("external_id", "feedback", "was_reactivated"):
                if name in v:
                    record[name] = v[name]
            records.append(record)
        if not self.problems:
            self._save(schema.churn_events, records, ["account_id", "churned_on"])

    # value evidence --------------------------------------------------------------------------------------
    def _write_value_evidence(self, batch: Batch) -> None:
        found = self._subscriptions(v["subscription"] for _, v in batch if "subscription" in v)
        executives = self._executive_contacts()
        records = []
        for number, v in batch:
            account_id = self._account_of(number, v)
            fine = self._not_negative(number, v, "monetary_value")
            if account_id is None or not fine:
                continue
            contact = self._contact(
                v.get("confirmed_by"), "{n} value{s} confirmed by someone not among the contacts; left empty"
            )
            level = v.get("confirmer_level")
            if level is None and contact in executives:
                level = ContactLevel.EXECUTIVE
            record: dict[str, Any] = {
                "account_id": account_id,
                "metric": v["metric"],
                "confirmed_on": v["confirmed_on"],
                "currency": self._currency(v),
                "subscription_id": self._linked_subscription(number, v, account_id, found),
                "confirmed_by_id": contact,
                "confirmer_level": None if level is None else str(level),
            }
            for name in ("baseline", "achieved"):
                if name in v:
                    record[name] = float(v[name])
            if "monetary_value" in v:
                record["monetary_value"] = v["monetary_value"].quantize(CENT)
            for name in ("external_id", "unit", "confirmer_title", "note"):
                if name in v:
                    record[name] = v[name]
            records.append(record)
        if not self.problems:
            self._save(schema.value_evidence, records, ["account_id", "metric", "confirmed_on"])

    def _executive_contacts(self) -> frozenset[int]:
        table = schema.contacts
        rows = self.conn.execute(sa.select(table.c.id).where(table.c.is_executive.is_(True)))
        return frozenset(row.id for row in rows)

    # RIQ answers -----------------------------------------------------------------------------------------
    def _write_riq_answers(self, batch: Batch) -> None:
        records = []
        for number, v in batch:
            account_id = self._account_of(number, v)
            if account_id is None:
                continue
            record: dict[str, Any] = {
                "account_id": account_id,
                "impact": str(v["impact"]),
                "answered_on": v["answered_on"],
                "answered_by_id": self._contact(
                    v.get("answered_by"),
                    "{n} RIQ answer{s} given by someone not among the contacts; left empty",
                ),
            }
            if "recovery" in v:
                record["recovery"] = str(v["recovery"])
            if "asked_by" in v:
                record["asked_by_id"] = self.refs.find_user(v["asked_by"])
                if record["asked_by_id"] is None:
                    self.report.warn("{n} RIQ question{s} asked by someone who is not a user; left empty")
            for name in ("external_id", "answer"):
                if name in v:
                    record[name] = v[name]
            records.append(record)
        if not self.problems:
            self._save(schema.riq_answers, records, ["account_id", "answered_on"])

    # feature usage ---------------------------------------------------------------------------------------
    def _write_feature_usage(self, batch: Batch) -> None:
        found = self._subscriptions(v["subscription"] for _, v in batch)
        records = []
        for number, v in batch:
            match = found.get(v["subscription"])
            fine = self._not_negative(number, v, "usage_count", "duration_seconds", "error_count")
            if match is None:
                self._problem(number, "subscription", v["subscription"], UNKNOWN_SUBSCRIPTION)
            if match is None or not fine:
                continue
            record: dict[str, Any] = {
                "external_id": v["external_id"],
                "subscription_id": match[0],
                "account_id": match[1],
                "used_on": v["used_on"],
                "feature": v["feature"],
                "usage_count": v.get("usage_count", 0),
            }
            for name in ("duration_seconds", "error_count", "is_beta"):
                if name in v:
                    record[name] = v[name]
            records.append(record)
        if not self.problems:
            self._save(schema.feature_usage, records, ["external_id"])

    # support tickets -------------------------------------------------------------------------------------
    def _write_support_tickets(self, batch: Batch) -> None:
        records = []
        for number, v in batch:
            account_id = self._account_of(number, v)
            fine = self._not_negative(number, v, "first_response_minutes", "resolution_hours")
            satisfaction = v.get("satisfaction")
            if satisfaction is not None and not 1 <= satisfaction <= 5:
                self._problem(number, "satisfaction", satisfaction, "a score from 1 to 5")
                fine = False
            closed = v.get("closed_at")
            if closed is not None and closed < v["opened_at"]:
                self._problem(number, "closed_at", closed.isoformat(), "a time on or after opened_at")
                fine = False
            if account_id is None or not fine:
                continue
            record: dict[str, Any] = {
                "external_id": v["external_id"],
                "account_id": account_id,
                "opened_at": v["opened_at"],
                "closed_at": closed,
                "priority": None if v.get("priority") is None else str(v["priority"]),
                "satisfaction": satisfaction,
            }
            if "resolution_hours" in v:
                record["resolution_hours"] = float(v["resolution_hours"])
            for name in ("first_response_minutes", "escalated"):
                if name in v:
                    record[name] = v[name]
            records.append(record)
        if not self.problems:
            self._save(schema.support_tickets, records, ["external_id"])


__all__ = ["CustomerValueWriters"]
