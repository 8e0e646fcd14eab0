"""Store-level queries behind the record use cases: the sales process, the summary columns of deals, and
the parts of one deal's page (contacts, history, qualification) and of activities (their contacts).

Nothing here checks access: the services in :mod:`dealsight.services` filter by scope (their conditions
are passed in, or the deal was found visible first). Everything reads through the store's indexes: the
owner, stage, expected close date, currency and amount of each deal (``ix_opportunities_pipeline_by_owner``
and, without the owner, ``ix_opportunities_pipeline_by_stage``), a deal's history
and its latest stage change (``uq_opportunity_history_change`` on opportunity, field, changed_at), answers
by deal and question.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealsight.domain.enums import DealRole, HistoryField, Influence, Outcome, Stance
from dealsight.store.schema import (
    accounts,
    activity_contacts,
    contacts,
    deal_insights,
    opportunities,
    opportunity_contacts,
    opportunity_history,
    qualification_answers,
    qualification_questions,
    question_sets,
    stages,
    teams,
    users,
)

_o, _a, _u, _t, _s, _h = opportunities, accounts, users, teams, stages, opportunity_history
_i = deal_insights


def enum_or_none(kind: type[StrEnum], value: object) -> Any:
    """A stored enum value as its enum (``None`` stays ``None``)."""
    return None if value is None else kind(str(value))


def contains(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    """``column`` contains ``text``, ignoring case; ``%`` and ``_`` in ``text`` are matched literally."""
    return column.icontains(text, autoescape=True)


def day_of(expression: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[date]:
    """The calendar day of a timestamp (or date) expression, in SQL, on either back end."""
    if dialect == "sqlite":
        return sa.func.date(expression, type_=sa.Date)
    return sa.cast(expression, sa.Date)


# the sales process ---------------------------------------------------------------------------------------
class DealStatus(StrEnum):
    """Which deals a list shows: open (the default), won, lost, no decision, closed (any outcome) or all."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"
    NO_DECISION = "no_decision"
    CLOSED = "closed"
    ALL = "all"


@dataclass(frozen=True)
class StageRow:
    name: str
    position: int
    outcome: Outcome | None


# Statements that never change are built once: building a SELECT and its cache key costs more in Python
# than running it on these small tables.
_STAGES = sa.select(_s.c.name, _s.c.position, _s.c.outcome).order_by(_s.c.position, _s.c.name)


def stage_rows(conn: Connection) -> list[StageRow]:
    """The stages of the sales process, in order, with the outcome each closed stage means."""
    return [StageRow(r.name, r.position, enum_or_none(Outcome, r.outcome)) for r in conn.execute(_STAGES)]


def _stages_ending(*outcomes: Outcome | None) -> sa.ColumnElement[bool]:
    """The deal's stage is one of those whose outcome is among ``outcomes`` (``None``: open stages)."""
    closed = [outcome.value for outcome in outcomes if outcome is not None]
    terms = [_s.c.outcome.in_(closed)] if closed else []
    if None in outcomes:
        terms.append(_s.c.outcome.is_(None))
    return _o.c.stage.in_(sa.select(_s.c.name).where(sa.or_(*terms)))


def _status_filters() -> dict[DealStatus, sa.ColumnElement[bool] | None]:
    no_decision = _o.c.outcome == Outcome.NO_DECISION.value
    return {
        DealStatus.ALL: None,
        DealStatus.OPEN: _stages_ending(None),
        DealStatus.CLOSED: _stages_ending(*Outcome),
        DealStatus.WON: _stages_ending(Outcome.WON),
        DealStatus.NO_DECISION: sa.and_(_stages_ending(Outcome.LOST, Outcome.NO_DECISION), no_decision),
        DealStatus.LOST: sa.and_(
            _stages_ending(Outcome.LOST), sa.or_(_o.c.outcome.is_(None), sa.not_(no_decision))
        ),
    }


_STATUS_FILTERS = _status_filters()  # built once: every deal list uses one


def status_filter(status: DealStatus) -> sa.ColumnElement[bool] | None:
    """Open and closed follow the stage, as in replays (a closed stage means its outcome), which lets the
    stage index answer (the stages of a status are read from ``stages`` in the same statement); within a
    closed-lost stage the recorded outcome tells lost from no decision."""
    return _STATUS_FILTERS[status]


def stage_names(conn: Connection) -> list[str]:
    """The stages of the sales process, in order."""
    return [str(n) for n in conn.execute(sa.select(_s.c.name).order_by(_s.c.position, _s.c.name)).scalars()]


def money_total(column: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[Any]:
    """``SUM(column)`` of a money column, exact on both back ends: PostgreSQL sums ``numeric`` exactly;
    SQLite keeps amounts as integers or doubles, so it sums whole cents (read back by :func:`money_of`)."""
    if dialect == "sqlite":
        cents = sa.cast(sa.func.round(column * 100), sa.Integer)
        return sa.func.sum(cents, type_=sa.Integer)
    return sa.func.sum(column)


def money_of(total: object, dialect: str) -> Decimal | None:
    """A :func:`money_total` as an exact amount with two decimals (``None`` when nothing was summed)."""
    if total is None:
        return None
    if dialect == "sqlite" and isinstance(total, int):
        return Decimal(total).scaleb(-2)
    return Decimal(str(total)).quantize(Decimal("0.01"))


# a deal's summary columns --------------------------------------------------------------------------
SUMMARY_COLUMNS = (
    "id",
    "external_id",
    "name",
    "account_id",
    "owner_id",
    "amount",
    "currency",
    "stage",
    "forecast_category",
    "expected_close_date",
    "created_date",
    "closed_date",
    "outcome",
    "updated_at",
)
INSIGHT_SUMMARY_COLUMNS = ("win_probability", "health", "risk_count", "top_risk")
"""What a deal list shows of each deal's latest insight (``deal_insights``; missing until scored)."""
DETAIL_COLUMNS = (
    "probability",
    "loss_reason",
    "competitors",
    "product",
    "source",
    "business_problem",
    "problem_impact",
    "executive_sponsor_id",
    "compelling_event",
    "decision_criteria",
    "buyer_phase",
    "engaged_before_preference",
    "preferred_competitor",
    "unique_business_value",
    "list_price",
    "discount",
    "margin",
    "created_at",
)


@lru_cache(maxsize=4)
def stage_since(dialect: str) -> sa.ColumnElement[date]:
    """The day the deal entered its current stage: its latest stage change, else its created date (one
    expression per dialect, built once)."""
    last_change = (
        sa.select(sa.func.max(_h.c.changed_at))
        .where(_h.c.opportunity_id == _o.c.id, _h.c.field == HistoryField.STAGE.value)
        .scalar_subquery()
    )
    return day_of(sa.func.coalesce(last_change, _o.c.created_date, _o.c.created_at), dialect)


def summary_select(
    dialect: str,
    *extra: sa.ColumnElement[Any],
    base: sa.FromClause = _o,
    since: sa.ColumnElement[date] | None = None,
) -> sa.Select[Any]:
    """The summary columns of the deals in ``base`` (the table, or a page of ids joined to it);
    ``since`` is :func:`stage_since` when the caller built it already."""
    return sa.select(
        *(_o.c[name] for name in SUMMARY_COLUMNS),
        _a.c.name.label("account_name"),
        _u.c.name.label("owner_name"),
        _t.c.name.label("team_name"),
        (stage_since(dialect) if since is None else since).label("stage_since"),
        *(_i.c[name] for name in INSIGHT_SUMMARY_COLUMNS),
        *extra,
    ).select_from(
        base.outerjoin(_a, _a.c.id == _o.c.account_id)
        .outerjoin(_u, _u.c.id == _o.c.owner_id)
        .outerjoin(_t, _t.c.id == _u.c.team_id)
        .outerjoin(_s, _s.c.name == _o.c.stage)
        .outerjoin(_i, _i.c.opportunity_id == _o.c.id)
    )


def summary_sort_keys(since: sa.ColumnElement[date]) -> dict[str, Any]:
    """What each sortable field of a deal list sorts by (the inner query joins the tables they need);
    ``days_in_stage`` sorts by the day its stage began, reversed."""
    return {
        "id": _o.c.id,
        "name": _o.c.name,
        "account_name": _a.c.name,
        "owner_name": _u.c.name,
        "amount": _o.c.amount,
        "stage": _s.c.position,
        "forecast_category": _o.c.forecast_category,
        "expected_close_date": _o.c.expected_close_date,
        "created_date": _o.c.created_date,
        "closed_date": _o.c.closed_date,
        "updated_at": _o.c.updated_at,
        "days_in_stage": (since, True),
        "win_probability": _i.c.win_probability,
        "risk_count": _i.c.risk_count,
    }


# the parts of a deal's page ------------------------------------------------------------------------
@dataclass(frozen=True)
class DealContact:
    """A contact on a deal: ``role`` is their role in this deal (else their usual role)."""

    id: int
    name: str
    title: str | None
    email: str | None
    role: DealRole | None
    influence: Influence | None
    stance: Stance
    is_executive: bool
    is_sponsor: bool


@dataclass(frozen=True)
class HistoryEntry:
    field: HistoryField
    changed_at: datetime
    old_value: str | None
    new_value: str | None
    changed_by_id: int | None
    changed_by_name: str | None


@dataclass(frozen=True)
class QualificationItem:
    """A question of the deal's question set, with the deal's answer (``None``: not answered yet).
    ``due`` is true once the deal has reached the stage the question should be answered by."""

    question_id: int
    key: str
    text: str
    stage: str | None
    essential: bool
    due: bool
    answer: str | None
    answered_at: datetime | None
    note: str | None


_q, _ans = qualification_questions, qualification_answers
_QUESTION_SETS = sa.select(question_sets.c.id, question_sets.c.team_id, question_sets.c.name).order_by(
    question_sets.c.id
)
_OWNER_TEAM = sa.select(_u.c.team_id).where(_u.c.id == sa.bindparam("owner_id"))
_TEAM_PARENTS = sa.select(_t.c.id, _t.c.parent_id)
_STAGE_POSITIONS = sa.select(_s.c.name, _s.c.position)
_QUESTIONS_AND_ANSWERS = (
    sa.select(_q, _ans.c.answer, _ans.c.answered_at, _ans.c.note)
    .select_from(
        _q.outerjoin(
            _ans,
            sa.and_(_ans.c.question_id == _q.c.id, _ans.c.opportunity_id == sa.bindparam("opportunity_id")),
        )
    )
    .where(_q.c.question_set_id == sa.bindparam("set_id"))
    .order_by(_q.c.position, _q.c.id)
)


def _question_set(conn: Connection, owner_id: int | None) -> tuple[int, str] | None:
    """The id and name of the question set of the owner's team, else of the nearest team above it, else
    the set for all teams."""
    by_team: dict[int | None, tuple[int, str]] = {}
    for set_id, team_id, name in conn.execute(_QUESTION_SETS):
        by_team.setdefault(team_id, (set_id, name))
    team_id = None
    if owner_id is not None:
        team_id = conn.execute(_OWNER_TEAM, {"owner_id": owner_id}).scalar()
    parents = {r[0]: r[1] for r in conn.execute(_TEAM_PARENTS)} if team_id else {}
    seen: set[int] = set()
    while team_id is not None and team_id not in seen:
        if team_id in by_team:
            return by_team[team_id]
        seen.add(team_id)
        team_id = parents.get(team_id)
    return by_team.get(None)


def question_set_of(conn: Connection, owner_id: int | None) -> int | None:
    """The question set of the owner's team, else of the nearest team above it, else the set for all teams."""
    found = _question_set(conn, owner_id)
    return None if found is None else found[0]


def qualification_of(
    conn: Connection, opportunity_id: int, owner_id: int | None, stage: str
) -> tuple[str | None, list[QualificationItem]]:
    found = _question_set(conn, owner_id)
    if found is None:
        return None, []
    set_id, name = found
    positions = {r[0]: r[1] for r in conn.execute(_STAGE_POSITIONS)}
    reached = positions.get(stage)
    rows = conn.execute(
        _QUESTIONS_AND_ANSWERS, {"opportunity_id": opportunity_id, "set_id": set_id}
    ).mappings()
    items = []
    for row in rows:
        due_at = positions.get(row["stage"]) if row["stage"] else None
        due = due_at is None or reached is None or reached >= due_at
        items.append(
            QualificationItem(
                question_id=row["id"],
                key=row["key"],
                text=row["text"],
                stage=row["stage"],
                essential=bool(row["essential"]),
                due=due,
                answer=row["answer"],
                answered_at=row["answered_at"],
                note=row["note"],
            )
        )
    return name, items


_DEAL_CONTACTS = (
    sa.select(contacts, opportunity_contacts.c.deal_role.label("role_in_deal"))
    .join(opportunity_contacts, opportunity_contacts.c.contact_id == contacts.c.id)
    .where(opportunity_contacts.c.opportunity_id == sa.bindparam("opportunity_id"))
    .order_by(contacts.c.name, contacts.c.id)
)
_HISTORY = (
    sa.select(_h, _u.c.name.label("changed_by_name"))
    .outerjoin(_u, _u.c.id == _h.c.changed_by_id)
    .where(_h.c.opportunity_id == sa.bindparam("opportunity_id"))
    .order_by(_h.c.changed_at, _h.c.id)
)
_ACTIVITY_CONTACTS = (
    sa.select(activity_contacts.c.activity_id, contacts.c.id, contacts.c.name)
    .join(contacts, contacts.c.id == activity_contacts.c.contact_id)
    .where(activity_contacts.c.activity_id.in_(sa.bindparam("activity_ids", expanding=True)))
    .order_by(activity_contacts.c.activity_id, contacts.c.name, contacts.c.id)
)


def deal_contacts(conn: Connection, opportunity_id: int, sponsor_id: int | None) -> list[DealContact]:
    rows = conn.execute(_DEAL_CONTACTS, {"opportunity_id": opportunity_id}).mappings()
    return [
        DealContact(
            id=row["id"],
            name=row["name"],
            title=row["title"],
            email=row["email"],
            role=enum_or_none(DealRole, row["role_in_deal"] or row["deal_role"]),
            influence=enum_or_none(Influence, row["influence"]),
            stance=Stance(row["stance"] or Stance.UNKNOWN.value),
            is_executive=bool(row["is_executive"]),
            is_sponsor=row["id"] == sponsor_id,
        )
        for row in rows
    ]


def history_of(conn: Connection, opportunity_id: int) -> list[HistoryEntry]:
    rows = conn.execute(_HISTORY, {"opportunity_id": opportunity_id}).mappings()
    return [
        HistoryEntry(
            field=HistoryField(row["field"]),
            changed_at=row["changed_at"],
            old_value=row["old_value"],
            new_value=row["new_value"],
            changed_by_id=row["changed_by_id"],
            changed_by_name=row["changed_by_name"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class ContactRef:
    id: int
    name: str


def contacts_of_activities(conn: Connection, activity_ids: list[int]) -> dict[int, list[ContactRef]]:
    """The contacts of each activity, by name: one query for a whole page of activities."""
    found: dict[int, list[ContactRef]] = defaultdict(list)
    if not activity_ids:
        return found
    for activity_id, contact_id, name in conn.execute(
        _ACTIVITY_CONTACTS, {"activity_ids": activity_ids}
    ).all():
        found[activity_id].append(ContactRef(contact_id, name))
    return found


# writing -------------------------------------------------------------------------------------------------
def write_history(
    conn: Connection,
    opportunity_id: int,
    changes: Mapping[HistoryField, tuple[str | None, str | None]],
    at: datetime,
    changed_by_id: int | None,
) -> None:
    """One history row per changed field (values as text); a second change of a field in the same second
    (the key is opportunity, field, instant) folds into the first, and disappears if it undoes it."""
    for field, (old, new) in changes.items():
        key = (_h.c.opportunity_id == opportunity_id, _h.c.field == field.value, _h.c.changed_at == at)
        same_second = conn.execute(sa.select(_h.c.id, _h.c.old_value).where(*key)).first()
        if same_second is None:
            conn.execute(
                _h.insert().values(
                    opportunity_id=opportunity_id,
                    field=field.value,
                    changed_at=at,
                    old_value=old,
                    new_value=new,
                    changed_by_id=changed_by_id,
                )
            )
        elif same_second.old_value == new:
            conn.execute(_h.delete().where(_h.c.id == same_second.id))
        else:
            conn.execute(
                _h.update()
                .where(_h.c.id == same_second.id)
                .values(new_value=new, changed_by_id=changed_by_id)
            )


Answer = tuple[str | None, str | None]


def save_answer(
    conn: Connection,
    opportunity_id: int,
    question_id: int,
    answer: str | None,
    note: str | None,
    at: datetime,
) -> tuple[Answer, Answer]:
    """Store a deal's answer to a question (``answer`` None removes it; ``note`` None keeps the note, empty
    text removes it). Returns (answer, note) before and after."""
    ans = qualification_answers
    key = (ans.c.opportunity_id == opportunity_id, ans.c.question_id == question_id)
    row = conn.execute(sa.select(ans.c.id, ans.c.answer, ans.c.note).where(*key)).first()
    old: Answer = (row.answer, row.note) if row else (None, None)
    if answer is None:
        if row is not None:
            conn.execute(ans.delete().where(ans.c.id == row.id))
        return old, (None, None)
    new: Answer = (answer, old[1] if note is None else (note or None))
    if row is None:
        conn.execute(
            ans.insert().values(
                opportunity_id=opportunity_id,
                question_id=question_id,
                answer=answer,
                answered_at=at,
                note=new[1],
            )
        )
    elif new != old:
        conn.execute(
            ans.update().where(ans.c.id == row.id).values(answer=answer, answered_at=at, note=new[1])
        )
    return old, new
