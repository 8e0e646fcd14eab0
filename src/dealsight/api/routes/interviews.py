"""``/interview-guide``, ``/interviews`` and ``/interview-answers``: the interview guide, customer
interviews and searching what customers said (:mod:`dealsight.services.interviews`,
:mod:`dealsight.services.interview_guides`; docs/interviews.md).

Every role reads the guide; admins and managers edit it (403 for reps and executives). Interviews and
their answers are seen by whoever sees the contact interviewed (a rep the contacts of their accounts, a
manager their team's, executives and admins everyone's); an interview outside the caller's view is 404.
Recording one needs a role that writes (403 for executives). Every write is recorded in the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import interview_schemas as schemas
from dealsight.api.auth import Caller, current_caller, current_principal, engine_of
from dealsight.api.inputs import MAX_INT
from dealsight.api.routing import new_router, reading, writing
from dealsight.api.schemas import render
from dealsight.domain.access import Principal
from dealsight.errors import FieldProblem, ValidationError
from dealsight.services import interview_guides as guides
from dealsight.services import interviews as service

router = new_router("interviews")
InterviewId = Annotated[int, Path(ge=1, le=MAX_INT, description="The interview's id.")]
QuestionKey = Annotated[str, Path(max_length=60, description="The guide question's key.")]


def in_body(error: ValidationError) -> ValidationError:
    """The service's problems located in the request body (``answers[2].tags`` ->
    ``body.answers[2].tags``)."""
    problems = [FieldProblem(f"body.{p.field}", p.message) for p in error.problems]
    return ValidationError(error.message, problems)


@router.get(
    "/interview-guide", response_model=schemas.Guide, responses=reading(404), summary="The interview guide"
)
def get_interview_guide(
    params: Annotated[schemas.GuideParams, Query()],
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The guide's questions in the order they are asked, retired ones included (version 0: the shipped
    guide, not edited yet)."""
    return render(schemas.Guide, guides.get_guide(engine, params.guide))


@router.post(
    "/interview-guide/questions",
    status_code=201,
    response_model=schemas.Guide,
    responses=writing(404),
    summary="Add a question to the interview guide",
)
def add_interview_question(
    body: schemas.GuideQuestionCreate,
    params: Annotated[schemas.GuideParams, Query()],
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """A new question (admins and managers): a new version of the guide."""
    try:
        guide = guides.add_guide_question(engine, principal, body.given(), params.guide, via="api")
    except ValidationError as error:
        raise in_body(error) from None
    return render(schemas.Guide, guide, 201)


@router.patch(
    "/interview-guide/questions/{key}",
    response_model=schemas.Guide,
    responses=writing(404),
    summary="Change a question of the interview guide",
)
def change_interview_question(
    key: QuestionKey,
    body: schemas.GuideQuestionUpdate,
    params: Annotated[schemas.GuideParams, Query()],
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Reword, re-topic, move, retire or bring back a question (admins and managers). Answers already
    given keep the wording that was asked; a retired question keeps its answers."""
    try:
        guide = guides.change_guide_question(engine, principal, key, body.given(), params.guide, via="api")
    except ValidationError as error:
        raise in_body(error) from None
    return render(schemas.Guide, guide)


@router.get(
    "/interviews", response_model=schemas.InterviewPage, responses=reading(), summary="List interviews"
)
def list_interviews(
    params: Annotated[schemas.InterviewParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The interviews the caller may see, newest first, with their answers."""
    query = service.InterviewQuery(**params.model_dump())
    return render(schemas.InterviewPage, service.list_interviews(engine, caller.scope, query))


@router.post(
    "/interviews",
    status_code=201,
    response_model=schemas.Interview,
    responses=writing(409),
    summary="Record an interview",
)
def create_interview(
    body: schemas.InterviewCreate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """One interview of a contact the caller may see, with its answers to the guide's questions."""
    data = body.model_dump(exclude_unset=True)
    try:
        stored = service.record_interview(engine, caller.principal, caller.scope, data, via="api")
    except ValidationError as error:
        raise in_body(error) from None
    return render(schemas.Interview, stored, 201)


@router.get(
    "/interviews/{interview_id}",
    response_model=schemas.Interview,
    responses=reading(404),
    summary="Get an interview",
)
def get_interview(
    interview_id: InterviewId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """One customer interview with its answers, if the caller can see its contact."""
    return render(schemas.Interview, service.get_interview(engine, caller.scope, interview_id))


@router.get(
    "/interview-answers",
    response_model=schemas.AnswerPage,
    responses=reading(),
    summary="Search what customers said",
)
def search_interview_answers(
    params: Annotated[schemas.AnswerParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Answers in the interviews the caller may see containing every word of `text` (any case), filtered
    by question, topic, tag, segment, account, contact, deal and days; newest interviews first."""
    query = service.AnswerQuery(**params.model_dump())
    return render(schemas.AnswerPage, service.search_answers(engine, caller.scope, query))


__all__ = ["in_body", "router"]
