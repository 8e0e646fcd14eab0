"""`dealsight demo`: writes and summarises, refuses to overwrite without --replace, serves the product."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from dealsight.cli.main import app
from dealsight.demo.writer import data_counts

runner = CliRunner()
DEALSIGHT = [sys.executable, "-m", "dealsight.cli.main"]


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return data_counts(conn)


def test_demo_writes_refuses_then_replaces(engine: Engine, database_url: str) -> None:
    first = runner.invoke(app, ["demo", "--no-serve", "--scale", "0.1", "--database", database_url])
    assert first.exit_code == 0, first.output
    assert "opportunities: 500 (" in first.output and "win rate" in first.output and "21 reps" in first.output
    written = _counts(engine)
    assert written["opportunities"] == 500 and written["opportunity_history"] > 2000
    assert written["activities"] > 1000 and written["qualification_answers"] > 1000

    again = subprocess.run(
        [*DEALSIGHT, "demo", "--no-serve", "--scale", "0.1", "--database", database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 1
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 1 and "already holds 500 opportunities" in lines[0] and "--replace" in lines[0]
    assert _counts(engine) == written

    replaced = runner.invoke(
        app, ["demo", "--no-serve", "--scale", "0.1", "--seed", "7", "--replace", "--database", database_url]
    )
    assert replaced.exit_code == 0, replaced.output
    assert _counts(engine) == written


def test_bad_scale_is_one_line_and_exit_1(tmp_path: Path) -> None:
    for scale in ("0", "-1", "25"):
        done = subprocess.run(
            [
                *DEALSIGHT,
                "demo",
                "--no-serve",
                "--scale",
                scale,
                "--database",
                f"sqlite:///{tmp_path / 'x.db'}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "scale must be above 0 and at most 20" in lines[0], done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_serves_the_product(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--database", url]).exit_code == 0
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [*DEALSIGHT, "demo", "--scale", "0.05", "--port", str(port), "--database", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        printed = [server.stdout.readline() for _ in range(5)]
        assert "scored" in printed[3] and "open deals" in printed[3], printed  # the pipeline is scored
        assert f"http://127.0.0.1:{port}" in printed[-1], printed
        health = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    health = json.loads(response.read())
                break
            except OSError:
                try:
                    server.wait(timeout=0.1)  # waits for the server to listen; fails fast if it exited
                    break
                except subprocess.TimeoutExpired:
                    continue
        assert health is not None, "the server did not answer"
        assert health["status"] == "ok" and health["opportunities"] == 250
    finally:
        server.terminate()
        server.wait(timeout=30)
