"""An account plan's goals, the deals linked to them and who covers which contact: read, create, change,
delete, link and assign, within a scope.

Decisions (see docs/account-plans.md):

- A goal belongs to its account and follows the account's rule: visible to whoever sees the account
  (:func:`dealsight.services.records.account_visible`), anything else is *not found*; executives read
  only. A goal's deals are the deals the scope may see.
- The **executive** who owns a goal at the customer must be a contact of the account. **Our owner** of
  the goal, and a user who **covers** a contact, may be any active user: naming the VP as executive
  sponsor grants nobody sight of anything.
- A deal linked to a goal must be a deal of the goal's account that the scope sees (an unseen deal is
  *not found*, one of another account a problem of ``opportunity_id``). Linking twice, unlinking what is
  not linked, covering twice and uncovering what is not covered change nothing and are not audited.
- Every change is audited in its transaction: entity ``account_goal`` (create, update, delete; a link is an
  update of ``linked_deal``) and, for coverage, entity ``contact`` with field ``covered_by``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.domain.access import Principal, Scope
from dealsight.domain.account_plans import GOAL_LENGTH, MEASURE_LENGTH, NOTE_LENGTH, GoalPriority, GoalStatus
from dealsight.domain.clock import utc_now
from dealsight.errors import FieldProblem
from dealsight.services.record_writes import audit_creation, external_id_problem, save_changes, stored_form
from dealsight.services.records import (
    Cleaner,
    changed,
    clean_fields,
    contact_visible,
    day,
    enum_of,
    identifier,
    invalid,
    not_found,
    opportunity_visible,
    require_write,
    text,
)
from dealsight.services.subscriptions import on_visible_account, require_account
from dealsight.store import account_plans as store
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.schema import account_goals, contacts, opportunities, users

GOAL = "account_goal"
_g = account_goals


@dataclass(frozen=True)
class GoalRecord:
    """A goal of the customer as stored, with who owns it on both sides and the deals serving it that the
    reader may see."""

    id: int
    external_id: str | None
    account_id: int
    goal: str
    executive_id: int | None
    executive_name: str | None
    executive_title: str | None
    owner_id: int | None
    owner_name: str | None
    target_date: date | None
    priority: GoalPriority
    measure: str | None
    status: GoalStatus
    note: str | None
    deal_ids: tuple[int, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CoveringUser:
    id: int
    name: str


@dataclass(frozen=True)
class ContactCoverage:
    """Who on our side covers a contact."""

    contact_id: int
    contact_name: str
    account_id: int | None
    covered_by: tuple[CoveringUser, ...]


GOAL_CLEANERS: dict[str, Cleaner] = {
    "external_id": text(128),
    "goal": text(GOAL_LENGTH),
    "executive_id": identifier,
    "owner_id": identifier,
    "target_date": day,
    "priority": enum_of(GoalPriority),
    "measure": text(MEASURE_LENGTH),
    "status": enum_of(GoalStatus),
    "note": text(NOTE_LENGTH),
}
REQUIRED = ("goal", "priority", "status")
DEFAULTS = {"priority": GoalPriority.MEDIUM, "status": GoalStatus.IDENTIFIED}


def visible_deal_ids(conn: Connection, scope: Scope, goal_ids: list[int]) -> dict[int, list[int]]:
    """The deals serving each goal that ``scope`` sees."""
    links = store.goal_links(conn, goal_ids)
    found: dict[int, list[int]] = {goal_id: [] for goal_id in goal_ids}
    if not links:
        return found
    wanted = sorted({deal for _, deal in links})
    seen = {
        int(i)
        for i in conn.execute(
            sa.select(opportunities.c.id).where(opportunities.c.id.in_(wanted), opportunity_visible(scope))
        ).scalars()
    }
    for goal_id, deal_id in links:
        if deal_id in seen:
            found[goal_id].append(deal_id)
    return found


def goal_record(row: sa.RowMapping, deal_ids: list[int]) -> GoalRecord:
    values = {name: row[name] for name in row if name in GoalRecord.__dataclass_fields__}
    values.update(
        priority=GoalPriority(row["priority"]), status=GoalStatus(row["status"]), deal_ids=tuple(deal_ids)
    )
    return GoalRecord(**values)


def _read(conn: Connection, scope: Scope, goal_id: int) -> GoalRecord:
    rows = store.goal_rows(conn, _g.c.id == goal_id, on_visible_account(scope, _g, one=True))
    if not rows:
        raise not_found("goal", goal_id)
    return goal_record(rows[0], visible_deal_ids(conn, scope, [goal_id])[goal_id])


def get_goal(engine: Engine, scope: Scope, goal_id: int) -> GoalRecord:
    with engine.connect() as conn:
        return _read(conn, scope, goal_id)


def goals_of_account(engine: Engine, scope: Scope, account_id: int) -> list[GoalRecord]:
    """The goals of a visible account, by id."""
    with engine.connect() as conn:
        require_account(conn, scope, account_id)
        rows = store.goal_rows(conn, _g.c.account_id == account_id)
        deals = visible_deal_ids(conn, scope, [int(row["id"]) for row in rows])
    return [goal_record(row, deals[int(row["id"])]) for row in rows]


def _rules(conn: Connection, account_id: int, given: Mapping[str, Any]) -> list[FieldProblem]:
    problems = []
    executive = given.get("executive_id")
    if executive is not None:
        found = conn.execute(
            sa.select(contacts.c.id).where(contacts.c.id == executive, contacts.c.account_id == account_id)
        ).first()
        if found is None:
            problems.append(FieldProblem("executive_id", f"no contact {executive} at this account"))
    owner = given.get("owner_id")
    if owner is not None:
        problem = active_user_problem(conn, owner, "owner_id")
        if problem:
            problems.append(problem)
    return problems


def active_user_problem(conn: Connection, user_id: object, field: str) -> FieldProblem | None:
    row = conn.execute(sa.select(users.c.active).where(users.c.id == user_id)).first()
    if row is None:
        return FieldProblem(field, f"no user {user_id}")
    if not row.active:
        return FieldProblem(field, f"user {user_id} is deactivated")
    return None


def create_goal(
    engine: Engine, actor: Principal, scope: Scope, account_id: int, data: Mapping[str, object], via: str
) -> GoalRecord:
    """Add a goal to a visible account: ``goal`` required; medium priority and identified by default."""
    require_write(scope)
    cleaned, problems = clean_fields(data, GOAL_CLEANERS, "a goal", REQUIRED)
    if "goal" not in cleaned and not any(p.field == "goal" for p in problems):
        problems.append(FieldProblem("goal", "a value is required"))
    values: dict[str, Any] = {**DEFAULTS, **cleaned}
    with transaction(engine) as conn:
        require_account(conn, scope, account_id)
        problems += _rules(conn, account_id, cleaned)
        taken = external_id_problem(conn, _g, "goal", values.get("external_id"), None)
        if problems or taken:
            raise invalid([*problems, *([taken] if taken else [])])
        goal_id = store.insert_goal(conn, account_id, stored_form(values), utc_now())
        audit_creation(conn, actor, via, GOAL, goal_id, {"account_id": account_id, **values})
        return _read(conn, scope, goal_id)


def _require_goal(conn: Connection, scope: Scope, goal_id: int) -> dict[str, Any]:
    """The stored goal (its account and fields) if the scope sees it."""
    row = (
        conn.execute(
            sa.select(_g.c.account_id, *(_g.c[name] for name in store.GOAL_FIELDS)).where(
                _g.c.id == goal_id, on_visible_account(scope, _g, one=True)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise not_found("goal", goal_id)
    return dict(row)


def update_goal(
    engine: Engine, actor: Principal, scope: Scope, goal_id: int, changes: Mapping[str, object], via: str
) -> GoalRecord:
    """Change the fields given (``None`` clears an optional one)."""
    require_write(scope)
    with transaction(engine) as conn:
        old = _require_goal(conn, scope, goal_id)
        account_id = old.pop("account_id")
        cleaned, problems = clean_fields(changes, GOAL_CLEANERS, "a goal", REQUIRED)
        problems += _rules(conn, account_id, cleaned)
        taken = external_id_problem(conn, _g, "goal", cleaned.get("external_id"), goal_id)
        if problems or taken:
            raise invalid([*problems, *([taken] if taken else [])])
        save_changes(conn, actor, via, _g, GOAL, goal_id, changed(old, stored_form({**old, **cleaned})))
        return _read(conn, scope, goal_id)


def delete_goal(engine: Engine, actor: Principal, scope: Scope, goal_id: int, via: str) -> None:
    """Delete a goal and its links to deals (the deals stay)."""
    require_write(scope)
    with transaction(engine) as conn:
        _require_goal(conn, scope, goal_id)
        store.delete_goal(conn, goal_id)
        record_changes(
            conn, actor=actor, via=via, entity=GOAL, entity_id=goal_id, action="delete", changes={}
        )


def _deal_of_account(conn: Connection, scope: Scope, account_id: int, opportunity_id: int) -> str:
    """The name of a deal the scope sees, which must be a deal of the account."""
    o = opportunities
    row = conn.execute(
        sa.select(o.c.name, o.c.account_id).where(
            o.c.id == opportunity_id, opportunity_visible(scope, one=True)
        )
    ).first()
    if row is None:
        raise not_found("deal", opportunity_id)
    if row.account_id != account_id:
        raise invalid(
            [FieldProblem("opportunity_id", f"deal {opportunity_id} is not a deal of this account")]
        )
    return str(row.name)


def _change_link(
    engine: Engine, actor: Principal, scope: Scope, goal_id: int, opportunity_id: int, via: str, *, link: bool
) -> GoalRecord:
    require_write(scope)
    with transaction(engine) as conn:
        account_id = _require_goal(conn, scope, goal_id)["account_id"]
        shown = f"{_deal_of_account(conn, scope, account_id, opportunity_id)} ({opportunity_id})"
        written = (
            store.link_deal(conn, goal_id, opportunity_id, utc_now())
            if link
            else store.unlink_deal(conn, goal_id, opportunity_id)
        )
        if written:
            change = {"linked_deal": (None, shown) if link else (shown, None)}
            record_changes(
                conn, actor=actor, via=via, entity=GOAL, entity_id=goal_id, action="update", changes=change
            )
        return _read(conn, scope, goal_id)


def link_deal(
    engine: Engine, actor: Principal, scope: Scope, goal_id: int, opportunity_id: int, via: str
) -> GoalRecord:
    """Say the deal serves the goal (a deal may serve several goals)."""
    return _change_link(engine, actor, scope, goal_id, opportunity_id, via, link=True)


def unlink_deal(
    engine: Engine, actor: Principal, scope: Scope, goal_id: int, opportunity_id: int, via: str
) -> GoalRecord:
    """The deal no longer serves the goal."""
    return _change_link(engine, actor, scope, goal_id, opportunity_id, via, link=False)


# coverage --------------------------------------------------------------------------------------------------
def _contact(conn: Connection, scope: Scope, contact_id: int) -> sa.Row[Any, Any, Any]:
    row = conn.execute(
        sa.select(contacts.c.id, contacts.c.name, contacts.c.account_id).where(
            contacts.c.id == contact_id, contact_visible(scope, one=True)
        )
    ).first()
    if row is None:
        raise not_found("contact", contact_id)
    return row


def _coverage(conn: Connection, contact: sa.Row[Any, Any, Any]) -> ContactCoverage:
    users_of = tuple(CoveringUser(user, name) for _, user, name in store.coverage_of(conn, [contact.id]))
    return ContactCoverage(contact.id, contact.name, contact.account_id, users_of)


def coverage_of_contact(engine: Engine, scope: Scope, contact_id: int) -> ContactCoverage:
    with engine.connect() as conn:
        return _coverage(conn, _contact(conn, scope, contact_id))


def _user_name(conn: Connection, user_id: int) -> str:
    return str(conn.execute(sa.select(users.c.name).where(users.c.id == user_id)).scalar_one())


def _change_coverage(
    engine: Engine, actor: Principal, scope: Scope, contact_id: int, user_id: int, via: str, *, cover: bool
) -> ContactCoverage:
    require_write(scope)
    with transaction(engine) as conn:
        contact = _contact(conn, scope, contact_id)
        if cover:
            problem = active_user_problem(conn, user_id, "user_id")
            if problem:
                raise invalid([problem])
        written = (
            store.add_coverage(conn, contact_id, user_id, utc_now())
            if cover
            else store.remove_coverage(conn, contact_id, user_id)
        )
        if written:
            shown = f"{_user_name(conn, user_id)} ({user_id})"
            change = {"covered_by": (None, shown) if cover else (shown, None)}
            record_changes(
                conn,
                actor=actor,
                via=via,
                entity="contact",
                entity_id=contact_id,
                action="update",
                changes=change,
            )
        return _coverage(conn, contact)


def cover_contact(
    engine: Engine, actor: Principal, scope: Scope, contact_id: int, user_id: int, via: str
) -> ContactCoverage:
    """Record that ``user_id`` (an active user) covers the contact."""
    return _change_coverage(engine, actor, scope, contact_id, user_id, via, cover=True)


def uncover_contact(
    engine: Engine, actor: Principal, scope: Scope, contact_id: int, user_id: int, via: str
) -> ContactCoverage:
    """``user_id`` no longer covers the contact."""
    return _change_coverage(engine, actor, scope, contact_id, user_id, via, cover=False)


__all__ = [
    "GOAL",
    "ContactCoverage",
    "CoveringUser",
    "GoalRecord",
    "active_user_problem",
    "cover_contact",
    "coverage_of_contact",
    "create_goal",
    "delete_goal",
    "get_goal",
    "goal_record",
    "goals_of_account",
    "link_deal",
    "uncover_contact",
    "unlink_deal",
    "update_goal",
    "visible_deal_ids",
]
