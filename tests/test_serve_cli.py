"""`dealsight serve`: the --workers option, what uvicorn is asked to run, and a real server in two worker
processes that each open the database named by the URL handed over in the environment."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from dealsight.cli import serve
from dealsight.cli.main import app

runner = CliRunner()
DEALSIGHT = [sys.executable, "-m", "dealsight.cli.main"]


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--database", url]).exit_code == 0
    return url


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """What ``uvicorn.run`` is called with (nothing is served)."""
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: calls.append((target, options)))
    monkeypatch.delenv("DEALSIGHT_DATABASE_URL", raising=False)  # restored after the test
    return calls


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 2), (3, 3), (16, 4), (None, 1)])
def test_default_workers_follow_the_cores_up_to_four(
    monkeypatch: pytest.MonkeyPatch, cores: int | None, expected: int
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert serve.default_workers() == expected


def test_several_workers_run_the_app_factory_on_the_database_url(
    database: str, launched: list[tuple[Any, dict[str, Any]]]
) -> None:
    result = runner.invoke(app, ["serve", "--workers", "3", "--port", "8123", "--database", database])
    assert result.exit_code == 0, result.output
    assert "in 3 worker processes" in result.output
    [(target, options)] = launched
    assert target == "dealsight.cli.serve:worker_app" and options["factory"] is True
    assert options["workers"] == 3 and options["port"] == 8123 and options["host"] == "127.0.0.1"
    assert options["access_log"] is False and "loop" not in options and "http" not in options  # auto
    assert os.environ["DEALSIGHT_DATABASE_URL"] == database  # the workers read it


def test_without_the_option_the_workers_are_the_default(
    database: str, launched: list[tuple[Any, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert runner.invoke(app, ["serve", "--database", database]).exit_code == 0
    assert launched[0][1]["workers"] == 2


def test_one_worker_serves_the_app_in_this_process(
    database: str, launched: list[tuple[Any, dict[str, Any]]]
) -> None:
    assert runner.invoke(app, ["serve", "--workers", "1", "--database", database]).exit_code == 0
    [(target, options)] = launched
    assert isinstance(target, serve.ThreadLimit) and "workers" not in options
    assert target.threads == serve.THREADS_PER_WORKER
    assert isinstance(target.app, FastAPI)
    assert target.app.state.engine.url.render_as_string(hide_password=False) == database
    assert options["access_log"] is False


def test_an_in_memory_database_is_served_by_one_process(launched: list[tuple[Any, dict[str, Any]]]) -> None:
    from dealsight.store.database import connect, upgrade

    engine = connect("sqlite://")
    upgrade(engine)
    serve.run_server(engine, "127.0.0.1", 8124, workers=4)
    [(target, _)] = launched
    assert isinstance(target, serve.ThreadLimit)  # served here: other processes could not see this database


def test_the_worker_app_opens_the_database_of_the_environment_with_few_threads(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from dealsight.config import get_settings

    monkeypatch.setenv("DEALSIGHT_DATABASE_URL", database)
    get_settings.cache_clear()
    try:
        worker = serve.worker_app()
    finally:
        get_settings.cache_clear()
    assert isinstance(worker, serve.ThreadLimit) and isinstance(worker.app, FastAPI)
    assert worker.app.state.engine.url.render_as_string(hide_password=False) == database
    with TestClient(worker) as client:  # starting the app (its lifespan) sets its thread pool
        assert client.get("/health").json()["status"] == "ok"
        tokens = client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
    assert tokens == serve.THREADS_PER_WORKER == 4


@pytest.mark.parametrize("workers", ["0", "-2", "two"])
def test_bad_worker_counts_are_usage_errors(
    database: str, launched: list[tuple[Any, dict[str, Any]]], workers: str
) -> None:
    result = runner.invoke(app, ["serve", "--workers", workers, "--database", database])
    assert result.exit_code == 2 and "--workers" in result.output
    assert launched == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_two_worker_processes_serve_the_database(database: str) -> None:
    assert (
        runner.invoke(app, ["demo", "--no-serve", "--scale", "0.05", "--database", database]).exit_code == 0
    )
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key != "DEALSIGHT_DATABASE_URL"}
    server = subprocess.Popen(
        [*DEALSIGHT, "serve", "--workers", "2", "--port", str(port), "--database", database],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )
    try:
        answers = []
        deadline = time.monotonic() + 60
        while len(answers) < 20 and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    answers.append(json.loads(response.read()))
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                time.sleep(0.1)  # waiting for the workers to listen
        assert len(answers) == 20, "the server did not answer"
        assert all(a["status"] == "ok" and a["opportunities"] == 250 for a in answers)
        spawned = [pid for pid in _children(server.pid) if b"spawn_main" in _cmdline(pid)]
        assert len(spawned) == 2, [_cmdline(pid) for pid in _children(server.pid)]
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert "in 2 worker processes" in out
