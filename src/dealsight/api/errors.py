"""The one JSON error shape of the API, and everything that turns a failure into it.

Every error answer of the API, whatever went wrong, is::

    {"status": 422, "message": "amount: must not be negative, got -5",
     "problems": [{"field": "body.amount", "message": "must not be negative, got -5"}]}

``problems`` names each input at fault (``body.<field>``, ``query.<param>``, ``path.<param>``; a problem
of the request as a whole names ``body``) and is empty when no single input is to blame.

Decisions:

- **Where errors are caught.** API routes use :class:`ApiRoute`, which catches every exception raised
  while handling a request (dependencies, request validation, the handler) and answers in this shape. The
  API therefore keeps its shape whatever exception handlers the web pages install on the same app. Unknown
  paths and methods under ``/api`` reach :func:`no_such_route` (404, or 405 with ``Allow``), and
  :func:`install_fallback_handlers` gives the rest of the app (``/health``, ``/openapi.json``) the same
  shape unless the pages install their own.
- **The error tree** maps to statuses as ``dealsight.errors`` promises: authentication 401 (with
  ``WWW-Authenticate: Bearer``), permission 403, not found 404, conflict 409, validation 422, too little
  data for what was asked (:class:`InsufficientDataError`, e.g. analytics of an empty selection) 422 with
  its message and no problems, any other :class:`DealsightError` 400. A service's problems name bare
  fields (``amount``); they are given the location of the route's input of that name (``body.amount``,
  ``query.sort``), so a client sees the same names for a type error found by the request model and for a
  rule broken in the service.
- **Unexpected exceptions** are logged with their traceback (logger ``dealsight.api``) and answered 500
  with a generic message: never a stack trace to the client.
- **Oversized bodies**: :class:`BodyLimit` refuses a body over :data:`MAX_BODY_BYTES` (1 MiB) by its
  ``Content-Length`` before the app runs, and while the body streams in when there is no length (chunked
  upload), before anything is parsed; the answer is 413.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dealsight.errors import (
    AuthenticationError,
    ConflictError,
    DealsightError,
    InsufficientDataError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from dealsight.errors import FieldProblem as InputProblem

logger = logging.getLogger("dealsight.api")

MAX_BODY_BYTES = 1024 * 1024
API_PREFIX = "/api/"
INTERNAL = "internal error: the server could not complete the request (it has been logged)"
STATUS_OF: tuple[tuple[type[DealsightError], int], ...] = (
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (ValidationError, 422),
    (InsufficientDataError, 422),
)


# the shape -------------------------------------------------------------------------------------------------
class FieldProblem(BaseModel):
    """One input at fault and what is wrong with it."""

    field: str = Field(
        description="The input: `body.<field>` (a JSON body field, `body.competitors.0` inside a list), "
        "`query.<param>`, `path.<param>`, `header.<name>`, or `body` for the body as a whole."
    )
    message: str = Field(description="What is wrong, in plain words.")


class Error(BaseModel):
    """The one shape of every error answer of the API."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": 422,
                    "message": "amount: must not be negative, got -5",
                    "problems": [{"field": "body.amount", "message": "must not be negative, got -5"}],
                },
                {"status": 404, "message": "no opportunity with id 4242", "problems": []},
            ]
        },
    )

    status: int = Field(description="The HTTP status code, repeated.")
    message: str = Field(description="What went wrong, in plain words.")
    problems: list[FieldProblem] = Field(
        default_factory=list, description="Each input at fault; empty when no single input is to blame."
    )


DESCRIPTIONS = {
    400: "The request cannot be carried out (a malformed request or a rule of the data).",
    401: "No valid API token: send `Authorization: Bearer ds_...`.",
    403: "Signed in, but the role may not do this (an executive writing, a non-admin managing users).",
    404: "No such record, or one outside the caller's view (the two are not told apart).",
    405: "The path exists but not with this method.",
    409: "The change conflicts with the data (a taken e-mail or team name, the last admin).",
    413: "The request body is larger than 1 MiB.",
    422: "The input is invalid: each problem names the field.",
    500: "An unexpected error; it has been logged.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route for these error statuses, each with the one error schema."""
    return {status: {"model": Error, "description": DESCRIPTIONS[status]} for status in sorted(set(statuses))}


def error_response(
    status: int,
    message: str,
    problems: Iterable[tuple[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {
        "status": status,
        "message": message,
        "problems": [{"field": field, "message": text} for field, text in problems],
    }
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


class TokenRejected(AuthenticationError):
    """A token was sent but is malformed, unknown, revoked or its user deactivated."""


# from exceptions -------------------------------------------------------------------------------------------
Locations = Mapping[str, str]
"""A route's input names -> their location (``body``, ``query``, ``path``)."""


def _located(field: str, locations: Locations) -> str:
    where = locations.get(field)
    return f"{where}.{field}" if where else field


def from_dealsight_error(error: DealsightError, locations: Locations = {}) -> JSONResponse:  # noqa: B006
    status = next((code for kind, code in STATUS_OF if isinstance(error, kind)), 400)
    problems: list[tuple[str, str]] = []
    if isinstance(error, ValidationError):
        problems = [(_located(p.field, locations), p.message) for p in error.problems]
    headers = {}
    if isinstance(error, AuthenticationError):
        rejected = ', error="invalid_token"' if isinstance(error, TokenRejected) else ""
        headers["WWW-Authenticate"] = f'Bearer realm="dealsight"{rejected}'
    return error_response(status, error.message, problems, headers)


_READABLE = {
    "missing": "a value is required",
    "extra_forbidden": "unknown field: not a field you can set here",
}


def _field_name(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def from_validation_error(error: RequestValidationError) -> JSONResponse:
    """FastAPI's request validation error: one problem per error, the field named from its ``loc``."""
    problems: list[tuple[str, str]] = []
    for item in error.errors():
        loc = tuple(item.get("loc", ()))
        kind = item.get("type", "")
        if kind == "json_invalid":
            detail = item.get("ctx", {}).get("error", "invalid JSON")
            where = f" at character {loc[1]}" if len(loc) > 1 else ""
            problems.append(("body", f"malformed JSON: {detail}{where}"))
        elif loc == ("body",) and kind == "missing":
            problems.append(("body", "a JSON body is required"))
        elif loc == ("body",) and isinstance(item.get("input"), bytes):  # not parsed: not sent as JSON
            problems.append(("body", "expected a JSON object (send it with Content-Type: application/json)"))
        elif loc == ("body",) and kind in ("model_attributes_type", "dict_type"):
            problems.append(("body", "expected a JSON object"))
        elif loc and loc[0] == "query" and kind == "extra_forbidden":
            problems.append((_field_name(loc), "unknown parameter"))
        else:
            problems.append((_field_name(loc), _READABLE.get(kind, str(item.get("msg", "invalid value")))))
    message = "invalid request: " + "; ".join(f"{field}: {text}" for field, text in problems)
    return error_response(422, message, problems)


def from_http_exception(error: HTTPException, request: Request | None = None) -> Response:
    if error.status_code < 400:
        return Response(status_code=error.status_code, headers=error.headers)
    message = error.detail if isinstance(error.detail, str) else "the request cannot be carried out"
    if request is not None and error.status_code == 404 and message == "Not Found":
        message = f"nothing at {request.url.path}"
    elif request is not None and error.status_code == 405 and message == "Method Not Allowed":
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(error.status_code, message, (), error.headers)


def internal_error(request: Request, error: BaseException) -> JSONResponse:
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return error_response(500, INTERNAL)


def response_for(error: Exception, request: Request, locations: Locations = {}) -> Response:  # noqa: B006
    """The error answer for any exception raised while handling ``request``."""
    if isinstance(error, DealsightError):
        return from_dealsight_error(error, locations)
    if isinstance(error, RequestValidationError):
        return from_validation_error(error)
    if isinstance(error, HTTPException):
        return from_http_exception(error, request)
    return internal_error(request, error)


# API routes ------------------------------------------------------------------------------------------------
def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for inner in dependant.dependencies:
        yield from _dependants(inner)


def _input_locations(route: APIRoute) -> dict[str, str]:
    """Where each input of ``route`` comes from: ``{"amount": "body", "sort": "query", ...}``."""
    found: dict[str, str] = {}
    for dependant in _dependants(route.dependant):
        for params, where in (
            (dependant.body_params, "body"),
            (dependant.query_params, "query"),
            (dependant.path_params, "path"),
        ):
            for param in params:
                kind = param.field_info.annotation
                if isinstance(kind, type) and issubclass(kind, BaseModel):
                    found.update(dict.fromkeys(kind.model_fields, where))
                else:
                    found[param.alias or param.name] = where
    return found


class ApiRoute(APIRoute):
    """An API route whose every failure is answered in the one error shape (see the module docstring)."""

    query_names: frozenset[str] = frozenset()
    """The query parameters the route takes (any other is refused, see :func:`refuse_unknown_query`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        locations = _input_locations(self)
        self.query_names = frozenset(name for name, where in locations.items() if where == "query")

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:
                return response_for(error, request, locations)

        return guarded


def refuse_unknown_query(request: Request) -> None:
    """A :class:`ValidationError` naming each query parameter the request's route does not take (as list
    routes refuse through their parameter models), so that a misspelt parameter is never ignored."""
    route = request.scope.get("route")
    if not isinstance(route, ApiRoute):
        return
    unknown = sorted({name for name in request.query_params if name not in route.query_names})
    if unknown:
        problems = [InputProblem(f"query.{name}", "unknown parameter") for name in unknown]
        raise ValidationError("; ".join(f"{p.field}: {p.message}" for p in problems), problems)


ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_PATH_PARAM = re.compile(r"\{[^/{}]+\}")


def _route_table(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each documented path as a pattern, with its methods (read once from the OpenAPI document)."""
    table: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(app.state, "api_route_table", None)
    if table is None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            literal = [re.escape(part) for part in _PATH_PARAM.split(template)]
            pattern = re.compile("[^/]+".join(literal))
            methods = frozenset(m.upper() for m in operations if m.upper() in ALL_METHODS)
            table.append((pattern, methods))
        app.state.api_route_table = table
    return table


async def no_such_route(request: Request) -> Response:
    """A path under ``/api`` that no route answers: 404, or 405 (with ``Allow``) for a wrong method."""
    path = request.url.path
    allowed = sorted(
        {m for pattern, methods in _route_table(request.app) if pattern.fullmatch(path) for m in methods}
    )
    if allowed:
        methods = ", ".join(allowed)
        return error_response(
            405, f"{request.method} is not allowed on {path}; use {methods}", headers={"Allow": methods}
        )
    return error_response(
        404, f"no API route {request.method} {path}; the routes are listed in /openapi.json"
    )


def install_fallback_handlers(app: FastAPI) -> None:
    """The error shape for what API routes do not catch themselves (``/health``, ``/openapi.json``,
    unknown paths outside ``/api``); the web pages may replace these for their own paths."""

    async def on_error(request: Request, error: Exception) -> Response:
        return response_for(error, request)

    for kind in (DealsightError, RequestValidationError, HTTPException, Exception):
        app.add_exception_handler(kind, on_error)


# oversized bodies ------------------------------------------------------------------------------------------
class PayloadTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"the request body is larger than {limit // 1024} KiB; send at most {limit} bytes"
        )


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes under ``prefix`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES, prefix: str = API_PREFIX) -> None:
        self.app = app
        self.limit = limit
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            answer = error_response(400, "the Content-Length header is not a number of bytes")
            await answer(scope, receive, send)
            return
        if declared is not None and declared > self.limit:
            await from_http_exception(PayloadTooLarge(self.limit))(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise PayloadTooLarge(self.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except PayloadTooLarge as error:  # read outside an API route (which answers it itself)
            if started:
                raise
            await from_http_exception(error)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    """The declared body length; None when there is none, -1 when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdecimal() else -1
    return None


__all__ = [
    "MAX_BODY_BYTES",
    "ApiRoute",
    "BodyLimit",
    "Error",
    "FieldProblem",
    "TokenRejected",
    "error_response",
    "error_responses",
    "install_fallback_handlers",
    "no_such_route",
    "response_for",
]
