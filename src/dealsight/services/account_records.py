"""Accounts as records: list, read, create and change them within a scope.

(Contacts are :mod:`dealsight.services.contact_records`, whose names are re-exported here; duplicate
accounts and merging are :mod:`dealsight.services.accounts`.)

Decisions (see docs/access.md):

- **Visibility.** An account is visible when its owner is covered by the scope or it has at least one
  visible deal. Anything else is *not found*. Merged accounts
  (``merged_into_id``) are left out of lists but can still be read by id (their page points to the
  account they were merged into).
- **What an account page shows** is what the scope may see: only visible deals count towards its open
  pipeline and won amounts, and its parent and child accounts are shown only when visible.
- **Writes.** Any writing scope may create an account (owned by the actor unless ``owner_id`` says
  otherwise) and change a visible one; a new owner must be an active user inside the scope, and the
  owner can only be changed by someone whose scope covers the current owner too (a rep who sees a
  colleague's account through a shared deal cannot take it over).
- Every create and update is audited (entity ``account``) in its own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.domain.access import Principal, Scope
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import Outcome, Segment
from dealsight.domain.names import domain_of, name_key
from dealsight.errors import FieldProblem
from dealsight.services.contact_records import (
    ContactDetail,
    ContactQuery,
    ContactRecord,
    DealRef,
    contacts_of_account,
    create_contact,
    get_contact,
    list_contacts,
    update_contact,
)
from dealsight.services.opportunities import OpportunityQuery, OpportunitySummary, opportunity_page
from dealsight.services.record_writes import (
    audit_creation,
    closes_loop,
    external_id_problem,
    require_visible,
    save_changes,
    stored_values,
)
from dealsight.services.records import (
    Cleaner,
    ListQuery,
    Page,
    Problem,
    account_visible,
    assignable,
    changed,
    clean_fields,
    enum_of,
    identifier,
    invalid,
    money,
    normalise_query,
    not_found,
    opportunity_visible,
    order_by,
    require_write,
    text,
    whole,
)
from dealsight.store.database import transaction
from dealsight.store.records import DealStatus, contains, stage_rows
from dealsight.store.schema import accounts, opportunities, users

ACCOUNT = "account"
ACCOUNT_DEALS = 100
_a, _o = accounts, opportunities
_owner = users.alias("account_owner")


@dataclass(frozen=True)
class AccountQuery(ListQuery):
    """Filters of :func:`list_accounts`: ``q`` in the name or web domain, ``industry`` and ``segment``
    (ignoring case), ``country``, ``owner_id``. Sort by ``name`` (default), ``industry``, ``segment``,
    ``country``, ``employees``, ``annual_revenue``, ``owner_name`` or ``id``."""

    q: str | None = None
    industry: str | None = None
    segment: str | None = None
    country: str | None = None
    owner_id: int | None = None


@dataclass(frozen=True)
class AccountRecord:
    """An account as lists show it; ``open_deals`` / ``open_amount`` count the visible open deals."""

    id: int
    external_id: str | None
    name: str
    domain: str | None
    industry: str | None
    segment: str | None
    country: str | None
    employees: int | None
    annual_revenue: Decimal | None
    parent_id: int | None
    owner_id: int | None
    owner_name: str | None
    merged_into_id: int | None
    open_deals: int
    open_amount: Decimal


@dataclass(frozen=True)
class AccountRef:
    id: int
    name: str


@dataclass(frozen=True)
class AccountDetail(AccountRecord):
    """The account page: the record, its family, contacts and the visible deals with their totals."""

    parent: AccountRef | None
    children: tuple[AccountRef, ...]
    contacts: tuple[ContactRecord, ...]
    opportunities: tuple[OpportunitySummary, ...]
    """Visible deals, open ones first (by close date), then the rest, newest first; at most 100."""
    opportunities_total: int
    won_deals: int
    won_amount: Decimal
    lost_deals: int
    no_decision_deals: int
    created_at: datetime
    updated_at: datetime


# accounts: reading -----------------------------------------------------------------------------------------
ACCOUNT_COLUMNS = (
    "id",
    "external_id",
    "name",
    "domain",
    "industry",
    "segment",
    "country",
    "employees",
    "annual_revenue",
    "parent_id",
    "owner_id",
    "merged_into_id",
)
ACCOUNT_SORT: dict[str, Any] = {
    "id": _a.c.id,
    "name": _a.c.name,
    "industry": _a.c.industry,
    "segment": _a.c.segment,
    "country": _a.c.country,
    "employees": _a.c.employees,
    "annual_revenue": _a.c.annual_revenue,
    "owner_name": _owner.c.name,
}


def _open_totals(conn: Connection, scope: Scope) -> tuple[sa.ColumnElement[int], sa.ColumnElement[Decimal]]:
    """Correlated counts of an account's visible open deals and their amount (per row of a page)."""
    deal = _o.alias("open_deal")
    open_stages = [row.name for row in stage_rows(conn) if row.outcome is None]
    where = (
        deal.c.account_id == _a.c.id,
        deal.c.stage.in_(open_stages),
        opportunity_visible(scope, deal, one=True),
    )
    count = sa.select(sa.func.count()).select_from(deal).where(*where).scalar_subquery()
    amount = sa.select(sa.func.coalesce(sa.func.sum(deal.c.amount), 0)).where(*where).scalar_subquery()
    return count, amount


def _account_select(conn: Connection, scope: Scope, base: sa.FromClause = _a) -> sa.Select[Any]:
    count, amount = _open_totals(conn, scope)
    return sa.select(
        *(_a.c[name] for name in ACCOUNT_COLUMNS),
        _owner.c.name.label("owner_name"),
        count.label("open_deals"),
        amount.label("open_amount"),
    ).select_from(base.outerjoin(_owner, _owner.c.id == _a.c.owner_id))


def _account_record(row: sa.RowMapping) -> dict[str, Any]:
    values = {name: row[name] for name in ACCOUNT_COLUMNS}
    values.update(
        owner_name=row["owner_name"],
        open_deals=int(row["open_deals"]),
        open_amount=Decimal(str(row["open_amount"] or 0)).quantize(Decimal("0.01")),
    )
    return values


def list_accounts(engine: Engine, scope: Scope, query: AccountQuery | None = None) -> Page[AccountRecord]:
    """One page of the accounts the scope may see (merged accounts left out), with their open deals."""
    query = normalise_query(query or AccountQuery())
    ordering = order_by(query.sort, ACCOUNT_SORT, "name", _a.c.id)
    where = [account_visible(scope), _a.c.merged_into_id.is_(None)]
    if query.q:
        where.append(sa.or_(contains(_a.c.name, query.q), contains(_a.c.domain, query.q)))
    for name in ("industry", "segment", "country"):
        value = getattr(query, name)
        if value:
            where.append(sa.func.lower(_a.c[name]) == value.strip().lower())
    if query.owner_id is not None:
        where.append(_a.c.owner_id == query.owner_id)
    names = {part.strip().lstrip("-") for part in (query.sort or "name").split(",")}
    narrow = _a.outerjoin(_owner, _owner.c.id == _a.c.owner_id) if "owner_name" in names else _a
    ids = (
        sa.select(_a.c.id)
        .select_from(narrow)
        .where(*where)
        .order_by(*ordering)
        .limit(query.limit)
        .offset(query.offset)
        .subquery("page")
    )
    with engine.connect() as conn:
        page = _account_select(conn, scope, ids.join(_a, _a.c.id == ids.c.id)).order_by(*ordering)
        rows = conn.execute(page).mappings().all()
        total = conn.execute(sa.select(sa.func.count()).select_from(_a).where(*where)).scalar_one()
    items = tuple(AccountRecord(**_account_record(row)) for row in rows)
    return Page(items, int(total), query.limit, query.offset)


def _outcome_totals(conn: Connection, scope: Scope, account_id: int) -> dict[str, tuple[int, Decimal]]:
    """Visible deals of the account by won / lost / no decision: count and amount (one grouped query)."""
    closed: dict[str, Outcome] = {
        row.name: row.outcome for row in stage_rows(conn) if row.outcome is not None
    }
    rows = conn.execute(
        sa.select(_o.c.stage, _o.c.outcome, sa.func.count(), sa.func.coalesce(sa.func.sum(_o.c.amount), 0))
        .where(
            _o.c.account_id == account_id, opportunity_visible(scope, one=True), _o.c.stage.in_(list(closed))
        )
        .group_by(_o.c.stage, _o.c.outcome)
    ).all()
    totals: dict[str, tuple[int, Decimal]] = {}
    for stage, recorded, count, amount in rows:
        outcome = closed[stage]
        if outcome == Outcome.LOST and recorded == Outcome.NO_DECISION.value:
            outcome = Outcome.NO_DECISION
        before = totals.get(outcome.value, (0, Decimal(0)))
        totals[outcome.value] = (before[0] + count, before[1] + Decimal(str(amount)))
    return totals


def _read_account(conn: Connection, scope: Scope, account_id: int, today: date) -> AccountDetail:
    row = (
        conn.execute(
            _account_select(conn, scope)
            .add_columns(_a.c.created_at, _a.c.updated_at)
            .where(_a.c.id == account_id, account_visible(scope, one=True))
        )
        .mappings()
        .first()
    )
    if row is None:
        raise not_found(ACCOUNT, account_id)
    family = conn.execute(
        sa.select(_a.c.id, _a.c.name, _a.c.parent_id)
        .where(
            sa.or_(_a.c.id == row["parent_id"], _a.c.parent_id == account_id),
            _a.c.merged_into_id.is_(None),
            account_visible(scope, one=True),
        )
        .order_by(_a.c.name, _a.c.id)
    ).all()
    parent = next((AccountRef(r.id, r.name) for r in family if r.id == row["parent_id"]), None)
    children = tuple(AccountRef(r.id, r.name) for r in family if r.parent_id == account_id)
    open_deals = opportunity_page(conn, scope, _deals_of(account_id, DealStatus.OPEN), today)
    rest = ACCOUNT_DEALS - len(open_deals.items)
    closed = opportunity_page(conn, scope, _deals_of(account_id, DealStatus.CLOSED, rest), today)
    totals = _outcome_totals(conn, scope, account_id)
    won = totals.get(Outcome.WON.value, (0, Decimal(0)))
    return AccountDetail(
        **_account_record(row),
        parent=parent,
        children=children,
        contacts=contacts_of_account(conn, account_id),
        opportunities=open_deals.items + closed.items,
        opportunities_total=open_deals.total + closed.total,
        won_deals=won[0],
        won_amount=won[1].quantize(Decimal("0.01")),
        lost_deals=totals.get(Outcome.LOST.value, (0, Decimal(0)))[0],
        no_decision_deals=totals.get(Outcome.NO_DECISION.value, (0, Decimal(0)))[0],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _deals_of(account_id: int, status: DealStatus, limit: int = ACCOUNT_DEALS) -> OpportunityQuery:
    sort = "expected_close_date" if status is DealStatus.OPEN else "-closed_date"
    return OpportunityQuery(status=status, account_id=account_id, sort=sort, limit=max(limit, 1))


def get_account(engine: Engine, scope: Scope, account_id: int, *, today: date | None = None) -> AccountDetail:
    """The account page; :class:`NotFoundError` when the account does not exist or is outside the scope."""
    with engine.connect() as conn:
        return _read_account(conn, scope, account_id, today or utc_now().date())


# accounts: writing -----------------------------------------------------------------------------------------
def _web_domain(value: object) -> object:
    cleaned = text(255)(value)
    if cleaned is None:
        return None
    found = domain_of(str(cleaned))
    if found is None:
        raise Problem(f"{value!r} is not a web domain (expected example.com)")
    return found


ACCOUNT_CLEANERS: dict[str, Cleaner] = {
    "name": text(300),
    "external_id": text(128),
    "domain": _web_domain,
    "industry": text(120),
    "segment": enum_of(Segment),
    "country": text(120),
    "employees": whole(0),
    "annual_revenue": money,
    "parent_id": identifier,
    "owner_id": identifier,
}


def _check_account(
    conn: Connection,
    scope: Scope,
    values: dict[str, Any],
    given: Mapping[str, Any],
    old: Mapping[str, Any],
    account_id: int | None,
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if "owner_id" in given:
        if (
            account_id is not None
            and not scope.covers(old.get("owner_id"))
            and given["owner_id"] != old.get("owner_id")
        ):
            problems.append(FieldProblem("owner_id", "only the owner's manager or an admin can reassign it"))
        else:
            problem = assignable(conn, scope, given["owner_id"], "owner_id")
            if problem:
                problems.append(problem)
    parent = given.get("parent_id")
    if parent is not None:
        problems += _check_parent(conn, scope, parent, account_id)
    taken = external_id_problem(conn, _a, ACCOUNT, given.get("external_id"), account_id)
    if taken is not None:
        problems.append(taken)
    if values.get("segment") is not None:
        values["segment"] = Segment(values["segment"]).value
    if "name" in given and given["name"] is not None:
        values["name_key"] = name_key(given["name"])
    return problems


def _check_parent(conn: Connection, scope: Scope, parent: int, account_id: int | None) -> list[FieldProblem]:
    """The parent must be a visible, unmerged account that is not the account itself nor below it."""
    found = conn.execute(
        sa.select(_a.c.id, _a.c.merged_into_id).where(_a.c.id == parent, account_visible(scope, one=True))
    ).first()
    if found is None or found.merged_into_id is not None:
        return [FieldProblem("parent_id", f"no account with id {parent}")]
    if account_id is None:
        return []
    linked = conn.execute(sa.select(_a.c.id, _a.c.parent_id).where(_a.c.parent_id.is_not(None)))
    if closes_loop({row.id: row.parent_id for row in linked}, account_id, parent):
        return [FieldProblem("parent_id", "an account cannot be its own parent, directly or through others")]
    return []


def create_account(
    engine: Engine, actor: Principal, scope: Scope, data: Mapping[str, object], via: str
) -> AccountDetail:
    """Create an account (``name`` required); it belongs to ``actor`` unless ``owner_id`` says otherwise."""
    require_write(scope)
    cleaned, problems = clean_fields(data, ACCOUNT_CLEANERS, "an account", ("name", "owner_id"))
    if "name" not in data:
        problems.append(FieldProblem("name", "a value is required"))
    values: dict[str, Any] = {"owner_id": actor.user_id, **cleaned}
    with transaction(engine) as conn:
        problems += _check_account(conn, scope, values, values, {}, None)
        if problems:
            raise invalid(problems)
        now = utc_now()
        account_id = conn.execute(
            _a.insert().values(**values, created_at=now, updated_at=now).returning(_a.c.id)
        ).scalar_one()
        audited = {k: v for k, v in values.items() if k != "name_key"}
        audit_creation(conn, actor, via, ACCOUNT, account_id, audited)
        return _read_account(conn, scope, account_id, now.date())


def update_account(
    engine: Engine,
    actor: Principal,
    scope: Scope,
    account_id: int,
    changes: Mapping[str, object],
    via: str,
) -> AccountDetail:
    """Change fields of a visible account (see :data:`ACCOUNT_CLEANERS`); audited in the same transaction."""
    require_write(scope)
    with transaction(engine) as conn:
        require_visible(conn, scope, _a, account_visible, ACCOUNT, account_id)
        old = stored_values(conn, _a, ACCOUNT_CLEANERS, account_id)
        cleaned, problems = clean_fields(changes, ACCOUNT_CLEANERS, "an account", ("name", "owner_id"))
        values = dict(cleaned)
        problems += _check_account(conn, scope, values, cleaned, old, account_id)
        if problems:
            raise invalid(problems)
        diff = changed(old, {k: v for k, v in values.items() if k != "name_key"})
        derived = {"name_key": values["name_key"]} if "name" in diff else None
        save_changes(conn, actor, via, _a, ACCOUNT, account_id, diff, derived)
        return _read_account(conn, scope, account_id, utc_now().date())


__all__ = [
    "AccountDetail",
    "AccountQuery",
    "AccountRecord",
    "AccountRef",
    "ContactDetail",
    "ContactQuery",
    "ContactRecord",
    "DealRef",
    "create_account",
    "create_contact",
    "get_account",
    "get_contact",
    "list_accounts",
    "list_contacts",
    "update_account",
    "update_contact",
]
