"""Importers on both back ends: presets, XLSX, mappings, re-imports, history, errors that write nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.engine import Engine

from dealsight.errors import MappingError, RowError
from dealsight.services.imports import import_file
from dealsight.store import schema
from tests.dbdump import count, dump

SF_HEADER = [
    "Opportunity ID",
    "Opportunity Name",
    "Account Name",
    "Opportunity Owner",
    "Stage",
    "Amount",
    "Probability (%)",
    "Close Date",
    "Created Date",
    "Forecast Category",
    "Lead Source",
    "Loss Reason",
]
SF_ROWS = [
    [
        "006A1",
        "Acme - Platform",
        "Acme Inc.",
        "Dana Reyes",
        "Proposal/Price Quote",
        "$120,000.00",
        "75",
        "3/31/2024",
        "1/10/2024",
        "Commit",
        "Web",
        "",
    ],
    [
        "006A2",
        "Globex - Renewal",
        "Globex",
        "Sam Park",
        "Closed Lost",
        "40000",
        "0",
        "2/15/2024",
        "11/02/2023",
        "Omitted",
        "Partner",
        "No decision - kept status quo",
    ],
    [
        "006A3",
        "Initech - Pilot",
        "Initech",
        "Dana Reyes",
        "Closed Won",
        "15,500",
        "100",
        "1/31/2024",
        "12/01/2023",
        "Closed",
        "Web",
        "",
    ],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def opportunities(engine: Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.opportunities)).mappings()
        return {r["external_id"]: dict(r) for r in rows}


def test_salesforce_preset(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "opps.csv", SF_HEADER, SF_ROWS)
    result = import_file(engine, "opportunities", path, preset="salesforce_opportunities")
    assert (result.reports[0].created, result.reports[0].updated) == (3, 0)
    deals = opportunities(engine)
    assert deals["006A1"]["stage"] == "Proposal/Price Quote" and deals["006A1"]["outcome"] is None
    assert float(deals["006A1"]["amount"]) == 120000.0  # type: ignore[arg-type]
    assert deals["006A1"]["forecast_category"] == "commit"
    assert deals["006A1"]["probability"] == pytest.approx(0.75)
    assert str(deals["006A1"]["expected_close_date"]) == "2024-03-31"
    assert deals["006A2"]["outcome"] == "no_decision", "a status-quo loss reason is a no decision"
    assert deals["006A3"]["outcome"] == "won" and str(deals["006A3"]["closed_date"]) == "2024-01-31"
    assert count(engine, "accounts") == 3 and count(engine, "users") == 2
    assert any("created 3 accounts" in w for w in result.warnings)


def test_reimport_updates_and_records_history(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "opps.csv", SF_HEADER, SF_ROWS)
    import_file(engine, "opportunities", path, preset="salesforce_opportunities")
    again = import_file(engine, "opportunities", path, preset="salesforce_opportunities")
    assert (again.reports[0].created, again.reports[0].updated, again.reports[0].unchanged) == (0, 0, 3)
    moved = [list(r) for r in SF_ROWS]
    moved[0][4], moved[0][7] = "Negotiation/Review", "4/30/2024"
    write_csv(path, SF_HEADER, moved)
    third = import_file(engine, "opportunities", path, preset="salesforce_opportunities")
    assert (third.reports[0].created, third.reports[0].updated) == (0, 1)
    assert count(engine, "opportunities") == 3
    with engine.connect() as conn:
        changes = {
            r.field: (r.old_value, r.new_value) for r in conn.execute(sa.select(schema.opportunity_history))
        }
    assert changes == {
        "stage": ("Proposal/Price Quote", "Negotiation/Review"),
        "close_date": ("2024-03-31", "2024-04-30"),
    }


def test_snapshot_history_becomes_changes(engine: Engine, tmp_path: Path) -> None:
    import_file(
        engine,
        "opportunities",
        write_csv(tmp_path / "o.csv", SF_HEADER, SF_ROWS),
        preset="salesforce_opportunities",
    )
    header = [
        "Opportunity ID",
        "Edit Date",
        "Last Modified By",
        "Stage",
        "Amount",
        "Close Date",
        "Forecast Category",
    ]
    rows = [
        ["006A1", "1/10/2024 9:00 AM", "Dana Reyes", "Prospecting", "100000", "3/31/2024", "Pipeline"],
        ["006A1", "2/01/2024 9:00 AM", "Dana Reyes", "Needs Analysis", "100000", "3/31/2024", "Pipeline"],
        ["006A1", "2/20/2024 9:00 AM", "Dana Reyes", "Proposal/Price Quote", "120000", "3/31/2024", "Commit"],
    ]
    path = write_csv(tmp_path / "history.csv", header, rows)
    first = import_file(engine, "history", path, preset="salesforce_opportunity_history")
    with engine.connect() as conn:
        history = conn.execute(
            sa.select(
                schema.opportunity_history.c.field,
                schema.opportunity_history.c.old_value,
                schema.opportunity_history.c.new_value,
            ).order_by(schema.opportunity_history.c.changed_at, schema.opportunity_history.c.field)
        ).all()
    stage_changes = [(o, n) for f, o, n in history if f == "stage"]
    assert stage_changes == [
        (None, "Prospecting"),
        ("Prospecting", "Needs Analysis"),
        ("Needs Analysis", "Proposal/Price Quote"),
    ]
    assert [(o, n) for f, o, n in history if f == "amount"] == [(None, "100000"), ("100000", "120000")]
    assert [(o, n) for f, o, n in history if f == "close_date"] == [(None, "2024-03-31")]
    assert first.reports[0].created == len(history)
    again = import_file(engine, "history", path, preset="salesforce_opportunity_history")
    assert (again.reports[0].created, again.reports[0].updated) == (0, 0)


def test_history_for_unknown_opportunity_is_rejected(engine: Engine, tmp_path: Path) -> None:
    header = ["Opportunity ID", "Edit Date", "Field / Event", "Old Value", "New Value"]
    path = write_csv(tmp_path / "fh.csv", header, [["006ZZ", "2024-01-05", "Stage", "A", "B"]])
    with pytest.raises(RowError) as caught:
        import_file(engine, "history", path, preset="salesforce_field_history")
    assert "fh.csv, row 2, column 'Opportunity ID'" in caught.value.message
    assert "import opportunities first" in caught.value.message


def test_hubspot_xlsx(engine: Engine, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(
        [
            "Record ID",
            "Deal Name",
            "Deal Stage",
            "Amount",
            "Close Date",
            "Create Date",
            "Deal owner",
            "Associated Company",
            "Pipeline",
        ]
    )
    from datetime import datetime

    sheet.append(
        [
            9001,
            "Umbrella expansion",
            "Contract Sent",
            48000.0,
            datetime(2024, 6, 30),
            datetime(2024, 2, 1, 14, 30),
            "lee@example.com",
            "Umbrella Corp",
            "Sales Pipeline",
        ]
    )
    sheet.append(
        [
            9002,
            "Hooli trial",
            "Closed Won",
            9000,
            datetime(2024, 4, 2),
            datetime(2024, 1, 3),
            "lee@example.com",
            "Hooli",
            "Sales Pipeline",
        ]
    )
    path = tmp_path / "hubspot.xlsx"
    book.save(path)
    result = import_file(engine, "opportunities", path, preset="hubspot_deals")
    assert result.reports[0].created == 2
    deals = opportunities(engine)
    assert deals["9001"]["stage"] == "Contract Sent" and str(deals["9001"]["created_date"]) == "2024-02-01"
    assert deals["9002"]["outcome"] == "won"
    with engine.connect() as conn:
        owners = conn.execute(sa.select(schema.users.c.email)).scalars().all()
    assert owners == ["lee@example.com"]


def test_plain_headers_and_semicolons(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "accounts.csv",
        ["External ID", "Name", "Domain", "Industry", "Employees", "Parent"],
        [
            ["A1", "Acme Inc.", "https://www.acme.com", "Manufacturing", "1,200", ""],
            ["A2", "Acme Europe", "acme.eu", "Manufacturing", "300", "Acme Inc."],
        ],
        delimiter=";",
    )
    result = import_file(engine, "accounts", path)
    assert result.reports[0].created == 2
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(sa.select(schema.accounts))}
    assert rows["A1"].domain == "acme.com" and rows["A1"].employees == 1200
    assert rows["A2"].parent_id == rows["A1"].id


def test_bad_rows_reject_the_file_and_write_nothing(engine: Engine, tmp_path: Path) -> None:
    import_file(
        engine,
        "opportunities",
        write_csv(tmp_path / "ok.csv", SF_HEADER, SF_ROWS),
        preset="salesforce_opportunities",
    )
    before = dump(engine)
    bad = [list(r) for r in SF_ROWS] + [list(SF_ROWS[0])]
    bad[1][5] = "forty thousand"
    bad[3][0], bad[3][7] = "006A9", "the 31st"
    path = write_csv(tmp_path / "bad.csv", SF_HEADER, bad)
    with pytest.raises(RowError) as caught:
        import_file(engine, "opportunities", path, preset="salesforce_opportunities")
    problems = caught.value.problems
    assert [(p.row, p.column) for p in problems] == [(3, "Amount"), (5, "Close Date")]
    assert "a number such as 1250.50" in problems[0].expected
    assert caught.value.message.startswith("bad.csv, row 3, column 'Amount': got 'forty thousand'")
    assert dump(engine) == before


def test_dry_run_reports_and_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    before = dump(engine)
    path = write_csv(tmp_path / "opps.csv", SF_HEADER, SF_ROWS)
    result = import_file(engine, "opportunities", path, preset="salesforce_opportunities", dry_run=True)
    assert result.dry_run and result.reports[0].created == 3
    assert dump(engine) == before


def test_mapping_errors_name_the_problem(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "opps.csv", SF_HEADER, SF_ROWS)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("entity: opportunities\ncolumns: {external_id: Opportunity ID, stage: Phase}\n")
    with pytest.raises(MappingError, match=r"no column 'Phase'.*the file's columns are Opportunity ID"):
        import_file(engine, "opportunities", path, mapping=mapping)
    mapping.write_text("entity: opportunities\ncolumns: {external_id: Opportunity ID, stag: Stage}\n")
    with pytest.raises(MappingError, match=r"columns.stag is not a field of opportunities"):
        import_file(engine, "opportunities", path, mapping=mapping)
    with pytest.raises(MappingError, match="no preset named 'salesfarce'"):
        import_file(engine, "opportunities", path, preset="salesfarce")
    with pytest.raises(
        MappingError, match=r"nothing gives the opportunities field 'external_id'; give --preset"
    ):
        import_file(engine, "opportunities", path)  # Salesforce headers without the preset


@pytest.mark.parametrize(
    ("entity", "text", "column"),
    [
        ("opportunities", "external_id,name,stage,amount\nX1,Deal,,5\nX2,Other,Prospecting,6\n", "stage"),
        (
            "opportunities",
            "external_id,name,stage\nX1,Deal,Prospecting\n,Nameless,Prospecting\n",
            "external_id",
        ),
        ("accounts", "name,domain\nAcme,acme.com\n,globex.com\n", "name"),
        ("contacts", "external_id,name,email\nC1,Jo,jo@acme.com\n,Al,al@acme.com\n", "external_id"),
    ],
)
def test_an_empty_required_cell_is_a_row_problem(
    engine: Engine, tmp_path: Path, entity: str, text: str, column: str
) -> None:
    path = tmp_path / f"{entity}.csv"
    path.write_text(text, encoding="utf-8")
    before = dump(engine)
    with pytest.raises(RowError) as caught:
        import_file(engine, entity, path)
    problem = caught.value.problems[0]
    assert (problem.column, problem.value, problem.expected) == (column, "", "a value (required)")
    assert problem.row == (2 if column == "stage" else 3)
    assert dump(engine) == before
