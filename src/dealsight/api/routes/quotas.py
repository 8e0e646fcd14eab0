"""``/quotas``: reps' and teams' targets per period (:mod:`dealsight.services.quotas`).

A rep reads their own quotas, a manager those of everyone below them and of the teams they lead, an
executive and an admin all; only an admin creates, changes or deletes one (403 for anyone else). A quota
outside the caller's view is *not found* (404). Every change is recorded in the audit log (entity
``quota``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import quota_schemas as schemas
from dealsight.api.auth import current_principal, engine_of
from dealsight.api.inputs import MAX_INT
from dealsight.api.routing import new_router, reading, writing
from dealsight.api.schemas import render
from dealsight.domain.access import Principal
from dealsight.services import quotas as service

router = new_router("quotas")
QuotaId = Annotated[int, Path(ge=1, le=MAX_INT, description="The quota's id.")]


@router.get("/quotas", response_model=schemas.QuotaPage, responses=reading(), summary="List quotas")
def list_quotas(
    params: Annotated[schemas.QuotaParams, Query()],
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """One page of the quotas the caller may read, optionally of one rep or team and of periods
    overlapping `period_from` .. `period_to`."""
    query = service.QuotaQuery(**params.model_dump())
    return render(schemas.QuotaPage, service.list_quotas(engine, principal, query))


@router.post(
    "/quotas",
    status_code=201,
    response_model=schemas.Quota,
    responses=writing(409),
    summary="Create a quota",
)
def create_quota(
    body: schemas.QuotaCreate,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Set a rep's or a team's target for a period (admins only). A second quota of the same owner and
    period is a conflict (409): change the first instead."""
    quota = service.create_quota(engine, principal, body.given(), via="api")
    return render(schemas.Quota, quota, 201)


@router.get("/quotas/{quota_id}", response_model=schemas.Quota, responses=reading(404), summary="Get a quota")
def get_quota(
    quota_id: QuotaId, principal: Principal = Depends(current_principal), engine: Engine = Depends(engine_of)
) -> Response:
    """One quota, if the caller may read it."""
    return render(schemas.Quota, service.get_quota(engine, principal, quota_id))


@router.patch(
    "/quotas/{quota_id}",
    response_model=schemas.Quota,
    responses=writing(404, 409),
    summary="Change a quota",
)
def update_quota(
    quota_id: QuotaId,
    body: schemas.QuotaUpdate,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change the fields sent (admins only); recorded in the audit log."""
    return render(schemas.Quota, service.update_quota(engine, principal, quota_id, body.given(), via="api"))


@router.delete(
    "/quotas/{quota_id}",
    status_code=204,
    response_class=Response,
    responses=reading(403, 404),
    summary="Delete a quota",
)
def delete_quota(
    quota_id: QuotaId, principal: Principal = Depends(current_principal), engine: Engine = Depends(engine_of)
) -> Response:
    """Delete a quota (admins only); the audit log keeps its last values."""
    service.delete_quota(engine, principal, quota_id, via="api")
    return Response(status_code=204)
