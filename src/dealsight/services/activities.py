"""Activities (calls, e-mails, meetings, demos, ...): list, read, log and correct them, within a scope.

Decisions (see docs/access.md):

- An activity is visible when its user is covered by the scope or it belongs to a visible opportunity; an
  activity outside the scope is *not found*.
- An activity belongs to a deal, to an account or to both; given a deal and no account, it takes the
  deal's account; given both, they must agree. Its user defaults to the actor and must be inside the
  actor's scope.
- Its contacts must be contacts of its account, or contacts the actor can see.
- Each write is audited (entity ``activity``) in the transaction that makes it; ``contact_ids`` is recorded
  as the list of ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.domain.access import Principal, Scope
from dealsight.domain.enums import ActivityType
from dealsight.errors import FieldProblem
from dealsight.services.record_writes import (
    audit_creation,
    external_id_problem,
    require_visible,
    stored_form,
    stored_values,
)
from dealsight.services.records import (
    Cleaner,
    ListQuery,
    Page,
    account_visible,
    activity_visible,
    assignable,
    changed,
    clean_fields,
    contact_visible,
    enum_of,
    id_list,
    identifier,
    invalid,
    moment,
    normalise_query,
    not_found,
    opportunity_visible,
    order_by,
    require_write,
    text,
)
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.records import ContactRef, contacts_of_activities
from dealsight.store.schema import accounts, activities, activity_contacts, contacts, opportunities, users

KIND = "activity"


@dataclass(frozen=True)
class ActivityRecord:
    id: int
    external_id: str | None
    type: ActivityType
    occurred_at: datetime
    opportunity_id: int | None
    opportunity_name: str | None
    account_id: int | None
    account_name: str | None
    user_id: int | None
    user_name: str | None
    subject: str | None
    notes: str | None
    contacts: tuple[ContactRef, ...]


@dataclass(frozen=True)
class ActivityQuery(ListQuery):
    """Filters of :func:`list_activities`; ``occurred_from`` / ``occurred_to`` are days, both included.
    Sort by ``occurred_at`` (default ``-occurred_at``, newest first), ``type`` or ``subject``."""

    opportunity_id: int | None = None
    account_id: int | None = None
    user_id: int | None = None
    type: ActivityType | None = None
    occurred_from: date | None = None
    occurred_to: date | None = None


_a, _o, _acc, _u = activities, opportunities, accounts, users
SORTABLE: dict[str, Any] = {"occurred_at": _a.c.occurred_at, "type": _a.c.type, "subject": _a.c.subject}
DEFAULT_SORT = "-occurred_at"


def _select() -> sa.Select[Any]:
    return sa.select(
        _a.c.id,
        _a.c.external_id,
        _a.c.type,
        _a.c.occurred_at,
        _a.c.opportunity_id,
        _o.c.name.label("opportunity_name"),
        _a.c.account_id,
        _acc.c.name.label("account_name"),
        _a.c.user_id,
        _u.c.name.label("user_name"),
        _a.c.subject,
        _a.c.notes,
    ).select_from(
        _a.outerjoin(_o, _o.c.id == _a.c.opportunity_id)
        .outerjoin(_acc, _acc.c.id == _a.c.account_id)
        .outerjoin(_u, _u.c.id == _a.c.user_id)
    )


# a deal page's activities, built once (every deal page runs them)
_NEWEST_OF_DEAL = (
    _select()
    .where(_a.c.opportunity_id == sa.bindparam("opportunity_id"))
    .order_by(_a.c.occurred_at.desc(), _a.c.id.desc())
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
_COUNT_OF_DEAL = (
    sa.select(sa.func.count()).select_from(_a).where(_a.c.opportunity_id == sa.bindparam("opportunity_id"))
)


def _records(conn: Connection, rows: list[sa.RowMapping]) -> list[ActivityRecord]:
    people = contacts_of_activities(conn, [row["id"] for row in rows])
    return [
        ActivityRecord(
            **{**row, "type": ActivityType(row["type"])}, contacts=tuple(people.get(row["id"], ()))
        )
        for row in rows
    ]


def activities_of_opportunity(
    conn: Connection, opportunity_id: int, limit: int = 100
) -> tuple[list[ActivityRecord], int]:
    """The newest ``limit`` activities of one deal (the caller checked it is visible) and how many it has.

    Every activity of a visible deal is visible, so no scope filter is needed here.
    """
    given = {"opportunity_id": opportunity_id, "limit": limit}
    rows = list(conn.execute(_NEWEST_OF_DEAL, given).mappings().all())
    total = conn.execute(_COUNT_OF_DEAL, given).scalar_one()
    return _records(conn, rows), int(total)


def _filters(query: ActivityQuery) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if query.opportunity_id is not None:
        where.append(_a.c.opportunity_id == query.opportunity_id)
    if query.account_id is not None:
        where.append(_a.c.account_id == query.account_id)
    if query.user_id is not None:
        where.append(_a.c.user_id == query.user_id)
    if query.type is not None:
        where.append(_a.c.type == query.type.value)
    if query.occurred_from is not None:
        where.append(_a.c.occurred_at >= datetime.combine(query.occurred_from, datetime.min.time()))
    if query.occurred_to is not None:
        until = datetime.combine(query.occurred_to + timedelta(days=1), datetime.min.time())
        where.append(_a.c.occurred_at < until)
    return where


def list_activities(engine: Engine, scope: Scope, query: ActivityQuery | None = None) -> Page[ActivityRecord]:
    """The activities the scope may see that match ``query``, newest first by default."""
    query = normalise_query(query or ActivityQuery())
    ordering = order_by(query.sort, SORTABLE, DEFAULT_SORT, _a.c.id)
    where = [activity_visible(scope), *_filters(query)]
    with engine.connect() as conn:
        rows = list(
            conn.execute(
                _select().where(*where).order_by(*ordering).limit(query.limit).offset(query.offset)
            ).mappings()
        )
        total = conn.execute(sa.select(sa.func.count()).select_from(_a).where(*where)).scalar_one()
        items = _records(conn, rows)
    return Page(tuple(items), int(total), query.limit, query.offset)


def _read(conn: Connection, scope: Scope, activity_id: int) -> ActivityRecord:
    row = (
        conn.execute(_select().where(_a.c.id == activity_id, activity_visible(scope, one=True)))
        .mappings()
        .first()
    )
    if row is None:
        raise not_found(KIND, activity_id)
    return _records(conn, [row])[0]


def get_activity(engine: Engine, scope: Scope, activity_id: int) -> ActivityRecord:
    """One activity; :class:`NotFoundError` when it does not exist or is outside the scope."""
    with engine.connect() as conn:
        return _read(conn, scope, activity_id)


# writing -------------------------------------------------------------------------------------------------
CLEANERS: dict[str, Cleaner] = {
    "type": enum_of(ActivityType),
    "occurred_at": moment,
    "opportunity_id": identifier,
    "account_id": identifier,
    "user_id": identifier,
    "subject": text(300),
    "notes": text(),
    "contact_ids": id_list,
    "external_id": text(128),
}
REQUIRED = ("type", "occurred_at")
COLUMNS = [name for name in CLEANERS if name != "contact_ids"]


def _check_links(
    conn: Connection, scope: Scope, values: dict[str, Any], touched: set[str]
) -> list[FieldProblem]:
    """The deal, account, user and contacts an activity names (those in ``touched``, the fields given or
    defaulted) must exist, be visible and agree with one another; an account left out follows the deal."""
    problems: list[FieldProblem] = []
    deal_account = None
    deal_id = values.get("opportunity_id")
    if deal_id is not None and touched & {"opportunity_id", "account_id"}:
        query = sa.select(_o.c.account_id).where(_o.c.id == deal_id)
        if "opportunity_id" in touched:
            query = query.where(opportunity_visible(scope, one=True))
        deal = conn.execute(query).first()
        if deal is None:
            problems.append(FieldProblem("opportunity_id", f"no opportunity with id {deal_id}"))
        else:
            deal_account = deal.account_id
            if "account_id" not in touched and "opportunity_id" in touched:
                values["account_id"] = deal_account
    account_id = values.get("account_id")
    if "account_id" in touched and account_id is not None:
        found = conn.execute(
            sa.select(_acc.c.id).where(_acc.c.id == account_id, account_visible(scope, one=True))
        ).first()
        if found is None:
            problems.append(FieldProblem("account_id", f"no account with id {account_id}"))
        elif deal_account is not None and deal_account != account_id:
            problems.append(
                FieldProblem("account_id", f"the deal belongs to account {deal_account}, not {account_id}")
            )
    if deal_id is None and values.get("account_id") is None:
        problems.append(FieldProblem("opportunity_id", "an activity needs a deal or an account"))
    if "user_id" in touched and values.get("user_id") is not None:
        problem = assignable(conn, scope, values["user_id"], "user_id")
        if problem:
            problems.append(problem)
    wanted = values.get("contact_ids") or []
    if "contact_ids" in touched and wanted:
        visible = contact_visible(scope, one=True).label("visible")
        rows = conn.execute(
            sa.select(contacts.c.id, contacts.c.account_id, visible).where(contacts.c.id.in_(wanted))
        ).all()
        ok = {
            row.id
            for row in rows
            if row.visible or (row.account_id and row.account_id == values.get("account_id"))
        }
        problems += [
            FieldProblem("contact_ids", f"contact {contact_id} is not a contact of this account you can see")
            for contact_id in wanted
            if contact_id not in ok
        ]
    return problems


def _stored(conn: Connection, activity_id: int) -> dict[str, Any]:
    values = stored_values(conn, _a, COLUMNS, activity_id)
    values["contact_ids"] = sorted(
        conn.execute(
            sa.select(activity_contacts.c.contact_id).where(activity_contacts.c.activity_id == activity_id)
        ).scalars()
    )
    return values


def _write_contacts(conn: Connection, activity_id: int, contact_ids: list[int]) -> None:
    conn.execute(activity_contacts.delete().where(activity_contacts.c.activity_id == activity_id))
    if contact_ids:
        conn.execute(
            activity_contacts.insert(), [{"activity_id": activity_id, "contact_id": c} for c in contact_ids]
        )


def create_activity(
    engine: Engine, actor: Principal, scope: Scope, data: Mapping[str, object], via: str
) -> ActivityRecord:
    """Log an activity; its user defaults to ``actor``. Returns it as stored."""
    require_write(scope)
    cleaned, problems = clean_fields(data, CLEANERS, "an activity", REQUIRED)
    problems += [FieldProblem(name, "a value is required") for name in REQUIRED if name not in data]
    if problems:
        raise invalid(problems)
    values: dict[str, Any] = {"user_id": actor.user_id, **cleaned}
    with transaction(engine) as conn:
        problems = _check_links(conn, scope, values, set(values))
        taken = external_id_problem(conn, _a, KIND, values.get("external_id"), None)
        if taken:
            problems.append(taken)
        if problems:
            raise invalid(problems)
        contact_ids = values.pop("contact_ids", None) or []
        activity_id = conn.execute(_a.insert().values(**stored_form(values)).returning(_a.c.id)).scalar_one()
        _write_contacts(conn, activity_id, contact_ids)
        audit_creation(conn, actor, via, KIND, activity_id, {**values, "contact_ids": contact_ids or None})
        return _read(conn, scope, activity_id)


def update_activity(
    engine: Engine,
    actor: Principal,
    scope: Scope,
    activity_id: int,
    changes: Mapping[str, object],
    via: str,
) -> ActivityRecord:
    """Correct an activity (any field of :data:`CLEANERS`); returns it as stored."""
    require_write(scope)
    with transaction(engine) as conn:
        require_visible(conn, scope, _a, activity_visible, KIND, activity_id)
        cleaned, problems = clean_fields(changes, CLEANERS, "an activity", REQUIRED)
        if problems:
            raise invalid(problems)
        old = _stored(conn, activity_id)
        values = {**old, **cleaned}
        problems = _check_links(conn, scope, values, set(cleaned))
        if "external_id" in cleaned:
            taken = external_id_problem(conn, _a, KIND, cleaned["external_id"], activity_id)
            if taken:
                problems.append(taken)
        if problems:
            raise invalid(problems)
        diff = changed(old, {k: v for k, v in values.items() if k in cleaned or k == "account_id"})
        if "contact_ids" in diff:
            diff["contact_ids"] = (old["contact_ids"], sorted(values["contact_ids"] or []))
        columns = {k: new for k, (_, new) in diff.items() if k != "contact_ids"}
        if columns:
            conn.execute(_a.update().where(_a.c.id == activity_id).values(**stored_form(columns)))
        if "contact_ids" in diff:
            _write_contacts(conn, activity_id, values["contact_ids"] or [])
        if diff:
            record_changes(
                conn, actor=actor, via=via, entity=KIND, entity_id=activity_id, action="update", changes=diff
            )
        return _read(conn, scope, activity_id)


__all__ = [
    "ActivityQuery",
    "ActivityRecord",
    "ContactRef",
    "activities_of_opportunity",
    "create_activity",
    "get_activity",
    "list_activities",
    "update_activity",
]
