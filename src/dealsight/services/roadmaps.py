"""Buying process roadmaps: who reads and edits them, a product's roadmap, editing it, and its gaps.

Access (docs/roadmaps.md): a roadmap is the company's account of how buyers buy a product, owned by no
one, so **every signed-in role reads every roadmap**; **admins and managers** edit them (reps and
executives get 403). A product without a roadmap is *not found* (404), with the products that have one.

A roadmap is written whole or in parts (a question, a stage's concerns and tools); every way in goes
through :func:`~dealsight.domain.roadmaps.roadmap_from_data`, so each problem names its place
(``stages.decision.questions[2].answer``). Every change is recorded in the audit log (entity ``roadmap``),
one row per changed field of a question (``<key>.answer``) or a stage (``decision.tools``).

The gaps (:func:`gaps`) add to the roadmap's own (questions with no answer, answers with no tool, stages
with no tool) the questions customers said they needed answered, in the interviews the caller can see
(:func:`dealsight.services.interviews.asked_questions`): an interview about a deal counts for that deal's
product, one without a deal for every product.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection, Engine

from dealsight.analytics.roadmap_gaps import RoadmapGaps, roadmap_gaps
from dealsight.domain.access import Principal, Scope
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import UserRole
from dealsight.domain.roadmaps import STAGES, Roadmap, roadmap_from_data, roadmap_to_data, stage_of
from dealsight.errors import FieldProblem, NotFoundError, PermissionDeniedError
from dealsight.services.interviews import asked_questions
from dealsight.services.records import invalid
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.roadmaps import (
    RoadmapSummary,
    Saved,
    all_roadmaps,
    roadmap_by_product,
    roadmap_summaries,
    save_roadmap,
)

ROADMAP = "roadmap"
EDITS = frozenset({UserRole.ADMIN, UserRole.MANAGER})
REFUSED = "only admins and managers edit buying roadmaps"
QUESTION_EDITS = ("question", "concern", "answer", "tools", "stage", "key")


def may_edit(principal: Principal) -> bool:
    return principal.role in EDITS


def _require_edit(principal: Principal | None) -> None:
    if principal is not None and not may_edit(principal):
        raise PermissionDeniedError(REFUSED)


# reading (every signed-in role) -----------------------------------------------------------------------------
def list_roadmaps(engine: Engine) -> list[RoadmapSummary]:
    with engine.connect() as conn:
        return roadmap_summaries(conn)


def _missing(conn: Connection, product: str) -> NotFoundError:
    names = [s.product for s in roadmap_summaries(conn)]
    known = f"; roadmaps exist for {', '.join(names)}" if names else "; there is no roadmap yet"
    return NotFoundError(f"no roadmap for the product {product!r}{known}")


def get_roadmap(engine: Engine, product: str) -> Roadmap:
    """The roadmap of ``product`` (its name in any case, or the roadmap's id)."""
    with engine.connect() as conn:
        found = roadmap_by_product(conn, product)
        if found is None:
            raise _missing(conn, product)
        return found


def gaps(engine: Engine, scope: Scope, product: str | None = None) -> list[RoadmapGaps]:
    """The gaps of ``product``'s roadmap (every roadmap when None), with the questions asked in the
    interviews ``scope`` can see."""
    with engine.connect() as conn:
        if product is None:
            found = all_roadmaps(conn)
        else:
            one = roadmap_by_product(conn, product)
            if one is None:
                raise _missing(conn, product)
            found = [one]
    asked = asked_questions(engine, scope)
    return [
        roadmap_gaps(
            r, [a.question for a in asked if a.product is None or a.product.lower() == r.product.lower()]
        )
        for r in found
    ]


# writing (admins and managers) ------------------------------------------------------------------------------
def _problems(found: list[tuple[str, str]]) -> list[FieldProblem]:
    return [FieldProblem(where or "body", what) for where, what in found]


def _question_fields(roadmap: Roadmap) -> dict[str, object]:
    fields: dict[str, object] = {}
    for q in roadmap.questions:
        values = {"stage": q.stage.value, "question": q.question, "concern": q.concern, "answer": q.answer}
        fields |= {f"{q.key}.{name}": value for name, value in values.items()}
        fields[f"{q.key}.tools"] = "; ".join(q.tools) or None
    for s in roadmap.stages:
        fields[f"{s.stage.value}.concerns"] = "; ".join(s.concerns) or None
        fields[f"{s.stage.value}.tools"] = "; ".join(s.tools) or None
    return fields


def _audit(
    conn: Connection, principal: Principal | None, via: str, before: Roadmap | None, saved: Saved
) -> None:
    if not saved.changed:
        return
    old = _question_fields(before) if before is not None else {}
    new = _question_fields(saved.roadmap)
    changes = {name: (old.get(name), new.get(name)) for name in sorted(old.keys() | new.keys())}
    if saved.created:
        changes = {"product": (None, saved.roadmap.product), **changes}
    record_changes(
        conn,
        actor=principal,
        via=via,
        entity=ROADMAP,
        entity_id=int(saved.roadmap.id or 0),
        action="create" if saved.created else "update",
        changes={k: v for k, v in changes.items() if v[0] != v[1]},
    )


def write_roadmap(conn: Connection, principal: Principal | None, via: str, roadmap: Roadmap) -> Saved:
    """Save ``roadmap`` whole and audit the change, on the caller's transaction (imports use it too)."""
    before = roadmap_by_product(conn, roadmap.product)
    if before is not None and before.product.lower() != roadmap.product.lower():
        before = None
    saved = save_roadmap(conn, roadmap, utc_now())
    _audit(conn, principal, via, before, saved)
    return saved


def replace_roadmap(
    engine: Engine, principal: Principal, product: str | None, data: object, via: str = "api"
) -> Saved:
    """Create or replace a product's roadmap from plain data (admins and managers)."""
    _require_edit(principal)
    roadmap, found = roadmap_from_data(data, product)
    if roadmap is None:
        raise invalid(_problems(found))
    with transaction(engine) as conn:
        return write_roadmap(conn, principal, via, roadmap)


Change = Any
"""A change of a roadmap's plain data: ``change(data)`` edits it in place and returns the problems found
and the place (``stages.decision.questions[2]``) of what it edited, to name the fields of later problems."""


def _edited(engine: Engine, principal: Principal, product: str, change: Change, via: str) -> Saved:
    """Apply ``change`` to the roadmap's plain data and save the result (admins and managers)."""
    _require_edit(principal)
    with transaction(engine) as conn:
        current = roadmap_by_product(conn, product)
        if current is None:
            raise _missing(conn, product)
        data = roadmap_to_data(current)
        problems, place = change(data)
        if problems:
            raise invalid(problems)
        roadmap, found = roadmap_from_data(data)
        if roadmap is None:
            inside = [(w[len(place) + 1 :] if w.startswith(f"{place}.") else w, p) for w, p in found]
            raise invalid(_problems(inside))
        return write_roadmap(conn, principal, via, roadmap)


def _locate(data: dict[str, Any], key: str) -> tuple[str, list[dict[str, Any]], int] | None:
    for stage, values in data["stages"].items():
        for index, question in enumerate(values.get("questions", [])):
            if question["key"] == key:
                return stage, values["questions"], index
    return None


def _unknown_fields(values: Mapping[str, object], allowed: tuple[str, ...]) -> list[FieldProblem]:
    listed = ", ".join(allowed)
    return [FieldProblem(name, f"unknown field; expected {listed}") for name in values if name not in allowed]


def _stage_problem(value: object) -> tuple[str | None, list[FieldProblem]]:
    stage = stage_of(value) if isinstance(value, str) else None
    if stage is None:
        return None, [FieldProblem("stage", f"expected one of {', '.join(s.value for s in STAGES)}")]
    return stage.value, []


def _append(data: dict[str, Any], stage: str, item: dict[str, Any]) -> str:
    questions = data["stages"].setdefault(stage, {}).setdefault("questions", [])
    questions.append(item)
    return f"stages.{stage}.questions[{len(questions)}]"


def add_question(
    engine: Engine, principal: Principal, product: str, values: Mapping[str, object], via: str = "api"
) -> Saved:
    """A new question (``stage``, ``question``, and optionally ``key``, ``concern``, ``answer``, ``tools``)
    at the end of its stage."""

    def change(data: dict[str, Any]) -> tuple[list[FieldProblem], str]:
        problems = _unknown_fields(values, QUESTION_EDITS)
        stage, found = _stage_problem(values.get("stage"))
        key = values.get("key")
        if isinstance(key, str) and _locate(data, key.strip().lower()) is not None:
            found.append(FieldProblem("key", f"the roadmap has a question {key.strip().lower()!r} already"))
        if problems or found or stage is None:
            return problems + found, ""
        item = {name: value for name, value in values.items() if name != "stage" and value is not None}
        return [], _append(data, stage, item)

    return _edited(engine, principal, product, change, via)


def update_question(
    engine: Engine,
    principal: Principal,
    product: str,
    key: str,
    values: Mapping[str, object],
    via: str = "api",
) -> Saved:
    """Change a question's text, concern, answer, tools or stage (``None`` clears an optional field; a
    new stage puts the question last in it)."""

    def change(data: dict[str, Any]) -> tuple[list[FieldProblem], str]:
        problems = _unknown_fields(values, QUESTION_EDITS[:-1])
        found = _locate(data, key.strip().lower())
        if found is None:
            raise NotFoundError(f"the roadmap of {product!r} has no question {key!r}")
        if problems:
            return problems, ""
        stage, questions, index = found
        item = {**questions[index], **{k: v for k, v in values.items() if k != "stage"}}
        item = {k: v for k, v in item.items() if v is not None}
        if "stage" in values:
            new_stage, problems = _stage_problem(values["stage"])
            if new_stage is None:
                return problems, ""
            if new_stage != stage:
                del questions[index]
                return [], _append(data, new_stage, item)
        questions[index] = item
        return [], f"stages.{stage}.questions[{index + 1}]"

    return _edited(engine, principal, product, change, via)


def remove_question(engine: Engine, principal: Principal, product: str, key: str, via: str = "api") -> Saved:
    """Delete a question (and the deals' records of having it answered)."""

    def change(data: dict[str, Any]) -> tuple[list[FieldProblem], str]:
        found = _locate(data, key.strip().lower())
        if found is None:
            raise NotFoundError(f"the roadmap of {product!r} has no question {key!r}")
        _, questions, index = found
        del questions[index]
        return [], ""

    return _edited(engine, principal, product, change, via)


def update_stage(
    engine: Engine,
    principal: Principal,
    product: str,
    stage_name: str,
    values: Mapping[str, object],
    via: str = "api",
) -> Saved:
    """Set a stage's ``concerns`` and ``tools`` (lists of text; a field left out is unchanged, ``None``
    empties it)."""
    stage = stage_of(stage_name)
    if stage is None:
        stages = ", ".join(s.value for s in STAGES)
        raise NotFoundError(f"{stage_name!r} is not a buyer stage; stages are {stages}")

    def change(data: dict[str, Any]) -> tuple[list[FieldProblem], str]:
        problems = _unknown_fields(values, ("concerns", "tools"))
        if problems:
            return problems, ""
        target = data["stages"].setdefault(stage.value, {})
        for name, value in values.items():
            if value is None:
                target.pop(name, None)
            else:
                target[name] = value
        return [], f"stages.{stage.value}"

    return _edited(engine, principal, product, change, via)


__all__ = [
    "EDITS",
    "ROADMAP",
    "add_question",
    "gaps",
    "get_roadmap",
    "list_roadmaps",
    "may_edit",
    "remove_question",
    "replace_roadmap",
    "update_question",
    "update_stage",
    "write_roadmap",
]
