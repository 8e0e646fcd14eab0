"""Interview guides: reading a guide, and editing it (add, reword, re-topic, reorder, retire questions).

Access (docs/interviews.md): every signed-in role reads the guides; **admins and managers** edit them
(reps and executives get 403). The guide named ``default`` is the shipped one
(:func:`~dealsight.analytics.interview_guide.default_guide`) until it is first stored: reading it never
writes, and the first edit, interview or import stores it as version 1 (:func:`stored_guide`). Every edit
is a new version; a retired question keeps its answers and can be brought back. Each edit is recorded
in the audit log (entity ``interview_guide``), one row per changed field (``<key>.text``, ``version``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from sqlalchemy.engine import Connection, Engine

from dealsight.analytics.interview_guide import default_guide
from dealsight.domain.access import Principal
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import UserRole
from dealsight.domain.interviews import (
    DEFAULT_GUIDE,
    QUESTION_LENGTH,
    Guide,
    GuideQuestion,
    Topic,
    add_question,
    change_question,
    guide_problems,
    key_problem,
    parse_topic,
)
from dealsight.domain.roadmaps import slug
from dealsight.errors import FieldProblem, NotFoundError, PermissionDeniedError
from dealsight.services.records import Problem, invalid, to_bool, to_int
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.interviews import guide_by_name, guide_names, save_guide

GUIDE = "interview_guide"
EDITS = frozenset({UserRole.ADMIN, UserRole.MANAGER})
REFUSED = "only admins and managers edit interview guides"
ADD_FIELDS = ("key", "text", "topic", "position")
CHANGE_FIELDS = ("text", "topic", "retired", "position")


def may_edit_guide(principal: Principal) -> bool:
    return principal.role in EDITS


def _unstored(name: str) -> Guide | None:
    return default_guide() if name.strip().lower() == DEFAULT_GUIDE else None


def get_guide(engine: Engine, name: str = DEFAULT_GUIDE) -> Guide:
    """The guide ``name`` as stored, or the shipped default (version 0) before it is first stored."""
    with engine.connect() as conn:
        found = guide_by_name(conn, name) or _unstored(name)
        if found is None:
            known = ", ".join(guide_names(conn) or [DEFAULT_GUIDE])
            raise NotFoundError(f"no interview guide named {name!r}; guides are {known}")
    return found


def stored_guide(conn: Connection, name: str = DEFAULT_GUIDE) -> Guide:
    """The guide ``name``, storing the shipped default (as version 1) when it is asked for the first time;
    on the caller's transaction."""
    found = guide_by_name(conn, name)
    if found is not None:
        return found
    shipped = _unstored(name)
    if shipped is None:
        known = ", ".join(guide_names(conn) or [DEFAULT_GUIDE])
        raise NotFoundError(f"no interview guide named {name!r}; guides are {known}")
    return save_guide(conn, replace(shipped, version=1), utc_now())


def _fields(guide: Guide) -> dict[str, object]:
    fields: dict[str, object] = {"version": guide.version}
    for position, q in enumerate(guide.questions, start=1):
        fields |= {
            f"{q.key}.text": q.text,
            f"{q.key}.topic": q.topic.value,
            f"{q.key}.position": position,
            f"{q.key}.retired": q.retired,
        }
    return fields


def _save(conn: Connection, principal: Principal, via: str, before: Guide, after: Guide) -> Guide:
    problems = guide_problems(after.questions)
    if problems:
        raise invalid([FieldProblem("questions", f"{where}: {what}") for where, what in problems])
    saved = save_guide(conn, after, utc_now())
    old, new = _fields(before), _fields(saved)
    record_changes(
        conn,
        actor=principal,
        via=via,
        entity=GUIDE,
        entity_id=int(saved.id or 0),
        action="update",
        changes={k: (old.get(k), v) for k, v in new.items() if old.get(k) != v},
    )
    return saved


def _topic(value: object, problems: list[FieldProblem]) -> Topic | None:
    topic = parse_topic(value) if isinstance(value, str) else None
    if topic is None:
        problems.append(FieldProblem("topic", f"expected one of {', '.join(t.value for t in Topic)}"))
    return topic


def _position(value: object, problems: list[FieldProblem]) -> int | None:
    if value is None:
        return None
    try:
        position = to_int(value)
    except Problem as problem:
        problems.append(FieldProblem("position", str(problem)))
        return None
    if position < 1:
        problems.append(FieldProblem("position", f"must be 1 or more, got {position}"))
        return None
    return position


def _text(value: object, problems: list[FieldProblem]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.append(FieldProblem("text", "the question's text is required"))
        return None
    if len(value.strip()) > QUESTION_LENGTH:
        problems.append(
            FieldProblem("text", f"at most {QUESTION_LENGTH} characters (got {len(value.strip())})")
        )
        return None
    return " ".join(value.split())


def _require(principal: Principal) -> None:
    if not may_edit_guide(principal):
        raise PermissionDeniedError(REFUSED)


def add_guide_question(
    engine: Engine,
    principal: Principal,
    values: Mapping[str, object],
    guide_name: str = DEFAULT_GUIDE,
    via: str = "api",
) -> Guide:
    """A new question: ``text``, ``topic`` (default other), ``key`` (default made from the text) and
    ``position`` (1 = first; default last)."""
    _require(principal)
    problems = [FieldProblem(n, "unknown field") for n in values if n not in ADD_FIELDS]
    text = _text(values.get("text"), problems)
    topic = _topic(values.get("topic") or Topic.OTHER.value, problems)
    position = _position(values.get("position"), problems)
    given = values.get("key")
    key = given if isinstance(given, str) else None
    if given is not None and key is None:
        problems.append(FieldProblem("key", "expected text"))
    if problems or text is None or topic is None:
        raise invalid(problems)
    with transaction(engine) as conn:
        guide = stored_guide(conn, guide_name)
        chosen = (key or "").strip().lower() or slug(text).replace("-", "_")
        if key_problem(chosen):
            raise invalid([FieldProblem("key", str(key_problem(chosen)))])
        if guide.question(chosen) is not None:
            if key:
                raise invalid([FieldProblem("key", f"the guide has a question {chosen!r} already")])
            base, number = chosen, 2
            while guide.question(chosen) is not None:
                chosen, number = f"{base}_{number}", number + 1
        after = add_question(guide, GuideQuestion(chosen, text, topic), position)
        return _save(conn, principal, via, guide, after)


def change_guide_question(
    engine: Engine,
    principal: Principal,
    key: str,
    values: Mapping[str, object],
    guide_name: str = DEFAULT_GUIDE,
    via: str = "api",
) -> Guide:
    """Reword (``text``), re-topic (``topic``), move (``position``), retire or bring back (``retired``)
    the question ``key``. Answers already given keep the wording that was asked."""
    _require(principal)
    problems = [FieldProblem(n, "unknown field") for n in values if n not in CHANGE_FIELDS]
    text = _text(values["text"], problems) if values.get("text") is not None else None
    topic = _topic(values["topic"], problems) if values.get("topic") is not None else None
    position = _position(values.get("position"), problems)
    retired = None
    if values.get("retired") is not None:
        try:
            retired = to_bool(values["retired"])
        except Problem as problem:
            problems.append(FieldProblem("retired", str(problem)))
    if problems:
        raise invalid(problems)
    with transaction(engine) as conn:
        guide = stored_guide(conn, guide_name)
        if guide.question(key) is None:
            raise NotFoundError(f"the interview guide {guide.name!r} has no question {key!r}")
        after = change_question(guide, key, text=text, topic=topic, retired=retired, position=position)
        if after.questions == guide.questions:
            return guide
        return _save(conn, principal, via, guide, after)


__all__ = [
    "EDITS",
    "GUIDE",
    "add_guide_question",
    "change_guide_question",
    "get_guide",
    "may_edit_guide",
    "stored_guide",
]
