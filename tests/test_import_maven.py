"""The maven_crm data set (../shared/data/maven_crm) through the shipped example mapping."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.services.imports import import_bundle
from dealsight.store import schema
from tests.conftest import shared_data
from tests.dbdump import dump

MAPPING = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "maven_crm.yaml"


def test_maven_crm_loads_everything_with_clear_warnings(engine: Engine) -> None:
    data = shared_data("maven_crm")
    result = import_bundle(engine, MAPPING, data_dir=data)
    created = {r.entity: r.created for r in result.reports}
    assert created == {"accounts": 85, "users": 35, "products": 7, "opportunities": 8800}
    with engine.connect() as conn:
        opp = schema.opportunities
        total, owned, with_account = conn.execute(
            sa.select(sa.func.count(), sa.func.count(opp.c.owner_id), sa.func.count(opp.c.account_id))
        ).one()
        outcomes = {
            o: n for o, n in conn.execute(sa.select(opp.c.outcome, sa.func.count()).group_by(opp.c.outcome))
        }
        users = schema.users
        reps_with_manager = conn.execute(
            sa.select(sa.func.count()).where(users.c.role == "rep", users.c.manager_id.is_not(None))
        ).scalar_one()
        managers = conn.execute(sa.select(sa.func.count()).where(users.c.role == "manager")).scalar_one()
        teams = conn.execute(sa.select(schema.teams.c.name).order_by(schema.teams.c.name)).scalars().all()
        industries = set(conn.execute(sa.select(schema.accounts.c.industry)).scalars())
    assert (total, owned, with_account) == (8800, 8800, 8800 - 1425)
    assert outcomes == {"won": 4238, "lost": 2473, None: 2089}
    assert (reps_with_manager, managers) == (35, 6)
    assert teams == ["Central", "East", "West"]
    assert "technology" in industries and "technolgy" not in industries
    warnings = "\n".join(result.warnings)
    for expected in (
        "'technolgy' read as 'technology'",
        "'GTXPro' is not in the catalogue; matched to 'GTX Pro'",
        "1425 opportunities have no account",
        "2473 lost opportunities have amount 0",
        "500 opportunities have no created date",
    ):
        assert expected in warnings


def test_maven_reimport_changes_nothing(engine: Engine) -> None:
    data = shared_data("maven_crm")
    import_bundle(engine, MAPPING, data_dir=data)
    before = dump(engine)
    again = import_bundle(engine, MAPPING, data_dir=data)
    assert sum(r.created + r.updated for r in again.reports) == 0
    after = dump(engine)
    before.pop("import_runs"), after.pop("import_runs")
    assert after == before
