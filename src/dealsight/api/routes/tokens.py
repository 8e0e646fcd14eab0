"""``/tokens``: the caller's personal API tokens (:mod:`dealsight.services.auth`).

A user lists, creates and revokes their own tokens; an admin may name another user (``user_id``). A
token's secret is in the answer to its creation only. Creating and revoking are recorded in the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import schemas
from dealsight.api.auth import current_principal, engine_of
from dealsight.api.inputs import MAX_INT, TokenCreate, TokenParams
from dealsight.api.routes.people import page_of
from dealsight.api.routing import new_router, reading, writing
from dealsight.api.schemas import render
from dealsight.domain.access import Principal
from dealsight.services import auth as service

router = new_router("tokens")


@router.get("/tokens", response_model=schemas.ApiTokenPage, responses=reading(403), summary="List API tokens")
def list_tokens(
    params: Annotated[TokenParams, Query()],
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The caller's API tokens, revoked ones too, oldest first (never their secrets)."""
    tokens = service.list_api_tokens(engine, principal, params.user_id or principal.user_id)
    return render(schemas.ApiTokenPage, page_of(tokens, params.limit, params.offset))


@router.post(
    "/tokens",
    status_code=201,
    response_model=schemas.NewApiToken,
    responses=writing(404, 409),
    summary="Create an API token",
)
def create_token(
    body: TokenCreate, principal: Principal = Depends(current_principal), engine: Engine = Depends(engine_of)
) -> Response:
    """Issue a new API token for the caller. The answer holds the token itself, shown this once: send it
    as `Authorization: Bearer <token>`."""
    issued = service.create_api_token(
        engine, principal, body.user_id or principal.user_id, body.name, via="api"
    )
    return render(schemas.NewApiToken, issued, 201)


@router.delete(
    "/tokens/{token_id}",
    response_model=schemas.ApiToken,
    responses=reading(404),
    summary="Revoke an API token",
)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_INT, description="The token's id (not its secret).")],
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Revoke one of the caller's tokens for good; it stops working at once. Revoking a revoked token
    changes nothing."""
    return render(schemas.ApiToken, service.revoke_api_token(engine, principal, token_id, via="api"))
