"""Storing buying process roadmaps and which of their questions each deal's buyer has had answered.

Everything runs on the caller's connection (and transaction); access rules and validation are the
services' (:mod:`dealsight.services.roadmaps`, :mod:`dealsight.services.deal_roadmaps`). A roadmap is
written whole (:func:`save_roadmap`): its stages are replaced, its questions matched by key (kept ones
keep their id, and so the deals' answers to them), new ones inserted, and questions no longer in it
deleted with the deals' answers to them (the caller is told how many).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealsight.domain.enums import BuyerPhase
from dealsight.domain.roadmaps import STAGES, Roadmap, RoadmapQuestion, RoadmapStage
from dealsight.store.schema import deal_roadmap_answers, roadmap_questions, roadmap_stages, roadmaps, users

_q = roadmap_questions
_d = deal_roadmap_answers


@dataclass(frozen=True)
class RoadmapSummary:
    id: int
    product: str
    version: int
    questions: int
    updated_at: datetime


@dataclass(frozen=True)
class Saved:
    """What :func:`save_roadmap` did."""

    roadmap: Roadmap
    created: bool
    changed: bool
    removed_questions: int
    removed_answers: int


@dataclass(frozen=True)
class DealAnswer:
    """A roadmap question a deal's buyer has had answered: when, by which tool, noted by whom."""

    question_id: int
    key: str
    answered_on: date
    tool: str | None
    note: str | None
    answered_by_id: int | None
    answered_by_name: str | None


def product_key(product: str) -> str:
    return " ".join(product.split()).lower()


def _roadmap(conn: Connection, row: Any) -> Roadmap:
    stage_rows = {
        r.stage: r
        for r in conn.execute(sa.select(roadmap_stages).where(roadmap_stages.c.roadmap_id == row.id))
    }
    stages = tuple(
        RoadmapStage(s, tuple(stage_rows[s.value].concerns), tuple(stage_rows[s.value].tools))
        if s.value in stage_rows
        else RoadmapStage(s)
        for s in STAGES
    )
    query = sa.select(_q).where(_q.c.roadmap_id == row.id).order_by(_q.c.position, _q.c.id)
    questions = [
        RoadmapQuestion(
            q.key, BuyerPhase(q.stage), q.question, q.concern, q.answer, tuple(q.tools), int(q.id)
        )
        for q in conn.execute(query)
    ]
    order = {s: i for i, s in enumerate(STAGES)}
    questions.sort(key=lambda q: order[q.stage])  # stable: positions within a stage kept
    return Roadmap(row.product, stages, tuple(questions), int(row.id), int(row.version))


def roadmap_by_product(conn: Connection, product: str) -> Roadmap | None:
    """The roadmap of ``product`` (any case and spacing), else of the roadmap with that id."""
    row = conn.execute(sa.select(roadmaps).where(roadmaps.c.product_key == product_key(product))).first()
    if row is None and product.strip().isdecimal() and len(product.strip()) < 10:
        row = conn.execute(sa.select(roadmaps).where(roadmaps.c.id == int(product))).first()
    return None if row is None else _roadmap(conn, row)


def roadmaps_of(conn: Connection, products: list[str]) -> dict[str, Roadmap]:
    """The roadmaps of ``products`` by their product key (those that have one)."""
    keys = sorted({product_key(p) for p in products})
    rows = conn.execute(sa.select(roadmaps).where(roadmaps.c.product_key.in_(keys))).all() if keys else []
    return {row.product_key: _roadmap(conn, row) for row in rows}


def all_roadmaps(conn: Connection) -> list[Roadmap]:
    return [_roadmap(conn, row) for row in conn.execute(sa.select(roadmaps).order_by(roadmaps.c.product))]


def roadmap_summaries(conn: Connection) -> list[RoadmapSummary]:
    counts = (
        sa.select(_q.c.roadmap_id, sa.func.count().label("questions")).group_by(_q.c.roadmap_id).subquery()
    )
    query = (
        sa.select(roadmaps, counts.c.questions)
        .select_from(roadmaps.outerjoin(counts, counts.c.roadmap_id == roadmaps.c.id))
        .order_by(roadmaps.c.product)
    )
    return [
        RoadmapSummary(int(r.id), r.product, int(r.version), int(r.questions or 0), r.updated_at)
        for r in conn.execute(query)
    ]


def _same(old: Roadmap, new: Roadmap) -> bool:
    def plain(roadmap: Roadmap) -> object:
        questions = [(q.key, q.stage, q.question, q.concern, q.answer, q.tools) for q in roadmap.questions]
        return (roadmap.product, roadmap.stages, questions)

    return plain(old) == plain(new)


def save_roadmap(conn: Connection, roadmap: Roadmap, now: datetime) -> Saved:
    """Write ``roadmap`` whole (module docstring); an unchanged roadmap is left as it is."""
    old = roadmap_by_product(conn, roadmap.product)
    if old is not None and old.product.lower() != roadmap.product.lower():
        old = None  # found by id, not by name: a new product
    if old is not None and _same(old, roadmap):
        return Saved(old, False, False, 0, 0)
    if old is None:
        roadmap_id = int(
            conn.execute(
                roadmaps.insert()
                .values(
                    product=roadmap.product,
                    product_key=product_key(roadmap.product),
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
                .returning(roadmaps.c.id)
            ).scalar_one()
        )
        stored: dict[str, int] = {}
    else:
        roadmap_id = int(old.id or 0)
        conn.execute(
            roadmaps.update()
            .where(roadmaps.c.id == roadmap_id)
            .values(product=roadmap.product, version=old.version + 1, updated_at=now)
        )
        conn.execute(roadmap_stages.delete().where(roadmap_stages.c.roadmap_id == roadmap_id))
        stored = {q.key: int(q.id or 0) for q in old.questions}
    stage_rows = [
        {
            "roadmap_id": roadmap_id,
            "stage": s.stage.value,
            "concerns": list(s.concerns),
            "tools": list(s.tools),
        }
        for s in roadmap.stages
        if s.concerns or s.tools
    ]
    if stage_rows:
        conn.execute(roadmap_stages.insert(), stage_rows)
    keep = {q.key for q in roadmap.questions}
    gone = [question_id for key, question_id in stored.items() if key not in keep]
    removed_answers = 0
    if gone:
        removed_answers = int(
            conn.execute(
                sa.select(sa.func.count()).select_from(_d).where(_d.c.question_id.in_(gone))
            ).scalar_one()
        )
        conn.execute(_q.delete().where(_q.c.id.in_(gone)))
    for position, question in enumerate(roadmap.questions, start=1):
        values = {
            "stage": question.stage.value,
            "position": position,
            "question": question.question,
            "concern": question.concern,
            "answer": question.answer,
            "tools": list(question.tools),
            "updated_at": now,
        }
        if question.key in stored:
            conn.execute(_q.update().where(_q.c.id == stored[question.key]).values(**values))
        else:
            conn.execute(
                _q.insert().values(roadmap_id=roadmap_id, key=question.key, created_at=now, **values)
            )
    saved = roadmap_by_product(conn, roadmap.product)
    assert saved is not None
    return Saved(saved, old is None, True, len(gone), removed_answers)


# deals -----------------------------------------------------------------------------------------------------
def deal_answers(conn: Connection, opportunity_id: int, roadmap_id: int) -> dict[str, DealAnswer]:
    """The roadmap questions of ``roadmap_id`` answered for the deal, by key."""
    query = (
        sa.select(_d, _q.c.key, users.c.name.label("answered_by_name"))
        .select_from(
            _d.join(_q, _q.c.id == _d.c.question_id).outerjoin(users, users.c.id == _d.c.answered_by_id)
        )
        .where(_d.c.opportunity_id == opportunity_id, _q.c.roadmap_id == roadmap_id)
    )
    return {
        r.key: DealAnswer(
            int(r.question_id), r.key, r.answered_on, r.tool, r.note, r.answered_by_id, r.answered_by_name
        )
        for r in conn.execute(query)
    }


def write_deal_answer(
    conn: Connection, opportunity_id: int, question_id: int, values: dict[str, Any]
) -> None:
    """Set (insert or replace) the deal's answer to one roadmap question."""
    where = (_d.c.opportunity_id == opportunity_id, _d.c.question_id == question_id)
    if conn.execute(sa.select(_d.c.question_id).where(*where)).first() is None:
        conn.execute(_d.insert().values(opportunity_id=opportunity_id, question_id=question_id, **values))
    else:
        conn.execute(_d.update().where(*where).values(**values))


def delete_deal_answer(conn: Connection, opportunity_id: int, question_id: int) -> bool:
    result = conn.execute(
        _d.delete().where(_d.c.opportunity_id == opportunity_id, _d.c.question_id == question_id)
    )
    return bool(result.rowcount)


__all__ = [
    "DealAnswer",
    "RoadmapSummary",
    "Saved",
    "all_roadmaps",
    "deal_answers",
    "delete_deal_answer",
    "product_key",
    "roadmap_by_product",
    "roadmap_summaries",
    "roadmaps_of",
    "save_roadmap",
    "write_deal_answer",
]
