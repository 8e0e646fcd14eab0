"""Store queries for duplicate accounts: profiles for the matcher, lookups by reference, the merge writes.

Every function works on a connection inside the caller's transaction; :func:`merge_into` writes nothing
the caller has not checked (the service refuses bad merges before calling it), and the caller's
transaction makes the merge all or nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from dealsight.analytics.account_matching import AccountProfile
from dealsight.domain.entities import AccountMerge
from dealsight.domain.names import name_key
from dealsight.store import schema
from dealsight.store.bulk import chunks
from dealsight.store.customer_value import CUSTOMER_VALUE_TABLES

FILLABLE = ("domain", "industry", "segment", "country", "employees", "annual_revenue", "owner_id")
"""Fields of the kept account filled from the merged one when empty."""

_accounts = schema.accounts


@dataclass(frozen=True)
class Related:
    """What hangs off an account and moves with it in a merge."""

    opportunities: int
    contacts: int
    activities: int
    children: int


@dataclass(frozen=True)
class MergeLogEntry:
    merge: AccountMerge
    kept_name: str
    merged_external_id: str | None


def max_account_id(conn: sa.Connection) -> int:
    """The highest account id (0 when there are none): accounts created later have higher ids."""
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(_accounts.c.id), 0))).scalar_one())


def email_domains(conn: sa.Connection) -> dict[int, frozenset[str]]:
    """The e-mail domains of each account's contacts."""
    table = schema.contacts
    query = sa.select(table.c.account_id, table.c.email).where(
        table.c.account_id.is_not(None), table.c.email.is_not(None)
    )
    found: dict[int, set[str]] = defaultdict(set)
    for account_id, email in conn.execute(query):
        if "@" in email:
            found[account_id].add(email.rsplit("@", 1)[1].strip().lower())
    return {account_id: frozenset(domains) for account_id, domains in found.items()}


def account_profiles(conn: sa.Connection, ids: Collection[int] | None = None) -> list[AccountProfile]:
    """Profiles of the accounts not merged into another (of ``ids`` only, when given), by id."""
    query = (
        sa.select(
            _accounts.c.id, _accounts.c.name, _accounts.c.domain, _accounts.c.country, _accounts.c.parent_id
        )
        .where(_accounts.c.merged_into_id.is_(None))
        .order_by(_accounts.c.id)
    )
    rows: list[sa.Row[Any]] = []
    if ids is None:
        rows = list(conn.execute(query))
    else:
        for part in chunks(sorted(set(ids))):
            rows.extend(conn.execute(query.where(_accounts.c.id.in_(part))))
    emails = email_domains(conn)
    return [
        AccountProfile(
            r.id, r.name, r.domain, emails.get(r.id, frozenset()), r.country, parent_id=r.parent_id
        )
        for r in rows
    ]


def account_rows(conn: sa.Connection, ids: Collection[int]) -> dict[int, sa.Row[Any]]:
    found: dict[int, sa.Row[Any]] = {}
    for part in chunks(sorted(set(ids))):
        for row in conn.execute(sa.select(_accounts).where(_accounts.c.id.in_(part))):
            found[row.id] = row
    return found


def find_by_reference(conn: sa.Connection, ref: str) -> list[sa.Row[Any]]:
    """Accounts a user may mean by ``ref``: an id, else an external id, else a name, else a name key.

    The first kind of key that matches anything wins, so a CRM id never competes with a name.
    """
    ref = ref.strip()
    queries = []
    if ref.isdecimal():
        queries.append(_accounts.c.id == int(ref))
    queries += [
        _accounts.c.external_id == ref,
        _accounts.c.name == ref,
        _accounts.c.name_key == name_key(ref),
    ]
    for condition in queries:
        rows = list(conn.execute(sa.select(_accounts).where(condition).order_by(_accounts.c.id)))
        if rows:
            return rows
    return []


def related_counts(conn: sa.Connection, account_id: int) -> Related:
    def count(table: sa.Table, column: str) -> int:
        query = sa.select(sa.func.count()).select_from(table).where(table.c[column] == account_id)
        return int(conn.execute(query).scalar_one())

    children = sa.select(sa.func.count()).where(
        _accounts.c.parent_id == account_id, _accounts.c.id != account_id
    )
    return Related(
        opportunities=count(schema.opportunities, "account_id"),
        contacts=count(schema.contacts, "account_id"),
        activities=count(schema.activities, "account_id"),
        children=int(conn.execute(children).scalar_one()),
    )


def opportunity_counts(conn: sa.Connection, ids: Collection[int]) -> dict[int, int]:
    table = schema.opportunities
    found: dict[int, int] = {}
    for part in chunks(sorted(set(ids))):
        query = (
            sa.select(table.c.account_id, sa.func.count())
            .where(table.c.account_id.in_(part))
            .group_by(table.c.account_id)
        )
        found.update({account_id: int(n) for account_id, n in conn.execute(query)})
    return found


def fields_to_fill(kept: sa.Row[Any], merged: sa.Row[Any]) -> dict[str, Any]:
    """The kept account's empty fields that the merged account has."""
    return {
        name: getattr(merged, name)
        for name in FILLABLE
        if getattr(kept, name) in (None, "") and getattr(merged, name) not in (None, "")
    }


def merge_into(
    conn: sa.Connection,
    kept: sa.Row[Any],
    merged: sa.Row[Any],
    *,
    now: datetime,
    score: float | None,
    evidence: str | None,
) -> AccountMerge:
    """Move everything of ``merged`` to ``kept``, fill ``kept``'s gaps, mark ``merged``, log the merge."""

    def move(table: sa.Table, column: str) -> int:
        result = conn.execute(table.update().where(table.c[column] == merged.id).values({column: kept.id}))
        return int(result.rowcount)

    moved_opportunities = move(schema.opportunities, "account_id")
    moved_contacts = move(schema.contacts, "account_id")
    move(schema.activities, "account_id")
    for table in CUSTOMER_VALUE_TABLES:  # subscriptions, value evidence, RIQ answers, ...
        move(table, "account_id")
    move(schema.account_goals, "account_id")  # the account plan's goals (their deals and contacts moved)
    conn.execute(
        _accounts.update()
        .where(_accounts.c.parent_id == merged.id, _accounts.c.id != kept.id)
        .values(parent_id=kept.id, updated_at=now)
    )
    conn.execute(  # accounts merged earlier into the merged one now point straight at the kept one
        _accounts.update().where(_accounts.c.merged_into_id == merged.id).values(merged_into_id=kept.id)
    )
    values: dict[str, Any] = fields_to_fill(kept, merged)
    if kept.parent_id == merged.id:
        values["parent_id"] = merged.parent_id if merged.parent_id != kept.id else None
    elif kept.parent_id is None and merged.parent_id not in (None, kept.id):
        values["parent_id"] = merged.parent_id
    conn.execute(_accounts.update().where(_accounts.c.id == kept.id).values(updated_at=now, **values))
    conn.execute(
        _accounts.update()
        .where(_accounts.c.id == merged.id)
        .values(merged_into_id=kept.id, parent_id=None, updated_at=now)
    )
    record = AccountMerge(
        kept_id=kept.id,
        merged_id=merged.id,
        merged_name=merged.name,
        merged_at=now,
        moved_opportunities=moved_opportunities,
        moved_contacts=moved_contacts,
        score=score,
        evidence=evidence,
    )
    conn.execute(
        schema.account_merges.insert().values(**asdict(record), merged_external_id=merged.external_id)
    )
    return record


def merge_log(conn: sa.Connection, *, limit: int | None = None) -> list[MergeLogEntry]:
    """Merges, the latest first."""
    merges = schema.account_merges
    query = (
        sa.select(merges, _accounts.c.name.label("kept_name"))
        .join(_accounts, _accounts.c.id == merges.c.kept_id)
        .order_by(merges.c.merged_at.desc(), merges.c.id.desc())
        .limit(limit)
    )
    entries: list[MergeLogEntry] = []
    for r in conn.execute(query):
        merge = AccountMerge(**{f.name: r._mapping[f.name] for f in fields(AccountMerge)})
        entries.append(MergeLogEntry(merge, r.kept_name, r.merged_external_id))
    return entries


def describe(rows: Sequence[sa.Row[Any]]) -> str:
    """``'Acme Inc.' (id 3, external id 001A)``, ... for messages listing candidates."""
    parts = []
    for r in rows:
        extra = f", external id {r.external_id}" if r.external_id else ""
        merged = f", merged into id {r.merged_into_id}" if r.merged_into_id else ""
        parts.append(f"'{r.name}' (id {r.id}{extra}{merged})")
    return ", ".join(parts)
