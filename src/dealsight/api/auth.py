"""Who is calling: the API's dependencies for the engine, the caller's principal and their scope.

Every API route except ``/health`` and the OpenAPI document needs ``Authorization: Bearer ds_...`` (a
personal API token, see docs/users.md). The token is resolved by
:func:`dealsight.services.auth.principal_for_token` (one indexed read) and the scope by
:func:`dealsight.services.access.scope_of` (no query for admins, executives and reps; two narrow queries
for a manager), once per request: FastAPI caches a dependency within a request, and :func:`current_caller`
does both in one step so that a request pays a single hop to the thread pool for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from dealsight.api.errors import TokenRejected, refuse_unknown_query
from dealsight.domain.access import Principal, Scope
from dealsight.errors import AuthenticationError
from dealsight.services.access import scope_of
from dealsight.services.auth import principal_for_token

bearer = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="ds_<prefix>_<secret>",
    description="A personal API token (`dealsight tokens create EMAIL --name NAME`), sent as "
    "`Authorization: Bearer ds_...`. It acts as its user, with the user's role and view.",
    auto_error=False,
)
SIGN_IN = "sign in: send a personal API token as the header Authorization: Bearer ds_..."


@dataclass(frozen=True)
class Caller:
    """The signed-in user of a request and the records they may see."""

    principal: Principal
    scope: Scope


async def engine_of(request: Request) -> Engine:
    """The database of the app (set by :func:`dealsight.api.app.create_app`)."""
    engine: Engine = request.app.state.engine
    return engine


def _principal(engine: Engine, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None:
        raise AuthenticationError(SIGN_IN)
    try:
        return principal_for_token(engine, credentials.credentials)
    except AuthenticationError as error:
        raise TokenRejected(error.message) from None


def current_principal(
    request: Request,
    engine: Engine = Depends(engine_of),
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Principal:
    """The caller; :class:`AuthenticationError` (401) without a valid token. Then query parameters the
    route does not take are refused (422): after sign-in, so an anonymous caller learns nothing."""
    principal = _principal(engine, credentials)
    refuse_unknown_query(request)
    return principal


def current_caller(
    request: Request,
    engine: Engine = Depends(engine_of),
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Caller:
    """The caller and their scope, computed once for the request (query parameters checked as by
    :func:`current_principal`)."""
    principal = _principal(engine, credentials)
    refuse_unknown_query(request)
    return Caller(principal, scope_of(engine, principal))


__all__ = ["Caller", "bearer", "current_caller", "current_principal", "engine_of"]
