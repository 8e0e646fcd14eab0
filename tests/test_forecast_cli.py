"""``dealsight forecast`` and ``dealsight backtest`` with the CLI runner on the demo organisation: tables,
``--json`` shapes, stored snapshots and runs, one-line errors."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from dealsight.cli.main import app
from dealsight.services.demo import create_demo
from dealsight.store.schema import backtest_runs, forecast_snapshots

pytestmark = pytest.mark.storage
runner = CliRunner()


@pytest.fixture
def demo_url(engine: Engine, database_url: str) -> str:
    create_demo(engine, seed=5, scale=0.15, today=date(2026, 11, 24))
    return database_url


def run(url: str, *args: str) -> object:
    return runner.invoke(app, list(args), env={"DEALSIGHT_DATABASE_URL": url, "COLUMNS": "200"})


def count(engine: Engine, table: object) -> int:
    import sqlalchemy as sa

    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_backtest_then_forecast(engine: Engine, demo_url: str) -> None:
    result = run(
        demo_url,
        "backtest",
        "--method",
        "competing_risks",
        "--method",
        "stage_weighted",
        "--every",
        "14d",
        "--json",
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body["results"]) == {"competing_risks", "stage_weighted"}
    for metrics in body["results"].values():
        assert set(metrics) == {"count", "amount"}
        assert set(metrics["amount"]) >= {"mape", "bias", "mdape", "coverage_p10_p90"}
    assert count(engine, backtest_runs) == 1
    table = run(demo_url, "backtest", "--method", "competing_risks", "--no-store")
    assert table.exit_code == 0 and "MAPE" in table.stdout and "coverage" in table.stdout
    assert count(engine, backtest_runs) == 1

    shown = run(demo_url, "forecast", "--as-of", "2026-11-24", "--method", "competing_risks", "--json")
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.stdout)
    assert report["total"]["level"] == "company"
    assert "backtest #1" in report["dispersion_source"]
    assert report["stored"] == count(engine, forecast_snapshots) > 0
    text = run(demo_url, "forecast", "--method", "competing_risks", "--no-store")
    assert text.exit_code == 0 and "P50" in text.stdout and "stage-weighted" in text.stdout


def test_errors_are_one_line(demo_url: str) -> None:
    for args in (
        ("forecast", "--period", "year"),
        ("forecast", "--as-of", "1990-01-01"),
        ("backtest", "--every", "x"),
    ):
        result = run(demo_url, *args)
        assert result.exit_code != 0
        assert "Traceback" not in result.output
