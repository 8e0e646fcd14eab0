"""The planner's statistics: gathered after the demo, after a scoring run's insights, by ``db upgrade`` for a
database that has none, and what they are for: a team's first page of the pipeline walks the deals newest
first instead of sorting every open deal of the team."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from dealsight.domain.access import Principal
from dealsight.domain.enums import UserRole
from dealsight.services.access import scope_of
from dealsight.services.demo import create_demo
from dealsight.services.opportunities import OpportunityQuery, normalise_query, page_ids
from dealsight.services.opportunities import _filters as deal_filters
from dealsight.services.users import list_users
from dealsight.store.bulk import has_statistics
from dealsight.store.database import connect, upgrade


def _first_page_plan(engine: sa.Engine) -> str:
    """SQLite's plan for a manager's first page of open deals (the ids statement of the pipeline list)."""
    manager = next(u for u in list_users(engine, role=UserRole.MANAGER, limit=500) if u.has_password)
    scope = scope_of(engine, Principal(manager.id, manager.name, manager.role))
    query = normalise_query(OpportunityQuery(limit=50))
    with engine.connect() as conn:
        statement = page_ids("sqlite", query, deal_filters(conn, scope, query))
        sql = str(statement.compile(conn, compile_kwargs={"literal_binds": True}))
        return " | ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))


def test_demo_gathers_statistics_and_the_first_page_needs_no_sort(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    create_demo(engine, seed=3, scale=1.0)
    with engine.connect() as conn:
        assert has_statistics(conn)
        analysed = {row[0] for row in conn.exec_driver_sql("SELECT tbl FROM sqlite_stat1")}
    assert {"opportunities", "opportunity_history", "users"} <= analysed
    plan = _first_page_plan(engine)
    assert "TEMP B-TREE FOR ORDER BY" not in plan, plan

    with engine.begin() as conn:  # a database written before dealsight gathered statistics
        conn.exec_driver_sql("DELETE FROM sqlite_stat1")
        assert not has_statistics(conn)
    engine.dispose()  # connections read the statistics when they open
    assert "TEMP B-TREE FOR ORDER BY" in _first_page_plan(engine)  # what the statistics are for
    upgrade(engine)
    engine.dispose()
    with engine.connect() as conn:
        assert has_statistics(conn)
    assert "TEMP B-TREE FOR ORDER BY" not in _first_page_plan(engine)
    engine.dispose()
