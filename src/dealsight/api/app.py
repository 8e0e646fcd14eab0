"""The FastAPI application. For now a health route; the web issue adds the REST API and pages."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from dealsight import __version__
from dealsight.services.health import health
from dealsight.web.app import install_pages


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(title="dealsight", version=__version__)

    @app.get("/health")
    def health_route() -> dict[str, Any]:
        return health(engine)

    install_pages(app, engine)
    return app
