"""``/accounts``: customers and prospects the caller can see (:mod:`dealsight.services.account_records`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import schemas
from dealsight.api.auth import Caller, current_caller, engine_of
from dealsight.api.inputs import MAX_INT, AccountCreate, AccountParams, AccountUpdate, Paging
from dealsight.api.routing import new_router, reading, writing
from dealsight.api.schemas import render
from dealsight.services import account_records as records
from dealsight.services.audit import audit_trail

router = new_router("accounts")
AccountId = Annotated[int, Path(ge=1, le=MAX_INT, description="The account's id.")]


@router.get("/accounts", response_model=schemas.AccountPage, responses=reading(), summary="List accounts")
def list_accounts(
    params: Annotated[AccountParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """One page of the accounts the caller can see (those they own or have a visible deal with; merged
    accounts left out), with their visible open deals counted."""
    query = records.AccountQuery(**params.model_dump())
    return render(schemas.AccountPage, records.list_accounts(engine, caller.scope, query))


@router.post(
    "/accounts",
    status_code=201,
    response_model=schemas.AccountDetail,
    responses=writing(),
    summary="Create an account",
)
def create_account(
    body: AccountCreate, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """Create an account, owned by the caller unless `owner_id` names someone inside their view."""
    detail = records.create_account(engine, caller.principal, caller.scope, body.given(), "api")
    return render(schemas.AccountDetail, detail, 201)


@router.get(
    "/accounts/{account_id}",
    response_model=schemas.AccountDetail,
    responses=reading(404),
    summary="Get an account",
)
def get_account(
    account_id: AccountId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """The account with its parent and children, contacts, and the deals the caller can see with their
    totals (won, lost, no decision)."""
    return render(schemas.AccountDetail, records.get_account(engine, caller.scope, account_id))


@router.patch(
    "/accounts/{account_id}",
    response_model=schemas.AccountDetail,
    responses=writing(404),
    summary="Change an account",
)
def update_account(
    account_id: AccountId,
    body: AccountUpdate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change the fields sent (`null` clears one); recorded in the audit log. Only someone whose view
    covers the current owner may give the account to another owner."""
    detail = records.update_account(engine, caller.principal, caller.scope, account_id, body.given(), "api")
    return render(schemas.AccountDetail, detail)


@router.get(
    "/accounts/{account_id}/audit",
    response_model=schemas.AuditPage,
    responses=reading(404),
    summary="An account's audit trail",
)
def get_account_audit(
    account_id: AccountId,
    params: Annotated[Paging, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Every recorded change of the account, newest first."""
    page = audit_trail(engine, caller.scope, "account", account_id, limit=params.limit, offset=params.offset)
    return render(schemas.AuditPage, page)
