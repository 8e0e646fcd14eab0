"""One deal on its product's buying roadmap: the buyer's stage, the roadmap questions open there, and
recording that the buyer had one answered (when, by which tool or asset) or reopening it.

A deal's roadmap is its product's (by name, any case); its stage is the deal's ``buyer_phase``. A question
is **open** for the deal until someone records that the buyer had it answered. Who reads and writes
follows the deal (:mod:`dealsight.domain.access`): a deal outside the caller's view is *not found*, an
executive may read but not record (403). Each change is audited on the deal (entity ``opportunity``) as
the field ``roadmap:<key>`` (``answered on 2026-05-04 with ROI calculator``, or empty when reopened) and
``roadmap:<key>:note``, so it shows in the deal's audit trail beside its other changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.analytics.roadmap_gaps import DealProgress, deal_progress
from dealsight.domain.access import Principal, Scope
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import BuyerPhase
from dealsight.domain.roadmaps import TOOL_LENGTH, Roadmap, RoadmapQuestion
from dealsight.errors import FieldProblem, NotFoundError
from dealsight.services.records import (
    clean_fields,
    day,
    invalid,
    not_found,
    opportunity_visible,
    require_write,
    text,
)
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.roadmaps import (
    DealAnswer,
    deal_answers,
    delete_deal_answer,
    roadmap_by_product,
    write_deal_answer,
)
from dealsight.store.schema import opportunities

KIND = "opportunity"
NOTE_LENGTH = 2000
FIELDS = {"answered_on": day, "tool": text(TOOL_LENGTH), "note": text(NOTE_LENGTH)}


@dataclass(frozen=True)
class DealRoadmapItem:
    """A roadmap question as it stands for one deal."""

    question: RoadmapQuestion
    answer: DealAnswer | None

    @property
    def open(self) -> bool:
        return self.answer is None


@dataclass(frozen=True)
class DealRoadmap:
    """A deal on its product's roadmap (``roadmap`` None: the product has none, or the deal no product)."""

    deal_id: int
    product: str | None
    stage: BuyerPhase | None
    is_open_deal: bool
    roadmap: Roadmap | None
    items: tuple[DealRoadmapItem, ...]
    progress: DealProgress | None

    def item(self, key: str) -> DealRoadmapItem | None:
        return next((i for i in self.items if i.question.key == key), None)

    @property
    def here(self) -> tuple[DealRoadmapItem, ...]:
        """The questions of the buyer's stage, open ones first."""
        found = [i for i in self.items if self.stage is not None and i.question.stage is self.stage]
        return tuple(sorted(found, key=lambda i: not i.open))

    @property
    def open_earlier(self) -> tuple[DealRoadmapItem, ...]:
        keys = {q.key for q in self.progress.open_earlier} if self.progress else set()
        return tuple(i for i in self.items if i.question.key in keys)


def _deal(conn: Connection, scope: Scope, deal_id: int) -> Any:
    row = conn.execute(
        sa.select(opportunities.c.product, opportunities.c.buyer_phase, opportunities.c.outcome).where(
            opportunities.c.id == deal_id, opportunity_visible(scope, one=True)
        )
    ).first()
    if row is None:
        raise not_found(KIND, deal_id)
    return row


def _deal_roadmap(conn: Connection, scope: Scope, deal_id: int) -> DealRoadmap:
    deal = _deal(conn, scope, deal_id)
    stage = BuyerPhase(deal.buyer_phase) if deal.buyer_phase else None
    roadmap = roadmap_by_product(conn, deal.product) if deal.product else None
    if roadmap is not None and roadmap.product.lower() != (deal.product or "").strip().lower():
        roadmap = None  # a product named by digits found a roadmap by id
    if roadmap is None:
        return DealRoadmap(deal_id, deal.product, stage, deal.outcome is None, None, (), None)
    answered = deal_answers(conn, deal_id, int(roadmap.id or 0))
    items = tuple(DealRoadmapItem(q, answered.get(q.key)) for q in roadmap.questions)
    progress = deal_progress(roadmap, stage, answered)
    return DealRoadmap(deal_id, roadmap.product, stage, deal.outcome is None, roadmap, items, progress)


def deal_roadmap(engine: Engine, scope: Scope, deal_id: int) -> DealRoadmap:
    """Where the deal's buyer stands on its product's roadmap (404 outside the caller's view)."""
    with engine.connect() as conn:
        return _deal_roadmap(conn, scope, deal_id)


def _question(found: DealRoadmap, key: str) -> DealRoadmapItem:
    if found.roadmap is None:
        product = f"the product {found.product!r}" if found.product else "no product"
        raise NotFoundError(f"deal {found.deal_id} has {product} without a buying roadmap")
    item = found.item(key.strip().lower())
    if item is None:
        raise NotFoundError(f"the roadmap of {found.roadmap.product!r} has no question {key!r}")
    return item


def _said(answer: DealAnswer | None) -> tuple[str | None, str | None]:
    if answer is None:
        return None, None
    tool = f" with {answer.tool}" if answer.tool else ""
    return f"answered on {answer.answered_on.isoformat()}{tool}", answer.note


def _audit(
    conn: Connection,
    principal: Principal,
    via: str,
    deal_id: int,
    key: str,
    before: DealAnswer | None,
    after: DealAnswer | None,
) -> None:
    old, new = _said(before), _said(after)
    if old == new:
        return
    conn.execute(opportunities.update().where(opportunities.c.id == deal_id).values(updated_at=utc_now()))
    record_changes(
        conn,
        actor=principal,
        via=via,
        entity=KIND,
        entity_id=deal_id,
        action="update",
        changes={f"roadmap:{key}": (old[0], new[0]), f"roadmap:{key}:note": (old[1], new[1])},
    )


def answer_question(
    engine: Engine,
    principal: Principal,
    scope: Scope,
    deal_id: int,
    key: str,
    data: Mapping[str, object],
    via: str = "api",
) -> DealRoadmapItem:
    """Record that the deal's buyer had the roadmap question ``key`` answered: ``answered_on`` (default
    today), the ``tool`` or asset that gave the answer and a ``note`` (both optional). Recording it again
    replaces the record."""
    require_write(scope)
    values, problems = clean_fields(data, FIELDS, "a roadmap answer")
    answered_on = values.get("answered_on") or utc_now().date()
    if isinstance(answered_on, date) and answered_on > utc_now().date():
        problems.append(FieldProblem("answered_on", f"{answered_on.isoformat()} is in the future"))
    with transaction(engine) as conn:
        found = _deal_roadmap(conn, scope, deal_id)
        item = _question(found, key)
        if problems:
            raise invalid(problems)
        row = {
            "answered_on": answered_on,
            "tool": values.get("tool"),
            "note": values.get("note"),
            "answered_by_id": principal.user_id,
        }
        write_deal_answer(conn, deal_id, int(item.question.id or 0), row)
        after = _deal_roadmap(conn, scope, deal_id).item(item.question.key)
        assert after is not None
        _audit(conn, principal, via, deal_id, item.question.key, item.answer, after.answer)
    return after


def reopen_question(
    engine: Engine, principal: Principal, scope: Scope, deal_id: int, key: str, via: str = "api"
) -> DealRoadmapItem:
    """Mark the roadmap question ``key`` open again for the deal (its answer record is removed)."""
    require_write(scope)
    with transaction(engine) as conn:
        item = _question(_deal_roadmap(conn, scope, deal_id), key)
        delete_deal_answer(conn, deal_id, int(item.question.id or 0))
        _audit(conn, principal, via, deal_id, item.question.key, item.answer, None)
    return DealRoadmapItem(item.question, None)


__all__ = [
    "DealRoadmap",
    "DealRoadmapItem",
    "answer_question",
    "deal_roadmap",
    "reopen_question",
]
