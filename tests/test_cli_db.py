"""`dealsight db` and the CLI's error contract: one line, non-zero exit, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from dealsight.cli.main import app
from dealsight.store.database import connect, current_revision, head_revision

runner = CliRunner()
DEALSIGHT = [sys.executable, "-m", "dealsight.cli.main"]


def test_db_upgrade_creates_and_then_keeps_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    first = runner.invoke(app, ["db", "upgrade", "--database", url])
    assert first.exit_code == 0, first.output
    assert "upgraded" in first.output
    assert current_revision(connect(url)) == head_revision()
    second = runner.invoke(app, ["db", "upgrade", "--database", url])
    assert "up to date" in second.output


def test_db_upgrade_on_postgresql(engine_url_pg: str) -> None:
    result = runner.invoke(app, ["db", "status", "--database", engine_url_pg])
    assert result.exit_code == 0
    assert "up to date" in result.output


def test_out_of_date_schema_is_one_line_and_exit_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    done = subprocess.run(
        [*DEALSIGHT, "serve", "--database", url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "has no dealsight schema" in lines[0] and "dealsight db upgrade" in lines[0]
    assert "Traceback" not in done.stderr


def test_bad_database_url_is_a_clear_error() -> None:
    done = subprocess.run(
        [*DEALSIGHT, "db", "upgrade", "--database", "nosuchdb://x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "cannot use database URL" in done.stderr and "Traceback" not in done.stderr


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0 and result.output.strip().count(".") == 2
