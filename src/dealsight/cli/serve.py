"""``dealsight serve``: run the web app and API."""

from __future__ import annotations

import typer

from dealsight.cli.console import DatabaseOption, open_store, out


def serve_command(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    database: str | None = DatabaseOption,
) -> None:
    """Serve dealsight over HTTP (health route at /health)."""
    import uvicorn

    from dealsight.api.app import create_app

    engine = open_store(database)
    out.print(f"dealsight is running at [bold]http://{host}:{port}[/] (health: /health); Ctrl-C stops it")
    uvicorn.run(create_app(engine), host=host, port=port, log_level="warning")
