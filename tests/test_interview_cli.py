"""``dealsight import interviews``, ``interviews search`` and ``interviews guide``, ``import roadmap`` and
``roadmap list / show / gaps`` with the CLI runner: what they print, their ``--json`` shapes and one-line
errors (SQLite and PostgreSQL); the example files parse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from dealsight.cli.main import app
from dealsight.demo.customer_voice import ROADMAPS_FILE
from dealsight.errors import DealsightError, NotFoundError, RowError, ValidationError
from dealsight.ingest.interviews import read_interview_file
from dealsight.ingest.roadmaps import read_roadmap_file
from tests.test_interview_import import ROWS, _seed, _write

pytestmark = pytest.mark.storage
runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(url: str, *args: str) -> str:
    result = runner.invoke(app, list(args), env={"DEALSIGHT_DATABASE_URL": url, "COLUMNS": "200"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def refused(url: str, *args: str) -> DealsightError:
    result = runner.invoke(app, list(args), env={"DEALSIGHT_DATABASE_URL": url})
    assert result.exit_code != 0 and isinstance(result.exception, DealsightError), result.output
    assert "\n" not in result.exception.message
    return result.exception


@pytest.fixture
def imported(engine: Engine, database_url: str, tmp_path: Path) -> str:
    _seed(engine)
    output = run(database_url, "import", "interviews", str(_write(tmp_path / "interviews.csv", ROWS)))
    assert "Imported: interviews.csv, 4 answers following the guide 'default' v1" in output
    assert "2 interviews: 2 created, 0 updated, 0 unchanged" in output
    output = run(database_url, "import", "roadmap", str(ROADMAPS_FILE))
    assert "3 roadmaps: 3 created, 0 updated, 0 unchanged" in output
    return database_url


def test_search_prints_and_its_json(imported: str) -> None:
    output = run(imported, "interviews", "search", "implementation")
    assert "1 answer with 'implementation'" in output and "How long does implementation take?" in output
    found = json.loads(run(imported, "interviews", "search", "--tag", "stage:decision", "--json"))
    assert found["total"] == 2 and {h["question_key"] for h in found["items"]} == {"questions_asked"}
    assert found["items"][0]["tags"][0].startswith(("need:", "stage:"))
    assert "No answers match." in run(imported, "interviews", "search", "zebra")
    assert isinstance(refused(imported, "interviews", "search", "--topic", "gossip"), ValidationError)
    assert isinstance(refused(imported, "interviews", "search", "--tag", "stage:soon"), ValidationError)


def test_the_guide(imported: str) -> None:
    output = run(imported, "interviews", "guide")
    assert "Interview guide 'default' (version 1)" in output and "What almost stopped them" in output
    guide = json.loads(run(imported, "interviews", "guide", "--json"))
    assert guide["version"] == 1 and guide["questions"][0]["key"] == "trigger"
    assert isinstance(refused(imported, "interviews", "guide", "--name", "other"), NotFoundError)


def test_roadmaps_list_show_and_gaps(imported: str) -> None:
    assert "Insight Platform Enterprise" in run(imported, "roadmap", "list")
    shown = run(imported, "roadmap", "show", "forecasting add-on")
    assert "Forecasting Add-on buying roadmap (version 1)" in shown and "no answer" in shown
    data = json.loads(run(imported, "roadmap", "show", "Forecasting Add-on", "--json"))
    assert data["product"] == "Forecasting Add-on" and "decision" in data["stages"]
    gaps = run(imported, "roadmap", "gaps", "Insight Platform Enterprise")
    assert (
        "Insight Platform Enterprise: 1 question with no answer" in gaps and "Can we pay quarterly?" in gaps
    )
    every = json.loads(run(imported, "roadmap", "gaps", "--json"))
    assert [g["product"] for g in every] == [
        "Forecasting Add-on",
        "Insight Platform Enterprise",
        "Insight Platform Professional",
    ]
    decision = next(s for s in every[1]["stages"] if s["stage"] == "decision")
    assert decision["asked"] == 2 and [m["text"] for m in decision["missing"]] == ["Can we pay quarterly?"]
    assert isinstance(refused(imported, "roadmap", "show", "nothing"), NotFoundError)


def test_a_bad_file_is_one_line(database_url: str, tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.csv", [["nobody@x.example", "2026-05-01", "value", "x", "", "", "", ""]])
    error = refused(database_url, "import", "interviews", str(bad))
    assert isinstance(error, RowError) and error.message.startswith("bad.csv, row 2, column 'contact_email'")


def test_the_example_files_parse() -> None:
    interviews = read_interview_file(EXAMPLES / "interviews.csv")
    assert len(interviews.answers) == 12 and interviews.warnings == []
    assert {a.interview for a in interviews.answers} == {"AMB-2026-11", "AMB-2026-12"}
    roadmaps = read_roadmap_file(EXAMPLES / "roadmap.csv")
    assert [r.product for r in roadmaps.roadmaps] == ["Integration Hub"]
    assert [q.key for q in roadmaps.roadmaps[0].questions] == [
        "connectors",
        "build-or-buy",
        "price",
        "first-sync",
    ]
