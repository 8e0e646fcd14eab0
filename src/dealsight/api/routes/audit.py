"""``/audit``: the whole audit log, for admins (:func:`dealsight.services.audit.audit_log`). The trail of
one record is under the record (``/opportunities/{id}/audit``, ...) for whoever can see it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import schemas
from dealsight.api.auth import current_principal, engine_of
from dealsight.api.inputs import AuditParams
from dealsight.api.routing import new_router, reading
from dealsight.api.schemas import render
from dealsight.domain.access import Principal
from dealsight.services.audit import audit_log

router = new_router("audit")


@router.get("/audit", response_model=schemas.AuditPage, responses=reading(403), summary="The audit log")
def get_audit_log(
    params: Annotated[AuditParams, Query()],
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Every recorded change, newest first, filtered by record, actor and days (admins only)."""
    return render(schemas.AuditPage, audit_log(engine, principal, **params.model_dump()))
