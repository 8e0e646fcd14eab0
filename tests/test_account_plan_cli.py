"""``dealsight import account-goals FILE`` and ``dealsight account-plan ACCOUNT`` on a small hand-made
organisation, on SQLite and PostgreSQL: goals created, re-imported unchanged or updated, deals linked, a
bad file named by file, row and column with nothing written, a dry run; the plan printed and as JSON."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from dealsight.cli.main import app
from dealsight.errors import NotFoundError, RowError
from dealsight.store.schema import (
    account_goal_deals,
    account_goals,
    accounts,
    audit_log,
    contacts,
    opportunities,
    products,
    stages,
    users,
)

pytestmark = pytest.mark.storage
runner = CliRunner()
HEADER = "account,goal,executive,owner,target_date,priority,status,measure,deals\n"
GOALS = (
    HEADER
    + "Acme,Forecast within 5%,cfo@acme.test,ana@us.test,2027-06-30,high,in_progress,error under 5%,OPP-1; "
    "Acme expansion\n"
    + "Acme,Cut churn by 3 points,Carla Champion,,,low,,,\n"
    + "G-1,Open two regions,,Ben Sponsor,2027-01-31,,identified,,\n"
)


def _insert(conn: sa.Connection, table: sa.Table, defaults: dict[str, Any], *rows: dict[str, Any]) -> None:
    conn.execute(table.insert(), [{**defaults, **row} for row in rows])


@pytest.fixture
def organisation(engine: Engine) -> Engine:
    """Two users, two accounts (Acme with a CFO and a champion; Globex), stages, two products and deals."""
    with engine.begin() as conn:
        _insert(
            conn,
            users,
            {"role": "rep"},
            {"id": 1, "name": "Ana Rep", "name_key": "ana rep", "email": "ana@us.test"},
            {"id": 2, "name": "Ben Sponsor", "name_key": "ben sponsor", "email": "ben@us.test"},
        )
        _insert(
            conn,
            accounts,
            {"industry": "Software", "segment": "smb", "owner_id": 1, "external_id": None},
            {"id": 1, "name": "Acme", "name_key": "acme"},
            {"id": 2, "name": "Globex", "name_key": "globex", "external_id": "G-1"},
        )
        person = {"account_id": 1, "email": None, "is_executive": False, "deal_role": None}
        _insert(
            conn,
            contacts,
            person,
            {
                "id": 1,
                "name": "Cora Finance",
                "email": "cfo@acme.test",
                "title": "Chief Financial Officer",
                "is_executive": True,
                "influence": "high",
                "stance": "neutral",
            },
            {
                "id": 2,
                "name": "Carla Champion",
                "title": "Head of Sales Operations",
                "influence": "medium",
                "stance": "supporter",
                "deal_role": "champion",
            },
        )
        _insert(
            conn,
            stages,
            {},
            {"id": 1, "name": "Proposal", "position": 1, "probability": 0.5, "outcome": None},
            {"id": 2, "name": "Closed Won", "position": 2, "probability": 1.0, "outcome": "won"},
        )
        _insert(
            conn,
            products,
            {},
            {"id": 1, "name": "Platform", "name_key": "platform", "series": "Platform", "list_price": 90000},
            {"id": 2, "name": "Add-on", "name_key": "add on", "series": "Add-ons", "list_price": 9000},
        )
        deal = {
            "owner_id": 1,
            "currency": "USD",
            "account_id": 1,
            "stage": "Proposal",
            "outcome": None,
            "product": "Platform",
            "external_id": None,
        }
        _insert(
            conn,
            opportunities,
            deal,
            {"id": 1, "external_id": "OPP-1", "name": "Acme platform", "amount": Decimal(90000)},
            {"id": 2, "name": "Acme expansion", "amount": Decimal(20000)},
            {"id": 3, "name": "Acme pilot", "amount": Decimal(5000), "product": None},
            {
                "id": 4,
                "name": "Globex add-on",
                "account_id": 2,
                "stage": "Closed Won",
                "outcome": "won",
                "amount": Decimal(9000),
                "product": "Add-on",
            },
            {"id": 5, "name": "Acme first", "stage": "Closed Won", "outcome": "won", "amount": Decimal(9000)},
        )
    return engine  # fmt: skip


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def run(engine: Engine, *args: str) -> Any:
    return runner.invoke(app, [*args, "--database", _url(engine)], env={"COLUMNS": "200"})


def _file(tmp_path: Path, text: str, name: str = "goals.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_importing_goals_then_again(organisation: Engine, tmp_path: Path) -> None:
    engine = organisation
    first = run(engine, "import", "account-goals", _file(tmp_path, GOALS))
    assert first.exit_code == 0, first.output
    assert "│ goals.csv │ account goals │    3 │       3 │       0 │         0 │" in first.output
    with engine.connect() as conn:
        rows = {r.goal: r for r in conn.execute(sa.select(account_goals))}
        links = set(
            conn.execute(sa.select(account_goal_deals.c.goal_id, account_goal_deals.c.opportunity_id))
        )
        via = set(
            conn.execute(sa.select(audit_log.c.via).where(audit_log.c.entity == "account_goal")).scalars()
        )
    forecast = rows["Forecast within 5%"]
    assert (forecast.executive_id, forecast.owner_id) == (1, 1)
    assert (forecast.priority, forecast.status) == ("high", "in_progress")
    assert (rows["Cut churn by 3 points"].executive_id, rows["Cut churn by 3 points"].status) == (
        2,
        "identified",
    )
    assert (rows["Open two regions"].account_id, rows["Open two regions"].owner_id) == (2, 2)
    assert links == {(forecast.id, 1), (forecast.id, 2)} and via == {"cli"}
    again = run(engine, "import", "account-goals", _file(tmp_path, GOALS))
    assert "│    3 │       0 │       0 │         3 │" in again.output
    changed = GOALS.replace(
        "Cut churn by 3 points,Carla Champion,,,low", "Cut churn by 3 points,Carla Champion,,,high"
    )
    third = run(engine, "import", "account-goals", _file(tmp_path, changed))
    assert "│    3 │       0 │       1 │         2 │" in third.output
    assert _count(engine, account_goals) == 3


def test_a_bad_file_names_file_row_and_column_and_writes_nothing(
    organisation: Engine, tmp_path: Path
) -> None:
    engine = organisation
    with engine.begin() as conn:  # a second deal of the same name
        conn.execute(opportunities.insert().values(id=6, name="Acme pilot", account_id=1, stage="Proposal"))
    bad = (
        HEADER
        + "Nowhere Inc,A goal,,,,,,,\n"
        + "Acme,Another goal,,,2027-02-30,urgent,,,\n"
        + "Acme,Third goal,nobody@acme.test,,,,,,OPP-404\n"
        + "Acme,,,,,,,,\n"
        + "Acme,Fifth goal,,Nobody Known,,,,,Acme pilot; 6\n"
    )
    before = (_count(engine, account_goals), _count(engine, audit_log))
    result = run(engine, "import", "account-goals", _file(tmp_path, bad, "bad.csv"))
    assert isinstance(result.exception, RowError)
    message = result.exception.message
    assert (
        message.startswith("bad.csv, row 2, column 'account': got 'Nowhere Inc'")
        and "nothing was imported" in message
    )
    found = {(p.row, p.column) for p in result.exception.problems}
    assert {(3, "target_date"), (3, "priority"), (4, "executive"), (4, "deals"), (5, "goal")} <= found
    assert {(6, "owner"), (6, "deals")} <= found and len(found) == 8  # deal 6, by its id, is one deal
    twice = next(p for p in result.exception.problems if (p.row, p.column) == (6, "deals"))
    assert (
        twice.value == "Acme pilot"
        and "one deal of the account: 2 have this name; give its id" in twice.expected
    )
    assert (_count(engine, account_goals), _count(engine, audit_log)) == before
    dry = run(engine, "import", "account-goals", _file(tmp_path, GOALS), "--dry-run")
    assert dry.exit_code == 0 and "Dry run: nothing was written" in dry.output
    assert _count(engine, account_goals) == 0
    missing = run(engine, "import", "account-goals", _file(tmp_path, "account,measure\nAcme,x\n", "cols.csv"))
    assert "missing column goal" in missing.exception.message


def test_the_plan_on_the_command_line(organisation: Engine, tmp_path: Path) -> None:
    engine = organisation
    run(engine, "import", "account-goals", _file(tmp_path, GOALS))
    shown = run(engine, "account-plan", "Acme")
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert "Account plan: Acme (account 1, Software, segment smb; owner Ana Rep)" in text
    assert (
        "Open pipeline 115,000 USD: 96% of it serves a goal (110,000 aligned, 5,000 serving no goal)" in text
    )
    assert "Goals no deal serves\n  - Cut churn by 3 points (low priority)" in text
    assert "Acme pilot (3)" in text.split("Open deals that serve no goal")[1]
    assert (
        "nobody on our side covers Cora Finance (Chief Financial Officer), who owns the goal 'Forecast"
        in text
    )
    assert "Add-on" in text.split("Whitespace")[1] and "100% (1)" in text
    data = json.loads(run(engine, "account-plan", "1", "--json").output)
    assert data["account_name"] == "Acme" and data["goals"][0]["goal"]["goal"] == "Forecast within 5%"
    assert [d["id"] for d in data["unaligned_deals"]] == [3] and data["whitespace"]["owned"] == ["Platform"]
    assert sorted(g["kind"] for g in data["gaps"]) == ["executives_uncovered", *["goal_owner_uncovered"] * 2]
    unknown = run(engine, "account-plan", "Nowhere")
    assert isinstance(unknown.exception, NotFoundError)
