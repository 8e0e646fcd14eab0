"""``/contacts``: people at the accounts the caller can see (:mod:`dealsight.services.account_records`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import schemas
from dealsight.api.auth import Caller, current_caller, engine_of
from dealsight.api.inputs import MAX_INT, ContactCreate, ContactParams, ContactUpdate, Paging
from dealsight.api.routing import new_router, reading, writing
from dealsight.api.schemas import render
from dealsight.services import account_records as records
from dealsight.services.audit import audit_trail

router = new_router("contacts")
ContactId = Annotated[int, Path(ge=1, le=MAX_INT, description="The contact's id.")]


@router.get("/contacts", response_model=schemas.ContactPage, responses=reading(), summary="List contacts")
def list_contacts(
    params: Annotated[ContactParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """One page of the contacts of the accounts the caller can see."""
    query = records.ContactQuery(**params.model_dump())
    return render(schemas.ContactPage, records.list_contacts(engine, caller.scope, query))


@router.post(
    "/contacts",
    status_code=201,
    response_model=schemas.ContactDetail,
    responses=writing(),
    summary="Create a contact",
)
def create_contact(
    body: ContactCreate, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """Add a contact to an account the caller can see; recorded in the audit log."""
    detail = records.create_contact(engine, caller.principal, caller.scope, body.given(), "api")
    return render(schemas.ContactDetail, detail, 201)


@router.get(
    "/contacts/{contact_id}",
    response_model=schemas.ContactDetail,
    responses=reading(404),
    summary="Get a contact",
)
def get_contact(
    contact_id: ContactId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """One contact with the visible deals they take part in (and their role in each)."""
    return render(schemas.ContactDetail, records.get_contact(engine, caller.scope, contact_id))


@router.patch(
    "/contacts/{contact_id}",
    response_model=schemas.ContactDetail,
    responses=writing(404),
    summary="Change a contact",
)
def update_contact(
    contact_id: ContactId,
    body: ContactUpdate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change the fields sent (`null` clears one); moving a contact needs an account the caller can see."""
    detail = records.update_contact(engine, caller.principal, caller.scope, contact_id, body.given(), "api")
    return render(schemas.ContactDetail, detail)


@router.get(
    "/contacts/{contact_id}/audit",
    response_model=schemas.AuditPage,
    responses=reading(404),
    summary="A contact's audit trail",
)
def get_contact_audit(
    contact_id: ContactId,
    params: Annotated[Paging, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Every recorded change of the contact, newest first."""
    page = audit_trail(engine, caller.scope, "contact", contact_id, limit=params.limit, offset=params.offset)
    return render(schemas.AuditPage, page)
