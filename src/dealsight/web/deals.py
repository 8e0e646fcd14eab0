"""The deal page (``/deals/{id}``) and editing its qualification answers in place.

Each answer is shown with an Edit button (for visitors who may change the deal). With htmx the button
swaps the answer for a small form (``GET .../qualification/{question}/edit``) and saving swaps it back
(``POST .../qualification/{question}``), with the deal's audit trail refreshed out of band; without
JavaScript the same URLs serve a whole page and a redirect. Writes go through
:func:`~dealsight.services.opportunities.set_qualification_answer` with ``via="web"``; a validation error
re-renders the form with the message next to the field (422).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from dealsight.errors import FieldProblem, NotFoundError, ValidationError
from dealsight.services.insights import deal_insight
from dealsight.services.opportunities import (
    ANSWERS,
    OpportunityDetail,
    QualificationItem,
    get_opportunity,
    set_qualification_answer,
)
from dealsight.services.records import invalid, require_write
from dealsight.web.core import (
    PageRoute,
    Visitor,
    check_csrf,
    current_visitor,
    is_htmx,
    read_form,
    record_trail,
    redirect,
    render,
    web_of,
)
from dealsight.web.deal_roadmaps import deal_roadmap_context

router = APIRouter(route_class=PageRoute, include_in_schema=False)
NOTE_LENGTH = 2000
NOT_ANSWERED = ""
ANSWER_LABELS = {**{answer: answer.capitalize() for answer in ANSWERS}, NOT_ANSWERED: "Not answered"}


def _question(deal: OpportunityDetail, question_id: int) -> QualificationItem:
    for item in deal.qualification:
        if item.question_id == question_id:
            return item
    raise NotFoundError(f"no qualification question {question_id} on deal {deal.id}")


def _back_to_question(deal_id: int, question_id: int) -> Response:
    """Without htmx: the deal page, scrolled to the question."""
    return redirect(f"/deals/{deal_id}#question-{question_id}")


@router.get("/deals/{deal_id}")
def deal_page(deal_id: int, request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    engine = web_of(request).engine
    deal = get_opportunity(engine, visitor.scope, deal_id)
    insight = deal_insight(engine, visitor.scope, deal_id)
    trail = record_trail(request, visitor, "opportunity", deal_id)
    context = {"deal": deal, "insight": insight, "trail": trail, "answer_labels": ANSWER_LABELS}
    context |= deal_roadmap_context(request, visitor, deal_id)  # the buying process section
    return render(request, "deal.html", context)


def _answer_form(
    request: Request,
    deal: OpportunityDetail,
    item: QualificationItem,
    *,
    answer: str | None = None,
    note: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The answer's form: in place of the answer for htmx, else on a page of its own."""
    context = {
        "deal": deal,
        "item": item,
        "answer": (item.answer or NOT_ANSWERED) if answer is None else answer,
        "note": (item.note or "") if note is None else note,
        "errors": errors or {},
        "answer_labels": ANSWER_LABELS,
    }
    template = "_answer_form.html" if is_htmx(request) else "answer_edit.html"
    return render(request, template, context, status_code=status_code)


def _answer(request: Request, deal: OpportunityDetail, item: QualificationItem, **extra: Any) -> Response:
    """The answer as the deal page shows it (an htmx fragment)."""
    context = {"deal": deal, "item": item, "answer_labels": ANSWER_LABELS, **extra}
    return render(request, "_answer.html", context)


@router.get("/deals/{deal_id}/qualification/{question_id}/edit")
def edit_answer(
    deal_id: int, question_id: int, request: Request, visitor: Visitor = Depends(current_visitor)
) -> Response:
    deal = get_opportunity(web_of(request).engine, visitor.scope, deal_id)
    require_write(visitor.scope)
    return _answer_form(request, deal, _question(deal, question_id))


@router.get("/deals/{deal_id}/qualification/{question_id}")
def show_answer(
    deal_id: int, question_id: int, request: Request, visitor: Visitor = Depends(current_visitor)
) -> Response:
    """The answer as shown on the deal page (what Cancel swaps back in)."""
    deal = get_opportunity(web_of(request).engine, visitor.scope, deal_id)
    item = _question(deal, question_id)
    if not is_htmx(request):
        return _back_to_question(deal_id, question_id)
    return _answer(request, deal, item, refocus=True)


def _check_note(note: str) -> None:
    if len(note) > NOTE_LENGTH:
        problem = f"a note has at most {NOTE_LENGTH:,} characters (this one has {len(note):,})"
        raise invalid([FieldProblem("note", problem)])


@router.post("/deals/{deal_id}/qualification/{question_id}")
def save_answer(
    deal_id: int,
    question_id: int,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    answer = form.get("answer", NOT_ANSWERED).strip()
    note = form.get("note", "").strip()
    try:
        _check_note(note)
        saved = set_qualification_answer(
            engine,
            visitor.principal,
            visitor.scope,
            deal_id,
            question_id,
            answer or None,
            "web",
            note=note,
        )
    except ValidationError as error:
        deal = get_opportunity(engine, visitor.scope, deal_id)
        errors = {p.field: p.message for p in error.problems} or {"answer": error.message}
        item = _question(deal, question_id)
        return _answer_form(request, deal, item, answer=answer, note=note, errors=errors, status_code=422)
    if not is_htmx(request):
        return _back_to_question(deal_id, question_id)
    deal = get_opportunity(engine, visitor.scope, deal_id)
    trail = record_trail(request, visitor, "opportunity", deal_id)
    return _answer(request, deal, saved, trail=trail, oob=True, saved=True)


__all__ = ["router"]
