"""``dealsight import roadmap``: the demo's YAML imports and re-imports unchanged; a CSV builds the same kind
of roadmap; a re-import keeps the deals' answers to the questions it keeps and says what it deleted; every
bad value names the file, the row (a YAML line, a CSV row) and the column, and leaves the database as it
was (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.demo.customer_voice import ROADMAPS_FILE
from dealsight.errors import ImportError_, RowError
from dealsight.services.roadmap_imports import import_roadmaps
from dealsight.services.roadmaps import get_roadmap
from dealsight.store.schema import deal_roadmap_answers, opportunities, roadmap_questions
from tests.dbdump import dump

pytestmark = pytest.mark.storage
CSV_HEADER = ["product", "stage", "question", "key", "concern", "answer", "tools"]


def _csv(path: Path, rows: list[list[str]], header: list[str] = CSV_HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_the_demo_roadmaps_import_and_reimport_unchanged(engine: Engine) -> None:
    first = import_roadmaps(engine, ROADMAPS_FILE)
    assert (first.report.rows, first.report.created) == (3, 3)
    roadmap = get_roadmap(engine, "insight platform enterprise")
    assert roadmap.question("tco") is not None and roadmap.stage(roadmap.questions[0].stage).concerns
    again = import_roadmaps(engine, ROADMAPS_FILE)
    assert (again.report.created, again.report.updated, again.report.unchanged) == (0, 0, 3)
    assert get_roadmap(engine, "Insight Platform Enterprise").version == 1


def test_a_csv_roadmap_and_a_reimport_that_drops_a_question(engine: Engine, tmp_path: Path) -> None:
    rows = [
        ["Widget", "interest", "", "", "Will it fit our CRM?", "", "Integration guide; Webinar"],
        [
            "Widget",
            "interest",
            "Does it work with our CRM?",
            "crm",
            "Will it fit our CRM?",
            "Yes",
            "Integration guide",
        ],
        ["Widget", "Decision", "What does it cost?", "cost", "", "", ""],
    ]
    result = import_roadmaps(engine, _csv(tmp_path / "widget.csv", rows))
    assert result.report.created == 1
    widget = get_roadmap(engine, "widget")
    assert [q.key for q in widget.questions] == ["crm", "cost"]
    interest = widget.stage(widget.questions[0].stage)
    assert interest.concerns == ("Will it fit our CRM?",) and interest.tools == (
        "Integration guide",
        "Webinar",
    )
    with engine.begin() as conn:
        deal = conn.execute(
            opportunities.insert()
            .values(name="W", stage="Proposal", product="Widget")
            .returning(opportunities.c.id)
        ).scalar_one()
        for key in ("crm", "cost"):
            question = conn.execute(
                sa.select(roadmap_questions.c.id).where(roadmap_questions.c.key == key)
            ).scalar_one()
            conn.execute(
                deal_roadmap_answers.insert().values(
                    opportunity_id=deal, question_id=question, answered_on=date(2026, 5, 1)
                )
            )
    kept = import_roadmaps(engine, _csv(tmp_path / "widget2.csv", rows[:2]))
    assert kept.report.updated == 1
    assert kept.warnings == [
        "Widget: 1 question no longer in the file deleted, with 1 deal record of having them answered"
    ]
    assert _count(engine, deal_roadmap_answers) == 1 and get_roadmap(engine, "Widget").version == 2


YAML_BAD = {
    "an unknown stage": ("stages:\n  closing: {}\n", 5, "roadmaps[1].stages.closing", "not a buyer stage"),
    "a question without text": (
        "stages:\n  decision:\n    questions:\n      - answer: Yes\n",
        7,
        "roadmaps[1].stages.decision.questions[1].question",
        "a value is required",
    ),
    "tools that are not a list": (
        "stages:\n  decision:\n    questions:\n      - question: Why?\n        tools: {a: 1}\n",
        8,
        "roadmaps[1].stages.decision.questions[1].tools",
        "a list of texts",
    ),
    "a misspelt field": (
        "stages:\n  decision:\n    questions:\n      - question: Why?\n        answr: typo\n",
        8,
        "roadmaps[1].stages.decision.questions[1].answr",
        "unknown field",
    ),
}


@pytest.mark.parametrize("kind", sorted(YAML_BAD))
def test_a_bad_yaml_names_the_line_and_place_and_writes_nothing(
    engine: Engine, tmp_path: Path, kind: str
) -> None:
    body, line, place, words = YAML_BAD[kind]
    text = "version: 1\nroadmaps:\n  - product: Widget\n" + "".join(
        f"    {row}\n" for row in body.splitlines()
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    before = dump(engine)
    with pytest.raises(RowError) as raised:
        import_roadmaps(engine, path)
    problem = raised.value.problems[0]
    assert (problem.file, problem.row, problem.column) == ("bad.yaml", line, place), (
        raised.value.message,
        text,
    )
    assert words in problem.expected
    assert dump(engine) == before


CSV_BAD = {
    "no product": (["", "decision", "Why?", "", "", "", ""], "product"),
    "an unknown stage": (["Widget", "closing", "Why?", "", "", "", ""], "stage"),
    "a bad key": (["Widget", "decision", "Why?", "Bad Key", "", "", ""], "key"),
    "a key used twice": (["Widget", "interest", "How?", "crm", "", "", ""], "key"),
}


@pytest.mark.parametrize("kind", sorted(CSV_BAD))
def test_a_bad_csv_row_names_row_and_column_and_writes_nothing(
    engine: Engine, tmp_path: Path, kind: str
) -> None:
    row, column = CSV_BAD[kind]
    rows = [["Widget", "interest", "Does it work with our CRM?", "crm", "", "Yes", "Guide"], row]
    before = dump(engine)
    with pytest.raises(RowError) as raised:
        import_roadmaps(engine, _csv(tmp_path / "bad.csv", rows))
    problem = raised.value.problems[0]
    assert (problem.file, problem.row, problem.column) == ("bad.csv", 3, column), raised.value.message
    assert dump(engine) == before


def test_files_that_cannot_be_read(engine: Engine, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("roadmaps:\n  - product: [unclosed\n", encoding="utf-8")
    with pytest.raises(ImportError_, match=r"broken.yaml, row 3: not valid YAML"):
        import_roadmaps(engine, broken)
    with pytest.raises(ImportError_, match="missing column question"):
        import_roadmaps(engine, _csv(tmp_path / "few.csv", [["W", "decision"]], ["product", "stage"]))
    twice = tmp_path / "twice.yaml"
    twice.write_text("roadmaps:\n  - product: W\n  - product: w\n", encoding="utf-8")
    with pytest.raises(RowError, match="each product once"):
        import_roadmaps(engine, twice)
    with pytest.raises(ImportError_, match="no such file"):
        import_roadmaps(engine, tmp_path / "missing.yaml")
