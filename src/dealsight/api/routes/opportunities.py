"""``/opportunities``: the pipeline list, one deal with its history, qualification and audit trail, and
creating and changing deals (:mod:`dealsight.services.opportunities`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import schemas
from dealsight.api.auth import Caller, current_caller, engine_of
from dealsight.api.inputs import (
    MAX_INT,
    OpportunityCreate,
    OpportunityParams,
    OpportunityUpdate,
    Paging,
    QualificationAnswer,
)
from dealsight.api.routing import new_router, reading, writing
from dealsight.api.schemas import render
from dealsight.services import opportunities as deals
from dealsight.services.audit import audit_trail

router = new_router("opportunities")
DealId = Annotated[int, Path(ge=1, le=MAX_INT, description="The deal's id.")]


@router.get(
    "/opportunities",
    response_model=schemas.OpportunityPage,
    responses=reading(),
    summary="List deals",
)
def list_opportunities(
    params: Annotated[OpportunityParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """One page of the deals the caller can see that match the filters (open deals by default). A rep sees
    their own deals, a manager those of everyone below them, executives and admins all."""
    query = deals.OpportunityQuery(**params.model_dump())
    return render(schemas.OpportunityPage, deals.list_opportunities(engine, caller.scope, query))


@router.post(
    "/opportunities",
    status_code=201,
    response_model=schemas.OpportunityDetail,
    responses=writing(),
    summary="Create a deal",
)
def create_opportunity(
    body: OpportunityCreate, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """Create a deal; it belongs to the caller unless `owner_id` names someone inside their view. Recorded
    in the audit log."""
    detail = deals.create_opportunity(engine, caller.principal, caller.scope, body.given(), "api")
    return render(schemas.OpportunityDetail, detail, 201)


@router.get(
    "/opportunities/{opportunity_id}",
    response_model=schemas.OpportunityDetail,
    responses=reading(404),
    summary="Get a deal",
)
def get_opportunity(
    opportunity_id: DealId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """Everything about one deal: its fields, contacts, history, newest activities and qualification."""
    return render(schemas.OpportunityDetail, deals.get_opportunity(engine, caller.scope, opportunity_id))


@router.patch(
    "/opportunities/{opportunity_id}",
    response_model=schemas.OpportunityDetail,
    responses=writing(404),
    summary="Change a deal",
)
def update_opportunity(
    opportunity_id: DealId,
    body: OpportunityUpdate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change the fields sent (`null` clears one). A change of stage, amount, close date or forecast
    category is kept in the deal's history; every change is recorded in the audit log. Moving a deal to a
    closed stage sets its outcome and closed date."""
    detail = deals.update_opportunity(
        engine, caller.principal, caller.scope, opportunity_id, body.given(), "api"
    )
    return render(schemas.OpportunityDetail, detail)


@router.get(
    "/opportunities/{opportunity_id}/history",
    response_model=schemas.History,
    responses=reading(404),
    summary="A deal's history",
)
def get_opportunity_history(
    opportunity_id: DealId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """The recorded changes of the deal's stage, amount, expected close date and forecast category, oldest
    first."""
    detail = deals.get_opportunity(engine, caller.scope, opportunity_id)
    return render(schemas.History, {"items": detail.history})


@router.get(
    "/opportunities/{opportunity_id}/qualification",
    response_model=schemas.Qualification,
    responses=reading(404),
    summary="A deal's qualification answers",
)
def get_opportunity_qualification(
    opportunity_id: DealId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """The questions of the deal's question set (its owner's team's) with the deal's answers."""
    detail = deals.get_opportunity(engine, caller.scope, opportunity_id)
    return render(schemas.Qualification, {"question_set": detail.question_set, "items": detail.qualification})


@router.put(
    "/opportunities/{opportunity_id}/qualification/{question_id}",
    response_model=schemas.QualificationItem,
    responses=writing(404),
    summary="Answer a qualification question",
)
def answer_qualification_question(
    opportunity_id: DealId,
    question_id: Annotated[int, Path(ge=1, le=MAX_INT, description="A question of the deal's set.")],
    body: QualificationAnswer,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Answer a question of the deal's question set (`yes`, `no`, `unknown`), or withdraw the answer
    (`null`). Recorded in the audit log as field `qualification:<question key>`."""
    item = deals.set_qualification_answer(
        engine,
        caller.principal,
        caller.scope,
        opportunity_id,
        question_id,
        body.answer,
        "api",
        note=body.note,
    )
    return render(schemas.QualificationItem, item)


@router.get(
    "/opportunities/{opportunity_id}/audit",
    response_model=schemas.AuditPage,
    responses=reading(404),
    summary="A deal's audit trail",
)
def get_opportunity_audit(
    opportunity_id: DealId,
    params: Annotated[Paging, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Every recorded change of the deal, newest first: who, when, from where, old and new values."""
    page = audit_trail(
        engine, caller.scope, "opportunity", opportunity_id, limit=params.limit, offset=params.offset
    )
    return render(schemas.AuditPage, page)
