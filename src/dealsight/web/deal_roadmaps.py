"""The deal page's "Buying process" section: the buyer's stage on the product's roadmap, the roadmap
questions still open there, and recording in place that the buyer had one answered (when, with which
tool or asset) or reopening it.

With htmx, **Mark answered** (or **Change**) swaps the question for a small form
(``GET /deals/{id}/roadmap/{key}/edit``), **Save** swaps it back and refreshes the deal's audit trail out
of band, **Cancel** (or Escape) puts it back as it was, and **Reopen** marks it open again; without
JavaScript the same URLs serve a page and a redirect. Writes go through
:mod:`dealsight.services.deal_roadmaps` with ``via="web"`` (audited on the deal); a bad date re-shows the
form with the problem next to the field (422). :func:`deal_roadmap_context` is what the deal page adds to
its own context to show the section.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from dealsight.domain.roadmaps import STAGE_LABELS, STAGES
from dealsight.errors import NotFoundError, ValidationError
from dealsight.services.deal_roadmaps import (
    DealRoadmap,
    DealRoadmapItem,
    answer_question,
    deal_roadmap,
    reopen_question,
)
from dealsight.services.records import require_write
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
from dealsight.web.roadmaps import roadmap_url

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def deal_roadmap_context(request: Request, visitor: Visitor, deal_id: int) -> dict[str, Any]:
    """What the deal page needs to show its buying process section."""
    found = deal_roadmap(web_of(request).engine, visitor.scope, deal_id)
    return {"roadmap_state": found, **_shared(found)}


def _shared(found: DealRoadmap) -> dict[str, Any]:
    return {
        "rm_stages": STAGES,
        "rm_stage_labels": STAGE_LABELS,
        "rm_url": roadmap_url(found.product) if found.roadmap is not None and found.product else "",
    }


def _item(found: DealRoadmap, key: str) -> DealRoadmapItem:
    item = found.item(key)
    if item is None:
        raise NotFoundError(f"no roadmap question {key!r} on deal {found.deal_id}")
    return item


def _back(deal_id: int, key: str) -> Response:
    return redirect(f"/deals/{deal_id}#roadmap-{key}")


def _form(
    request: Request,
    found: DealRoadmap,
    item: DealRoadmapItem,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    answer = item.answer
    values = form or {
        "answered_on": (answer.answered_on.isoformat() if answer else ""),
        "tool": (answer.tool or "") if answer else (item.question.tools[0] if item.question.tools else ""),
        "note": (answer.note or "") if answer else "",
    }
    context = {"roadmap_state": found, "item": item, "form": values, "errors": errors or {}, **_shared(found)}
    template = "_deal_roadmap_form.html" if is_htmx(request) else "deal_roadmap_edit.html"
    return render(request, template, context, status_code=status_code)


def _shown(
    request: Request, visitor: Visitor, found: DealRoadmap, item: DealRoadmapItem, **extra: Any
) -> Response:
    context = {"roadmap_state": found, "item": item, **_shared(found), **extra}
    return render(request, "_deal_roadmap_item.html", context)


@router.get("/deals/{deal_id}/roadmap/{key}/edit")
def edit_item(
    deal_id: int, key: str, request: Request, visitor: Visitor = Depends(current_visitor)
) -> Response:
    found = deal_roadmap(web_of(request).engine, visitor.scope, deal_id)
    require_write(visitor.scope)
    return _form(request, found, _item(found, key))


@router.get("/deals/{deal_id}/roadmap/{key}")
def show_item(
    deal_id: int, key: str, request: Request, visitor: Visitor = Depends(current_visitor)
) -> Response:
    """The question as the deal page shows it (what Cancel swaps back in)."""
    found = deal_roadmap(web_of(request).engine, visitor.scope, deal_id)
    item = _item(found, key)
    if not is_htmx(request):
        return _back(deal_id, key)
    return _shown(request, visitor, found, item, refocus=True)


def _after_write(request: Request, visitor: Visitor, deal_id: int, key: str, message: str) -> Response:
    if not is_htmx(request):
        return _back(deal_id, key)
    found = deal_roadmap(web_of(request).engine, visitor.scope, deal_id)
    trail = record_trail(request, visitor, "opportunity", deal_id)
    return _shown(request, visitor, found, _item(found, key), trail=trail, oob=True, message=message)


@router.post("/deals/{deal_id}/roadmap/{key}")
def save_item(
    deal_id: int,
    key: str,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    data = {name: form.get(name, "").strip() or None for name in ("answered_on", "tool", "note")}
    try:
        answer_question(engine, visitor.principal, visitor.scope, deal_id, key, data, via="web")
    except ValidationError as error:
        found = deal_roadmap(engine, visitor.scope, deal_id)
        errors = {p.field: p.message for p in error.problems} or {"answered_on": error.message}
        return _form(request, found, _item(found, key), form=form, errors=errors, status_code=422)
    return _after_write(request, visitor, deal_id, key, "Saved.")


@router.post("/deals/{deal_id}/roadmap/{key}/reopen")
def reopen_item(
    deal_id: int,
    key: str,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    reopen_question(web_of(request).engine, visitor.principal, visitor.scope, deal_id, key, via="web")
    return _after_write(request, visitor, deal_id, key, "Reopened.")


__all__ = ["deal_roadmap_context", "router"]
