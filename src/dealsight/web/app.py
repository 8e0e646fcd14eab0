"""The server-rendered web app (Jinja2 pages, htmx), installed on the FastAPI app by :func:`install_pages`.

Static files (the vendored htmx and Chart.js, the style sheet, the page script) are served from
``/static`` out of the package itself: nothing is fetched from a CDN.

Routes (see docs/web.md): ``/`` (to the pipeline), ``/sign-in``, ``/sign-out``, ``/pipeline``,
``/pipeline.csv``, ``/analytics`` (pipeline analytics), ``/deals/{id}`` (and its qualification answers),
``/accounts/{id}``, ``/needs`` (needs and competitors), ``/model`` (the win model and its evaluation),
``/admin`` (users, teams, the audit log). Any other path outside the API (``/api``, ``/openapi.json``,
``/docs``, ``/redoc``, ``/health``) gets the 404 page; API paths keep the API's own answer. The pages are
left out of the OpenAPI schema.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from dealsight.web import (
    account_plans,
    accounts,
    admin,
    analytics,
    deal_roadmaps,
    deals,
    forecast,
    interviews,
    model,
    pipeline,
    renewals,
    roadmaps,
    sign_in,
    surveys,
)
from dealsight.web.core import Web, not_found_page
from dealsight.web.formatting import templates
from dealsight.web.settings import WebSettings

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
NOT_PAGES = ("/api/", "/static/")
NOT_PAGE_PATHS = ("/api", "/openapi.json", "/docs", "/redoc", "/health", "/docs/oauth2-redirect")


def is_page_path(path: str) -> bool:
    """Is ``path`` one the pages answer for (everything but the API, its docs and the static files)?"""
    return not path.startswith(NOT_PAGES) and path not in NOT_PAGE_PATHS


def _not_found(fallback: ASGIApp) -> ASGIApp:
    """The router's answer when no route matches: the 404 page for page paths, else ``fallback``."""

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_page_path(scope["path"]):
            response = await not_found_page(Request(scope, receive))
            await response(scope, receive, send)
        else:
            await fallback(scope, receive, send)

    return default


def install_pages(app: FastAPI, engine: Engine, settings: WebSettings | None = None) -> None:
    """Add the web pages and their static files to ``app``."""
    app.state.dealsight_web = Web(
        engine=engine, templates=templates(TEMPLATES), settings=settings or WebSettings()
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (sign_in, pipeline, analytics, forecast, renewals, surveys, model, deals, accounts, admin):
        app.include_router(module.router)
    for module in (interviews, roadmaps, deal_roadmaps):  # customer interviews and buying roadmaps
        app.include_router(module.router)
    app.include_router(account_plans.router)  # account plans
    app.router.default = _not_found(app.router.default)


__all__ = ["install_pages", "is_page_path"]
