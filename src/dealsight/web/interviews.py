"""The customer interviews page (``/interviews``): search what customers said, record an interview, and
the interview guide (edited here by admins and managers).

- **Search** is a GET form (a shareable URL: ``text``, ``topic``, ``question``, ``tag``, ``segment``,
  ``page``); with htmx the answers update in place and the address bar follows. The words found are
  marked in each answer. Only interviews of contacts the visitor may see are searched.
- **Record an interview** (visitors who write: not executives) posts one answer box per question of the
  guide (empty boxes are left out) and a tags box per question; the contact is chosen by e-mail (from the
  contacts the visitor may see), or from the deal's contacts when the page is opened from a deal
  (``/interviews?deal=ID#record``). A problem is shown next to its field and nothing is written.
- **The guide** lists the questions in order; admins and managers add, reword, re-topic, move, retire and
  bring back questions (each a new version of the guide).

Every write carries the session's CSRF token and is audited with ``via="web"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from markupsafe import Markup, escape

from dealsight.domain.clock import utc_now
from dealsight.domain.interviews import TOPIC_LABELS, Topic, split_tags
from dealsight.errors import NotFoundError, ValidationError
from dealsight.services.interview_guides import (
    add_guide_question,
    change_guide_question,
    get_guide,
    may_edit_guide,
)
from dealsight.services.interviews import (
    AnswerQuery,
    contact_by_email,
    contact_choices,
    record_interview,
    search_answers,
)
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
PAGE_SIZE = 20
SAVED = {
    "interview": "The interview was recorded.",
    "question": "The guide was changed: a new version.",
}


@dataclass(frozen=True)
class Search:
    text: str = ""
    topic: str = ""
    question: str = ""
    tag: str = ""
    segment: str = ""
    page: int = 1

    def url(self, **changes: Any) -> str:
        values = {**self.__dict__, **changes}
        params = {k: v for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)}
        return "/interviews" + ("?" + urlencode(params) if params else "")

    @property
    def words(self) -> list[str]:
        return self.text.split()


def highlight(text: str, words: list[str]) -> Markup:
    """``text`` escaped, with each of ``words`` (any case) marked."""
    if not words:
        return escape(text)
    pattern = re.compile(
        "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)), re.IGNORECASE
    )
    parts, last = [], 0
    for found in pattern.finditer(text):
        parts.append(escape(text[last : found.start()]))
        parts.append(Markup("<mark>") + escape(found.group(0)) + Markup("</mark>"))
        last = found.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def _search(params: Mapping[str, str]) -> Search:
    page = params.get("page", "1")
    text = {
        name: params.get(name, "").strip()[:200] for name in ("text", "topic", "question", "tag", "segment")
    }
    return Search(**text, page=int(page) if page.isdecimal() and 0 < len(page) < 6 and int(page) > 0 else 1)


def _results(request: Request, visitor: Visitor, search: Search) -> tuple[Any, str | None]:
    topic = Topic(search.topic) if search.topic in {t.value for t in Topic} else None
    query = AnswerQuery(
        text=search.text or None,
        topic=topic,
        question=search.question or None,
        tag=search.tag or None,
        segment=search.segment or None,
        limit=PAGE_SIZE,
        offset=(search.page - 1) * PAGE_SIZE,
    )
    try:
        return search_answers(web_of(request).engine, visitor.scope, query), None
    except ValidationError as error:
        return None, error.message


def _context(request: Request, visitor: Visitor, **extra: Any) -> dict[str, Any]:
    engine = web_of(request).engine
    search = _search(request.query_params)
    results, problem = _results(request, visitor, search)
    deal = request.query_params.get("deal", "")
    deal_id = int(deal) if deal.isdecimal() and len(deal) < 10 else None
    try:
        choices = contact_choices(engine, visitor.scope, deal_id=deal_id) if visitor.can_write else []
    except NotFoundError:
        deal_id, choices = None, contact_choices(engine, visitor.scope)
    guide = get_guide(engine)
    return {
        "guide": guide,
        "topics": [(t.value, TOPIC_LABELS[t]) for t in Topic],
        "topic_labels": TOPIC_LABELS,
        "search": search,
        "results": results,
        "problem": problem,
        "highlight": highlight,
        "deal_id": deal_id,
        "contacts": choices,
        "may_edit_guide": may_edit_guide(visitor.principal),
        "saved": SAVED.get(request.query_params.get("saved", "")),
        "today": utc_now().date().isoformat(),
        "errors": {},
        "form": {},
        "guide_errors": {},
        "guide_form": {},
        **extra,
    }


@router.get("/interviews")
def interviews_page(request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    context = _context(request, visitor)
    if is_htmx(request) and request.headers.get("HX-Target") == "answers":
        return render(request, "_interview_answers.html", context)
    return render(request, "interviews.html", context)


def _interview_data(request: Request, visitor: Visitor, form: Mapping[str, str]) -> dict[str, Any]:
    """The service's input from the form (answers of the boxes filled in, in the guide's order)."""
    guide = get_guide(web_of(request).engine)
    contact = form.get("contact", "").strip()
    contact_id: object = int(contact) if contact.isdecimal() and len(contact) < 10 else None
    if contact_id is None and contact:
        contact_id = contact_by_email(web_of(request).engine, visitor.scope, contact) or 0
    answers = [
        {
            "question": q.key,
            "answer": form[f"answer-{q.key}"].strip(),
            "tags": split_tags(form.get(f"tags-{q.key}", "")),
        }
        for q in guide.active
        if form.get(f"answer-{q.key}", "").strip()
    ]
    data: dict[str, Any] = {
        "contact_id": contact_id,
        "interviewed_on": form.get("interviewed_on", "").strip() or None,
        "answers": answers,
    }
    deal = form.get("deal", "").strip()
    if deal:
        data["opportunity_id"] = int(deal) if deal.isdecimal() and len(deal) < 10 else deal
    if form.get("note", "").strip():
        data["note"] = form["note"].strip()
    return data


def _field_of(problem: str, guide_keys: list[str]) -> str:
    """A service field (``answers[2].tags``) as the form's field id (``tags-<key>``)."""
    found = re.match(r"answers\[(\d+)\]\.(\w+)", problem)
    if not found:
        return {"contact_id": "contact", "opportunity_id": "deal"}.get(problem, problem)
    index, name = int(found.group(1)) - 1, found.group(2)
    key = guide_keys[index] if index < len(guide_keys) else ""
    return f"{'tags' if name == 'tags' else 'answer'}-{key}"


@router.post("/interviews")
def save_interview(
    request: Request, visitor: Visitor = Depends(current_visitor), form: dict[str, str] = Depends(read_form)
) -> Response:
    check_csrf(request, visitor, form)
    data = _interview_data(request, visitor, form)
    try:
        if data["contact_id"] == 0:
            raise ValidationError("contact_id: no contact with that e-mail that you can see", [])
        record_interview(web_of(request).engine, visitor.principal, visitor.scope, data, via="web")
    except ValidationError as error:
        keys = [a["question"] for a in data["answers"]]
        errors = {_field_of(p.field, keys): p.message for p in error.problems}
        if not error.problems:
            errors["contact"] = error.message.removeprefix("contact_id: ")
        if "answers" in errors:
            errors["form"] = "Write at least one answer."
        context = _context(request, visitor, errors=errors, form=form)
        return render(request, "interviews.html", context, status_code=422)
    return redirect("/interviews?saved=interview#record")


@router.post("/interviews/guide")
def add_question(
    request: Request, visitor: Visitor = Depends(current_visitor), form: dict[str, str] = Depends(read_form)
) -> Response:
    check_csrf(request, visitor, form)
    values = {name: form[name].strip() for name in ("text", "topic", "key") if form.get(name, "").strip()}
    try:
        add_guide_question(web_of(request).engine, visitor.principal, values, via="web")
    except ValidationError as error:
        errors = {f"new-{p.field}": p.message for p in error.problems}
        context = _context(request, visitor, guide_errors=errors, guide_form=form)
        return render(request, "interviews.html", context, status_code=422)
    return redirect("/interviews?saved=question#guide")


@router.post("/interviews/guide/{key}")
def change_question(
    key: str,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    values: dict[str, object] = {
        name: form[name].strip() for name in ("text", "topic", "position") if form.get(name, "").strip()
    }
    if "retired" in form:
        values["retired"] = form["retired"] == "true"
    try:
        change_guide_question(web_of(request).engine, visitor.principal, key, values, via="web")
    except ValidationError as error:
        errors = {f"{key}-{p.field}": p.message for p in error.problems}
        context = _context(request, visitor, guide_errors=errors, guide_form={"key": key, **form})
        return render(request, "interviews.html", context, status_code=422)
    return redirect(f"/interviews?saved=question#guide-{key}")


__all__ = ["highlight", "router"]
