"""Storing account plans (goals, the deals serving them, who covers which contact) and reading what the
plan's computations need: the account's contacts with their last interaction, every account's products
(for whitespace) and the product catalogue.

Everything runs on the caller's connection (and transaction); access rules and validation are the
services' (:mod:`dealsight.services.account_plans`, :mod:`dealsight.services.account_goals`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealsight.domain.customer_value import SubscriptionStatus
from dealsight.domain.enums import Outcome
from dealsight.domain.names import name_key
from dealsight.store.bulk import chunks, one_of
from dealsight.store.schema import (
    account_goal_deals,
    account_goals,
    accounts,
    activities,
    activity_contacts,
    contact_coverage,
    contacts,
    opportunities,
    products,
    subscriptions,
    users,
)

GOAL_FIELDS = (
    "external_id", "goal", "executive_id", "owner_id", "target_date", "priority", "measure", "status", "note",
)  # fmt: skip
_g = account_goals
_executive = contacts.alias("goal_executive")
_owner = users.alias("goal_owner")
GOAL_SELECT = sa.select(
    _g.c.id, _g.c.account_id, *(_g.c[name] for name in GOAL_FIELDS), _g.c.created_at, _g.c.updated_at,
    _executive.c.name.label("executive_name"), _executive.c.title.label("executive_title"),
    _owner.c.name.label("owner_name"),
).select_from(
    _g.outerjoin(_executive, _executive.c.id == _g.c.executive_id)
    .outerjoin(_owner, _owner.c.id == _g.c.owner_id)
)  # fmt: skip


# goals -----------------------------------------------------------------------------------------------------
def goal_rows(conn: Connection, *where: sa.ColumnElement[bool]) -> list[sa.RowMapping]:
    """Goals (with their executive's name and title and our owner's name) matching ``where``, by id."""
    return list(conn.execute(GOAL_SELECT.where(*where).order_by(_g.c.id)).mappings())


def insert_goal(conn: Connection, account_id: int, values: Mapping[str, Any], now: datetime) -> int:
    row = {**values, "account_id": account_id, "created_at": now, "updated_at": now}
    return int(conn.execute(_g.insert().values(**row).returning(_g.c.id)).scalar_one())


def delete_goal(conn: Connection, goal_id: int) -> None:
    conn.execute(account_goal_deals.delete().where(account_goal_deals.c.goal_id == goal_id))
    conn.execute(_g.delete().where(_g.c.id == goal_id))


def goal_links(conn: Connection, goal_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(goal id, deal id) of the given goals' links, in goal then deal order."""
    found: list[tuple[int, int]] = []
    link = account_goal_deals
    for part in chunks(sorted(set(goal_ids))):
        query = (
            sa.select(link.c.goal_id, link.c.opportunity_id)
            .where(one_of(conn, link.c.goal_id, part))
            .order_by(link.c.goal_id, link.c.opportunity_id)
        )
        found += [(int(g), int(o)) for g, o in conn.execute(query)]
    return found


def link_deal(conn: Connection, goal_id: int, opportunity_id: int, now: datetime) -> bool:
    """Link the deal to the goal; False when it was linked already."""
    link = account_goal_deals
    exists = conn.execute(
        sa.select(link.c.goal_id).where(link.c.goal_id == goal_id, link.c.opportunity_id == opportunity_id)
    ).first()
    if exists is not None:
        return False
    conn.execute(link.insert().values(goal_id=goal_id, opportunity_id=opportunity_id, linked_at=now))
    return True


def unlink_deal(conn: Connection, goal_id: int, opportunity_id: int) -> bool:
    """Remove the link; False when there was none."""
    link = account_goal_deals
    result = conn.execute(
        link.delete().where(link.c.goal_id == goal_id, link.c.opportunity_id == opportunity_id)
    )
    return bool(result.rowcount)


# coverage --------------------------------------------------------------------------------------------------
def coverage_of(conn: Connection, contact_ids: Iterable[int]) -> list[tuple[int, int, str]]:
    """(contact id, user id, user name) of who covers the given contacts, in the order they were named."""
    c = contact_coverage
    found: list[tuple[int, int, str]] = []
    for part in chunks(sorted(set(contact_ids))):
        query = (
            sa.select(c.c.contact_id, c.c.user_id, users.c.name)
            .join(users, users.c.id == c.c.user_id)
            .where(one_of(conn, c.c.contact_id, part))
            .order_by(c.c.contact_id, c.c.created_at, c.c.user_id)
        )
        found += [(int(contact), int(user), str(name)) for contact, user, name in conn.execute(query)]
    return found


def add_coverage(conn: Connection, contact_id: int, user_id: int, now: datetime) -> bool:
    """Record that the user covers the contact; False when they did already."""
    c = contact_coverage
    exists = conn.execute(
        sa.select(c.c.contact_id).where(c.c.contact_id == contact_id, c.c.user_id == user_id)
    ).first()
    if exists is not None:
        return False
    conn.execute(c.insert().values(contact_id=contact_id, user_id=user_id, created_at=now))
    return True


def remove_coverage(conn: Connection, contact_id: int, user_id: int) -> bool:
    c = contact_coverage
    result = conn.execute(c.delete().where(c.c.contact_id == contact_id, c.c.user_id == user_id))
    return bool(result.rowcount)


# what the plan reads ---------------------------------------------------------------------------------------
def account_contacts(conn: Connection, account_id: int) -> list[sa.RowMapping]:
    """The account's contacts (every column), by name then id."""
    query = (
        sa.select(contacts)
        .where(contacts.c.account_id == account_id)
        .order_by(contacts.c.name, contacts.c.id)
    )
    return list(conn.execute(query).mappings())


def last_interactions(conn: Connection, contact_ids: Iterable[int], until: datetime) -> dict[int, date]:
    """The day of each contact's latest activity before ``until`` (contacts without one are left out)."""
    found: dict[int, date] = {}
    ac = activity_contacts
    for part in chunks(sorted(set(contact_ids))):
        query = (
            sa.select(ac.c.contact_id, sa.func.max(activities.c.occurred_at))
            .join(activities, activities.c.id == ac.c.activity_id)
            .where(one_of(conn, ac.c.contact_id, part), activities.c.occurred_at < until)
            .group_by(ac.c.contact_id)
        )
        for contact_id, moment in conn.execute(query):
            if moment is not None:
                found[int(contact_id)] = moment.date() if isinstance(moment, datetime) else _as_day(moment)
    return found


def _as_day(value: object) -> date:
    """SQLite returns MAX() of a timestamp as text."""
    return datetime.fromisoformat(str(value)).date()


def product_ownership(conn: Connection) -> tuple[dict[int, frozenset[str]], dict[str, str]]:
    """Every account's products (keys): won deals and subscriptions that have not churned (trials left
    out); and the name of each product key as first seen."""
    o, s = opportunities, subscriptions
    won = sa.select(o.c.account_id, o.c.product).where(
        o.c.outcome == Outcome.WON.value, o.c.product.is_not(None), o.c.account_id.is_not(None)
    )
    held = sa.select(s.c.account_id, s.c.product).where(
        s.c.status != SubscriptionStatus.CHURNED.value, s.c.is_trial.is_(False), s.c.product.is_not(None)
    )
    owned: dict[int, set[str]] = {}
    names: dict[str, str] = {}
    for account_id, product in conn.execute(sa.union(won, held)):
        key = name_key(str(product))
        if not key:
            continue
        names.setdefault(key, str(product))
        owned.setdefault(int(account_id), set()).add(key)
    return {account: frozenset(keys) for account, keys in owned.items()}, names


def account_profiles(conn: Connection) -> dict[int, tuple[str | None, str | None]]:
    """Industry and segment of every account not merged into another."""
    query = sa.select(accounts.c.id, accounts.c.industry, accounts.c.segment).where(
        accounts.c.merged_into_id.is_(None)
    )
    return {int(i): (industry, segment) for i, industry, segment in conn.execute(query)}


def catalogue_rows(conn: Connection) -> list[tuple[str, str | None, Decimal | None]]:
    """The product catalogue: (name, series, list price), by name."""
    query = sa.select(products.c.name, products.c.series, products.c.list_price).order_by(products.c.name)
    return [(str(n), s, p) for n, s, p in conn.execute(query)]


# what an import of goals looks up --------------------------------------------------------------------------
def accounts_by_reference(conn: Connection, refs: Iterable[str]) -> dict[str, int]:
    """Account id by each ref that is an account's external id, else the name (by
    :func:`~dealsight.domain.names.name_key`) of exactly one live account; refs found nowhere are left out."""
    wanted = sorted(set(refs))
    found: dict[str, int] = {}
    a = accounts
    for part in chunks(wanted):
        for external_id, account_id in conn.execute(
            sa.select(a.c.external_id, a.c.id).where(a.c.external_id.in_(list(part)))
        ):
            found[str(external_id)] = int(account_id)
    keys: dict[str, list[int]] = {}
    rest = [ref for ref in wanted if ref not in found]
    for part in chunks(sorted({name_key(ref) for ref in rest})):
        query = sa.select(a.c.name_key, a.c.id).where(
            a.c.name_key.in_(list(part)), a.c.merged_into_id.is_(None)
        )
        for key, account_id in conn.execute(query):
            keys.setdefault(str(key), []).append(int(account_id))
    for ref in rest:
        ids = keys.get(name_key(ref), [])
        if len(ids) == 1:
            found[ref] = ids[0]
    return found


def people_of_accounts(conn: Connection, account_ids: Iterable[int]) -> list[sa.Row[Any]]:
    """(id, account_id, name, email, external_id) of the contacts of the given accounts."""
    c = contacts
    found: list[sa.Row[Any]] = []
    for part in chunks(sorted(set(account_ids))):
        query = sa.select(c.c.id, c.c.account_id, c.c.name, c.c.email, c.c.external_id).where(
            c.c.account_id.in_(list(part))
        )
        found += list(conn.execute(query.order_by(c.c.id)))
    return found


def deals_of_accounts(conn: Connection, account_ids: Iterable[int]) -> list[sa.Row[Any]]:
    """(id, account_id, name, external_id) of the deals of the given accounts."""
    o = opportunities
    found: list[sa.Row[Any]] = []
    for part in chunks(sorted(set(account_ids))):
        query = sa.select(o.c.id, o.c.account_id, o.c.name, o.c.external_id).where(
            o.c.account_id.in_(list(part))
        )
        found += list(conn.execute(query.order_by(o.c.id)))
    return found


def active_users(conn: Connection) -> list[sa.Row[Any]]:
    """(id, name, email) of the active users."""
    return list(
        conn.execute(sa.select(users.c.id, users.c.name, users.c.email).where(users.c.active.is_(True)))
    )


def update_goal_row(conn: Connection, goal_id: int, values: Mapping[str, Any], now: datetime) -> None:
    conn.execute(account_goals.update().where(account_goals.c.id == goal_id).values(**values, updated_at=now))


__all__ = [
    "GOAL_FIELDS",
    "GOAL_SELECT",
    "account_contacts",
    "account_profiles",
    "accounts_by_reference",
    "active_users",
    "add_coverage",
    "catalogue_rows",
    "coverage_of",
    "deals_of_accounts",
    "delete_goal",
    "goal_links",
    "goal_rows",
    "insert_goal",
    "last_interactions",
    "link_deal",
    "people_of_accounts",
    "product_ownership",
    "remove_coverage",
    "unlink_deal",
    "update_goal_row",
]
