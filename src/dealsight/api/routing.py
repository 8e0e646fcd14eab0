"""What every API router shares: the route class that answers errors in the one shape, operation ids
taken from the handler's name, and the documented error responses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute

from dealsight.api.errors import ApiRoute, error_responses

API_V1 = "/api/v1"


def operation_id(route: APIRoute) -> str:
    """The OpenAPI operation id of a route: its handler's name (``list_opportunities``)."""
    return route.name


def new_router(tag: str) -> APIRouter:
    return APIRouter(tags=[tag], route_class=ApiRoute, generate_unique_id_function=operation_id)


def reading(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error responses of a read: no valid token (401), bad input (422), unexpected (500), ``statuses``."""
    return error_responses(401, 422, 500, *statuses)


def writing(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error responses of a write with a JSON body: those of a read, a malformed request (400), read-only
    role (403), oversized body (413), and ``statuses``."""
    return error_responses(400, 401, 403, 413, 422, 500, *statuses)


__all__ = ["API_V1", "new_router", "operation_id", "reading", "writing"]
