"""The pipeline analytics commands of :mod:`dealsight.cli.velocity` (velocity, funnel, stage-durations,
win-loss, pipeline-changes) on the hand-built deals of tests/test_pipeline_flow.py: tables, ``--json`` and
one-line errors for bad options."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from dealsight.cli.velocity import (
    changes_command,
    funnel_command,
    stage_durations_command,
    velocity_command,
    win_loss_command,
)
from dealsight.errors import DealsightError, NotFoundError, ValidationError
from dealsight.store.database import connect
from tests.test_pipeline_analytics_service import seed

app = typer.Typer()
app.command("velocity")(velocity_command)
app.command("funnel")(funnel_command)
app.command("stage-durations")(stage_durations_command)
app.command("win-loss")(win_loss_command)
app.command("pipeline-changes")(changes_command)
runner = CliRunner()


@pytest.fixture(scope="module")
def url(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store holding the hand-built deals (the service tests cover PostgreSQL)."""
    path = tmp_path_factory.mktemp("velocity-cli") / "dealsight.db"
    shutil.copy(sqlite_template, path)
    engine = connect(f"sqlite:///{path}")
    seed(engine)
    engine.dispose()
    return f"sqlite:///{path}"


def run(url: str, *args: str) -> str:
    result = runner.invoke(app, [*args, "--database", url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def run_json(url: str, *args: str) -> Any:
    return json.loads(run(url, *args, "--json"))


def refused(url: str, *args: str) -> DealsightError:
    result = runner.invoke(app, [*args, "--database", url])
    assert result.exit_code != 0
    assert isinstance(result.exception, DealsightError), result.output
    assert "\n" not in result.exception.message
    return result.exception


def test_velocity_prints_its_terms_against_the_previous_window(url: str) -> None:
    output = run(url, "velocity", "--as-of", "2024-03-31", "--window", "30d", "--by", "team")
    assert "Pipeline velocity as of 2024-03-31: 2024-03-02 to 2024-03-31 (30 days)" in output
    assert "against 2024-02-01 to 2024-03-01" in output
    assert "qualified: open in Qualification, Proposal" in output
    lines = output.splitlines()
    velocity = next(line for line in lines if "velocity per day" in line and "USD" in line)
    assert "60 USD" in velocity and "200 USD" in velocity
    assert "-70.0%" in output
    assert any("50.0%" in line for line in lines if "win rate" in line)
    east = next(line for line in lines if line.strip("│ ").startswith("East"))
    assert "3,000 USD" in east and "50 USD" in east
    assert "Velocity in EUR" in output
    assert "velocity unknown (EUR)" in output  # no EUR deal closed in the window


def test_velocity_json_is_one_object_with_the_terms(url: str) -> None:
    report = run_json(url, "velocity", "--as-of", "2024-03-31", "--window", "30", "--owner", "ana silva")
    assert report["window"] == {"start": "2024-03-02", "end": "2024-03-31", "days": 30}
    (usd,) = report["overall"]
    assert usd["currency"] == "USD"
    assert (usd["current"]["qualified_deals"], usd["current"]["velocity_per_day"]) == (1, 50.0)


def test_funnel_table_and_json(url: str) -> None:
    output = run(url, "funnel", "--as-of", "2024-03-31")
    assert "12 deals: 3 won, 3 lost, 1 no decision, 5 still open" in output
    assert "1 deals have no recorded open stage: counted at Prospecting only" in output
    funnel = run_json(url, "funnel", "--as-of", "2024-03-31", "--from", "2024-02-01", "--to", "2024-02-29")
    assert funnel["deals"] == 3
    assert [s["reached"] for s in funnel["stages"]] == [3, 3, 3]


def test_stage_durations_table_and_json(url: str) -> None:
    output = run(url, "stage-durations", "--as-of", "2024-03-31", "--by-segment")
    proposal = [line for line in output.splitlines() if "Proposal" in line]
    assert len(proposal) == 3 and "36.5" in proposal[0] and "enterprise" in proposal[1]
    durations = run_json(url, "stage-durations", "--as-of", "2024-03-31")
    first = durations["stages"][0]
    assert (first["stage"], first["all_deals"]) == (
        "Prospecting",
        {"spells": 2, "median_days": 48.0, "upper_quartile_days": 56.5},
    )


def test_win_loss_table_and_json(url: str) -> None:
    output = run(url, "win-loss", "--as-of", "2024-03-31", "--window", "30d", "--by", "source")
    assert "By source" in output and "By owner" not in output
    assert "referral" in output and "1 closed deals have no amount" in output
    breakdown = run_json(url, "win-loss", "--as-of", "2024-03-31", "--window", "30d")
    (total,) = breakdown["total"]
    assert (total["won"], total["lost"], total["no_decision"], total["win_rate"]) == (2, 1, 1, 0.5)
    assert set(breakdown["by"]) == {"segment", "owner", "team", "source", "product"}


def test_pipeline_changes_table_and_json_reconcile(url: str) -> None:
    output = run(url, "pipeline-changes", "--from", "2024-02-29", "--to", "2024-03-31", "--team", "West")
    assert "Open pipeline (team West) from 2024-02-29 to 2024-03-31" in output
    assert "+4,500" in output and "amount up" in output
    changes = run_json(url, "pipeline-changes", "--from", "2024-02-29", "--to", "2024-03-31")
    for fall in changes["waterfalls"]:
        moved = sum(Decimal(str(step["delta"])) for step in fall["steps"])
        assert Decimal(str(fall["start_amount"])) + moved == Decimal(str(fall["end_amount"]))
    usd = next(f for f in changes["waterfalls"] if f["currency"] == "USD")
    assert (usd["start_amount"], usd["end_amount"]) == (7300.0, 7500.0)


@pytest.mark.parametrize(
    ("args", "kind", "message"),
    [
        (["velocity", "--as-of", "2024-02-30"], ValidationError, "--as-of '2024-02-30': expected a date"),
        (["velocity", "--window", "0d"], ValidationError, "--window '0d': expected a length such as 90d"),
        (["velocity", "--by", "colour"], ValidationError, "expected one of: team, owner, segment"),
        (["velocity", "--qualifying-stage", "Closed Won"], ValidationError, "is not an open stage"),
        (["funnel", "--team", "North"], NotFoundError, "no team named 'North'; teams are: East, West"),
        (["win-loss", "--by", "colour"], ValidationError, "expected one of segment, owner, team"),
        (
            ["pipeline-changes", "--from", "2024-04-02", "--to", "2024-04-01"],
            ValidationError,
            "is after --to",
        ),
        (["stage-durations", "--as-of", "2024-01-31"], DealsightError, "stage durations need stage history"),
    ],
)
def test_bad_options_are_one_line_errors(
    url: str, args: list[str], kind: type[Exception], message: str
) -> None:
    error = refused(url, *args)
    assert isinstance(error, kind)
    assert message in error.message
