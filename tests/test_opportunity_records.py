"""Opportunity records with row-level access, on the demo organisation, on SQLite and PostgreSQL.

Lists are checked against an independent computation in plain Python over every row of the demo (status by
outcome, sorting with NULLs last and ties by id, days in stage from the raw history); reads and writes go
through the role matrix (rep, manager at any depth, executive, admin); bad input must name its fields and
write nothing (row counts of every table touched, audit log and history included).

The module also holds the demo databases the other record tests share (``demo_clone``): one demo per back
end is generated once per session and cloned for each module (read-only tests) or test (writes).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.domain.access import Principal, Scope
from dealsight.domain.enums import ForecastCategory, HistoryField, Outcome, UserRole
from dealsight.errors import NotFoundError, PermissionDeniedError, ValidationError
from dealsight.services.access import scope_of
from dealsight.services.demo import create_demo
from dealsight.services.opportunities import (
    OpportunityQuery,
    create_opportunity,
    get_opportunity,
    list_opportunities,
    set_qualification_answer,
    update_opportunity,
)
from dealsight.services.records import Page, query_from_params
from dealsight.store import schema
from dealsight.store.database import connect

pytestmark = pytest.mark.storage

TODAY = date(2026, 6, 30)
BACKENDS = ["sqlite", "postgresql"]
_templates: dict[str, str] = {}
_clones = itertools.count()


# shared demo databases -------------------------------------------------------------------------------------
def _template(request: pytest.FixtureRequest, backend: str) -> str:
    """The demo (seed 7, scale 0.2, today 2026-06-30) on ``backend``, generated once per session."""
    if backend not in _templates:
        if backend == "sqlite":
            folder = request.getfixturevalue("tmp_path_factory").mktemp("records-demo")
            path = folder / "demo.db"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            url = f"sqlite:///{path}"
        else:
            cluster = request.getfixturevalue("pg_cluster")
            _admin_sql(cluster.url(), "CREATE DATABASE records_demo TEMPLATE dealsight_template")
            url = cluster.url("records_demo")
        engine = connect(url)
        create_demo(engine, seed=7, scale=0.2, today=TODAY)
        engine.dispose()
        _templates[backend] = url
    return _templates[backend]


def _admin_sql(url: str, statement: str) -> None:
    admin = connect(url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(statement))
    admin.dispose()


@contextmanager
def demo_clone(request: pytest.FixtureRequest, backend: str) -> Iterator[Engine]:
    """A private copy of the demo database on ``backend``, removed afterwards."""
    template = _template(request, backend)
    if backend == "sqlite":
        folder = request.getfixturevalue("tmp_path_factory").mktemp("records-clone")
        shutil.copy(template.removeprefix("sqlite:///"), folder / "demo.db")
        engine = connect(f"sqlite:///{folder / 'demo.db'}")
        yield engine
        engine.dispose()
        return
    cluster = request.getfixturevalue("pg_cluster")
    name = f"records_clone_{next(_clones)}"
    _admin_sql(cluster.url(), f"CREATE DATABASE {name} TEMPLATE records_demo")
    engine = connect(cluster.url(name))
    yield engine
    engine.dispose()
    _admin_sql(cluster.url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The demo organisation, for tests that only read."""
    with demo_clone(request, request.param) as engine:
        yield engine


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A fresh copy of the demo organisation, for a test that writes."""
    with demo_clone(request, request.param) as engine:
        yield engine


# the people of the demo, and independent reads -------------------------------------------------------------
@dataclass(frozen=True)
class People:
    rep: Principal
    rep_scope: Scope
    other_rep: Principal
    manager: Principal
    manager_scope: Scope
    vp_scope: Scope
    """The top of the reporting line (the sales VP) seen as a manager: every level below."""
    executive: Principal
    admin: Principal
    team_members: frozenset[int]
    """The manager's team, the manager included."""

    @property
    def executive_scope(self) -> Scope:
        return Scope(None, False)

    @property
    def admin_scope(self) -> Scope:
        return Scope(None, True)


def people(engine: Engine) -> People:
    users = {u["id"]: u for u in rows(engine, schema.users)}

    def principal(user: dict[str, Any], role: UserRole | None = None) -> Principal:
        return Principal(user["id"], user["name"], role or UserRole(user["role"]))

    open_deals: dict[int, int] = {}
    for deal in rows(engine, schema.opportunities):
        if deal["outcome"] is None:
            open_deals[deal["owner_id"]] = open_deals.get(deal["owner_id"], 0) + 1
    reps = sorted(
        (u for u in users.values() if u["role"] == "rep"),
        key=lambda u: (-open_deals.get(u["id"], 0), u["id"]),
    )
    rep = reps[0]
    manager = users[rep["manager_id"]]
    other = next(u for u in reps if u["team_id"] != rep["team_id"])
    vp = users[manager["manager_id"]]
    team = frozenset(u["id"] for u in users.values() if u["manager_id"] == manager["id"]) | {manager["id"]}
    return People(
        rep=principal(rep),
        rep_scope=Scope(frozenset({rep["id"]}), True),
        other_rep=principal(other),
        manager=principal(manager),
        manager_scope=Scope(team, True),
        vp_scope=scope_of(engine, principal(vp, UserRole.MANAGER)),
        executive=principal(next(u for u in users.values() if u["email"] == "executive@demo.dealsight.test")),
        admin=principal(next(u for u in users.values() if u["role"] == "admin")),
        team_members=team,
    )


def rows(engine: Engine, table: sa.Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = sa.select(table).order_by(*table.primary_key.columns)
        return [dict(row) for row in conn.execute(query).mappings()]


def counts(engine: Engine, *tables: sa.Table) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables}


WRITTEN = (
    schema.opportunities,
    schema.opportunity_history,
    schema.audit_log,
    schema.qualification_answers,
    schema.accounts,
    schema.contacts,
    schema.activities,
    schema.activity_contacts,
)


def ordered(records: list[dict[str, Any]], key: str, descending: bool = False) -> list[int]:
    """Ids sorted by ``key`` with unknown values last in both directions and ties by id (the contract)."""
    known = sorted((r for r in records if r[key] is not None), key=lambda r: r["id"])
    known.sort(key=lambda r: r[key], reverse=descending)
    unknown = sorted(r["id"] for r in records if r[key] is None)
    return [r["id"] for r in known] + unknown


def every_page(fetch: Callable[[int], Page[Any]], limit: int) -> list[Any]:
    """All items, page by page; each page must agree on the total and respect the limit."""
    items: list[Any] = []
    offset: int | None = 0
    totals = set()
    while offset is not None:
        page = fetch(offset)
        assert len(page.items) <= limit and page.offset == offset
        totals.add(page.total)
        items.extend(page.items)
        offset = page.next_offset
    assert totals == {len(items)}
    return items


def stage_since(engine: Engine) -> dict[int, date]:
    """The day each deal entered its current stage, from the raw history (else its created date)."""
    latest: dict[int, datetime] = {}
    for h in rows(engine, schema.opportunity_history):
        if h["field"] == HistoryField.STAGE.value:
            latest[h["opportunity_id"]] = max(
                h["changed_at"], latest.get(h["opportunity_id"], h["changed_at"])
            )
    return {
        o["id"]: latest[o["id"]].date()
        if o["id"] in latest
        else (o["created_date"] or o["created_at"].date())
        for o in rows(engine, schema.opportunities)
    }


def deal_of(engine: Engine, owner_id: int, open_only: bool = True) -> dict[str, Any]:
    return next(
        o
        for o in rows(engine, schema.opportunities)
        if o["owner_id"] == owner_id and (o["outcome"] is None or not open_only)
    )


# listing ---------------------------------------------------------------------------------------------------
STATUS: dict[str, Callable[[Any], bool]] = {
    "open": lambda outcome: outcome is None,
    "won": lambda outcome: outcome == "won",
    "lost": lambda outcome: outcome == "lost",
    "no_decision": lambda outcome: outcome == "no_decision",
    "closed": lambda outcome: outcome is not None,
    "all": lambda outcome: True,
}


def test_lists_match_an_independent_computation_for_each_scope(demo: Engine) -> None:
    who = people(demo)
    deals = rows(demo, schema.opportunities)
    teams = {u["id"]: u["team_id"] for u in rows(demo, schema.users)}
    since = stage_since(demo)
    for r in deals:
        r["days_in_stage"] = max(0, (TODAY - since[r["id"]]).days)
    cases = [
        (who.admin_scope, OpportunityQuery(status="all", sort="-amount"), None, "amount", True),
        (
            who.executive_scope,
            OpportunityQuery(status="won", sort="expected_close_date"),
            None,
            "expected_close_date",
            False,
        ),
        (
            who.manager_scope,
            OpportunityQuery(status="open", sort="-days_in_stage"),
            who.team_members,
            "days_in_stage",
            True,
        ),
        (
            who.rep_scope,
            OpportunityQuery(status="closed", sort="-closed_date"),
            {who.rep.user_id},
            "closed_date",
            True,
        ),
        (
            who.vp_scope,
            OpportunityQuery(status="no_decision", sort="created_date"),
            None,
            "created_date",
            False,
        ),
        (who.admin_scope, OpportunityQuery(status="lost", sort="amount"), None, "amount", False),
    ]
    for scope, query, owners, key, descending in cases:
        chosen = [
            r
            for r in deals
            if STATUS[query.status](r["outcome"]) and (owners is None or r["owner_id"] in owners)
        ]
        limit = 97
        found = every_page(
            lambda offset, s=scope, q=query: list_opportunities(
                demo, s, OpportunityQuery(**{**q.__dict__, "limit": 97, "offset": offset}), today=TODAY
            ),
            limit,
        )
        assert len(chosen) > 10, query
        assert [item.id for item in found] == ordered(chosen, key, descending), query
        if owners is None and scope.owner_ids is not None:
            assert {item.owner_id for item in found} <= scope.owner_ids
    # the sales VP, as a manager, sees every level below: all the reps' deals
    everyone = list_opportunities(demo, who.vp_scope, OpportunityQuery(status="all"), today=TODAY)
    assert everyone.total == sum(1 for r in deals if teams.get(r["owner_id"]) is not None)


def test_filters_match_an_independent_computation(demo: Engine) -> None:
    who = people(demo)
    deals = rows(demo, schema.opportunities)
    accounts = {a["id"]: a["name"] for a in rows(demo, schema.accounts)}
    users = rows(demo, schema.users)
    stages = {s["name"]: s["position"] for s in rows(demo, schema.stages)}
    team = next(t for t in rows(demo, schema.teams) if t["parent_id"] is not None)
    members = {u["id"] for u in users if u["team_id"] == team["id"]}
    top = next(t for t in rows(demo, schema.teams) if t["parent_id"] is None)
    account_id = max(accounts, key=lambda a: sum(1 for r in deals if r["account_id"] == a))

    def check(query: OpportunityQuery, keep: Callable[[dict[str, Any]], bool], key: str = "id") -> None:
        page = list_opportunities(demo, who.admin_scope, query, today=TODAY)
        expected = ordered([r for r in deals if keep(r)], key)
        assert page.total == len(expected), query
        assert [i.id for i in page.items] == expected[: query.limit], query
        assert expected, f"{query} should match some deals of the demo"

    everyone = {u["id"] for u in users if u["team_id"] is not None}
    check(OpportunityQuery(status="all", team=team["id"], sort="id"), lambda r: r["owner_id"] in members)
    check(OpportunityQuery(status="all", team=top["id"], sort="id"), lambda r: r["owner_id"] in everyone)
    check(
        OpportunityQuery(status="all", owner_id=who.rep.user_id, sort="id"),
        lambda r: r["owner_id"] == who.rep.user_id,
    )
    check(OpportunityQuery(stage="pROPOSAL", sort="id"), lambda r: r["stage"] == "Proposal")
    check(
        OpportunityQuery(status="all", forecast_category="commit", sort="id"),
        lambda r: r["forecast_category"] == "commit",
    )
    window = (date(2025, 1, 1), date(2025, 3, 31))
    check(
        OpportunityQuery(status="all", close_from=window[0], close_to=window[1], sort="expected_close_date"),
        lambda r: r["expected_close_date"] is not None and window[0] <= r["expected_close_date"] <= window[1],
        "expected_close_date",
    )
    check(
        OpportunityQuery(status="closed", created_from=window[0], created_to=window[1], sort="id", limit=500),
        lambda r: r["outcome"] is not None and window[0] <= r["created_date"] <= window[1],
    )
    check(
        OpportunityQuery(status="all", account_id=account_id, sort="id"),
        lambda r: r["account_id"] == account_id,
    )
    needle = "NoRtH"
    check(
        OpportunityQuery(status="all", q=needle, sort="id"),
        lambda r: (
            needle.lower() in r["name"].lower()
            or needle.lower() in (accounts.get(r["account_id"]) or "").lower()
        ),
    )
    by_stage = list_opportunities(
        demo, who.admin_scope, OpportunityQuery(sort="-stage", limit=500), today=TODAY
    )
    positions = [stages[i.stage] for i in by_stage.items]
    assert positions == sorted(positions, reverse=True) and len(set(positions)) > 2


def test_literal_wildcards_in_search_text_match_only_themselves(demo: Engine) -> None:
    who = people(demo)
    assert list_opportunities(demo, who.admin_scope, OpportunityQuery(status="all", q="%")).total == 0
    assert list_opportunities(demo, who.admin_scope, OpportunityQuery(status="all", q="_")).total == 0


def test_summary_fields_and_days_in_stage_match_the_raw_rows(demo: Engine) -> None:
    who = people(demo)
    deals = {r["id"]: r for r in rows(demo, schema.opportunities)}
    accounts = {a["id"]: a["name"] for a in rows(demo, schema.accounts)}
    users = {u["id"]: u for u in rows(demo, schema.users)}
    teams = {t["id"]: t["name"] for t in rows(demo, schema.teams)}
    since = stage_since(demo)
    items = every_page(
        lambda offset: list_opportunities(
            demo, who.admin_scope, OpportunityQuery(status="all", limit=500, offset=offset), today=TODAY
        ),
        500,
    )
    assert len(items) == len(deals)
    for item in items:
        raw = deals[item.id]
        owner = users[raw["owner_id"]]
        assert item.days_in_stage == max(0, (TODAY - since[item.id]).days)
        assert (item.account_name, item.owner_name, item.team_name) == (
            accounts[raw["account_id"]],
            owner["name"],
            teams[owner["team_id"]],
        )
        assert (item.stage, item.amount, item.expected_close_date, item.updated_at) == (
            raw["stage"],
            raw["amount"],
            raw["expected_close_date"],
            raw["updated_at"],
        )
        assert item.outcome == (Outcome(raw["outcome"]) if raw["outcome"] else None)
    assert len({i.days_in_stage for i in items}) > 50, "days in stage should vary across the demo"


def test_bad_list_queries_name_the_field(demo: Engine) -> None:
    who = people(demo)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"sort": "secret_column"}, "sort"),
        ({"sort": "-amount,bogus"}, "sort"),
        ({"status": "maybe"}, "status"),
        ({"forecast_category": "likely"}, "forecast_category"),
        ({"close_from": "31/12/2026"}, "close_from"),
        ({"team": "x"}, "team"),
        ({"team": 999_999}, "team"),
        ({"stage": "Nowhere"}, "stage"),
    ]
    for params, field in bad:
        with pytest.raises(ValidationError) as caught:
            list_opportunities(demo, who.admin_scope, OpportunityQuery(**params))
        assert [p.field for p in caught.value.problems] == [field], params
    with pytest.raises(ValidationError) as caught:
        query_from_params(OpportunityQuery, {"limit": "ten", "colour": "red", "status": "won"})
    assert {p.field for p in caught.value.problems} == {"colour"}
    with pytest.raises(ValidationError) as caught:
        query_from_params(OpportunityQuery, {"limit": "ten", "offset": "-3", "status": "won"})
    assert {p.field for p in caught.value.problems} == {"limit", "offset"}
    query = query_from_params(
        OpportunityQuery, {"limit": "20", "status": "WON", "close_to": "2026-01-31", "q": ""}
    )
    page = list_opportunities(demo, who.admin_scope, query)
    assert page.limit == 20 and all(i.outcome is Outcome.WON for i in page.items) and page.total > 20
    assert all(i.expected_close_date <= date(2026, 1, 31) for i in page.items if i.expected_close_date)


# reading one deal ------------------------------------------------------------------------------------------
def test_the_deal_page_holds_everything_the_model_holds(demo: Engine) -> None:
    who = people(demo)
    answers = rows(demo, schema.qualification_answers)
    activities = rows(demo, schema.activities)
    answered = {a["opportunity_id"] for a in answers}
    busy = max(
        (o for o in rows(demo, schema.opportunities) if o["id"] in answered and o["executive_sponsor_id"]),
        key=lambda o: sum(1 for a in activities if a["opportunity_id"] == o["id"]),
    )
    detail = get_opportunity(demo, who.admin_scope, busy["id"], today=TODAY)
    for name in (
        "business_problem",
        "problem_impact",
        "compelling_event",
        "decision_criteria",
        "buyer_phase",
        "engaged_before_preference",
        "unique_business_value",
        "list_price",
        "discount",
        "margin",
        "loss_reason",
        "probability",
        "source",
        "product",
        "closed_date",
        "created_date",
    ):
        assert getattr(detail, name) == busy[name], name
    assert list(detail.competitors) == (busy["competitors"] or [])
    contacts = {c["id"]: c for c in rows(demo, schema.contacts)}
    assert detail.executive_sponsor_name == contacts[busy["executive_sponsor_id"]]["name"]
    links = [oc for oc in rows(demo, schema.opportunity_contacts) if oc["opportunity_id"] == busy["id"]]
    assert {(c.id, c.role.value if c.role else None) for c in detail.contacts} == {
        (oc["contact_id"], oc["deal_role"] or contacts[oc["contact_id"]]["deal_role"]) for oc in links
    }
    assert [c.is_sponsor for c in detail.contacts].count(True) == (
        busy["executive_sponsor_id"] in {oc["contact_id"] for oc in links}
    )
    history = sorted(
        (h for h in rows(demo, schema.opportunity_history) if h["opportunity_id"] == busy["id"]),
        key=lambda h: (h["changed_at"], h["id"]),
    )
    assert [(h.field.value, h.changed_at, h.old_value, h.new_value) for h in detail.history] == [
        (h["field"], h["changed_at"], h["old_value"], h["new_value"]) for h in history
    ]
    mine = sorted(
        (a for a in activities if a["opportunity_id"] == busy["id"]),
        key=lambda a: (a["occurred_at"], a["id"]),
    )
    assert [a.id for a in detail.activities] == [a["id"] for a in reversed(mine)][:100]
    assert detail.activities_total == len(mine) > 3
    people_of = {}
    for link in rows(demo, schema.activity_contacts):
        people_of.setdefault(link["activity_id"], set()).add(contacts[link["contact_id"]]["name"])
    for activity in detail.activities:
        assert {c.name for c in activity.contacts} == people_of.get(activity.id, set())
    questions = sorted(rows(demo, schema.qualification_questions), key=lambda q: q["position"])
    stages = {s["name"]: s["position"] for s in rows(demo, schema.stages)}
    given = {a["question_id"]: a["answer"] for a in answers if a["opportunity_id"] == busy["id"]}
    assert [(q.question_id, q.essential, q.answer, q.due) for q in detail.qualification] == [
        (q["id"], q["essential"], given.get(q["id"]), stages[q["stage"]] <= stages[busy["stage"]])
        for q in questions
    ]
    assert any(q.answer is None for q in detail.qualification) or len(given) == len(questions)


def test_reading_follows_the_role_matrix(demo: Engine) -> None:
    who = people(demo)
    own = deal_of(demo, who.rep.user_id, open_only=False)
    theirs = deal_of(demo, who.other_rep.user_id, open_only=False)
    assert get_opportunity(demo, who.rep_scope, own["id"]).id == own["id"]
    with pytest.raises(NotFoundError, match=f"no opportunity with id {theirs['id']}"):
        get_opportunity(demo, who.rep_scope, theirs["id"])
    with pytest.raises(NotFoundError, match="no opportunity with id 987654"):
        get_opportunity(demo, who.rep_scope, 987654)
    assert get_opportunity(demo, who.manager_scope, own["id"]).owner_id == who.rep.user_id
    with pytest.raises(NotFoundError):
        get_opportunity(demo, who.manager_scope, theirs["id"])
    for scope in (who.vp_scope, who.executive_scope, who.admin_scope):
        assert get_opportunity(demo, scope, theirs["id"]).id == theirs["id"]
    rep_list = list_opportunities(demo, who.rep_scope, OpportunityQuery(status="all", limit=500))
    assert rep_list.total == sum(
        1 for o in rows(demo, schema.opportunities) if o["owner_id"] == who.rep.user_id
    )
    assert {i.owner_id for i in rep_list.items} == {who.rep.user_id}


# writing ---------------------------------------------------------------------------------------------------
def test_an_update_writes_history_and_audit_rows(fresh: Engine) -> None:
    who = people(fresh)
    deal = deal_of(fresh, who.rep.user_id)
    before = counts(fresh, *WRITTEN)
    changes = {
        "stage": "Negotiation" if deal["stage"] != "Negotiation" else "Proposal",
        "amount": "15000.50",
        "expected_close_date": "2026-09-30",
        "forecast_category": "best_case" if deal["forecast_category"] != "best_case" else "commit",
        "business_problem": "Forecasts miss by 30% and the board has noticed",
        "competitors": ["Apex Analytics", "Apex Analytics", "Veridian Software"],
    }
    detail = update_opportunity(fresh, who.rep, who.rep_scope, deal["id"], changes, "api")
    assert (detail.stage, detail.amount, detail.expected_close_date) == (
        changes["stage"],
        Decimal("15000.50"),
        date(2026, 9, 30),
    )
    assert detail.competitors == ("Apex Analytics", "Veridian Software")
    assert detail.days_in_stage == 0, "the stage changed today"
    after = counts(fresh, *WRITTEN)
    assert after["opportunity_history"] - before["opportunity_history"] == 4
    assert after["audit_log"] - before["audit_log"] == 6
    history = [h for h in rows(fresh, schema.opportunity_history) if h["opportunity_id"] == deal["id"]]
    newest = sorted(history, key=lambda h: h["id"])[-4:]
    amount_text = (
        format(deal["amount"].normalize(), "f")
        if deal["amount"] == deal["amount"].to_integral()
        else str(deal["amount"])
    )
    assert {(h["field"], h["old_value"], h["new_value"], h["changed_by_id"]) for h in newest} == {
        ("stage", deal["stage"], changes["stage"], who.rep.user_id),
        ("amount", amount_text, "15000.50", who.rep.user_id),
        ("close_date", deal["expected_close_date"].isoformat(), "2026-09-30", who.rep.user_id),
        ("forecast_category", deal["forecast_category"], changes["forecast_category"], who.rep.user_id),
    }
    audit = [
        a
        for a in rows(fresh, schema.audit_log)
        if a["entity"] == "opportunity" and a["entity_id"] == deal["id"]
    ]
    assert {a["field"] for a in audit} == {
        "stage",
        "amount",
        "expected_close_date",
        "forecast_category",
        "business_problem",
        "competitors",
    }
    assert {(a["actor_id"], a["via"], a["action"]) for a in audit} == {(who.rep.user_id, "api", "update")}
    # an update that changes nothing writes nothing
    again = update_opportunity(fresh, who.rep, who.rep_scope, deal["id"], {"amount": 15000.5}, "web")
    assert again.amount == Decimal("15000.50") and counts(fresh, *WRITTEN) == after


def test_closing_and_reopening_keep_outcome_and_dates_consistent(fresh: Engine) -> None:
    who = people(fresh)
    deal = deal_of(fresh, who.rep.user_id)
    won = update_opportunity(
        fresh, who.rep, who.rep_scope, deal["id"], {"stage": "closed won"}, "web", today=TODAY
    )
    assert (won.stage, won.outcome, won.closed_date, won.expected_close_date, won.forecast_category) == (
        "Closed Won",
        Outcome.WON,
        TODAY,
        TODAY,
        ForecastCategory.CLOSED,
    )
    won_deals = list_opportunities(fresh, who.rep_scope, OpportunityQuery(status="won", limit=500)).items
    assert deal["id"] in {i.id for i in won_deals}
    reopened = update_opportunity(fresh, who.rep, who.rep_scope, deal["id"], {"stage": "Proposal"}, "web")
    assert (reopened.outcome, reopened.closed_date, reopened.forecast_category) == (
        None,
        None,
        ForecastCategory.PIPELINE,
    )
    lost = update_opportunity(
        fresh,
        who.rep,
        who.rep_scope,
        deal["id"],
        {
            "stage": "Closed Lost",
            "loss_reason": "No decision: the project was shelved",
            "closed_date": "2026-06-01",
        },
        "web",
    )
    assert (lost.outcome, lost.closed_date) == (Outcome.NO_DECISION, date(2026, 6, 1))
    before = counts(fresh, *WRITTEN)
    for bad, field in (
        ({"outcome": "won"}, "outcome"),
        ({"stage": "Proposal", "outcome": "lost"}, "outcome"),
        ({"stage": "Proposal", "closed_date": "2026-06-02"}, "closed_date"),
        ({"closed_date": "1999-01-01"}, "closed_date"),
    ):
        with pytest.raises(ValidationError) as caught:
            update_opportunity(fresh, who.rep, who.rep_scope, deal["id"], bad, "web")
        assert field in {p.field for p in caught.value.problems}, bad
    assert counts(fresh, *WRITTEN) == before


def test_bad_input_names_each_field_and_writes_nothing(fresh: Engine) -> None:
    who = people(fresh)
    deal = deal_of(fresh, who.rep.user_id)
    foreign_contact = next(c for c in rows(fresh, schema.contacts) if c["account_id"] != deal["account_id"])
    before = counts(fresh, *WRITTEN)
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"amount": -1}, {"amount"}),
        ({"amount": "a lot", "discount": 1.5, "margin": -2}, {"amount", "discount", "margin"}),
        ({"amount": True}, {"amount"}),
        ({"expected_close_date": "31/12/2026"}, {"expected_close_date"}),
        (
            {"engaged_before_preference": "yes", "probability": 2},
            {"engaged_before_preference", "probability"},
        ),
        (
            {"forecast_category": "likely", "buyer_phase": "dreaming", "problem_impact": 3},
            {"forecast_category", "buyer_phase", "problem_impact"},
        ),
        ({"colour": "red", "id": 5, "updated_at": "2026-01-01"}, {"colour", "id", "updated_at"}),
        ({"stage": "Nowhere"}, {"stage"}),
        ({"name": "", "stage": None}, {"name", "stage"}),
        ({"owner_id": who.other_rep.user_id}, {"owner_id"}),
        ({"owner_id": 999_999}, {"owner_id"}),
        ({"account_id": 999_999}, {"account_id"}),
        ({"executive_sponsor_id": foreign_contact["id"]}, {"executive_sponsor_id"}),
        ({"currency": "dollars"}, {"currency"}),
        ({"competitors": "Apex"}, {"competitors"}),
        ({"amount": -5, "stage": "Nowhere", "colour": 1}, {"amount", "stage", "colour"}),
    ]
    for changes, fields in cases:
        with pytest.raises(ValidationError) as caught:
            update_opportunity(fresh, who.rep, who.rep_scope, deal["id"], changes, "api")
        assert {p.field for p in caught.value.problems} == fields, changes
        for field in fields:
            assert field in caught.value.message
    creates: list[tuple[dict[str, Any], set[str]]] = [
        ({}, {"name", "account_id", "stage"}),
        ({"name": "X", "account_id": "one", "stage": "Proposal"}, {"account_id"}),
        ({"name": "X", "account_id": deal["account_id"], "stage": "Proposal", "amount": -3}, {"amount"}),
        (
            {
                "name": "X",
                "account_id": deal["account_id"],
                "stage": "Proposal",
                "owner_id": who.other_rep.user_id,
            },
            {"owner_id"},
        ),
    ]
    for data, fields in creates:
        with pytest.raises(ValidationError) as caught:
            create_opportunity(fresh, who.rep, who.rep_scope, data, "api")
        assert {p.field for p in caught.value.problems} == fields, data
    assert counts(fresh, *WRITTEN) == before


def test_writes_follow_the_role_matrix(fresh: Engine) -> None:
    who = people(fresh)
    own = deal_of(fresh, who.rep.user_id)
    theirs = deal_of(fresh, who.other_rep.user_id)
    question = rows(fresh, schema.qualification_questions)[0]
    before = counts(fresh, *WRITTEN)
    with pytest.raises(PermissionDeniedError):
        update_opportunity(fresh, who.executive, who.executive_scope, own["id"], {"amount": 1}, "web")
    with pytest.raises(PermissionDeniedError):
        create_opportunity(fresh, who.executive, who.executive_scope, {"name": "X"}, "web")
    with pytest.raises(PermissionDeniedError):
        set_qualification_answer(
            fresh, who.executive, who.executive_scope, own["id"], question["id"], "yes", "web"
        )
    with pytest.raises(NotFoundError):
        update_opportunity(fresh, who.rep, who.rep_scope, theirs["id"], {"amount": 1}, "web")
    with pytest.raises(NotFoundError):
        update_opportunity(fresh, who.manager, who.manager_scope, theirs["id"], {"amount": 1}, "web")
    with pytest.raises(NotFoundError):
        set_qualification_answer(fresh, who.rep, who.rep_scope, theirs["id"], question["id"], "yes", "web")
    assert counts(fresh, *WRITTEN) == before

    # a manager reassigns within their team; the rep then no longer sees the deal
    teammate = next(u for u in who.team_members if u not in {who.rep.user_id, who.manager.user_id})
    moved = update_opportunity(
        fresh, who.manager, who.manager_scope, own["id"], {"owner_id": teammate}, "web"
    )
    assert moved.owner_id == teammate
    with pytest.raises(NotFoundError):
        get_opportunity(fresh, who.rep_scope, own["id"])
    # an admin writes anywhere; a rep creates a deal of their own on any account
    assert (
        update_opportunity(fresh, who.admin, who.admin_scope, theirs["id"], {"amount": 7}, "api").amount == 7
    )
    created = create_opportunity(
        fresh,
        who.rep,
        who.rep_scope,
        {"name": "Pilot", "account_id": theirs["account_id"], "stage": "qualification", "amount": 1200},
        "api",
        today=TODAY,
    )
    assert (created.owner_id, created.stage, created.created_date, created.days_in_stage) == (
        who.rep.user_id,
        "Qualification",
        TODAY,
        0,
    )
    audit = [
        a
        for a in rows(fresh, schema.audit_log)
        if a["entity_id"] == created.id and a["entity"] == "opportunity"
    ]
    assert {a["action"] for a in audit} == {"create"} and {"name", "stage", "amount", "owner_id"} <= {
        a["field"] for a in audit
    }
    assert not [h for h in rows(fresh, schema.opportunity_history) if h["opportunity_id"] == created.id]


def test_qualification_answers_are_saved_and_audited_on_the_deal(fresh: Engine) -> None:
    who = people(fresh)
    deal = deal_of(fresh, who.rep.user_id)
    questions = rows(fresh, schema.qualification_questions)
    existing = {(a["opportunity_id"], a["question_id"]) for a in rows(fresh, schema.qualification_answers)}
    question = next(q for q in questions if (deal["id"], q["id"]) not in existing)
    item = set_qualification_answer(
        fresh, who.rep, who.rep_scope, deal["id"], question["id"], " YES ", "web", note="CFO said so"
    )
    assert (item.key, item.answer, item.note, item.essential) == (
        question["key"],
        "yes",
        "CFO said so",
        question["essential"],
    )
    item = set_qualification_answer(fresh, who.rep, who.rep_scope, deal["id"], question["id"], "no", "api")
    assert (item.answer, item.note) == ("no", "CFO said so")
    detail = get_opportunity(fresh, who.rep_scope, deal["id"])
    assert next(q for q in detail.qualification if q.question_id == question["id"]).answer == "no"
    audit = [
        a
        for a in rows(fresh, schema.audit_log)
        if a["entity"] == "opportunity" and a["entity_id"] == deal["id"]
    ]
    field = f"qualification:{question['key']}"
    assert [(a["field"], a["old_value"], a["new_value"]) for a in audit if a["field"] == field] == [
        (field, None, "yes"),
        (field, "yes", "no"),
    ]
    withdrawn = set_qualification_answer(
        fresh, who.rep, who.rep_scope, deal["id"], question["id"], None, "api"
    )
    assert withdrawn.answer is None
    assert (deal["id"], question["id"]) not in {
        (a["opportunity_id"], a["question_id"]) for a in rows(fresh, schema.qualification_answers)
    }
    before = counts(fresh, *WRITTEN)
    with pytest.raises(ValidationError) as caught:
        set_qualification_answer(fresh, who.rep, who.rep_scope, deal["id"], question["id"], "probably", "api")
    assert caught.value.problems[0].field == "answer"
    with pytest.raises(NotFoundError, match="question"):
        set_qualification_answer(fresh, who.rep, who.rep_scope, deal["id"], 999_999, "yes", "api")
    assert counts(fresh, *WRITTEN) == before
