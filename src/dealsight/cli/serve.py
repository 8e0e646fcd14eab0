"""``dealsight serve``: run the web app and API. ``run_server`` is shared with ``dealsight demo``."""

from __future__ import annotations

import typer
from sqlalchemy.engine import Engine

from dealsight.cli.console import DatabaseOption, open_store, out


def run_server(engine: Engine, host: str, port: int) -> None:
    """Serve the web app and API for ``engine`` at http://HOST:PORT until interrupted."""
    import uvicorn

    from dealsight.api.app import create_app

    out.print(f"dealsight is running at [bold]http://{host}:{port}[/] (health: /health); Ctrl-C stops it")
    uvicorn.run(create_app(engine), host=host, port=port, log_level="warning")


def serve_command(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    database: str | None = DatabaseOption,
) -> None:
    """Serve dealsight over HTTP (health route at /health)."""
    run_server(open_store(database), host, port)
