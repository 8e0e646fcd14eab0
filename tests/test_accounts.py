"""Duplicate accounts on both back ends: finding, merging, refusing bad merges, import warnings, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from dealsight.cli.main import app
from dealsight.domain.names import name_key
from dealsight.errors import ConflictError, NotFoundError
from dealsight.services.accounts import find_duplicates, merge_accounts, merge_log, plan_merge
from dealsight.services.imports import import_file
from dealsight.store import schema
from tests.dbdump import count, dump

runner = CliRunner()
WHEN = datetime(2024, 3, 1, 9, 30)


def _account(conn: sa.Connection, name: str, **values: Any) -> int:
    query = schema.accounts.insert().values(name=name, name_key=name_key(name), **values)
    return int(conn.execute(query.returning(schema.accounts.c.id)).scalar_one())


def _opportunity(conn: sa.Connection, external_id: str, account_id: int) -> None:
    conn.execute(
        schema.opportunities.insert().values(
            external_id=external_id, name=f"Deal {external_id}", account_id=account_id, stage="Prospecting"
        )
    )


@pytest.fixture
def acme(engine: Engine) -> dict[str, int]:
    """Acme Inc. (kept), ACME Corporation (its duplicate, with deals, a contact, an activity and a child),
    Roadrunner Holdings (the duplicate's parent), Initech and Globex (unrelated)."""
    with engine.begin() as conn:
        ids = {
            "kept": _account(conn, "Acme Inc.", external_id="A-1", industry="Software"),
            "holdings": _account(conn, "Roadrunner Holdings"),
        }
        ids["dup"] = _account(
            conn,
            "ACME Corporation",
            external_id="A-2",
            domain="acme.com",
            industry="Manufacturing",
            country="United States",
            employees=500,
            parent_id=ids["holdings"],
        )
        ids["child"] = _account(conn, "Acme Robotics Division", parent_id=ids["dup"])
        ids["initech"] = _account(conn, "Initech", domain="initech.com")
        ids["globex"] = _account(conn, "Globex")
        _opportunity(conn, "O-1", ids["kept"])
        _opportunity(conn, "O-2", ids["dup"])
        _opportunity(conn, "O-3", ids["dup"])
        _opportunity(conn, "O-4", ids["initech"])
        conn.execute(
            schema.contacts.insert().values(
                external_id="C-1", name="Wile E.", email="wile@acme.com", account_id=ids["dup"]
            )
        )
        conn.execute(
            schema.activities.insert().values(
                external_id="ACT-1", type="call", occurred_at=WHEN, account_id=ids["dup"]
            )
        )
    return ids


def _scalar(engine: Engine, query: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def test_find_duplicates_lists_pairs_with_counts(engine: Engine, acme: dict[str, int]) -> None:
    pairs = find_duplicates(engine)
    assert [(p.left.id, p.right.id) for p in pairs] == [(acme["kept"], acme["dup"])]
    pair = pairs[0]
    assert pair.score >= 95
    assert "same name once legal suffixes are removed: 'acme'" in pair.evidence
    assert (pair.left.opportunities, pair.right.opportunities) == (1, 2)
    assert pair.suggested_keep.id == acme["dup"]
    assert find_duplicates(engine, limit=0) == []
    low = find_duplicates(engine, threshold=60)
    assert len(low) >= len(pairs) and low[0] == pairs[0]


def test_merge_moves_everything_fills_gaps_and_logs(engine: Engine, acme: dict[str, int]) -> None:
    plan = plan_merge(engine, "A-1", "ACME Corporation")
    assert (plan.moves.opportunities, plan.moves.contacts, plan.moves.activities, plan.moves.children) == (
        2, 1, 1, 1,
    )  # fmt: skip
    assert plan.fills == {"domain": "acme.com", "country": "United States", "employees": 500}

    done = merge_accounts(engine, "A-1", "ACME Corporation")
    kept, dup = acme["kept"], acme["dup"]
    assert (done.kept_id, done.merged_id, done.merged_name) == (kept, dup, "ACME Corporation")
    assert (done.moved_opportunities, done.moved_contacts) == (2, 1)
    assert done.score is not None and done.score >= 95 and "legal suffixes" in (done.evidence or "")

    opps = schema.opportunities
    assert _scalar(engine, sa.select(sa.func.count()).where(opps.c.account_id == kept)) == 3
    assert _scalar(engine, sa.select(schema.contacts.c.account_id)) == kept
    assert _scalar(engine, sa.select(schema.activities.c.account_id)) == kept
    accounts = schema.accounts
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(accounts))}
    assert rows[acme["child"]].parent_id == kept
    assert rows[dup].merged_into_id == kept and rows[dup].external_id == "A-2"
    assert rows[kept].domain == "acme.com" and rows[kept].industry == "Software"
    assert rows[kept].country == "United States" and rows[kept].employees == 500
    assert rows[kept].parent_id == acme["holdings"]
    assert count(engine, "account_merges") == 1
    [entry] = merge_log(engine)
    assert entry.kept_name == "Acme Inc." and entry.merged_external_id == "A-2"
    assert entry.merge.moved_opportunities == 2 and entry.merge.score == done.score
    # a merged account is no longer a candidate
    assert find_duplicates(engine) == []


def test_given_score_and_evidence_are_recorded(engine: Engine, acme: dict[str, int]) -> None:
    done = merge_accounts(engine, str(acme["initech"]), "Globex", score=42.0, evidence="same CFO")
    assert (done.score, done.evidence) == (42.0, "same CFO")
    assert _scalar(engine, sa.select(schema.account_merges.c.evidence)) == "same CFO"


def test_refused_merges_leave_the_database_unchanged(engine: Engine, acme: dict[str, int]) -> None:
    with engine.begin() as conn:
        _account(conn, "Globex")  # a second account called Globex
    before = dump(engine)
    with pytest.raises(ConflictError, match="into itself"):
        merge_accounts(engine, "A-1", "Acme Inc.")
    with pytest.raises(NotFoundError, match="no account with id, external id or name 'Nope'"):
        merge_accounts(engine, "A-1", "Nope")
    with pytest.raises(ConflictError, match=r"2 accounts are called 'Globex'.*id \d+.*id \d+"):
        merge_accounts(engine, "A-1", "Globex")
    assert dump(engine) == before

    merge_accounts(engine, "A-1", "A-2")
    after_merge = dump(engine)
    with pytest.raises(ConflictError, match=r"already merged into 'Acme Inc\.'"):
        merge_accounts(engine, "A-1", "A-2")
    with pytest.raises(ConflictError, match="cannot keep"):
        merge_accounts(engine, str(acme["dup"]), "Initech")
    assert dump(engine) == after_merge


def test_reimport_naming_the_merged_account_lands_on_the_kept_one(
    engine: Engine, acme: dict[str, int], tmp_path: Path
) -> None:
    merge_accounts(engine, "Acme Inc.", "ACME Corporation")
    accounts_before = count(engine, "accounts")
    path = tmp_path / "opportunities.csv"
    path.write_text(
        "external_id,name,account,stage,amount\n"
        "O-2,Renewal,A-2,Negotiation,1000\n"
        "O-9,Expansion,A-2,Prospecting,500\n"
        "O-10,Upsell,ACME Corporation,Prospecting,700\n"
        "O-11,Pilot,acme corporation,Prospecting,300\n"
    )
    import_file(engine, "opportunities", path)
    opps = schema.opportunities
    with engine.connect() as conn:
        placed = dict(conn.execute(sa.select(opps.c.external_id, opps.c.account_id)).all())
    assert {placed[o] for o in ("O-2", "O-9", "O-10", "O-11")} == {acme["kept"]}
    assert count(engine, "accounts") == accounts_before


def test_import_warns_about_near_duplicates_only(
    engine: Engine, acme: dict[str, int], tmp_path: Path
) -> None:
    similar = tmp_path / "accounts.csv"
    similar.write_text("name,domain\nInitech LLC,initech.com\nHooli,hooli.xyz\n")
    result = import_file(engine, "accounts", similar)
    [warning] = [w for w in result.warnings if "look" in w]
    assert warning.startswith("1 imported account looks like accounts already in the store: ")
    assert (
        "'Initech LLC' ~ 'Initech' (score 97, same name once legal suffixes are removed: 'initech')"
        in warning
    )
    assert "`dealsight accounts duplicates`" in warning and "`dealsight accounts merge`" in warning
    assert (
        _scalar(engine, sa.select(sa.func.count()).where(schema.accounts.c.merged_into_id.is_not(None))) == 0
    )

    distinct = tmp_path / "more.csv"
    distinct.write_text("name\nUmbrella Corporation\nMassive Dynamic\n")
    assert not [w for w in import_file(engine, "accounts", distinct).warnings if "look" in w]

    deals = tmp_path / "deals.csv"  # an opportunity naming an unknown account creates it: checked too
    deals.write_text("external_id,name,account,stage\nO-7,New deal,Globex Corp.,Prospecting\n")
    [warning] = [w for w in import_file(engine, "opportunities", deals).warnings if "look" in w]
    assert "'Globex Corp.' ~ 'Globex'" in warning


def test_a_large_import_compares_exact_evidence_only(
    engine: Engine, acme: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the limit, an import flags same-domain and same-name accounts but not merely similar names."""
    import dealsight.services.accounts as accounts_service

    monkeypatch.setattr(accounts_service, "IMPORT_SIMILAR_NAMES_LIMIT", 2)
    path = tmp_path / "accounts.csv"
    path.write_text("name,domain\nInitech LLC,initech.com\nRoadruner Holdings,\nHooli,hooli.xyz\n")
    [warning] = [w for w in import_file(engine, "accounts", path).warnings if "look" in w]
    assert "'Initech LLC' ~ 'Initech'" in warning and "Roadruner" not in warning
    assert (
        "3 accounts were created: on import they were compared by web domain and exact name only" in warning
    )
    monkeypatch.setattr(accounts_service, "IMPORT_SIMILAR_NAMES_LIMIT", 5000)
    typo = tmp_path / "typo.csv"
    typo.write_text("name\nRoadrunnr Holdings\n")
    [warning] = [w for w in import_file(engine, "accounts", typo).warnings if "look" in w]
    assert "'Roadrunnr Holdings' ~ 'Roadrunner Holdings' (score 95, names 95% similar)" in warning


def test_import_log_keeps_the_warning(engine: Engine, acme: dict[str, int], tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("name\nGlobex Corporation\n")
    import_file(engine, "accounts", path)
    logged = _scalar(engine, sa.select(schema.import_runs.c.warnings))
    assert any("'Globex Corporation' ~ 'Globex'" in w for w in logged)


# CLI ---------------------------------------------------------------------------------------------------
def test_cli_duplicates_table_and_json(database_url: str, acme: dict[str, int]) -> None:
    table = runner.invoke(app, ["accounts", "duplicates", "--database", database_url])
    assert table.exit_code == 0, table.output
    assert "ACME Corporation" in table.output and "Acme Inc." in table.output
    assert "same web domain" not in table.output and "legal suffixes" in table.output
    assert f"dealsight accounts merge {acme['dup']} {acme['kept']}" in table.output

    as_json = runner.invoke(app, ["accounts", "duplicates", "--json", "--database", database_url])
    assert as_json.exit_code == 0
    data = json.loads(as_json.output)
    assert [(d["left"]["id"], d["right"]["id"]) for d in data] == [(acme["kept"], acme["dup"])]
    assert data[0]["left"]["opportunities"] == 1 and data[0]["score"] >= 95

    none = runner.invoke(app, ["accounts", "duplicates", "-t", "100", "--json", "-d", database_url])
    assert json.loads(none.output) == []


def test_cli_merge_and_merge_log(database_url: str, engine: Engine, acme: dict[str, int]) -> None:
    declined = runner.invoke(app, ["accounts", "merge", "A-1", "A-2", "-d", database_url], input="n\n")
    assert declined.exit_code != 0 and "Moves  2 opportunities, 1 contacts" in declined.output
    assert count(engine, "account_merges") == 0

    done = runner.invoke(app, ["accounts", "merge", "A-1", "A-2", "--yes", "-d", database_url])
    assert done.exit_code == 0, done.output
    assert "Merged 'ACME Corporation'" in done.output and "moved 2 opportunities, 1 contacts" in done.output
    assert count(engine, "account_merges") == 1

    log = runner.invoke(app, ["accounts", "merges", "-d", database_url])
    assert log.exit_code == 0 and "Account merges" in log.output and "ACME" in log.output
    [entry] = json.loads(runner.invoke(app, ["accounts", "merges", "--json", "-d", database_url]).output)
    assert (entry["kept_name"], entry["merged_name"], entry["merged_external_id"]) == (
        "Acme Inc.", "ACME Corporation", "A-2",
    )  # fmt: skip
    assert entry["moved_opportunities"] == 2 and entry["score"] >= 95


def test_cli_merge_of_unknown_account_is_one_line(database_url: str, acme: dict[str, int]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dealsight.cli.main", "accounts", "merge", "A-1", "Nope", "--yes"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DEALSIGHT_DATABASE_URL": database_url},
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no account with id, external id or name 'Nope'" in lines[0], done.stderr
