"""``dealsight import survey``: the example file imports and re-imports without change; each kind of bad
answer names the file, the row and the column, and leaves the database as it was (SQLite and PostgreSQL);
a property test over random allocations and ratings."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from dealsight.errors import ImportError_, RowError
from dealsight.services.survey_imports import import_survey
from dealsight.services.surveys import find_survey, survey_analysis
from dealsight.store.schema import accounts, audit_log, contacts, import_runs, survey_respondents
from tests.dbdump import dump

pytestmark = pytest.mark.storage
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "needs_survey.csv"
NEEDS = ["brand", "price", "service"]
HEADER = [
    "respondent", "function", "email", "segment",
    *(f"points: {n}" for n in NEEDS),
    *(f"{v}: {n}" for v in ("us", "Acme") for n in NEEDS),
]  # fmt: skip
GOOD = ["C1", "", "", "smb", "20", "30", "50", "7", "6", "9", "8", "7", "4"]


def write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_the_example_imports_and_reimports_without_change(engine: Engine) -> None:
    first = import_survey(engine, EXAMPLE, name="Customer needs 2026", conducted_on=date(2026, 9, 30))
    assert first.created_survey and (first.report.created, first.report.rows) == (76, 76)
    survey = find_survey(engine)
    assert survey.needs == ("brand", "product", "quality", "price", "service")
    assert survey.vendors == ("us", "Acme Analytics", "Globex") and (survey.customers, survey.internal) == (
        60,
        16,
    )
    assert any("match no contact" in w for w in first.warnings)
    again = import_survey(engine, EXAMPLE, name="customer needs 2026")
    assert not again.created_survey and (again.report.created, again.report.updated) == (0, 0)
    assert again.report.unchanged == 76 and _count(engine, survey_respondents) == 76
    assert _count(engine, import_runs) == 2
    result = survey_analysis(engine, survey.id, resamples=200)
    assert result.analysis.grid.leader == "Acme Analytics"
    assert result.analysis.flanking[0].need == "service"


def test_a_reimport_updates_changed_answers(engine: Engine, tmp_path: Path) -> None:
    import_survey(engine, write(tmp_path / "s.csv", [GOOD]), name="S")
    changed = [*GOOD[:4], "30", "30", "40", *GOOD[7:]]
    result = import_survey(engine, write(tmp_path / "s.csv", [changed, ["C2", *GOOD[1:]]]), name="S")
    assert (result.report.created, result.report.updated, result.report.unchanged) == (1, 1, 0)
    analysis = survey_analysis(engine, find_survey(engine, "S").id, resamples=100).analysis
    assert [w.points for w in analysis.weights.needs] == pytest.approx([25, 30, 45])
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_log.c.field, audit_log.c.new_value).where(audit_log.c.entity == "survey")
        )
        assert ("respondents", "s.csv: 1 created, 1 updated, 0 unchanged") in [tuple(r) for r in rows]


def test_a_dry_run_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    before = dump(engine)
    result = import_survey(engine, write(tmp_path / "s.csv", [GOOD]), dry_run=True)
    assert result.report.created == 1 and result.created_survey
    assert dump(engine) == before


def test_customers_link_to_contacts_and_take_their_account_segment(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as conn:
        account = conn.execute(
            accounts.insert().values(
                name="Brightmart", name_key="brightmart", segment="enterprise", industry="Retail"
            )
        ).inserted_primary_key[0]
        contact = conn.execute(
            contacts.insert().values(name="Ana Berg", email="Ana.Berg@brightmart.example", account_id=account)
        ).inserted_primary_key[0]
    rows = [
        ["C1", "", "ana.berg@BRIGHTMART.example", "", *GOOD[4:]],
        ["C2", "", "nobody@x.example", "smb", *GOOD[4:]],
    ]
    result = import_survey(engine, write(tmp_path / "s.csv", rows))
    assert result.warnings == ["1 e-mails match no contact in dealsight (nobody@x.example): not linked"]
    with engine.connect() as conn:
        r = survey_respondents.c
        query = sa.select(r.respondent, r.contact_id, r.account_id, r.segment, r.industry).order_by(r.id)
        found = conn.execute(query).all()
    assert [tuple(r) for r in found] == [
        ("C1", contact, account, "enterprise", "retail"),
        ("C2", None, None, "smb", None),
    ]


BAD = {
    "points that do not add up": (
        ["C1", "", "", "", "20", "30", "45", *GOOD[7:]],
        "points: brand .. points: service",
        "adding up to 100 across the needs (they add up to 95)",
    ),
    "negative points": (
        ["C1", "", "", "", "-10", "60", "50", *GOOD[7:]],
        "points: brand",
        "points from 0 to 100",
    ),
    "points that are not a number": (
        ["C1", "", "", "", "many", "30", "50", *GOOD[7:]],
        "points: brand",
        "a number",
    ),
    "a rating over 10": (
        ["C1", "", "", "", *GOOD[4:8], "11", *GOOD[9:]],
        "us: price",
        "a rating from 0 to 10",
    ),
    "a negative rating": (["C1", "", "", "", *GOOD[4:12], "-1"], "Acme: service", "a rating from 0 to 10"),
    "an unknown function": (
        ["C1", "ceo", "", "", *GOOD[4:]],
        "function",
        "marketing, sales, service, leadership",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_each_bad_answer_names_file_row_and_column(engine: Engine, tmp_path: Path, kind: str) -> None:
    row, column, expected = BAD[kind]
    import_survey(engine, write(tmp_path / "first.csv", [GOOD]), name="S")
    before = dump(engine)
    with pytest.raises(RowError) as caught:
        import_survey(engine, write(tmp_path / "answers.csv", [["C0", *GOOD[1:]], row]), name="S")
    problem = caught.value.problems[0]
    assert (problem.file, problem.row, problem.column) == ("answers.csv", 3, column)
    assert expected in problem.expected
    assert (
        "answers.csv, row 3, column" in caught.value.message
        and "nothing was imported" in caught.value.message
    )
    assert dump(engine) == before


def test_a_duplicate_respondent_names_the_first_row(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(RowError) as caught:
        import_survey(engine, write(tmp_path / "s.csv", [GOOD, ["x", *GOOD[1:]], ["c1", *GOOD[1:]]]))
    problem = caught.value.problems[0]
    assert (problem.row, problem.column, problem.value) == (4, "respondent", "c1")
    assert "row 2 has this one" in problem.expected
    assert _count(engine, survey_respondents) == 0


def test_an_unknown_need_or_vendor_is_named_in_the_header(engine: Engine, tmp_path: Path) -> None:
    header = [*HEADER[:-1], "Acme: delivery"]
    with pytest.raises(RowError) as caught:
        import_survey(engine, write(tmp_path / "s.csv", [GOOD], header))
    problem = caught.value.problems[0]
    assert (problem.row, problem.column, problem.value) == (1, "Acme: delivery", "delivery")
    import_survey(engine, write(tmp_path / "s.csv", [GOOD]), name="S")
    before = dump(engine)
    other = [h.replace("Acme", "Globex") for h in HEADER]
    with pytest.raises(RowError) as caught:
        import_survey(engine, write(tmp_path / "t.csv", [GOOD], other), name="S")
    assert caught.value.problems[0].column == "Globex: brand"
    assert "one of the survey's vendors (us, Acme)" in caught.value.problems[0].expected
    with pytest.raises(RowError, match="one of the survey's needs"):
        import_survey(
            engine, write(tmp_path / "u.csv", [GOOD]), name="T", needs=["brand", "price", "quality"]
        )
    assert dump(engine) == before


def test_files_that_are_not_surveys(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match="no 'respondent' column"):
        import_survey(engine, write(tmp_path / "s.csv", [["x"]], ["name"]))
    with pytest.raises(RowError, match="rating column of our own vendor 'us'"):
        import_survey(engine, write(tmp_path / "s.csv", [GOOD], [h.replace("us:", "we:") for h in HEADER]))
    with pytest.raises(ImportError_, match="conducted on 2026-01-01"):
        import_survey(engine, write(tmp_path / "s.csv", [GOOD]), name="S", conducted_on=date(2026, 1, 1))
        import_survey(engine, write(tmp_path / "s.csv", [GOOD]), name="S", conducted_on=date(2026, 2, 1))
    assert _count(engine, survey_respondents) == 1


allocation = st.lists(st.integers(-5, 105), min_size=3, max_size=3)
rating = st.one_of(st.just(""), st.integers(-2, 12).map(str))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(allocation, st.lists(rating, min_size=6, max_size=6)), min_size=1, max_size=8))
def test_an_import_succeeds_exactly_when_every_answer_is_valid(
    engine: Engine, rows: list[tuple[list[int], list[str]]]
) -> None:
    valid = all(
        sum(points) == 100
        and all(0 <= p <= 100 for p in points)
        and all(r == "" or 0 <= int(r) <= 10 for r in ratings)
        for points, ratings in rows
    )
    cells = [[f"R{i}", "", "", "", *map(str, points), *ratings] for i, (points, ratings) in enumerate(rows)]
    before = dump(engine)
    with TemporaryDirectory() as folder:
        path = write(Path(folder) / "random.csv", cells)
        if valid:
            result = import_survey(engine, path, name=f"random {len(before['surveys'])}")
            assert result.report.created == len(rows)
        else:
            with pytest.raises(RowError):
                import_survey(engine, path, name="random bad")
            assert dump(engine) == before
