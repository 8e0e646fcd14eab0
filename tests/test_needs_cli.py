"""``dealsight import survey`` and ``dealsight needs`` with the CLI runner: the example file's import, the
printed analysis and its ``--json`` shape, a segment, and one-line errors (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dealsight.cli.main import app
from dealsight.errors import DealsightError, InsufficientDataError, NotFoundError, RowError, ValidationError

pytestmark = pytest.mark.storage
runner = CliRunner()
EXAMPLE = str(Path(__file__).resolve().parents[1] / "examples" / "needs_survey.csv")


def run(url: str, *args: str) -> str:
    result = runner.invoke(app, list(args), env={"DEALSIGHT_DATABASE_URL": url, "COLUMNS": "200"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def refused(url: str, *args: str) -> DealsightError:
    result = runner.invoke(app, [*args, "--database", url])
    assert result.exit_code != 0 and isinstance(result.exception, DealsightError), result.output
    assert "\n" not in result.exception.message
    return result.exception


@pytest.fixture
def surveyed(database_url: str) -> str:
    output = run(
        database_url, "import", "survey", EXAMPLE, "--name", "Customer needs 2026", "--date", "2026-09-30"
    )
    assert "into a new survey 'Customer needs 2026' (2026-09-30" in output
    assert "76 respondents: 76 created, 0 updated, 0 unchanged" in output
    return database_url


def test_needs_prints_every_section(surveyed: str) -> None:
    output = run(surveyed, "needs", "--resamples", "200")
    assert "Customer needs 2026 (conducted 2026-09-30): 60 customers, 16 internal respondents" in output
    for title in ("Weighted needs", "By segment", "Competitor grid", "Perception gap", "Opportunity",
                  "Flanking candidates"):  # fmt: skip
        assert title in output
    assert "Leading competitor: Acme Analytics" in output
    assert "1. we lead Acme Analytics by 3.2 on service" in output
    assert "sales (6 people) is most wrong on" in output


def test_needs_json_and_a_segment(surveyed: str) -> None:
    found = json.loads(run(surveyed, "needs", "--segment", "enterprise", "--by", "industry", "--json"))
    assert found["segment"] == "enterprise" and found["survey"]["name"] == "Customer needs 2026"
    analysis = found["analysis"]
    assert analysis["customers"] == 20 and analysis["internal"] == 16 and analysis["resamples"] == 1000
    assert {g["group"] for g in analysis["breakdown"]} == {"manufacturing", "healthcare"}
    service = next(w for w in analysis["weights"]["needs"] if w["need"] == "service")
    assert service["low"] < service["points"] < service["high"] and service["points"] > 30
    again = json.loads(run(surveyed, "needs", "--segment", "enterprise", "--by", "industry", "--json"))
    assert again == found, "the same seed gives the same intervals"


def test_one_line_errors(surveyed: str, tmp_path: Path) -> None:
    assert isinstance(refused(surveyed, "needs", "--survey", "nope"), NotFoundError)
    assert isinstance(refused(surveyed, "needs", "--segment", "mining"), InsufficientDataError)
    assert isinstance(refused(surveyed, "needs", "--by", "colour"), ValidationError)
    bad = tmp_path / "bad.csv"
    bad.write_text("respondent,points: price,points: service,us: price\nR1,50,40,7\n", encoding="utf-8")
    error = refused(surveyed, "import", "survey", str(bad))
    assert isinstance(error, RowError)
    assert error.message.startswith("bad.csv, row 2, column 'points: price .. points: service': got '90'")
    assert "they add up to 90" in error.message and error.message.endswith("nothing was imported")
