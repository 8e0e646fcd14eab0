"""The buying roadmap pages: ``/roadmaps`` (every product's roadmap and its gaps) and
``/roadmaps/{product}`` (the buyer's stages as columns with their concerns, questions, answers and tools,
each gap marked), and editing them for admins and managers.

Every signed-in role reads; admins and managers edit (:mod:`dealsight.services.roadmaps`): a question in
place with htmx (``GET .../questions/{key}/edit`` swaps the card for a form, saving swaps it back and
refreshes the gap summary out of band; without JavaScript the same URLs serve a page and a redirect),
a stage's concerns and tools, a new question (also straight from a question customers asked that the
roadmap lacks), deleting a question, and starting a roadmap for a product. Each write carries the
session's CSRF token and is audited (via ``web``). The gaps count the questions customers asked in the
interviews the visitor may see.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response

from dealsight.analytics.roadmap_gaps import RoadmapGaps
from dealsight.domain.roadmaps import AFTER_PURCHASE, STAGE_LABELS, STAGES, Roadmap, RoadmapQuestion
from dealsight.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from dealsight.services import roadmaps as service
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
SAVED = {
    "question": "The question was saved.",
    "added": "The question was added.",
    "deleted": "The question was deleted, with the deals' records of having it answered.",
    "stage": "The stage was saved.",
    "created": "The roadmap was started: add the buyer's questions stage by stage.",
}


def roadmap_url(product: str, anchor: str = "", saved: str = "") -> str:
    """The page of ``product``'s roadmap (with a saved message and a place on the page)."""
    return (
        f"/roadmaps/{quote(product, safe='')}"
        + (f"?saved={saved}" if saved else "")
        + (f"#{anchor}" if anchor else "")
    )


def _lines(text: str) -> list[str]:
    """One item per line of a text area (empty lines dropped)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _gaps(request: Request, visitor: Visitor, product: str) -> RoadmapGaps:
    (found,) = service.gaps(web_of(request).engine, visitor.scope, product)
    return found


def _context(request: Request, visitor: Visitor, roadmap: Roadmap, **extra: Any) -> dict[str, Any]:
    gaps = _gaps(request, visitor, roadmap.product)
    return {
        "roadmap": roadmap,
        "gaps": gaps,
        "stage_gaps": {s.stage: s for s in gaps.stages},
        "stages": STAGES,
        "stage_labels": STAGE_LABELS,
        "after_purchase": AFTER_PURCHASE,
        "may_edit": service.may_edit(visitor.principal),
        "url": roadmap_url(roadmap.product),
        "saved": SAVED.get(request.query_params.get("saved", "")),
        "errors": {},
        "form": {},
        **extra,
    }


@router.get("/roadmaps")
def roadmaps_page(request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    engine = web_of(request).engine
    context = {
        "summaries": service.list_roadmaps(engine),
        "gaps": {g.product: g for g in service.gaps(engine, visitor.scope)},
        "may_edit": service.may_edit(visitor.principal),
        "errors": {},
        "form": {},
        "roadmap_url": roadmap_url,
    }
    return render(request, "roadmaps.html", context)


@router.post("/roadmaps")
def start_roadmap(
    request: Request, visitor: Visitor = Depends(current_visitor), form: dict[str, str] = Depends(read_form)
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    product = " ".join(form.get("product", "").split())
    try:
        if any(s.product.lower() == product.lower() for s in service.list_roadmaps(engine)):
            raise ConflictError(f"{product!r} has a roadmap already")
        saved = service.replace_roadmap(engine, visitor.principal, None, {"product": product}, via="web")
    except (ValidationError, ConflictError) as error:
        context = {
            "summaries": service.list_roadmaps(engine),
            "gaps": {g.product: g for g in service.gaps(engine, visitor.scope)},
            "may_edit": service.may_edit(visitor.principal),
            "errors": {"product": error.message.removeprefix("product: ")},
            "form": form,
            "roadmap_url": roadmap_url,
        }
        return render(
            request, "roadmaps.html", context, status_code=409 if isinstance(error, ConflictError) else 422
        )
    return redirect(roadmap_url(saved.roadmap.product, saved="created"))


@router.get("/roadmaps/{product}")
def roadmap_page(product: str, request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    roadmap = service.get_roadmap(web_of(request).engine, product)
    return render(request, "roadmap.html", _context(request, visitor, roadmap))


def _question(roadmap: Roadmap, key: str) -> RoadmapQuestion:
    found = roadmap.question(key)
    if found is None:
        raise NotFoundError(f"the roadmap of {roadmap.product!r} has no question {key!r}")
    return found


def _card(
    request: Request, visitor: Visitor, roadmap: Roadmap, question: RoadmapQuestion, **extra: Any
) -> Response:
    context = _context(request, visitor, roadmap, q=question, **extra)
    return render(request, "_roadmap_question.html", context)


def _edit_form(
    request: Request,
    visitor: Visitor,
    roadmap: Roadmap,
    question: RoadmapQuestion,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    values = form or {
        "question": question.question,
        "concern": question.concern or "",
        "answer": question.answer or "",
        "tools": "\n".join(question.tools),
        "stage": question.stage.value,
    }
    context = _context(request, visitor, roadmap, q=question, form=values, errors=errors or {})
    template = "_roadmap_question_form.html" if is_htmx(request) else "roadmap_question_edit.html"
    return render(request, template, context, status_code=status_code)


@router.get("/roadmaps/{product}/questions/{key}/edit")
def edit_question(
    product: str, key: str, request: Request, visitor: Visitor = Depends(current_visitor)
) -> Response:
    roadmap = service.get_roadmap(web_of(request).engine, product)
    if not service.may_edit(visitor.principal):
        raise PermissionDeniedError(service.REFUSED)
    return _edit_form(request, visitor, roadmap, _question(roadmap, key))


@router.get("/roadmaps/{product}/questions/{key}")
def show_question(
    product: str, key: str, request: Request, visitor: Visitor = Depends(current_visitor)
) -> Response:
    """The question's card as the page shows it (what Cancel swaps back in)."""
    roadmap = service.get_roadmap(web_of(request).engine, product)
    question = _question(roadmap, key)
    if not is_htmx(request):
        return redirect(roadmap_url(roadmap.product, f"question-{key}"))
    return _card(request, visitor, roadmap, question, refocus=True)


@router.post("/roadmaps/{product}/questions/{key}")
def save_question(
    product: str,
    key: str,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    values = {
        "question": form.get("question", "").strip(),
        "concern": form.get("concern", "").strip() or None,
        "answer": form.get("answer", "").strip() or None,
        "tools": _lines(form.get("tools", "")) or None,
        "stage": form.get("stage", "").strip(),
    }
    try:
        saved = service.update_question(engine, visitor.principal, product, key, values, via="web")
    except ValidationError as error:
        roadmap = service.get_roadmap(engine, product)
        errors = {p.field.split("[")[0]: p.message for p in error.problems} or {"question": error.message}
        return _edit_form(
            request, visitor, roadmap, _question(roadmap, key), form=form, errors=errors, status_code=422
        )
    if not is_htmx(request):
        return redirect(roadmap_url(saved.roadmap.product, f"question-{key}", "question"))
    question = _question(saved.roadmap, key)
    return _card(request, visitor, saved.roadmap, question, saved_card=True, oob=True)


@router.post("/roadmaps/{product}/questions/{key}/delete")
def delete_question(
    product: str,
    key: str,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    saved = service.remove_question(web_of(request).engine, visitor.principal, product, key, via="web")
    return redirect(roadmap_url(saved.roadmap.product, saved="deleted"))


@router.post("/roadmaps/{product}/questions")
def add_question(
    product: str,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    values: dict[str, object] = {"stage": form.get("stage", ""), "question": form.get("question", "").strip()}
    for name in ("concern", "answer"):
        if form.get(name, "").strip():
            values[name] = form[name].strip()
    if _lines(form.get("tools", "")):
        values["tools"] = _lines(form.get("tools", ""))
    try:
        saved = service.add_question(engine, visitor.principal, product, values, via="web")
    except ValidationError as error:
        roadmap = service.get_roadmap(engine, product)
        errors = {p.field.split("[")[0]: p.message for p in error.problems}
        context = _context(
            request, visitor, roadmap, errors={f"new-{k}": v for k, v in errors.items()}, form=form
        )
        return render(request, "roadmap.html", context, status_code=422)
    key = next(q.key for q in reversed(saved.roadmap.questions) if q.stage.value == form.get("stage"))
    return redirect(roadmap_url(saved.roadmap.product, f"question-{key}", "added"))


@router.post("/roadmaps/{product}/stages/{stage}")
def save_stage(
    product: str,
    stage: str,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    values = {
        "concerns": _lines(form.get("concerns", "")) or None,
        "tools": _lines(form.get("tools", "")) or None,
    }
    engine = web_of(request).engine
    try:
        saved = service.update_stage(engine, visitor.principal, product, stage, values, via="web")
    except ValidationError as error:
        roadmap = service.get_roadmap(engine, product)
        errors = {f"{stage}-{p.field.split('[')[0]}": p.message for p in error.problems}
        return render(
            request,
            "roadmap.html",
            _context(request, visitor, roadmap, errors=errors, form=form),
            status_code=422,
        )
    return redirect(roadmap_url(saved.roadmap.product, f"stage-{stage}", "stage"))


__all__ = ["roadmap_url", "router"]
