"""The server-rendered web app (Jinja2 pages, htmx), installed on the FastAPI app by :func:`install_pages`.

Static files (the vendored htmx and Chart.js, the style sheet) are served from ``/static`` out of the
package itself: nothing is fetched from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

STATIC = Path(__file__).resolve().parent / "static"


def install_pages(app: FastAPI, engine: Engine) -> None:
    """Add the web pages and their static files to ``app``."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
