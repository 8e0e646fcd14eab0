"""``dealsight import interviews``: rows become interviews (by id, else contact and day), re-imports update
or leave them unchanged, and every kind of bad row names the file, the row and the column and leaves
the database exactly as it was (SQLite and PostgreSQL); the answers other analyses read, by question and
segment, within a scope."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.domain.access import Principal, Scope
from dealsight.domain.enums import UserRole
from dealsight.domain.interviews import Topic
from dealsight.errors import ImportError_, RowError
from dealsight.services.interview_guides import change_guide_question
from dealsight.services.interview_imports import import_interviews
from dealsight.services.interviews import AnswerQuery, answers_by_question, search_answers
from dealsight.store.schema import (
    accounts,
    audit_log,
    contacts,
    import_runs,
    interview_answers,
    interviews,
    opportunities,
    users,
)
from tests.dbdump import dump

pytestmark = pytest.mark.storage
HEADER = ["contact_email", "date", "question", "answer", "tags", "interview", "interviewer_email", "deal"]
EVERYONE = Scope(owner_ids=None, can_write=True)


def _insert(conn: sa.Connection, table: sa.Table, **values: object) -> int:
    return int(conn.execute(table.insert().values(**values).returning(table.c.id)).scalar_one())


def _seed(engine: Engine) -> dict[str, int]:
    """Two accounts (enterprise, smb) with a contact each, a rep who owns a deal of the first."""
    with engine.begin() as conn:
        ids = {
            "rep": _insert(
                conn, users, name="Rita Rep", name_key="rita rep", email="rita@us.example", role="rep"
            ),
            "admin": _insert(
                conn, users, name="Ada Admin", name_key="ada admin", email="ada@us.example", role="admin"
            ),
        }
        for name, segment in (("Acme", "enterprise"), ("Globex", "smb")):
            account = _insert(conn, accounts, name=name, name_key=name.lower(), segment=segment)
            email = f"buyer@{name.lower()}.example"
            contact = _insert(conn, contacts, name=f"{name} Buyer", account_id=account, email=email)
            ids[f"{name.lower()}_account"], ids[f"{name.lower()}_contact"] = account, contact
        ids["deal"] = _insert(
            conn,
            opportunities,
            name="Acme platform",
            account_id=ids["acme_account"],
            owner_id=ids["rep"],
            stage="Proposal",
            external_id="CRM-1",
        )
    return ids


def _write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


ROWS = [
    [
        "buyer@acme.example",
        "2026-05-01",
        "why_bought",
        "The backtest on our data",
        "need:product",
        "",
        "rita@us.example",
        "CRM-1",
    ],
    [
        "BUYER@acme.example",
        "2026-05-01",
        "questions_asked",
        "How long does implementation take?",
        "stage:decision",
        "",
        "",
        "",
    ],
    [
        "buyer@acme.example",
        "2026-05-01",
        "questions_asked",
        "Can we pay quarterly?",
        "stage:decision; need:price",
        "",
        "",
        "",
    ],
    [
        "buyer@globex.example",
        "2026-05-02",
        "why_bought",
        "Price, plain and simple",
        "need:price",
        "G-7",
        "",
        "",
    ],
]


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_rows_become_interviews_and_reimports_update_or_leave_them(engine: Engine, tmp_path: Path) -> None:
    ids = _seed(engine)
    path = _write(tmp_path / "interviews.csv", ROWS)
    first = import_interviews(engine, path)
    assert (first.report.rows, first.report.created, first.answers) == (4, 2, 4)
    assert first.guide is not None and first.guide.version == 1  # the shipped guide, stored on first use
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(
                interviews.c.contact_id,
                interviews.c.opportunity_id,
                interviews.c.interviewer_id,
                interviews.c.external_id,
            ).order_by(interviews.c.id)
        ).all()
        runs = conn.execute(sa.select(import_runs.c.entity, import_runs.c.created)).all()
        audited = (
            conn.execute(sa.select(audit_log.c.new_value).where(audit_log.c.entity == "interview"))
            .scalars()
            .all()
        )
    assert [tuple(s) for s in stored] == [
        (ids["acme_contact"], ids["deal"], ids["rep"], None),
        (ids["globex_contact"], None, None, "G-7"),
    ]
    assert [tuple(r) for r in runs] == [("interview", 2)]
    assert "interviews.csv rows 2-4: 3 answers" in audited
    again = import_interviews(engine, path)
    assert (again.report.created, again.report.updated, again.report.unchanged) == (0, 0, 2)
    changed = [row[:] for row in ROWS]
    changed[3][3] = "Price, and the support team"
    updated = import_interviews(engine, _write(tmp_path / "changed.csv", changed))
    assert (updated.report.created, updated.report.updated, updated.report.unchanged) == (0, 1, 1)
    assert _count(engine, interviews) == 2 and _count(engine, interview_answers) == 4
    found = search_answers(engine, EVERYONE, AnswerQuery(text="support team"))
    assert [h.contact_id for h in found.items] == [ids["globex_contact"]]


def test_a_dry_run_checks_everything_and_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    before = dump(engine)
    result = import_interviews(engine, _write(tmp_path / "interviews.csv", ROWS), dry_run=True)
    assert result.report.created == 2 and dump(engine) == before


BAD = {
    "no contact": (["", "2026-05-01", "value", "x", "", "", "", ""], "contact_email"),
    "an unknown contact": (["nobody@x.example", "2026-05-01", "value", "x", "", "", "", ""], "contact_email"),
    "a bad day": (["buyer@acme.example", "01/05/2026", "value", "x", "", "", "", ""], "date"),
    "an unknown question": (["buyer@acme.example", "2026-05-01", "colour", "x", "", "", "", ""], "question"),
    "a malformed question key": (
        ["buyer@acme.example", "2026-05-01", "Why Bought", "x", "", "", "", ""],
        "question",
    ),
    "an empty answer": (["buyer@acme.example", "2026-05-01", "value", " ", "", "", "", ""], "answer"),
    "a stage that is no stage": (
        ["buyer@acme.example", "2026-05-01", "value", "x", "stage:closing", "", "", ""],
        "tags",
    ),
    "an unknown interviewer": (
        ["buyer@acme.example", "2026-05-01", "value", "x", "", "", "nobody@us.example", ""],
        "interviewer_email",
    ),
    "an unknown deal": (["buyer@acme.example", "2026-05-01", "value", "x", "", "", "", "CRM-404"], "deal"),
    "a deal of another account": (
        ["buyer@globex.example", "2026-05-01", "value", "x", "", "", "", "CRM-1"],
        "deal",
    ),
    "two deals in one interview": (
        ["buyer@acme.example", "2026-05-01", "trigger", "x", "", "", "", "CRM-1"],
        "deal",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_row_names_file_row_and_column_and_writes_nothing(
    engine: Engine, tmp_path: Path, kind: str
) -> None:
    ids = _seed(engine)
    row, column = BAD[kind]
    rows = [ROWS[0], ROWS[3], row]
    if kind == "two deals in one interview":
        with engine.begin() as conn:
            conn.execute(
                opportunities.insert().values(
                    name="Acme add-on", account_id=ids["acme_account"], stage="Proposal", external_id="CRM-2"
                )
            )
        rows[2] = [*row[:7], "CRM-2"]
    before = dump(engine)
    with pytest.raises(RowError) as raised:
        import_interviews(engine, _write(tmp_path / "bad.csv", rows))
    problem = raised.value.problems[0]
    assert (problem.file, problem.row, problem.column) == ("bad.csv", 4, column), raised.value.message
    assert raised.value.message.startswith(f"bad.csv, row 4, column '{column}'")
    assert raised.value.message.endswith("nothing was imported")
    assert dump(engine) == before


def test_missing_columns_and_retired_questions(engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    with pytest.raises(ImportError_, match=r"row 1: missing columns contact_email or contact_id, date"):
        import_interviews(engine, _write(tmp_path / "few.csv", [["why_bought", "x"]], ["question", "answer"]))
    import_interviews(engine, _write(tmp_path / "first.csv", ROWS[:1]))
    change_guide_question(engine, _principal(engine), "value", {"retired": True})
    before = dump(engine)
    with pytest.raises(RowError, match="a question that is not retired"):
        import_interviews(
            engine,
            _write(
                tmp_path / "late.csv", [["buyer@acme.example", "2026-06-01", "value", "x", "", "", "", ""]]
            ),
        )
    assert dump(engine) == before
    warned = import_interviews(
        engine,
        _write(
            tmp_path / "extra.csv",
            [["buyer@acme.example", "2026-06-02", "trigger", "x", "oops"]],
            ["email", "interviewed_on", "question_key", "answer", "mood"],
        ),
    )
    assert warned.report.created == 1 and warned.warnings == [
        "columns not read: mood (docs/interviews.md lists the columns)"
    ]


def _principal(engine: Engine) -> Principal:
    with engine.connect() as conn:
        admin = conn.execute(sa.select(users.c.id).where(users.c.role == "admin")).scalar_one()
    return Principal(int(admin), "Ada Admin", UserRole.ADMIN)


def test_answers_by_question_and_segment_for_other_analyses(engine: Engine, tmp_path: Path) -> None:
    ids = _seed(engine)
    import_interviews(engine, _write(tmp_path / "interviews.csv", ROWS))
    groups = answers_by_question(engine, EVERYONE)
    assert [(g.question_key, g.segment, len(g.answers)) for g in groups] == [
        ("questions_asked", "enterprise", 2),
        ("why_bought", "enterprise", 1),
        ("why_bought", "smb", 1),
    ]
    price = answers_by_question(engine, EVERYONE, tag="need:price")
    assert [(g.question_key, g.segment) for g in price] == [
        ("questions_asked", "enterprise"),
        ("why_bought", "smb"),
    ]
    assert answers_by_question(engine, EVERYONE, topic=Topic.WHY_BOUGHT, segment="SMB")[0].answers[
        0
    ].answer == ("Price, plain and simple")
    rep = Scope(owner_ids=frozenset({ids["rep"]}), can_write=True)  # sees Acme through the deal
    assert {g.segment for g in answers_by_question(engine, rep)} == {"enterprise"}
