"""An app factory for ASGI servers, to serve the API from several worker processes::

    DEALSIGHT_DATABASE_URL=postgresql://... uvicorn --factory dealsight.api.asgi:app --workers 4

One Python process answers requests on one core at a time (the handlers run in its thread pool but share
the interpreter), so throughput under many concurrent clients grows with worker processes, not threads.
``dealsight serve`` runs this factory in one worker per CPU core (``--workers N``).
"""

from __future__ import annotations

from fastapi import FastAPI

from dealsight.api.app import create_app
from dealsight.store.database import connect


def app() -> FastAPI:
    """The app on the database of ``DEALSIGHT_DATABASE_URL`` (each worker opens its own engine)."""
    return create_app(connect())


__all__ = ["app"]
