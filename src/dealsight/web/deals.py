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
from dealsight.services.audit import audit_trail
from dealsight.services.opportunities import (
    ANSWERS,
    OpportunityDetail,
    QualificationItem,
    get_opportunity,
    set_qualification_answer,
)
from dealsight.services.records import require_write
from dealsight.web.core import (
    PageRoute,
    Visitor,
    check_csrf,
    current_visitor,
    is_htmx,
    read_form,
    redirect,
    render,
    web_of,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
AUDIT_ROWS = 50
NOTE_LENGTH = 2000
NOT_ANSWERED = ""
ANSWER_LABELS = {"yes": "Yes", "no": "No", "unknown": "Unknown", NOT_ANSWERED: "Not answered"}


def _question(deal: OpportunityDetail, question_id: int) -> QualificationItem:
    for item in deal.qualification:
        if item.question_id == question_id:
            return item
    raise NotFoundError(f"no qualification question {question_id} on deal {deal.id}")


def _trail(request: Request, visitor: Visitor, deal_id: int) -> Any:
    return audit_trail(web_of(request).engine, visitor.scope, "opportunity", deal_id, limit=AUDIT_ROWS)


@router.get("/deals/{deal_id}")
def deal_page(deal_id: int, request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    deal = get_opportunity(web_of(request).engine, visitor.scope, deal_id)
    context = {"deal": deal, "trail": _trail(request, visitor, deal_id), "answer_labels": ANSWER_LABELS}
    return render(request, "deal.html", context)


def _form_context(
    deal: OpportunityDetail,
    item: QualificationItem,
    *,
    answer: str | None = None,
    note: str | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "deal": deal,
        "item": item,
        "answer": (item.answer or NOT_ANSWERED) if answer is None else answer,
        "note": (item.note or "") if note is None else note,
        "errors": errors or {},
        "answer_labels": ANSWER_LABELS,
    }


@router.get("/deals/{deal_id}/qualification/{question_id}/edit")
def edit_answer(
    deal_id: int, question_id: int, request: Request, visitor: Visitor = Depends(current_visitor)
) -> Response:
    deal = get_opportunity(web_of(request).engine, visitor.scope, deal_id)
    require_write(visitor.scope)
    context = _form_context(deal, _question(deal, question_id))
    template = "_answer_form.html" if is_htmx(request) else "answer_edit.html"
    return render(request, template, context)


@router.get("/deals/{deal_id}/qualification/{question_id}")
def show_answer(
    deal_id: int, question_id: int, request: Request, visitor: Visitor = Depends(current_visitor)
) -> Response:
    """The answer as shown on the deal page (what Cancel swaps back in)."""
    deal = get_opportunity(web_of(request).engine, visitor.scope, deal_id)
    item = _question(deal, question_id)
    if not is_htmx(request):
        return redirect(f"/deals/{deal_id}#question-{question_id}")
    context = {"deal": deal, "item": item, "answer_labels": ANSWER_LABELS, "refocus": True}
    return render(request, "_answer.html", context)


def _check_note(note: str) -> list[FieldProblem]:
    if len(note) > NOTE_LENGTH:
        return [
            FieldProblem(
                "note", f"a note has at most {NOTE_LENGTH:,} characters (this one has {len(note):,})"
            )
        ]
    return []


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
        problems = _check_note(note)
        if problems:
            raise ValidationError(problems[0].message, problems)
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
        context = _form_context(deal, _question(deal, question_id), answer=answer, note=note, errors=errors)
        template = "_answer_form.html" if is_htmx(request) else "answer_edit.html"
        return render(request, template, context, status_code=422)
    if not is_htmx(request):
        return redirect(f"/deals/{deal_id}#question-{question_id}")
    deal = get_opportunity(engine, visitor.scope, deal_id)
    context = {
        "deal": deal,
        "item": saved,
        "answer_labels": ANSWER_LABELS,
        "trail": _trail(request, visitor, deal_id),
        "oob": True,
        "saved": True,
    }
    return render(request, "_answer.html", context)


__all__ = ["ANSWERS", "router"]
