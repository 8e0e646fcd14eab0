"""Contacts as records: list, read, create and change them within a scope.

Decisions (see docs/access.md):

- **Visibility.** A contact is visible when its account is visible (see
  :mod:`dealsight.services.account_records`); anything else is *not found*.
- **Writes.** A contact is created on, or moved to, a visible account that has not been merged away.
- Every create and update is audited (entity ``contact``) in its own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.domain.access import Principal, Scope
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import DealRole, Influence, Stance
from dealsight.errors import FieldProblem
from dealsight.services.org_fields import EMAIL_LENGTH, is_email_address
from dealsight.services.record_writes import (
    audit_creation,
    external_id_problem,
    require_visible,
    save_changes,
    stored_form,
    stored_values,
)
from dealsight.services.records import (
    Cleaner,
    ListQuery,
    Page,
    Problem,
    account_visible,
    boolean,
    changed,
    clean_fields,
    contact_visible,
    enum_of,
    identifier,
    invalid,
    normalise_query,
    not_found,
    opportunity_visible,
    order_by,
    require_write,
    text,
)
from dealsight.store.database import transaction
from dealsight.store.records import contains, enum_or_none
from dealsight.store.schema import accounts, contacts, opportunities, opportunity_contacts

CONTACT = "contact"
_a, _c, _o = accounts, contacts, opportunities


@dataclass(frozen=True)
class ContactRecord:
    id: int
    external_id: str | None
    account_id: int | None
    account_name: str | None
    name: str
    email: str | None
    title: str | None
    deal_role: DealRole | None
    influence: Influence | None
    stance: Stance
    is_executive: bool


@dataclass(frozen=True)
class DealRef:
    id: int
    name: str
    stage: str
    role: DealRole | None


@dataclass(frozen=True)
class ContactDetail(ContactRecord):
    """A contact with the visible deals they take part in (and their role in each)."""

    opportunities: tuple[DealRef, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ContactQuery(ListQuery):
    """Filters of :func:`list_contacts`: ``account_id``, ``q`` (name, e-mail or title), ``is_executive``,
    ``stance``. Sort by ``name`` (default), ``title``, ``email``, ``account_name`` or ``id``."""

    account_id: int | None = None
    q: str | None = None
    is_executive: bool | None = None
    stance: Stance | None = None


# reading ---------------------------------------------------------------------------------------------------
CONTACT_SORT: dict[str, Any] = {
    "id": _c.c.id,
    "name": _c.c.name,
    "title": _c.c.title,
    "email": _c.c.email,
    "account_name": _a.c.name,
}


def _contact_select() -> sa.Select[Any]:
    return sa.select(_c, _a.c.name.label("account_name")).select_from(
        _c.outerjoin(_a, _a.c.id == _c.c.account_id)
    )


def _contact_values(row: sa.RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "external_id": row["external_id"],
        "account_id": row["account_id"],
        "account_name": row["account_name"],
        "name": row["name"],
        "email": row["email"],
        "title": row["title"],
        "deal_role": enum_or_none(DealRole, row["deal_role"]),
        "influence": enum_or_none(Influence, row["influence"]),
        "stance": Stance(row["stance"] or Stance.UNKNOWN.value),
        "is_executive": bool(row["is_executive"]),
    }


def contacts_of_account(conn: Connection, account_id: int) -> tuple[ContactRecord, ...]:
    """Every contact of one account by name (the caller checked that the account is visible)."""
    rows = conn.execute(_contact_select().where(_c.c.account_id == account_id).order_by(_c.c.name, _c.c.id))
    return tuple(ContactRecord(**_contact_values(row)) for row in rows.mappings())


def list_contacts(engine: Engine, scope: Scope, query: ContactQuery | None = None) -> Page[ContactRecord]:
    """One page of the contacts the scope may see (those of visible accounts)."""
    query = normalise_query(query or ContactQuery())
    ordering = order_by(query.sort, CONTACT_SORT, "name", _c.c.id)
    where = [contact_visible(scope)]
    if query.account_id is not None:
        where.append(_c.c.account_id == query.account_id)
    if query.q:
        where.append(sa.or_(*(contains(_c.c[n], query.q) for n in ("name", "email", "title"))))
    if query.is_executive is not None:
        where.append(_c.c.is_executive.is_(query.is_executive))
    if query.stance is not None:
        where.append(_c.c.stance == query.stance.value)
    with engine.connect() as conn:
        rows = conn.execute(
            _contact_select().where(*where).order_by(*ordering).limit(query.limit).offset(query.offset)
        ).mappings()
        items = tuple(ContactRecord(**_contact_values(row)) for row in rows)
        total = conn.execute(sa.select(sa.func.count()).select_from(_c).where(*where)).scalar_one()
    return Page(items, int(total), query.limit, query.offset)


def _read_contact(conn: Connection, scope: Scope, contact_id: int) -> ContactDetail:
    row = (
        conn.execute(_contact_select().where(_c.c.id == contact_id, contact_visible(scope, one=True)))
        .mappings()
        .first()
    )
    if row is None:
        raise not_found(CONTACT, contact_id)
    oc = opportunity_contacts
    deals = conn.execute(
        sa.select(_o.c.id, _o.c.name, _o.c.stage, oc.c.deal_role)
        .join(oc, oc.c.opportunity_id == _o.c.id)
        .where(oc.c.contact_id == contact_id, opportunity_visible(scope, one=True))
        .order_by(_o.c.created_date.desc(), _o.c.id.desc())
    ).all()
    return ContactDetail(
        **_contact_values(row),
        opportunities=tuple(
            DealRef(d.id, d.name, d.stage, enum_or_none(DealRole, d.deal_role or row["deal_role"]))
            for d in deals
        ),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def get_contact(engine: Engine, scope: Scope, contact_id: int) -> ContactDetail:
    """One contact; :class:`NotFoundError` when it does not exist or its account is outside the scope."""
    with engine.connect() as conn:
        return _read_contact(conn, scope, contact_id)


# writing ---------------------------------------------------------------------------------------------------
def _email(value: object) -> object:
    cleaned = text(EMAIL_LENGTH)(value)
    if cleaned is None:
        return None
    if not is_email_address(str(cleaned)):
        raise Problem(f"{value!r} is not an e-mail address (expected name@example.com)")
    return str(cleaned).lower()


CONTACT_CLEANERS: dict[str, Cleaner] = {
    "account_id": identifier,
    "name": text(200),
    "external_id": text(128),
    "email": _email,
    "title": text(200),
    "deal_role": enum_of(DealRole),
    "influence": enum_of(Influence),
    "stance": enum_of(Stance),
    "is_executive": boolean,
}
CONTACT_REQUIRED = ("account_id", "name", "stance", "is_executive")


def _check_contact(
    conn: Connection, scope: Scope, given: Mapping[str, Any], contact_id: int | None
) -> list[FieldProblem]:
    problems = []
    account_id = given.get("account_id")
    if account_id is not None:
        found = conn.execute(
            sa.select(_a.c.id).where(
                _a.c.id == account_id, _a.c.merged_into_id.is_(None), account_visible(scope, one=True)
            )
        ).first()
        if found is None:
            problems.append(FieldProblem("account_id", f"no account with id {account_id}"))
    taken = external_id_problem(conn, _c, CONTACT, given.get("external_id"), contact_id)
    if taken is not None:
        problems.append(taken)
    return problems


def create_contact(
    engine: Engine, actor: Principal, scope: Scope, data: Mapping[str, object], via: str
) -> ContactDetail:
    """Add a contact to a visible account (``account_id`` and ``name`` required)."""
    require_write(scope)
    cleaned, problems = clean_fields(data, CONTACT_CLEANERS, "a contact", CONTACT_REQUIRED)
    problems += [FieldProblem(n, "a value is required") for n in ("account_id", "name") if n not in data]
    values: dict[str, Any] = {"stance": Stance.UNKNOWN, "is_executive": False, **cleaned}
    with transaction(engine) as conn:
        problems += _check_contact(conn, scope, values, None)
        if problems:
            raise invalid(problems)
        now = utc_now()
        contact_id = conn.execute(
            _c.insert().values(**stored_form(values), created_at=now, updated_at=now).returning(_c.c.id)
        ).scalar_one()
        audit_creation(conn, actor, via, CONTACT, contact_id, values)
        return _read_contact(conn, scope, contact_id)


def update_contact(
    engine: Engine,
    actor: Principal,
    scope: Scope,
    contact_id: int,
    changes: Mapping[str, object],
    via: str,
) -> ContactDetail:
    """Change fields of a visible contact; moving it needs a visible target account."""
    require_write(scope)
    with transaction(engine) as conn:
        require_visible(conn, scope, _c, contact_visible, CONTACT, contact_id)
        old = stored_values(conn, _c, CONTACT_CLEANERS, contact_id)
        cleaned, problems = clean_fields(changes, CONTACT_CLEANERS, "a contact", CONTACT_REQUIRED)
        problems += _check_contact(conn, scope, cleaned, contact_id)
        if problems:
            raise invalid(problems)
        save_changes(conn, actor, via, _c, CONTACT, contact_id, changed(old, cleaned))
        return _read_contact(conn, scope, contact_id)


__all__ = [
    "ContactDetail",
    "ContactQuery",
    "ContactRecord",
    "DealRef",
    "contacts_of_account",
    "create_contact",
    "get_contact",
    "list_contacts",
    "update_contact",
]
