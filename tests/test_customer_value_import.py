"""Importing customer value through the import machinery: ravenstack end to end with its presets, the
renewal date rule, value evidence and RIQ answers with their contacts, and the errors that name file, row
and column and leave the database as it was."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.errors import MappingError, RowError
from dealsight.services.imports import import_file
from dealsight.store import schema
from tests.conftest import shared_data
from tests.dbdump import count, dump
from tests.test_import_files import write_csv

pytestmark = pytest.mark.storage
RAVENSTACK = ("ravenstack_saas",)


def ravenstack(name: str) -> Path:
    return shared_data(*RAVENSTACK, f"ravenstack_{name}.csv")


def import_ravenstack(engine: Engine, *names: str) -> dict[str, tuple[int, int, int, int]]:
    """Import ravenstack files in order with the ravenstack presets; (rows, created, updated, unchanged)."""
    counts = {}
    for name in names:
        report = import_file(engine, name, ravenstack(name), preset="ravenstack").reports[0]
        counts[name] = (report.rows, report.created, report.updated, report.unchanged)
    return counts


def one(engine: Engine, table: sa.Table, external_id: str) -> sa.RowMapping:
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.external_id == external_id)).mappings().one()


def accounts_file(folder: Path) -> Path:
    return write_csv(
        folder / "accounts.csv", ["account_id", "account_name"], [["A-1", "Acme"], ["A-2", "Initech"]]
    )


SUB_HEADER = ["subscription_id", "account_id", "start_date", "end_date", "arr_amount", "billing_frequency"]


def test_ravenstack_imports_with_its_presets_and_resolves_accounts_by_their_id(engine: Engine) -> None:
    counts = import_ravenstack(engine, "accounts", "subscriptions", "churn_events")
    assert counts == {
        "accounts": (500, 500, 0, 0),
        "subscriptions": (5000, 5000, 0, 0),
        "churn_events": (600, 600, 0, 0),
    }
    churned = one(engine, schema.subscriptions, "S-8cec59")  # 2023-12-23 .. 2024-04-12, churned, monthly
    account = one(engine, schema.accounts, "A-3c1a3f")
    assert churned["account_id"] == account["id"]
    assert (churned["status"], churned["term_end"], churned["renewal_date"]) == (
        "churned",
        date(2024, 4, 12),
        date(2024, 4, 12),
    )
    assert (churned["arr"], churned["mrr"], churned["plan"], churned["seats"]) == (
        Decimal("33432.00"),
        Decimal("2786.00"),
        "Enterprise",
        14,
    )
    active = one(engine, schema.subscriptions, "S-0f6f44")  # started 2024-06-11, billed monthly, no end
    assert (active["status"], active["term_end"], active["renewal_date"], active["auto_renew"]) == (
        "active",
        None,
        date(2024, 7, 11),
        True,
    )
    event = one(engine, schema.churn_events, "C-816288")
    assert (event["reason"], event["refund_amount"], event["feedback"]) == (
        "pricing",
        Decimal("4.03"),
        "switched to competitor",
    )
    assert event["account_id"] == one(engine, schema.accounts, "A-c37cab")["id"]


def test_ravenstack_reimport_changes_nothing(engine: Engine) -> None:
    import_ravenstack(engine, "accounts", "subscriptions", "churn_events", "support_tickets")
    before = dump(engine)
    again = import_ravenstack(engine, "subscriptions", "churn_events", "support_tickets")
    assert again == {
        "subscriptions": (5000, 0, 0, 5000),
        "churn_events": (600, 0, 0, 600),
        "support_tickets": (2000, 0, 0, 2000),
    }
    after = dump(engine)
    before.pop("import_runs"), after.pop("import_runs")
    assert after == before


def test_usage_takes_its_subscriptions_account(engine: Engine, tmp_path: Path) -> None:
    import_ravenstack(engine, "accounts", "subscriptions")
    rows = [["U-1", "S-8cec59", "2024-01-02", "feature_3", "9", "60", "0", "False"]]
    header = ["usage_id", "subscription_id", "usage_date", "feature_name", "usage_count",
              "usage_duration_secs", "error_count", "is_beta_feature"]  # fmt: skip
    import_file(engine, "feature_usage", write_csv(tmp_path / "usage.csv", header, rows), preset="ravenstack")
    usage = one(engine, schema.feature_usage, "U-1")
    assert usage["account_id"] == one(engine, schema.accounts, "A-3c1a3f")["id"]
    assert (usage["used_on"], usage["usage_count"], usage["is_beta"]) == (date(2024, 1, 2), 9, False)


def test_the_renewal_date_rule(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, "accounts", accounts_file(tmp_path), preset="ravenstack")
    header = [*SUB_HEADER, "renewal_date"]
    rows = [
        ["S-1", "A-1", "2024-01-31", "", "1200", "monthly", ""],  # start + a month, at the month's end
        ["S-2", "A-1", "2024-01-15", "", "1200", "annual", ""],  # start + a year
        ["S-3", "A-1", "2024-01-15", "", "1200", "quarterly", ""],
        ["S-4", "A-2", "2023-03-01", "2026-02-28", "1200", "annual", ""],  # the term end
        ["S-5", "A-2", "2023-03-01", "2026-02-28", "1200", "annual", "2026-01-31"],  # the date given
    ]
    mapping = tmp_path / "subs.yaml"
    mapping.write_text(
        "entity: subscriptions\ncolumns: {external_id: subscription_id, account: account_id, "
        "term_start: start_date, term_end: end_date, arr: arr_amount, billing_frequency: billing_frequency, "
        "renewal_date: renewal_date}\n"
    )
    import_file(engine, "subscriptions", write_csv(tmp_path / "s.csv", header, rows), mapping=mapping)
    renewals = {f"S-{i}": one(engine, schema.subscriptions, f"S-{i}")["renewal_date"] for i in range(1, 6)}
    assert renewals == {
        "S-1": date(2024, 2, 29),
        "S-2": date(2025, 1, 15),
        "S-3": date(2024, 4, 15),
        "S-4": date(2026, 2, 28),
        "S-5": date(2026, 1, 31),
    }
    assert one(engine, schema.subscriptions, "S-1")["mrr"] == Decimal("100.00")  # ARR / 12


@pytest.mark.parametrize(
    ("cell", "value", "column", "expected"),
    [
        (2, "31/31/2024", "start_date", "a date such as 2024-03-31"),
        (4, "-500", "arr_amount", "a value of 0 or more"),
        (1, "A-404", "account_id", "the id or name of an account in dealsight"),
        (3, "2023-01-01", "end_date", "a day on or after term_start (2024-02-01)"),
    ],
)
def test_a_bad_subscription_names_file_row_and_column_and_writes_nothing(
    engine: Engine, tmp_path: Path, cell: int, value: str, column: str, expected: str
) -> None:
    import_file(engine, "accounts", accounts_file(tmp_path), preset="ravenstack")
    rows = [
        ["S-1", "A-1", "2024-01-01", "", "1200", "annual"],
        ["S-2", "A-2", "2024-02-01", "", "900", "monthly"],
    ]
    rows[1][cell] = value
    path = write_csv(tmp_path / "subscriptions.csv", SUB_HEADER, rows)
    before = dump(engine)
    with pytest.raises(RowError) as caught:
        import_file(engine, "subscriptions", path, preset="ravenstack")
    problem = caught.value.problems[0]
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "subscriptions.csv",
        3,
        column,
        value,
    )
    assert expected in problem.expected
    assert "nothing was imported" in caught.value.message
    assert dump(engine) == before


def test_neither_arr_nor_mrr_is_a_problem(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, "accounts", accounts_file(tmp_path), preset="ravenstack")
    path = write_csv(tmp_path / "s.csv", SUB_HEADER, [["S-1", "A-1", "2024-01-01", "", "", "annual"]])
    with pytest.raises(RowError, match=r"s.csv, row 2, column 'arr_amount'.*an ARR or an MRR"):
        import_file(engine, "subscriptions", path, preset="ravenstack")
    assert count(engine, "subscriptions") == 0


def test_a_preset_family_needs_a_member_for_the_entity(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="no preset named 'ravenstack'"):
        import_file(engine, "contacts", accounts_file(tmp_path), preset="ravenstack")


VALUE_HEADER = ["Account", "Metric", "Baseline", "Achieved", "Value", "Confirmed by", "Title", "Level", "Day"]
VALUE_MAPPING = """entity: value_evidence
columns:
  account: Account
  metric: Metric
  baseline: Baseline
  achieved: Achieved
  monetary_value: Value
  confirmed_by: Confirmed by
  confirmer_title: Title
  confirmer_level: Level
  confirmed_on: Day
"""


def contacts_file(folder: Path) -> Path:
    header = ["id", "account", "name", "email", "title"]
    rows = [
        ["C-1", "A-1", "Ada Chief", "ada@acme.example", "CFO"],
        ["C-2", "A-1", "Bo Ops", "bo@acme.example", "Ops lead"],
    ]
    return write_csv(folder / "contacts.csv", header, rows)


def test_value_evidence_keeps_who_confirmed_and_their_level(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, "accounts", accounts_file(tmp_path), preset="ravenstack")
    mapping = tmp_path / "contacts.yaml"
    mapping.write_text(
        "entity: contacts\ncolumns: {external_id: id, account: account, name: name, email: email, "
        "title: title}\n"
    )
    import_file(engine, "contacts", contacts_file(tmp_path), mapping=mapping)
    rows = [
        ["A-1", "Close time (days)", "12", "4", "$180,000", "ada@acme.example", "", "", "2025-03-31"],
        ["Acme", "Tickets per week", "40", "25", "20000", "C-2", "Ops lead", "staff", "2025-06-30"],
        ["A-2", "Hours saved", "", "300", "", "nobody@x.example", "VP Sales", "VP", "2025-05-01"],
    ]
    (tmp_path / "value.yaml").write_text(VALUE_MAPPING)
    path = write_csv(tmp_path / "value.csv", VALUE_HEADER, rows)
    report = import_file(engine, "value_evidence", path, mapping=tmp_path / "value.yaml").reports[0]
    assert (report.created, report.warnings) == (
        3,
        ["1 value confirmed by someone not among the contacts; left empty"],
    )
    with engine.connect() as conn:
        table = schema.value_evidence
        stored = conn.execute(sa.select(table).order_by(table.c.confirmed_on)).mappings().all()
        ada = conn.execute(
            sa.select(schema.contacts.c.id).where(schema.contacts.c.external_id == "C-1")
        ).scalar()
    assert [(r["metric"], r["monetary_value"], r["confirmer_level"]) for r in stored] == [
        ("Close time (days)", Decimal("180000.00"), "executive"),  # the CFO is an executive contact
        ("Hours saved", None, "executive"),  # "VP" read as the executive level
        ("Tickets per week", Decimal("20000.00"), "staff"),
    ]
    assert (stored[0]["confirmed_by_id"], stored[0]["baseline"], stored[0]["achieved"]) == (ada, 12.0, 4.0)
    assert stored[1]["confirmed_by_id"] is None and stored[1]["confirmer_title"] == "VP Sales"
    again = import_file(engine, "value_evidence", path, mapping=tmp_path / "value.yaml").reports[0]
    assert (again.created, again.unchanged) == (0, 3)  # no ids: recognised by account, metric and day


def test_riq_answers_and_their_errors(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, "accounts", accounts_file(tmp_path), preset="ravenstack")
    header = ["account", "impact", "recovery", "answer", "answered_on"]
    good = [["A-1", "Critical", "cannot recover", "Our billing stops.", "2025-04-01"],
            ["A-2", "minor", "days", "We would use spreadsheets.", "2025-04-02"]]  # fmt: skip
    report = import_file(engine, "riq_answers", write_csv(tmp_path / "riq.csv", header, good)).reports[0]
    assert report.created == 2
    with engine.connect() as conn:
        answers = conn.execute(sa.select(schema.riq_answers.c.impact, schema.riq_answers.c.recovery)).all()
    assert sorted(answers) == [("critical", "cannot"), ("minor", "days")]
    before = dump(engine)
    bad = [["A-1", "enormous", "weeks", "", "2025-05-01"]]
    with pytest.raises(RowError) as caught:
        import_file(engine, "riq_answers", write_csv(tmp_path / "bad.csv", header, bad))
    problem = caught.value.problems[0]
    assert (problem.row, problem.column, problem.value) == (2, "impact", "enormous")
    assert problem.expected == "one of none, minor, major, critical"
    assert dump(engine) == before


def test_a_merged_accounts_subscriptions_move_to_the_kept_account(engine: Engine, tmp_path: Path) -> None:
    from dealsight.services.accounts import merge_accounts

    import_file(engine, "accounts", accounts_file(tmp_path), preset="ravenstack")
    path = write_csv(tmp_path / "s.csv", SUB_HEADER, [["S-1", "A-2", "2024-01-01", "", "1200", "annual"]])
    import_file(engine, "subscriptions", path, preset="ravenstack")
    merge_accounts(engine, "A-1", "A-2")
    assert one(engine, schema.subscriptions, "S-1")["account_id"] == one(engine, schema.accounts, "A-1")["id"]
