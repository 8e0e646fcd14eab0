"""``dealsight serve``: run the web app and API. ``run_server`` is shared with ``dealsight demo``.

One Python process answers on one core at a time, so the server runs several worker processes (default:
one per CPU core, at most :data:`MAX_DEFAULT_WORKERS`; ``--workers N`` chooses). Workers are separate
processes: each builds its own app and engine (:func:`worker_app`, through :func:`dealsight.api.asgi.app`)
from the database URL, handed over in ``DEALSIGHT_DATABASE_URL``. With one worker the app is served in this
process.

Each worker runs synchronous handlers in a pool of :data:`THREADS_PER_WORKER` threads (anyio's default is
40): the threads of one process share one interpreter lock, and fewer of them contending for it answer as
many requests with a lower p95 (benchmarks/README.md, web_load.py). uvicorn runs with its fast event loop
and HTTP parser (uvloop, httptools: ``uvicorn[standard]``) when they are installed, and without access logs
(a line per request costs CPU; errors are still logged).
"""

from __future__ import annotations

import os

import anyio.to_thread
import typer
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from dealsight.cli.console import DatabaseOption, open_store, out

MAX_DEFAULT_WORKERS = 4
THREADS_PER_WORKER = 4
APP_FACTORY = "dealsight.cli.serve:worker_app"


class ThreadLimit:
    """``app`` with its pool of threads for synchronous handlers set to ``threads`` when it starts."""

    def __init__(self, app: ASGIApp, threads: int) -> None:
        self.app = app
        self.threads = threads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # once per process, inside its event loop
            anyio.to_thread.current_default_thread_limiter().total_tokens = self.threads
        await self.app(scope, receive, send)


def worker_app() -> ASGIApp:
    """The app of one worker process, on the database of ``DEALSIGHT_DATABASE_URL`` (the factory
    :func:`dealsight.api.asgi.app`) with :data:`THREADS_PER_WORKER` threads."""
    from dealsight.api.asgi import app

    return ThreadLimit(app(), THREADS_PER_WORKER)


def default_workers() -> int:
    """Worker processes when not told: the number of CPU cores, at most :data:`MAX_DEFAULT_WORKERS`."""
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


def shareable(engine: Engine) -> bool:
    """Can other processes open the database of ``engine``? Not an in-memory SQLite database."""
    database = engine.url.database
    return engine.dialect.name != "sqlite" or database not in (None, "", ":memory:")


def run_server(engine: Engine, host: str, port: int, workers: int | None = None) -> None:
    """Serve the web app and API for ``engine`` at http://HOST:PORT until interrupted, in ``workers``
    processes (default :func:`default_workers`; one for an in-memory database)."""
    import uvicorn

    count = default_workers() if workers is None else workers
    if not shareable(engine):
        count = 1
    processes = "" if count == 1 else f" in {count} worker processes"
    out.print(
        f"dealsight is running at [bold]http://{host}:{port}[/]{processes} (health: /health); Ctrl-C stops it"
    )
    if count == 1:
        from dealsight.api.app import create_app

        app = ThreadLimit(create_app(engine), THREADS_PER_WORKER)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
        return
    os.environ["DEALSIGHT_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    engine.dispose()  # the workers open their own connections
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        workers=count,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )


def serve_command(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int | None = typer.Option(
        None,
        min=1,
        help=f"Worker processes (default: one per CPU core, at most {MAX_DEFAULT_WORKERS}).",
        show_default=False,
    ),
    database: str | None = DatabaseOption,
) -> None:
    """Serve dealsight over HTTP (health route at /health)."""
    run_server(open_store(database), host, port, workers)
