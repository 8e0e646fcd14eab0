"""``/surveys``: needs surveys, their analysis, and one respondent's answers
(:mod:`dealsight.services.surveys`; docs/needs.md).

Surveys are company-level: every signed-in role reads every survey and its analysis (aggregates only);
admins and managers create surveys and enter answers (403 for reps and executives). Every write is
recorded in the audit log. A problem with an answer names its field: ``body.points.<need>`` (0 to 100),
``body.points`` (they must add up to 100), ``body.ratings.<vendor>.<need>`` (0 to 10), an unknown need or
vendor by its name (422); a respondent who already answered is a conflict (409).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import survey_schemas as schemas
from dealsight.api.auth import current_principal, engine_of
from dealsight.api.errors import Error
from dealsight.api.inputs import MAX_INT
from dealsight.api.routing import new_router, reading, writing
from dealsight.api.schemas import render
from dealsight.domain.access import Principal
from dealsight.errors import FieldProblem, ValidationError
from dealsight.services import surveys as service

router = new_router("surveys")
SurveyId = Annotated[int, Path(ge=1, le=MAX_INT, description="The survey's id.")]


def _in_body(error: ValidationError) -> ValidationError:
    """The service's problems located in the request body (``points.price`` -> ``body.points.price``)."""
    problems = [FieldProblem(f"body.{p.field}", p.message) for p in error.problems]
    return ValidationError(error.message, problems)


def _analysis_responses() -> dict[int | str, dict[str, Any]]:
    answers = reading(404)
    answers[422] = {
        "model": Error,
        "description": "The input is invalid (each problem names the parameter), or no customer answered "
        "the survey for this selection (the message says so; no problem is named).",
    }
    return answers


@router.get("/surveys", response_model=schemas.SurveyPage, responses=reading(), summary="List surveys")
def list_surveys(
    params: Annotated[schemas.SurveyParams, Query()],
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Every needs survey, newest first, with how many customers and internal people answered."""
    return render(schemas.SurveyPage, service.list_surveys(engine, limit=params.limit, offset=params.offset))


@router.post(
    "/surveys",
    status_code=201,
    response_model=schemas.Survey,
    responses=writing(409),
    summary="Create a survey",
)
def create_survey(
    body: schemas.SurveyCreate,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """A new survey (admins and managers): its name, day, needs, our name and the competitors rated. A
    name already taken is a conflict (409)."""
    try:
        survey = service.create_survey(engine, principal, body.given(), via="api")
    except ValidationError as error:
        raise _in_body(error) from None
    return render(schemas.Survey, survey, 201)


@router.get(
    "/surveys/{survey_id}", response_model=schemas.Survey, responses=reading(404), summary="Get a survey"
)
def get_survey(
    survey_id: SurveyId,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """One survey's definition and how many answered it."""
    return render(schemas.Survey, service.get_survey(engine, survey_id))


@router.get(
    "/surveys/{survey_id}/analysis",
    response_model=schemas.SurveyAnalysis,
    responses=_analysis_responses(),
    summary="A survey's needs analysis",
)
def get_survey_analysis(
    survey_id: SurveyId,
    params: Annotated[schemas.AnalysisParams, Query()],
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """What customers say matters (mean points per need with bootstrap 95% intervals, by segment or
    industry), the competitor grid with weighted scores, each internal function's perception gap, the
    opportunity score per need and the flanking candidates, for the customers of `segment` / `industry`
    (all by default). Seeded: the same request gives the same intervals."""
    result = service.survey_analysis(
        engine,
        survey_id,
        segment=params.segment,
        industry=params.industry,
        by=params.by,
        resamples=params.resamples,
        seed=params.seed,
    )
    return render(schemas.SurveyAnalysis, result)


@router.post(
    "/surveys/{survey_id}/responses",
    status_code=201,
    response_model=schemas.Respondent,
    responses=writing(404, 409),
    summary="Enter one respondent's answers",
)
def create_survey_response(
    survey_id: SurveyId,
    body: schemas.ResponseCreate,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """One respondent's 100 points across the needs and ratings of the vendors (admins and managers). A
    respondent who already answered the survey is a conflict (409); re-import the survey file to replace
    answers."""
    try:
        stored = service.add_response(
            engine, principal, survey_id, body.model_dump(exclude_unset=True), via="api"
        )
    except ValidationError as error:
        raise _in_body(error) from None
    return render(schemas.Respondent, stored, 201)
