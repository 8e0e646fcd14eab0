"""Quotas below the API: the table's rules, who reads which (managers through led teams and sub-teams),
the forecast's read of one period, ``dealsight import quotas`` and the demo's quotas. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from dealsight.cli.main import app
from dealsight.demo.generator import generate_organisation
from dealsight.demo.quotas import quarter_of
from dealsight.domain.access import Principal
from dealsight.domain.enums import UserRole
from dealsight.errors import ImportError_, NotFoundError, PermissionDeniedError, RowError
from dealsight.services.quota_imports import import_quotas
from dealsight.services.quotas import create_quota, delete_quota, get_quota, list_quotas, quotas_for_period
from dealsight.store.schema import audit_log, quotas, teams, users

pytestmark = pytest.mark.storage
Q1 = (date(2027, 1, 1), date(2027, 3, 31))


def _org(engine: Engine) -> dict[str, int]:
    """VP (manages Sales), manager Mia (manages East, whose sub-team is East-1), reps Ann (East-1) and
    Bob (West, managed by Wes)."""
    ids: dict[str, int] = {}
    with engine.begin() as conn:

        def add(table: sa.Table, key: str, **values: object) -> None:
            ids[key] = int(conn.execute(table.insert().values(**values).returning(table.c.id)).scalar_one())

        add(users, "admin", name="Ada", name_key="ada", role="admin", email="ada@x.example")
        add(users, "vp", name="Val", name_key="val", role="executive", email="val@x.example")
        add(users, "mia", name="Mia", name_key="mia", role="manager", email="mia@x.example")
        add(users, "wes", name="Wes", name_key="wes", role="manager", email="wes@x.example")
        add(teams, "sales", name="Sales", manager_id=ids["vp"])
        add(teams, "east", name="East", parent_id=ids["sales"], manager_id=ids["mia"])
        add(teams, "east1", name="East-1", parent_id=ids["east"])
        add(teams, "west", name="West", parent_id=ids["sales"], manager_id=ids["wes"])
        add(users, "ann", name="Ann", name_key="ann", role="rep", email="ann@x.example", team_id=ids["east1"])
        add(users, "bob", name="Bob", name_key="bob", role="rep", email="bob@x.example", team_id=ids["west"])
    return ids


def _who(ids: dict[str, int], key: str, role: UserRole) -> Principal:
    return Principal(ids[key], key, role)


def _set(engine: Engine, ids: dict[str, int], period: tuple[date, date] = Q1) -> dict[str, int]:
    admin = _who(ids, "admin", UserRole.ADMIN)
    made = {}
    for key, owner in [("ann", "user_id"), ("bob", "user_id"), ("mia", "user_id"), ("sales", "team_id"),
                       ("east", "team_id"), ("east1", "team_id"), ("west", "team_id")]:  # fmt: skip
        body = {"period_start": period[0], "period_end": period[1], "amount": "1000", owner: ids[key]}
        made[key] = create_quota(engine, admin, body).id
    return made


def test_each_role_reads_its_own_view_of_the_quotas(engine: Engine) -> None:
    ids = _org(engine)
    made = _set(engine, ids)
    views = {
        "ann": (_who(ids, "ann", UserRole.REP), {"ann"}),
        "mia": (_who(ids, "mia", UserRole.MANAGER), {"ann", "mia", "east", "east1"}),
        "wes": (_who(ids, "wes", UserRole.MANAGER), {"bob", "west"}),
        "vp": (_who(ids, "vp", UserRole.EXECUTIVE), set(made)),
        "admin": (_who(ids, "admin", UserRole.ADMIN), set(made)),
    }
    for principal, expected in views.values():
        listed = {quota.id for quota in list_quotas(engine, principal).items}
        assert listed == {made[key] for key in expected}, principal
        outside = set(made) - expected
        for key in outside:
            with pytest.raises(NotFoundError):
                get_quota(engine, principal, made[key])
    with pytest.raises(PermissionDeniedError):
        delete_quota(engine, views["vp"][0], made["ann"])
    with pytest.raises(NotFoundError):
        delete_quota(engine, views["wes"][0], made["ann"])
    assert len(quotas_for_period(engine, *Q1)) == 7


def test_the_table_allows_one_quota_per_owner_and_period_and_exactly_one_owner(engine: Engine) -> None:
    ids = _org(engine)
    row = {"period_start": Q1[0], "period_end": Q1[1], "amount": Decimal("5.00")}
    with engine.begin() as conn:
        conn.execute(quotas.insert().values(**row, user_id=ids["ann"]))
        conn.execute(quotas.insert().values(**row, team_id=ids["east"]))
        conn.execute(quotas.insert().values(**row, team_id=ids["west"]))  # NULL user_id: no collision
    for bad in [
        {**row, "user_id": ids["ann"]},
        {**row, "team_id": ids["east"]},
        {**row, "user_id": ids["bob"], "team_id": ids["west"]},
        row,
        {**row, "user_id": ids["bob"], "amount": Decimal("-1")},
        {**row, "user_id": ids["bob"], "period_end": date(2026, 12, 31)},
    ]:
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(quotas.insert().values(**bad))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(quotas)).scalar_one() == 3


def test_quotas_for_period_reads_exactly_that_period(engine: Engine) -> None:
    ids = _org(engine)
    _set(engine, ids)
    _set(engine, ids, (date(2027, 1, 1), date(2027, 1, 31)))  # a month inside the quarter: not included
    found = quotas_for_period(engine, *Q1)
    assert len(found) == 7 and {(q.period_start, q.period_end) for q in found} == {Q1}
    ann = next(q for q in found if q.user_id == ids["ann"])
    assert ann.level == "rep" and ann.user_name == "Ann" and ann.amount == Decimal("1000.00")
    with engine.connect() as conn:
        assert len(quotas_for_period(conn, date(2027, 4, 1), date(2027, 6, 30))) == 0


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        count = sa.select(sa.func.count())
        return (int(conn.execute(count.select_from(quotas)).scalar_one()),
                int(conn.execute(count.select_from(audit_log)).scalar_one()))  # fmt: skip


def test_importing_quotas_creates_then_updates_and_audits(engine: Engine, tmp_path: Path) -> None:
    _org(engine)
    text = (
        "Owner Email;Team;Period Start;Period End;Amount\n"
        'ann@x.example;;2027-01-01;2027-03-31;"120.000,50"\n'
        ";east;01/01/2027;03/31/2027;300000\n"
    )
    first = _write(tmp_path / "q.csv", text)
    report = import_quotas(engine, first)
    assert (report.rows, report.created, report.updated, report.unchanged) == (2, 2, 0, 0)
    again = import_quotas(engine, first)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = _write(tmp_path / "q2.csv", "owner_email,team,period_start,period_end,amount,currency\n"
                     "ann@x.example,,2027-01-01,2027-03-31,130000,eur\n")  # fmt: skip
    assert import_quotas(engine, changed).updated == 1
    found = {q.user_id or q.team_id: q for q in quotas_for_period(engine, *Q1)}
    assert len(found) == 2
    ann = next(q for q in found.values() if q.user_name == "Ann")
    assert (ann.amount, ann.currency) == (Decimal("130000.00"), "EUR")
    east = next(q for q in found.values() if q.team_name == "East")
    assert east.amount == Decimal("300000.00")
    with engine.connect() as conn:
        audited = conn.execute(sa.select(audit_log.c.action, audit_log.c.field).where(
            audit_log.c.entity == "quota")).all()  # fmt: skip
    assert (
        ("update", "amount") in audited
        and ("update", "currency") in audited
        and ("create", "amount") in audited
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("owner_email,period_start,period_end,amount\nzed@x.example,2027-01-01,2027-03-31,5\n",
         "row 2, column 'owner_email'"),
        ("team,period_start,period_end,amount\nNorth,2027-01-01,2027-03-31,5\n", "row 2, column 'team'"),
        ("team,period_start,period_end,amount\nEast,2027-01-01,2027-03-31,5\nEast,2027-04-01,2027-03-31,5\n",
         "row 3, column 'period_end'"),
        ("team,period_start,period_end,amount\nEast,2027-01-01,2027-03-31,-5\n", "column 'amount'"),
        ("team,period_start,period_end,amount\nEast,2027-01-01,2027-03-31,lots\n", "column 'amount'"),
        ("team,period_start,period_end,amount\nEast,someday,2027-03-31,5\n", "column 'period_start'"),
        ("team,period_start,period_end,amount\nEast,2027-01-01,2027-03-31,5\nEast,2027-01-01,2027-03-31,6\n",
         "row 3, column 'team'"),
        ("owner_email,team,period_start,period_end,amount\nann@x.example,East,2027-01-01,2027-03-31,5\n",
         "column 'owner_email'"),
        ("team,period_start,amount\nEast,2027-01-01,5\n", "missing column period_end"),
    ],
)  # fmt: skip
def test_a_bad_quota_file_names_file_row_and_column_and_writes_nothing(
    engine: Engine, tmp_path: Path, text: str, expected: str
) -> None:
    _org(engine)
    good = "team,period_start,period_end,amount\nWest,2027-01-01,2027-03-31,5\n"
    import_quotas(engine, _write(tmp_path / "good.csv", good))
    before = _counts(engine)
    with pytest.raises(ImportError_) as raised:
        import_quotas(engine, _write(tmp_path / "bad.csv", text))
    assert "bad.csv" in raised.value.message and expected in raised.value.message
    assert isinstance(raised.value, RowError) or "missing column" in expected
    assert _counts(engine) == before


def test_the_import_command(engine: Engine, database_url: str, tmp_path: Path) -> None:
    _org(engine)
    path = _write(tmp_path / "q.csv", "team,period_start,period_end,amount\nEast,2027-01-01,2027-03-31,5\n")
    env = {"DEALSIGHT_DATABASE_URL": database_url}
    dry = CliRunner().invoke(app, ["import", "quotas", str(path), "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "Dry run" in dry.output and _counts(engine)[0] == 0
    done = CliRunner().invoke(app, ["import", "quotas", str(path)], env=env)
    assert done.exit_code == 0, done.output
    assert "quotas" in done.output and _counts(engine)[0] == 1


def test_the_demos_quotas_follow_last_years_wins_and_leave_the_deals_alone() -> None:
    today = date(2026, 11, 24)
    org = generate_organisation(seed=3, scale=0.3, today=today)
    rows = org.tables["quotas"]
    periods = sorted({(r["period_start"], r["period_end"]) for r in rows})
    assert len(periods) >= 5 and periods[-1] == quarter_of(date(2027, 1, 1))
    assert all(r["amount"] > 0 for r in rows)
    assert all((r["user_id"] is None) != (r["team_id"] is None) for r in rows)
    won: dict[tuple[int, date], float] = {}
    for deal in org.tables["opportunities"]:
        if deal["outcome"] == "won":
            key = (deal["owner_id"], quarter_of(deal["closed_date"])[0])
            won[key] = won.get(key, 0.0) + float(deal["amount"])
    ratios = []
    for row in rows:
        start = row["period_start"]
        earlier = won.get((row["user_id"], date(start.year - 1, start.month, 1)), 0.0)
        if row["user_id"] is not None and earlier > 20_000:
            ratios.append(float(row["amount"]) / earlier)
    assert len(ratios) > 10 and all(1.0 < ratio < 1.2 for ratio in ratios)
    last = periods[-1][0]
    top = next(r for r in rows if r["team_id"] == 1 and r["period_start"] == last)
    reps = [r for r in rows if r["user_id"] and r["period_start"] == last]
    assert top["amount"] == sum(r["amount"] for r in reps)  # the top team adds up every rep


def test_the_demos_quotas_draw_nothing_from_the_deals_random_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    today = date(2026, 11, 24)
    with_quotas = generate_organisation(seed=3, scale=0.1, today=today)
    monkeypatch.setattr("dealsight.demo.generator.quota_rows", lambda *args: [])
    without = generate_organisation(seed=3, scale=0.1, today=today)
    assert without.tables["quotas"] == [] and with_quotas.tables["quotas"]
    for name in ("opportunities", "opportunity_history", "activities", "accounts", "users"):
        assert without.tables[name] == with_quotas.tables[name], name
