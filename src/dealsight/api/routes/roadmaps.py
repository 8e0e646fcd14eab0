"""``/roadmaps``, ``/roadmap-gaps`` and a deal's ``/opportunities/{id}/roadmap``: buying process roadmaps,
their gaps, and where a deal's buyer stands (:mod:`dealsight.services.roadmaps`,
:mod:`dealsight.services.deal_roadmaps`; docs/roadmaps.md).

Every role reads every roadmap; admins and managers edit them (403 for reps and executives). A product
is named by its name (any case, URL-encoded) or its roadmap's id. A deal's roadmap follows the deal's
access: outside the caller's view 404, executives read but do not record (403). Every write is recorded in
the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.analytics.roadmap_gaps import RoadmapGaps
from dealsight.api import roadmap_schemas as schemas
from dealsight.api.auth import Caller, current_caller, current_principal, engine_of
from dealsight.api.inputs import MAX_INT
from dealsight.api.routes.interviews import in_body
from dealsight.api.routing import new_router, reading, writing
from dealsight.api.schemas import render
from dealsight.domain.access import Principal
from dealsight.errors import ValidationError
from dealsight.services import deal_roadmaps as deals
from dealsight.services import roadmaps as service
from dealsight.services.deal_roadmaps import DealRoadmap

router = new_router("roadmaps")
Product = Annotated[
    str, Path(min_length=1, max_length=200, description="The product's name, or the roadmap's id.")
]
Key = Annotated[str, Path(min_length=1, max_length=60, description="The roadmap question's key.")]
Stage = Annotated[str, Path(min_length=1, max_length=20, description="A buyer stage: awareness ... value.")]
DealId = Annotated[int, Path(ge=1, le=MAX_INT, description="The deal's id.")]


def _gaps(found: RoadmapGaps) -> dict[str, Any]:
    return {
        "product": found.product,
        "total": found.total,
        "summary": found.summary(),
        "stages": found.stages,
    }


def _deal(found: DealRoadmap) -> dict[str, Any]:
    progress = found.progress
    return {
        "deal_id": found.deal_id,
        "product": found.product,
        "stage": found.stage,
        "has_roadmap": found.roadmap is not None,
        "open_here": [q.key for q in progress.open_here] if progress else [],
        "open_earlier": [q.key for q in progress.open_earlier] if progress else [],
        "items": found.items,
    }


@router.get("/roadmaps", response_model=schemas.RoadmapList, responses=reading(), summary="List roadmaps")
def list_roadmaps(
    principal: Principal = Depends(current_principal), engine: Engine = Depends(engine_of)
) -> Response:
    """Every product's roadmap: its version and how many questions it has."""
    return render(schemas.RoadmapList, service.list_roadmaps(engine))


@router.get(
    "/roadmaps/{product}", response_model=schemas.Roadmap, responses=reading(404), summary="Get a roadmap"
)
def get_roadmap(
    product: Product, principal: Principal = Depends(current_principal), engine: Engine = Depends(engine_of)
) -> Response:
    """A product's buying process roadmap: the buyer's stages with their concerns, questions, answers and
    tools, and its gaps."""
    return render(schemas.Roadmap, service.get_roadmap(engine, product))


@router.put(
    "/roadmaps/{product}",
    response_model=schemas.Roadmap,
    responses={201: {"model": schemas.Roadmap, "description": "The roadmap was created."}, **writing()},
    summary="Create or replace a roadmap",
)
def put_roadmap(
    product: Product,
    body: schemas.RoadmapIn,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The whole roadmap of a product (admins and managers): 201 when it is new, 200 when it replaces the
    stored one (questions matched by key keep the deals' records of having them answered)."""
    data = body.model_dump(exclude_none=True, mode="json")
    try:
        saved = service.replace_roadmap(engine, principal, product, data, via="api")
    except ValidationError as error:
        raise in_body(error) from None
    return render(schemas.Roadmap, saved.roadmap, 201 if saved.created else 200)


@router.post(
    "/roadmaps/{product}/questions",
    status_code=201,
    response_model=schemas.Roadmap,
    responses=writing(404),
    summary="Add a question to a roadmap",
)
def add_roadmap_question(
    product: Product,
    body: schemas.QuestionCreate,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """A new question at the end of its stage (admins and managers)."""
    try:
        saved = service.add_question(
            engine, principal, product, body.model_dump(exclude_unset=True, mode="json")
        )
    except ValidationError as error:
        raise in_body(error) from None
    return render(schemas.Roadmap, saved.roadmap, 201)


@router.patch(
    "/roadmaps/{product}/questions/{key}",
    response_model=schemas.Roadmap,
    responses=writing(404),
    summary="Change a roadmap question",
)
def update_roadmap_question(
    product: Product,
    key: Key,
    body: schemas.QuestionUpdate,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change its text, concern, answer, tools or stage (admins and managers)."""
    try:
        saved = service.update_question(
            engine, principal, product, key, body.model_dump(exclude_unset=True, mode="json")
        )
    except ValidationError as error:
        raise in_body(error) from None
    return render(schemas.Roadmap, saved.roadmap)


@router.delete(
    "/roadmaps/{product}/questions/{key}",
    status_code=204,
    response_class=Response,
    responses=reading(403, 404),
    summary="Delete a roadmap question",
)
def delete_roadmap_question(
    product: Product,
    key: Key,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Delete a question, with the deals' records of having it answered (admins and managers)."""
    service.remove_question(engine, principal, product, key)
    return Response(status_code=204)


@router.patch(
    "/roadmaps/{product}/stages/{stage}",
    response_model=schemas.Roadmap,
    responses=writing(404),
    summary="Change a roadmap stage's concerns and tools",
)
def update_roadmap_stage(
    product: Product,
    stage: Stage,
    body: schemas.StageUpdate,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change a stage of a roadmap (its concerns and tools); recorded in the audit log."""
    try:
        saved = service.update_stage(engine, principal, product, stage, body.model_dump(exclude_unset=True))
    except ValidationError as error:
        raise in_body(error) from None
    return render(schemas.Roadmap, saved.roadmap)


@router.get(
    "/roadmap-gaps",
    response_model=schemas.GapsList,
    responses=reading(404),
    summary="The gaps of the roadmaps",
)
def get_roadmap_gaps(
    params: Annotated[schemas.GapsParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Per roadmap and stage: questions with no answer, answers with no tool, stages with no tool, and
    the questions customers asked in the interviews the caller may see that the roadmap lacks."""
    found = service.gaps(engine, caller.scope, params.product)
    return render(schemas.GapsList, [_gaps(g) for g in found])


@router.get(
    "/opportunities/{opportunity_id}/roadmap",
    response_model=schemas.DealRoadmap,
    responses=reading(404),
    summary="A deal's buyer stage and open roadmap questions",
)
def get_deal_roadmap(
    opportunity_id: DealId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """The deal's buyer stage and each question of its product's roadmap, open or answered."""
    return render(schemas.DealRoadmap, _deal(deals.deal_roadmap(engine, caller.scope, opportunity_id)))


@router.put(
    "/opportunities/{opportunity_id}/roadmap/{key}",
    response_model=schemas.DealRoadmapItem,
    responses=writing(404),
    summary="Record a roadmap question answered for a deal",
)
def answer_deal_roadmap_question(
    opportunity_id: DealId,
    key: Key,
    body: schemas.DealAnswerIn,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The deal's buyer had this question answered: when, and by which tool or asset."""
    try:
        item = deals.answer_question(
            engine, caller.principal, caller.scope, opportunity_id, key, body.given(), via="api"
        )
    except ValidationError as error:
        raise in_body(error) from None
    return render(schemas.DealRoadmapItem, item)


@router.delete(
    "/opportunities/{opportunity_id}/roadmap/{key}",
    status_code=204,
    response_class=Response,
    responses=reading(403, 404),
    summary="Reopen a roadmap question for a deal",
)
def reopen_deal_roadmap_question(
    opportunity_id: DealId,
    key: Key,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Mark a roadmap question open again for a deal (it was answered); recorded in the audit log."""
    deals.reopen_question(engine, caller.principal, caller.scope, opportunity_id, key, via="api")
    return Response(status_code=204)


__all__ = ["router"]
