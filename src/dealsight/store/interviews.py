"""Storing interview guides, interviews, their answers and tags, and searching the answers.

Everything runs on the caller's connection (and transaction); access rules and validation are the
services' (:mod:`dealsight.services.interviews`, :mod:`dealsight.services.interview_guides`). A guide's
questions are never deleted: retiring one sets ``retired_at``, so its answers keep pointing at it. An
interview's account is its contact's (read through ``contacts``), so an account merge that moves the
contact moves the interview with it.

Search matches every word of the text in the answer (``LIKE`` with the wildcards escaped, case-insensitive
on both back ends); filters are SQL conditions the service combines with the caller's scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealsight.domain.interviews import Guide, GuideQuestion, Tag, TagKind, Topic
from dealsight.store.bulk import chunks
from dealsight.store.schema import (
    accounts,
    contacts,
    interview_answer_tags,
    interview_answers,
    interview_guides,
    interview_questions,
    interviews,
    opportunities,
    users,
)

_q = interview_questions
_a = interview_answers
_t = interview_answer_tags
_i = interviews


@dataclass(frozen=True)
class AnswerInput:
    """One answer to write: to which question (with the wording asked), the text and its tags."""

    question_id: int
    question_text: str
    answer: str
    tags: tuple[Tag, ...] = ()


@dataclass(frozen=True)
class StoredAnswer:
    id: int
    question_id: int
    question_key: str
    question_text: str
    """The wording that was asked (the guide may have been reworded since)."""
    topic: Topic
    answer: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class StoredInterview:
    id: int
    external_id: str | None
    guide_id: int
    guide_name: str
    guide_version: int
    contact_id: int
    contact_name: str
    account_id: int | None
    account_name: str | None
    segment: str | None
    opportunity_id: int | None
    opportunity_name: str | None
    interviewer_id: int | None
    interviewer_name: str | None
    interviewed_on: date
    note: str | None
    answers: tuple[StoredAnswer, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AnswerHit:
    """One answer found by a search, with who said it, when, and to which question."""

    answer_id: int
    interview_id: int
    interviewed_on: date
    contact_id: int
    contact_name: str
    account_id: int | None
    account_name: str | None
    segment: str | None
    opportunity_id: int | None
    product: str | None
    question_key: str
    question_text: str
    topic: Topic
    answer: str
    tags: tuple[str, ...]
    interviewer_name: str | None


# guides ----------------------------------------------------------------------------------------------------
def guide_by_name(conn: Connection, name: str) -> Guide | None:
    """The stored guide named ``name`` (any case), with every question (retired too) in order."""
    row = conn.execute(
        sa.select(interview_guides).where(sa.func.lower(interview_guides.c.name) == name.strip().lower())
    ).first()
    if row is None:
        return None
    query = sa.select(_q).where(_q.c.guide_id == row.id).order_by(_q.c.position, _q.c.id)
    questions = tuple(
        GuideQuestion(q.key, q.text, Topic(q.topic), q.retired_at is not None, int(q.id))
        for q in conn.execute(query)
    )
    return Guide(row.name, int(row.version), questions, int(row.id))


def guide_names(conn: Connection) -> list[str]:
    query = sa.select(interview_guides.c.name).order_by(interview_guides.c.name)
    return [str(name) for name in conn.execute(query).scalars()]


def save_guide(conn: Connection, guide: Guide, now: datetime) -> Guide:
    """Write ``guide`` (new when its id is None): its version, and every question by key (new ones
    inserted, the others updated; none deleted). Returns the guide as stored, with ids."""
    if guide.id is None:
        guide_id = int(
            conn.execute(
                interview_guides.insert()
                .values(name=guide.name, version=guide.version, created_at=now, updated_at=now)
                .returning(interview_guides.c.id)
            ).scalar_one()
        )
        stored: dict[str, Any] = {}
    else:
        guide_id = guide.id
        conn.execute(
            interview_guides.update()
            .where(interview_guides.c.id == guide_id)
            .values(version=guide.version, updated_at=now)
        )
        stored = {r.key: r for r in conn.execute(sa.select(_q).where(_q.c.guide_id == guide_id))}
    for position, question in enumerate(guide.questions, start=1):
        values: dict[str, object] = {
            "text": question.text,
            "topic": question.topic.value,
            "position": position,
        }
        old = stored.get(question.key)
        if old is None:
            retired = {"retired_at": now if question.retired else None}
            conn.execute(
                _q.insert().values(
                    guide_id=guide_id, key=question.key, **values, **retired, created_at=now, updated_at=now
                )
            )
            continue
        if question.retired != (old.retired_at is not None):
            values["retired_at"] = now if question.retired else None
        if any(values[k] != old._mapping[k] for k in values):
            conn.execute(_q.update().where(_q.c.id == old.id).values(**values, updated_at=now))
    found = conn.execute(
        sa.select(interview_guides.c.name).where(interview_guides.c.id == guide_id)
    ).scalar_one()
    saved = guide_by_name(conn, found)
    assert saved is not None
    return saved


# interviews ------------------------------------------------------------------------------------------------
def insert_interview(conn: Connection, values: Mapping[str, Any]) -> int:
    return int(conn.execute(_i.insert().values(**values).returning(_i.c.id)).scalar_one())


def update_interview(conn: Connection, interview_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(_i.update().where(_i.c.id == interview_id).values(**values))


def write_answers(
    conn: Connection, interview_id: int, answers: Sequence[AnswerInput], replace: bool = False
) -> None:
    """Insert the answers of an interview in order (``replace``: its answers so far are deleted first)."""
    if replace:
        conn.execute(_a.delete().where(_a.c.interview_id == interview_id))
    for position, answer in enumerate(answers, start=1):
        answer_id = conn.execute(
            _a.insert()
            .values(
                interview_id=interview_id,
                question_id=answer.question_id,
                position=position,
                question_text=answer.question_text,
                answer=answer.answer,
            )
            .returning(_a.c.id)
        ).scalar_one()
        tags = [
            {"answer_id": answer_id, "kind": t.kind.value, "value": t.value, "value_key": t.value.lower()}
            for t in answer.tags
        ]
        if tags:
            conn.execute(_t.insert(), tags)


def interview_ids(conn: Connection, *where: sa.ColumnElement[bool]) -> list[int]:
    return [int(i) for i in conn.execute(sa.select(_i.c.id).where(*where))]


def interview_keys(conn: Connection, contact_ids: Iterable[int]) -> dict[tuple[int, date], int]:
    """The interviews of ``contact_ids`` by (contact, day): how an import without ids finds them again."""
    found: dict[tuple[int, date], int] = {}
    for part in chunks(sorted(set(contact_ids))):
        query = sa.select(_i.c.id, _i.c.contact_id, _i.c.interviewed_on).where(_i.c.contact_id.in_(part))
        for row in conn.execute(query):
            found.setdefault((int(row.contact_id), row.interviewed_on), int(row.id))
    return found


def external_ids(conn: Connection, values: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(sorted(set(values))):
        for row in conn.execute(sa.select(_i.c.id, _i.c.external_id).where(_i.c.external_id.in_(part))):
            found[str(row.external_id)] = int(row.id)
    return found


def _tags_of(conn: Connection, answer_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    tags: dict[int, list[str]] = {}
    for part in chunks(list(answer_ids)):
        query = sa.select(_t.c.answer_id, _t.c.kind, _t.c.value).where(_t.c.answer_id.in_(part))
        for row in conn.execute(query.order_by(_t.c.answer_id, _t.c.kind, _t.c.value)):
            tags.setdefault(int(row.answer_id), []).append(str(Tag(TagKind(row.kind), row.value)))
    return {key: tuple(value) for key, value in tags.items()}


def answers_of(conn: Connection, interview_ids: Sequence[int]) -> dict[int, tuple[StoredAnswer, ...]]:
    """The answers of each interview, in order, with their tags."""
    found: dict[int, list[tuple[int, Any]]] = {}
    for part in chunks(list(interview_ids)):
        query = (
            sa.select(_a, _q.c.key, _q.c.topic)
            .join(_q, _q.c.id == _a.c.question_id)
            .where(_a.c.interview_id.in_(part))
            .order_by(_a.c.interview_id, _a.c.position)
        )
        for row in conn.execute(query):
            found.setdefault(int(row.interview_id), []).append((int(row.id), row))
    tags = _tags_of(conn, [answer_id for rows in found.values() for answer_id, _ in rows])
    return {
        interview_id: tuple(
            StoredAnswer(
                answer_id,
                int(r.question_id),
                r.key,
                r.question_text,
                Topic(r.topic),
                r.answer,
                tags.get(answer_id, ()),
            )
            for answer_id, r in rows
        )
        for interview_id, rows in found.items()
    }


def _interview_select() -> sa.Select[Any]:
    interviewer = users.alias("interviewer")
    return sa.select(
        _i,
        interview_guides.c.name.label("guide_name"),
        contacts.c.name.label("contact_name"),
        contacts.c.account_id,
        accounts.c.name.label("account_name"),
        accounts.c.segment,
        opportunities.c.name.label("opportunity_name"),
        interviewer.c.name.label("interviewer_name"),
    ).select_from(
        _i.join(interview_guides, interview_guides.c.id == _i.c.guide_id)
        .join(contacts, contacts.c.id == _i.c.contact_id)
        .outerjoin(accounts, accounts.c.id == contacts.c.account_id)
        .outerjoin(opportunities, opportunities.c.id == _i.c.opportunity_id)
        .outerjoin(interviewer, interviewer.c.id == _i.c.interviewer_id)
    )


def read_interviews(
    conn: Connection, *where: sa.ColumnElement[bool], limit: int | None = None, offset: int = 0
) -> list[StoredInterview]:
    """Interviews (filtered by ``where``), newest first, with their answers."""
    query = (
        _interview_select()
        .where(*where)
        .order_by(_i.c.interviewed_on.desc(), _i.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = conn.execute(query).all()
    answers = answers_of(conn, [int(r.id) for r in rows])
    return [
        StoredInterview(
            int(r.id),
            r.external_id,
            int(r.guide_id),
            r.guide_name,
            int(r.guide_version),
            int(r.contact_id),
            r.contact_name,
            r.account_id,
            r.account_name,
            r.segment,
            r.opportunity_id,
            r.opportunity_name,
            r.interviewer_id,
            r.interviewer_name,
            r.interviewed_on,
            r.note,
            answers.get(int(r.id), ()),
            r.created_at,
            r.updated_at,
        )
        for r in rows
    ]


def count_interviews(conn: Connection, *where: sa.ColumnElement[bool]) -> int:
    query = sa.select(sa.func.count()).select_from(_i.join(contacts, contacts.c.id == _i.c.contact_id))
    return int(conn.execute(query.where(*where)).scalar_one())


# lookups for imports ------------------------------------------------------------------------------------
def contact_accounts(conn: Connection, contact_ids: Iterable[int]) -> dict[int, int | None]:
    """The account of each contact that exists, by contact id."""
    found: dict[int, int | None] = {}
    for part in chunks(sorted(set(contact_ids))):
        for row in conn.execute(
            sa.select(contacts.c.id, contacts.c.account_id).where(contacts.c.id.in_(part))
        ):
            found[int(row.id)] = row.account_id
    return found


def users_by_email(conn: Connection, emails: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(sorted({e.lower() for e in emails})):
        query = sa.select(users.c.id, users.c.email).where(sa.func.lower(users.c.email).in_(part))
        for row in conn.execute(query):
            found[str(row.email).lower()] = int(row.id)
    return found


def deals_by_reference(conn: Connection, references: Iterable[str]) -> dict[str, tuple[int, int | None]]:
    """Deal id and account id by reference: a deal's external id, else its dealsight id (as text)."""
    wanted = sorted(set(references))
    found: dict[str, tuple[int, int | None]] = {}
    o = opportunities
    for part in chunks(wanted):
        for row in conn.execute(
            sa.select(o.c.id, o.c.external_id, o.c.account_id).where(o.c.external_id.in_(part))
        ):
            found[str(row.external_id)] = (int(row.id), row.account_id)
    ids = [int(r) for r in wanted if r not in found and r.isdecimal() and len(r) < 10]
    for part in chunks(ids):
        for deal_id, account_id in conn.execute(sa.select(o.c.id, o.c.account_id).where(o.c.id.in_(part))):
            found.setdefault(str(deal_id), (int(deal_id), account_id))
    return found


# searching answers -----------------------------------------------------------------------------------------
def like_pattern(word: str) -> str:
    """``word`` as a LIKE pattern matching it anywhere, its own wildcards escaped (``\\``)."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_matches(text: str) -> list[sa.ColumnElement[bool]]:
    """Every word of ``text`` appears in the answer (any case)."""
    return [_a.c.answer.ilike(like_pattern(word), escape="\\") for word in text.split()]


def tagged(tag: Tag | None, value: str | None = None) -> sa.ColumnElement[bool]:
    """The answer has ``tag`` (or, with ``value``, a tag of any kind with that value)."""
    condition = (
        sa.and_(_t.c.kind == tag.kind.value, _t.c.value_key == tag.value.lower())
        if tag is not None
        else _t.c.value_key == (value or "").strip().lower()
    )
    return _a.c.id.in_(sa.select(_t.c.answer_id).where(condition))


def has_tag_kind(kind: TagKind) -> sa.ColumnElement[bool]:
    """The answer has at least one tag of ``kind``."""
    return _a.c.id.in_(sa.select(_t.c.answer_id).where(_t.c.kind == kind.value))


def _hit_select() -> sa.Select[Any]:
    interviewer = users.alias("interviewer")
    return sa.select(
        _a.c.id.label("answer_id"),
        _a.c.interview_id,
        _a.c.question_text,
        _a.c.answer,
        _q.c.key.label("question_key"),
        _q.c.topic,
        _i.c.interviewed_on,
        _i.c.contact_id,
        _i.c.opportunity_id,
        contacts.c.name.label("contact_name"),
        contacts.c.account_id,
        accounts.c.name.label("account_name"),
        accounts.c.segment,
        opportunities.c.product,
        interviewer.c.name.label("interviewer_name"),
    ).select_from(
        _a.join(_q, _q.c.id == _a.c.question_id)
        .join(_i, _i.c.id == _a.c.interview_id)
        .join(contacts, contacts.c.id == _i.c.contact_id)
        .outerjoin(accounts, accounts.c.id == contacts.c.account_id)
        .outerjoin(opportunities, opportunities.c.id == _i.c.opportunity_id)
        .outerjoin(interviewer, interviewer.c.id == _i.c.interviewer_id)
    )


def search_answers(
    conn: Connection, where: Sequence[sa.ColumnElement[bool]], limit: int | None, offset: int = 0
) -> tuple[list[AnswerHit], int]:
    """Answers matching ``where`` (newest interviews first, then in the interview's order) and how many
    match in all."""
    query = (
        _hit_select()
        .where(*where)
        .order_by(_i.c.interviewed_on.desc(), _i.c.id.desc(), _a.c.position)
        .limit(limit)
        .offset(offset)
    )
    rows = conn.execute(query).all()
    tags = _tags_of(conn, [int(r.answer_id) for r in rows])
    hits = [
        AnswerHit(
            int(r.answer_id),
            int(r.interview_id),
            r.interviewed_on,
            int(r.contact_id),
            r.contact_name,
            r.account_id,
            r.account_name,
            r.segment,
            r.opportunity_id,
            r.product,
            r.question_key,
            r.question_text,
            Topic(r.topic),
            r.answer,
            tags.get(int(r.answer_id), ()),
            r.interviewer_name,
        )
        for r in rows
    ]
    if limit is None:
        return hits, len(hits)
    counted = sa.select(sa.func.count()).select_from(_hit_select().where(*where).subquery())
    return hits, int(conn.execute(counted).scalar_one())


def answer_tables() -> tuple[sa.Table, sa.Table, sa.Table, sa.Table]:
    """The tables a search condition may name: answers, questions, interviews, contacts."""
    return _a, _q, _i, contacts


__all__ = [
    "AnswerHit",
    "AnswerInput",
    "StoredAnswer",
    "StoredInterview",
    "answer_tables",
    "answers_of",
    "contact_accounts",
    "count_interviews",
    "deals_by_reference",
    "external_ids",
    "guide_by_name",
    "guide_names",
    "has_tag_kind",
    "insert_interview",
    "interview_ids",
    "interview_keys",
    "like_pattern",
    "read_interviews",
    "save_guide",
    "search_answers",
    "tagged",
    "text_matches",
    "update_interview",
    "users_by_email",
    "write_answers",
]
