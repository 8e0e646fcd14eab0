"""``/activities``: calls, e-mails, meetings, demos and notes the caller can see
(:mod:`dealsight.services.activities`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import schemas
from dealsight.api.auth import Caller, current_caller, engine_of
from dealsight.api.inputs import MAX_INT, ActivityCreate, ActivityParams, ActivityUpdate, Paging
from dealsight.api.routing import new_router, reading, writing
from dealsight.api.schemas import render
from dealsight.services import activities as service
from dealsight.services.audit import audit_trail

router = new_router("activities")
ActivityId = Annotated[int, Path(ge=1, le=MAX_INT, description="The activity's id.")]


@router.get(
    "/activities", response_model=schemas.ActivityPage, responses=reading(), summary="List activities"
)
def list_activities(
    params: Annotated[ActivityParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """One page of the activities the caller can see (theirs, or on a deal they can see), newest first by
    default."""
    query = service.ActivityQuery(**params.model_dump())
    return render(schemas.ActivityPage, service.list_activities(engine, caller.scope, query))


@router.post(
    "/activities",
    status_code=201,
    response_model=schemas.Activity,
    responses=writing(),
    summary="Log an activity",
)
def create_activity(
    body: ActivityCreate, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """Log an activity on a deal, an account or both (a deal alone brings its account); its user is the
    caller unless `user_id` says otherwise. Recorded in the audit log."""
    record = service.create_activity(engine, caller.principal, caller.scope, body.given(), "api")
    return render(schemas.Activity, record, 201)


@router.get(
    "/activities/{activity_id}",
    response_model=schemas.Activity,
    responses=reading(404),
    summary="Get an activity",
)
def get_activity(
    activity_id: ActivityId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """One activity with its contacts."""
    return render(schemas.Activity, service.get_activity(engine, caller.scope, activity_id))


@router.patch(
    "/activities/{activity_id}",
    response_model=schemas.Activity,
    responses=writing(404),
    summary="Correct an activity",
)
def update_activity(
    activity_id: ActivityId,
    body: ActivityUpdate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change the fields sent (`null` clears one); recorded in the audit log."""
    record = service.update_activity(engine, caller.principal, caller.scope, activity_id, body.given(), "api")
    return render(schemas.Activity, record)


@router.get(
    "/activities/{activity_id}/audit",
    response_model=schemas.AuditPage,
    responses=reading(404),
    summary="An activity's audit trail",
)
def get_activity_audit(
    activity_id: ActivityId,
    params: Annotated[Paging, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Every recorded change of the activity, newest first."""
    page = audit_trail(
        engine, caller.scope, "activity", activity_id, limit=params.limit, offset=params.offset
    )
    return render(schemas.AuditPage, page)
