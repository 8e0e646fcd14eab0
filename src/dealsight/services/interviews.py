"""Customer interviews: recording one, reading them, searching the answers, and the answers other
analyses take as input (the needs analysis, the roadmap gaps).

Access (docs/interviews.md) follows the contact interviewed: an interview is seen by whoever sees the
contact (a rep the contacts of the accounts their deals reach, a manager their team's, executives and
admins everyone's); an interview outside the caller's view is *not found*. Recording one needs a role
that writes (executives read only) and a contact, deal and interviewer inside the caller's view; the deal
must be the contact's account's. Every interview recorded is audited (entity ``interview``).

Search (:func:`search_answers`) finds answers containing every word of ``text`` (any case), filtered by
question key, topic, tag (``stage:decision``, or a bare value of any kind), the account's segment, the
account, contact or deal, and days. :func:`answers_by_question` hands the same answers grouped by
question and segment to analyses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.analytics.roadmap_gaps import AskedQuestion
from dealsight.domain.access import Principal, Scope
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import BuyerPhase
from dealsight.domain.interviews import (
    ANSWER_LENGTH,
    DEFAULT_GUIDE,
    TAG_SEPARATOR,
    Guide,
    TagKind,
    Topic,
    parse_tag,
    parse_tags,
)
from dealsight.errors import FieldProblem, NotFoundError
from dealsight.services.interview_guides import stored_guide
from dealsight.services.records import (
    ListQuery,
    Page,
    assignable,
    clean_fields,
    contact_visible,
    day,
    identifier,
    invalid,
    normalise_query,
    not_found,
    opportunity_visible,
    require_write,
    text,
)
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.interviews import (
    AnswerHit,
    AnswerInput,
    StoredInterview,
    answer_tables,
    count_interviews,
    external_ids,
    has_tag_kind,
    insert_interview,
    read_interviews,
    tagged,
    text_matches,
    write_answers,
)
from dealsight.store.interviews import search_answers as search_stored_answers
from dealsight.store.schema import accounts, contacts, interviews, opportunities

INTERVIEW = "interview"
NOTE_LENGTH = 5000
MAX_ANSWERS = 200
FIELDS = {
    "contact_id": identifier,
    "interviewed_on": day,
    "opportunity_id": identifier,
    "interviewer_id": identifier,
    "note": text(NOTE_LENGTH),
    "external_id": text(128),
    "guide": text(100),
    "answers": lambda value: value,
}
ANSWER_FIELDS = ("question", "answer", "tags")


@dataclass(frozen=True)
class AnswerQuery(ListQuery):
    """Filters of :func:`search_answers` (every one optional; ``text``: every word, any case)."""

    text: str | None = None
    question: str | None = None
    topic: Topic | None = None
    tag: str | None = None
    segment: str | None = None
    account_id: int | None = None
    contact_id: int | None = None
    opportunity_id: int | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class InterviewQuery(ListQuery):
    account_id: int | None = None
    contact_id: int | None = None
    opportunity_id: int | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class QuestionAnswers:
    """The answers to one guide question from the customers of one segment (None: no segment known)."""

    question_key: str
    topic: Topic
    segment: str | None
    answers: tuple[AnswerHit, ...]


@dataclass(frozen=True)
class AskedInInterview:
    """A question a customer asked, and the product of the deal the interview was about (None: any)."""

    question: AskedQuestion
    product: str | None


# reading ----------------------------------------------------------------------------------------------------
def _visible(scope: Scope) -> sa.ColumnElement[bool]:
    """The interview's contact (joined as ``contacts``) is in the scope."""
    return contact_visible(scope, contacts)


def _tag_condition(value: str) -> sa.ColumnElement[bool]:
    kind_text, found, _ = value.partition(TAG_SEPARATOR)
    if found and kind_text.strip().lower() in {k.value for k in TagKind}:
        tag, problem = parse_tag(value)
        if tag is None:
            raise invalid([FieldProblem("tag", problem or "not a tag")])
        return tagged(tag)
    return tagged(None, " ".join(value.split()))


def _answer_conditions(scope: Scope, query: AnswerQuery) -> list[sa.ColumnElement[bool]]:
    _, questions, interview, contact = answer_tables()
    where = [_visible(scope)]
    if query.text:
        where += text_matches(query.text)
    if query.question:
        where.append(questions.c.key == query.question.strip().lower())
    if query.topic is not None:
        where.append(questions.c.topic == query.topic.value)
    if query.tag:
        where.append(_tag_condition(query.tag))
    if query.segment:
        where.append(sa.func.lower(accounts.c.segment) == query.segment.strip().lower())
    if query.account_id is not None:
        where.append(contact.c.account_id == query.account_id)
    if query.contact_id is not None:
        where.append(interview.c.contact_id == query.contact_id)
    if query.opportunity_id is not None:
        where.append(interview.c.opportunity_id == query.opportunity_id)
    if query.since is not None:
        where.append(interview.c.interviewed_on >= query.since)
    if query.until is not None:
        where.append(interview.c.interviewed_on <= query.until)
    return where


def search_answers(engine: Engine, scope: Scope, query: AnswerQuery) -> Page[AnswerHit]:
    """One page of the answers matching ``query`` in the interviews ``scope`` sees, newest first."""
    query = normalise_query(query)
    with engine.connect() as conn:
        hits, total = search_stored_answers(conn, _answer_conditions(scope, query), query.limit, query.offset)
    return Page(tuple(hits), total, query.limit, query.offset)


def _interview_conditions(scope: Scope, query: InterviewQuery) -> list[sa.ColumnElement[bool]]:
    where = [_visible(scope)]
    if query.account_id is not None:
        where.append(contacts.c.account_id == query.account_id)
    if query.contact_id is not None:
        where.append(interviews.c.contact_id == query.contact_id)
    if query.opportunity_id is not None:
        where.append(interviews.c.opportunity_id == query.opportunity_id)
    if query.since is not None:
        where.append(interviews.c.interviewed_on >= query.since)
    if query.until is not None:
        where.append(interviews.c.interviewed_on <= query.until)
    return where


def list_interviews(engine: Engine, scope: Scope, query: InterviewQuery) -> Page[StoredInterview]:
    """One page of the interviews ``scope`` sees, newest first, with their answers."""
    query = normalise_query(query)
    where = _interview_conditions(scope, query)
    with engine.connect() as conn:
        items = read_interviews(conn, *where, limit=query.limit, offset=query.offset)
        total = count_interviews(conn, *where)
    return Page(tuple(items), total, query.limit, query.offset)


def get_interview(engine: Engine, scope: Scope, interview_id: int) -> StoredInterview:
    with engine.connect() as conn:
        found = read_interviews(conn, interviews.c.id == interview_id, _visible(scope))
    if not found:
        raise not_found(INTERVIEW, interview_id)
    return found[0]


def answers_by_question(
    engine: Engine,
    scope: Scope,
    *,
    topic: Topic | None = None,
    question: str | None = None,
    tag: str | None = None,
    segment: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[QuestionAnswers]:
    """Every answer ``scope`` sees (of ``topic`` / ``question`` / ``tag`` / ``segment`` when given),
    grouped by guide question and by the customer's segment: the input other analyses take (the needs
    analysis reads what customers said they value). Groups come in the guide's question order as first
    answered, then by segment; answers newest first."""
    query = AnswerQuery(
        topic=topic, question=question, tag=tag, segment=segment, since=since, until=until, limit=1
    )
    query = normalise_query(query)
    with engine.connect() as conn:
        hits, _ = search_stored_answers(conn, _answer_conditions(scope, query), None)
    groups: dict[tuple[str, str | None], list[AnswerHit]] = {}
    for hit in hits:
        groups.setdefault((hit.question_key, hit.segment), []).append(hit)
    return [
        QuestionAnswers(key, found[0].topic, segment, tuple(found))
        for (key, segment), found in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1] or ""))
    ]


def asked_questions(engine: Engine, scope: Scope) -> list[AskedInInterview]:
    """The questions customers said they needed answered (answers to ``questions_asked`` guide questions
    tagged with a buyer stage), in the interviews ``scope`` sees, with the product of the interview's
    deal."""
    query = normalise_query(AnswerQuery(topic=Topic.QUESTIONS_ASKED, tag=None, limit=1))
    where = [*_answer_conditions(scope, query), has_tag_kind(TagKind.STAGE)]
    with engine.connect() as conn:
        hits, _ = search_stored_answers(conn, where, None)
    found = []
    for hit in hits:
        tags = [parse_tag(t)[0] for t in hit.tags]
        stages = [t.value for t in tags if t is not None and t.kind is TagKind.STAGE]
        links = [t.value for t in tags if t is not None and t.kind is TagKind.ROADMAP]
        for stage in stages:
            asked = AskedQuestion(
                hit.answer,
                BuyerPhase(stage),
                hit.interview_id,
                hit.interviewed_on,
                links[0] if links else None,
            )
            found.append(AskedInInterview(asked, hit.product))
    return found


@dataclass(frozen=True)
class ContactChoice:
    """A contact the caller may interview, as a form offers it."""

    id: int
    name: str
    email: str | None
    account_name: str | None


def contact_choices(
    engine: Engine, scope: Scope, *, deal_id: int | None = None, limit: int = 300
) -> list[ContactChoice]:
    """Contacts ``scope`` sees (of the deal's account when ``deal_id`` is given; 404 for a deal outside
    the scope), by account then name, at most ``limit``."""
    query = (
        sa.select(contacts.c.id, contacts.c.name, contacts.c.email, accounts.c.name.label("account_name"))
        .select_from(contacts.outerjoin(accounts, accounts.c.id == contacts.c.account_id))
        .where(contact_visible(scope, contacts))
        .order_by(accounts.c.name, contacts.c.name, contacts.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        if deal_id is not None:
            account = conn.execute(
                sa.select(opportunities.c.account_id).where(
                    opportunities.c.id == deal_id, opportunity_visible(scope, one=True)
                )
            ).first()
            if account is None:
                raise not_found("opportunity", deal_id)
            query = query.where(contacts.c.account_id == account.account_id)
        return [ContactChoice(int(r.id), r.name, r.email, r.account_name) for r in conn.execute(query)]


def contact_by_email(engine: Engine, scope: Scope, email: str) -> int | None:
    """The id of the contact with ``email`` (any case) that ``scope`` sees, if any."""
    query = sa.select(contacts.c.id).where(
        sa.func.lower(contacts.c.email) == email.strip().lower(), contact_visible(scope, contacts)
    )
    with engine.connect() as conn:
        found = conn.execute(query.order_by(contacts.c.id).limit(1)).scalar_one_or_none()
    return None if found is None else int(found)


# recording --------------------------------------------------------------------------------------------------
def clean_answers(guide: Guide, value: object) -> tuple[list[AnswerInput], list[FieldProblem]]:
    """The answers of a request (``[{"question": KEY, "answer": TEXT, "tags": [...]}]``) checked against
    the guide: known questions that are not retired, text within limits, well-formed tags."""
    if not isinstance(value, list | tuple) or not value:
        return [], [FieldProblem("answers", "expected a list of answers, at least one")]
    if len(value) > MAX_ANSWERS:
        return [], [FieldProblem("answers", f"at most {MAX_ANSWERS} answers per interview")]
    answers: list[AnswerInput] = []
    problems: list[FieldProblem] = []
    for index, item in enumerate(value, start=1):
        where = f"answers[{index}]"
        if not isinstance(item, Mapping):
            problems.append(FieldProblem(where, "expected question, answer and tags"))
            continue
        problems += [FieldProblem(f"{where}.{n}", "unknown field") for n in item if n not in ANSWER_FIELDS]
        key, said, tag_values = item.get("question"), item.get("answer"), item.get("tags") or []
        question = guide.question(key) if isinstance(key, str) else None
        if question is None:
            keys = ", ".join(q.key for q in guide.active)
            problems.append(
                FieldProblem(f"{where}.question", f"{key!r} is not a question of the guide ({keys})")
            )
        elif question.retired:
            problems.append(FieldProblem(f"{where}.question", f"the question {question.key!r} is retired"))
        if not isinstance(said, str) or not said.strip():
            problems.append(FieldProblem(f"{where}.answer", "the answer's text is required"))
        elif len(said.strip()) > ANSWER_LENGTH:
            problems.append(FieldProblem(f"{where}.answer", f"at most {ANSWER_LENGTH:,} characters"))
        if isinstance(tag_values, str):
            tag_values = [tag_values]
        if not isinstance(tag_values, list | tuple) or not all(isinstance(t, str) for t in tag_values):
            problems.append(FieldProblem(f"{where}.tags", "expected a list of tags such as stage:decision"))
            tag_values = []
        tags, tag_problems = parse_tags(tag_values)
        problems += [FieldProblem(f"{where}.tags", p) for p in tag_problems]
        if question is not None and isinstance(said, str) and said.strip():
            answers.append(AnswerInput(int(question.id or 0), question.text, said.strip(), tags))
    return answers, problems


def _links(conn: Connection, scope: Scope, values: Mapping[str, Any], problems: list[FieldProblem]) -> None:
    """Check the contact, deal and interviewer of a new interview against ``scope``."""
    contact = conn.execute(
        sa.select(contacts.c.id, contacts.c.account_id).where(
            contacts.c.id == values["contact_id"], contact_visible(scope, contacts, one=True)
        )
    ).first()
    if contact is None:
        problems.append(FieldProblem("contact_id", f"no contact with id {values['contact_id']}"))
    deal_id = values.get("opportunity_id")
    if deal_id is not None:
        deal = conn.execute(
            sa.select(opportunities.c.account_id).where(
                opportunities.c.id == deal_id, opportunity_visible(scope, one=True)
            )
        ).first()
        if deal is None:
            problems.append(FieldProblem("opportunity_id", f"no deal with id {deal_id}"))
        elif contact is not None and deal.account_id != contact.account_id:
            problems.append(FieldProblem("opportunity_id", "the deal is not of the contact's account"))
    if values.get("interviewer_id") is not None:
        problem = assignable(conn, scope, int(values["interviewer_id"]), "interviewer_id")
        if problem is not None:
            problems.append(problem)


def record_interview(
    engine: Engine, principal: Principal, scope: Scope, data: Mapping[str, object], via: str = "api"
) -> StoredInterview:
    """Store one interview: ``contact_id``, ``interviewed_on`` and ``answers`` (required), ``opportunity_id``,
    ``interviewer_id`` (default the caller), ``note``, ``external_id`` and ``guide`` (default ``default``)."""
    require_write(scope)
    values, problems = clean_fields(data, FIELDS, "an interview", required=("contact_id", "interviewed_on"))
    for name in ("contact_id", "interviewed_on", "answers"):
        if name not in data:
            problems.append(FieldProblem(name, "a value is required"))
    with transaction(engine) as conn:
        try:
            guide = stored_guide(conn, str(values.get("guide") or DEFAULT_GUIDE))
        except NotFoundError as error:
            raise invalid([*problems, FieldProblem("guide", error.message)]) from None
        answers, found = clean_answers(guide, values.get("answers"))
        problems += found
        if "contact_id" in values and values["contact_id"] is not None:
            _links(conn, scope, values, problems)
        external_id = values.get("external_id")
        if isinstance(external_id, str) and external_ids(conn, [external_id]):
            problems.append(
                FieldProblem("external_id", f"{external_id!r} is already the id of another interview")
            )
        if problems:
            raise invalid(problems)
        now = utc_now()
        row = {
            "external_id": external_id,
            "guide_id": guide.id,
            "guide_version": guide.version,
            "contact_id": values["contact_id"],
            "opportunity_id": values.get("opportunity_id"),
            "interviewer_id": values.get("interviewer_id") or principal.user_id,
            "interviewed_on": values["interviewed_on"],
            "note": values.get("note"),
            "created_at": now,
            "updated_at": now,
        }
        interview_id = insert_interview(conn, row)
        write_answers(conn, interview_id, answers)
        audit_interview(conn, principal, via, interview_id, row, guide, answers)
        (stored,) = read_interviews(conn, interviews.c.id == interview_id)
    return stored


def audit_interview(
    conn: Connection,
    principal: Principal | None,
    via: str,
    interview_id: int,
    row: Mapping[str, Any],
    guide: Guide,
    answers: Sequence[AnswerInput],
    action: str = "create",
) -> None:
    """The audit rows of an interview written: its fields and one row per answer."""
    keys = {q.id: q.key for q in guide.questions}
    changes: dict[str, tuple[object, object]] = {
        name: (None, row[name])
        for name in (
            "contact_id",
            "opportunity_id",
            "interviewer_id",
            "interviewed_on",
            "note",
            "external_id",
        )
        if row.get(name) is not None
    }
    changes["guide"] = (None, f"{guide.name} v{guide.version}")
    for index, answer in enumerate(answers, start=1):
        tags = f" [{'; '.join(str(t) for t in answer.tags)}]" if answer.tags else ""
        changes[f"answer {index}: {keys.get(answer.question_id, '?')}"] = (None, answer.answer + tags)
    record_changes(
        conn,
        actor=principal,
        via=via,
        entity=INTERVIEW,
        entity_id=interview_id,
        action=action,
        changes=changes,
    )


__all__ = [
    "INTERVIEW",
    "AnswerQuery",
    "AskedInInterview",
    "ContactChoice",
    "InterviewQuery",
    "QuestionAnswers",
    "answers_by_question",
    "asked_questions",
    "audit_interview",
    "clean_answers",
    "contact_by_email",
    "contact_choices",
    "get_interview",
    "list_interviews",
    "record_interview",
    "search_answers",
]
