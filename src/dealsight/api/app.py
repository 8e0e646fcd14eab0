"""The FastAPI application: the REST API under ``/api/v1`` (docs/api.md), its OpenAPI document at
``/openapi.json`` (browsable at ``/docs``), the health route, and the web pages (:mod:`dealsight.web`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from dealsight import __version__
from dealsight.api.errors import ALL_METHODS, BodyLimit, install_fallback_handlers, no_such_route
from dealsight.api.routes import TAGS, api_router
from dealsight.api.schemas import Health
from dealsight.services.health import health
from dealsight.web.app import install_pages

DESCRIPTION = """\
Customer-centric deal intelligence for B2B sales teams: deals with their history and qualification,
accounts, contacts, activities, users and teams, and the audit log.

**Sign-in**: every route but `/health` needs a personal API token (`dealsight tokens create EMAIL --name
NAME`, or `POST /api/v1/tokens`) sent as `Authorization: Bearer ds_...`. A token acts as its user: a rep sees
their own deals, a manager those of everyone below them, an executive everything read-only, an admin
everything. A record outside the caller's view is *not found* (404).

**Errors** all have one shape, `{"status", "message", "problems": [{"field", "message"}]}` (schema `Error`).

**Lists** answer `{"items", "total", "limit", "offset"}`; `sort=-amount` sorts descending.
"""


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(
        title="dealsight",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        license_info={"name": "Apache-2.0", "identifier": "Apache-2.0"},
    )
    app.state.engine = engine

    @app.get(
        "/health",
        tags=["health"],
        response_model=Health,
        operation_id="health",
        summary="Is the service up",
    )
    def health_route() -> dict[str, Any]:
        """Whether the database is reachable and its schema current, the version, and how many deals
        there are (on PostgreSQL, above 10,000 deals, its planner's estimate). No sign-in needed."""
        return health(engine)

    app.include_router(api_router())
    app.add_api_route("/api/{path:path}", no_such_route, methods=ALL_METHODS, include_in_schema=False)
    install_fallback_handlers(app)
    app.add_middleware(BodyLimit)
    install_pages(app, engine)
    return app
