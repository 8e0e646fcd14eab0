"""The needs and competitors page (``/needs``): what customers say matters, how they rate us against the
competitors, where each internal function is wrong, the opportunity per need and the needs to flank on;
and, for admins and managers, a form to enter one respondent's answers and one to start a survey.

Every figure comes from :mod:`dealsight.services.surveys` (docs/needs.md); every signed-in role sees every
survey (surveys are company-level, the page shows aggregates only). Filters are query parameters (a
shareable URL): ``survey`` (an id; default the newest), ``segment``, ``industry`` and ``by``. Charts are
drawn from ``<canvas data-chart>`` by ``static/js/dealsight.js`` (gaps, opportunity) and from
``<canvas data-needs-chart>`` by ``static/js/needs.js`` (weights with their intervals), each with a table
of the same figures beside it; the grid is a heat map table (the figures are the text, colour only
repeats them). ``needs.js`` also keeps the running total of the points typed in the form.

Writes are POST forms with the session's CSRF token; the service checks the role and records each write in
the audit log (via ``web``). A bad answer re-shows the form with each problem next to its field (422); a
respondent who already answered is said in the form (409).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response

from dealsight.analytics.needs import BREAKDOWNS, NeedsAnalysis
from dealsight.domain.surveys import Function
from dealsight.errors import ConflictError, InsufficientDataError, ValidationError
from dealsight.services.surveys import (
    StoredSurvey,
    SurveyAnalysis,
    add_response,
    create_survey,
    get_survey,
    list_surveys,
    may_enter,
    survey_analysis,
    survey_groups,
)
from dealsight.web.core import (
    PageRoute,
    Visitor,
    check_csrf,
    current_visitor,
    read_form,
    redirect,
    render,
    web_of,
)
from dealsight.web.formatting import label

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FUNCTION_COLORS = {"marketing": "#7c3aed", "sales": "#c2410c", "service": "#15803d", "leadership": "#2f5fb3"}
SAVED = {"response": "The answers were saved.", "survey": "The survey was created: enter its answers below."}


@dataclass(frozen=True)
class Filters:
    survey: int | None = None
    segment: str = ""
    industry: str = ""
    by: str = "segment"

    def url(self, **changes: Any) -> str:
        values = {"survey": self.survey, "segment": self.segment, "industry": self.industry, "by": self.by}
        values |= changes
        params = {
            k: v for k, v in values.items() if v not in (None, "") and not (k == "by" and v == "segment")
        }
        return "/needs" + ("?" + urlencode(params) if params else "")


def _filters(survey: str | None, segment: str | None, industry: str | None, by: str | None) -> Filters:
    chosen = int(survey) if survey and survey.isdecimal() and len(survey) < 10 else None
    return Filters(
        chosen, (segment or "").strip(), (industry or "").strip(), by if by in BREAKDOWNS else "segment"
    )


# charts ----------------------------------------------------------------------------------------------------
def weights_chart(analysis: NeedsAnalysis) -> dict[str, Any]:
    """Customers' mean points per need with the 95% interval as a thin bar over it (needs.js)."""
    rows = sorted(analysis.weights.needs, key=lambda w: -(w.points or 0))
    return {
        "kind": "intervals",
        "labels": [w.need for w in rows],
        "means": [round(w.points or 0, 1) for w in rows],
        "intervals": [
            [round(w.low, 1), round(w.high, 1)] if w.low is not None and w.high is not None else None
            for w in rows
        ],
        "unit": "points",
    }


def gaps_chart(analysis: NeedsAnalysis) -> dict[str, Any]:
    """Each function's gap (believed minus customers' points) per need: grouped horizontal bars."""
    return {
        "kind": "bars",
        "horizontal": True,
        "labels": list(analysis.needs),
        "series": [
            {
                "label": gap.function,
                "values": [round(g.gap, 1) if g.gap is not None else None for g in gap.weights],
                "color": FUNCTION_COLORS.get(gap.function),
            }
            for gap in analysis.gaps
        ],
    }


def opportunity_chart(analysis: NeedsAnalysis) -> dict[str, Any]:
    rows = [o for o in analysis.opportunities if o.score is not None]
    return {
        "kind": "bars",
        "horizontal": True,
        "labels": [o.need for o in rows],
        "series": [{"label": "Opportunity score", "values": [round(o.score or 0, 1) for o in rows]}],
    }


def heat(rating: float | None) -> str:
    """The heat map class of a rating: ``heat--0`` .. ``heat--10`` (``heat--none`` when not rated)."""
    return "heat--none" if rating is None else f"heat--{max(0, min(10, int(rating)))}"


# the page --------------------------------------------------------------------------------------------------
def _context(request: Request, visitor: Visitor, filters: Filters) -> dict[str, Any]:
    engine = web_of(request).engine
    surveys = list(list_surveys(engine, limit=500).items)
    context: dict[str, Any] = {
        "surveys": surveys,
        "filters": filters,
        "may_enter": may_enter(visitor.principal),
        "functions": [(f.value, f.value.capitalize()) for f in Function],
        "survey": None,
        "result": None,
        "problem": None,
        "saved": SAVED.get(request.query_params.get("saved", "")),
        "errors": {},
        "form": {},
        "survey_errors": {},
        "survey_form": {},
        "heat": heat,
    }
    if not surveys:
        return context
    survey = next((s for s in surveys if s.id == filters.survey), surveys[0])
    context["survey"] = survey
    segments, industries = survey_groups(engine, survey.id)
    context["choices"] = {
        "surveys": [(s.id, s.name) for s in surveys],
        "segments": [(value, label(value)) for value in segments],
        "industries": [(value, label(value)) for value in industries],
    }
    try:
        result: SurveyAnalysis = survey_analysis(
            engine,
            survey.id,
            segment=filters.segment or None,
            industry=filters.industry or None,
            by=filters.by,
        )
    except InsufficientDataError as error:
        context["problem"] = error.message
        return context
    context["result"] = result
    context["charts"] = {
        "weights": weights_chart(result.analysis),
        "gaps": gaps_chart(result.analysis) if result.analysis.gaps else None,
        "opportunity": opportunity_chart(result.analysis),
    }
    return context


@router.get("/needs")
def needs_page(
    request: Request,
    survey: str | None = None,
    segment: str | None = None,
    industry: str | None = None,
    by: str | None = None,
    visitor: Visitor = Depends(current_visitor),
) -> Response:
    return render(request, "needs.html", _context(request, visitor, _filters(survey, segment, industry, by)))


def _answers(survey: StoredSurvey, form: Mapping[str, str]) -> dict[str, Any]:
    """The service's input from the form's fields (``points-<need>``, ``rating-<vendor>-<need>`` by index)."""
    data: dict[str, Any] = {
        name: form.get(name, "").strip() or None
        for name in ("respondent", "respondent_type", "function", "segment", "industry")
    }
    data["points"] = {
        need: form.get(f"points-{k}", "").strip() or None for k, need in enumerate(survey.needs)
    }
    data["ratings"] = {
        vendor: {need: form.get(f"rating-{v}-{k}", "").strip() or None for k, need in enumerate(survey.needs)}
        for v, vendor in enumerate(survey.vendors)
    }
    return data


def _field_ids(survey: StoredSurvey) -> dict[str, str]:
    """The service's field names -> the form's field ids."""
    ids = {f"points.{need}": f"points-{k}" for k, need in enumerate(survey.needs)}
    ids |= {
        f"ratings.{vendor}.{need}": f"rating-{v}-{k}"
        for v, vendor in enumerate(survey.vendors)
        for k, need in enumerate(survey.needs)
    }
    return ids


def _form_again(
    request: Request,
    visitor: Visitor,
    error: ValidationError | ConflictError,
    filters: Filters,
    form: tuple[str, str, Mapping[str, str]],
    ids: Mapping[str, str],
) -> Response:
    """The page again with a refused form: ``form`` is (errors key, values key, the posted values); each
    problem is shown by its field (``ids`` maps the service's field names to the form's), a conflict or a
    problem of no field above the form (422; a conflict 409)."""
    errors_key, values_key, values = form
    context = _context(request, visitor, filters)
    if isinstance(error, ValidationError) and error.problems:
        context[errors_key] = {ids.get(p.field, p.field): p.message for p in error.problems}
    else:
        context[errors_key] = {"form": error.message}
    context[values_key] = values
    status = 409 if isinstance(error, ConflictError) else 422
    return render(request, "needs.html", context, status_code=status)


@router.post("/needs/{survey_id}/responses")
def save_response(
    survey_id: int,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    survey = get_survey(engine, survey_id)
    try:
        add_response(engine, visitor.principal, survey_id, _answers(survey, form), via="web")
    except (ValidationError, ConflictError) as error:
        return _form_again(
            request, visitor, error, Filters(survey_id), ("errors", "form", form), _field_ids(survey)
        )
    return redirect(Filters(survey_id).url(saved="response") + "#enter")


@router.post("/needs/surveys")
def save_survey(
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine

    def names(field: str) -> list[str] | None:
        text = form.get(field, "").strip()
        return [part.strip() for part in text.split(",") if part.strip()] or None

    data = {
        "name": form.get("name", "").strip(),
        "conducted_on": form.get("conducted_on", "").strip() or None,
        "needs": names("needs"),
        "us": form.get("us", "").strip() or None,
        "competitors": names("competitors"),
    }
    try:
        survey = create_survey(engine, visitor.principal, data, via="web")
    except (ValidationError, ConflictError) as error:
        return _form_again(request, visitor, error, Filters(), ("survey_errors", "survey_form", form), {})
    return redirect(Filters(survey.id).url(saved="survey") + "#enter")


__all__ = ["gaps_chart", "heat", "opportunity_chart", "router", "weights_chart"]
