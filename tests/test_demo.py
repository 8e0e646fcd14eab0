"""The demo organisation: determinism, consistency of what is stored, and the hidden mechanics.

Mechanics are checked on the generated records of one scale-1.0 organisation (no database); storage
invariants on a small organisation written to SQLite and PostgreSQL and read back.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.demo import catalog
from dealsight.demo.generator import Organisation, generate_organisation
from dealsight.demo.writer import data_counts
from dealsight.domain.enums import HistoryField, Segment
from dealsight.domain.names import company_key
from dealsight.errors import ConflictError
from dealsight.ingest.importer import _text
from dealsight.services.demo import create_demo
from dealsight.store import schema

TODAY = date(2025, 6, 15)
Row = dict[str, Any]


@pytest.fixture(scope="module")
def org() -> Organisation:
    return generate_organisation(seed=7, scale=1.0, today=TODAY)


def _closed(org: Organisation) -> list[Row]:
    return [o for o in org.tables["opportunities"] if o["outcome"]]


def _win_rate(deals: Iterable[Row]) -> float:
    deals = list(deals)
    assert deals, "empty group"
    return float(sum(o["outcome"] == "won" for o in deals) / len(deals))


def _history_by_deal(org: Organisation) -> dict[int, list[Row]]:
    by_deal: dict[int, list[Row]] = defaultdict(list)
    for row in org.tables["opportunity_history"]:
        by_deal[row["opportunity_id"]].append(row)
    for rows in by_deal.values():
        rows.sort(key=lambda r: r["changed_at"])
    return by_deal


def _in_quarter_end(day: date) -> bool:
    month = 3 * ((day.month - 1) // 3 + 1)
    last = date(day.year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return (last - day).days < 14


# determinism and size -------------------------------------------------------------------------------
def test_same_seed_gives_the_same_organisation_and_another_seed_another() -> None:
    first = generate_organisation(seed=3, scale=0.1, today=TODAY)
    again = generate_organisation(seed=3, scale=0.1, today=TODAY)
    other = generate_organisation(seed=4, scale=0.1, today=TODAY)
    assert first.tables == again.tables
    assert first.tables["opportunities"] != other.tables["opportunities"]
    assert first.tables["accounts"] != other.tables["accounts"]


def test_size_is_proportional_to_scale_and_dates_are_relative_to_today() -> None:
    small = generate_organisation(seed=7, scale=0.1, today=TODAY)
    double = generate_organisation(seed=7, scale=0.2, today=date(2024, 1, 10))
    assert small.count("opportunities") == 500 and double.count("opportunities") == 1000
    assert 1.6 < double.count("accounts") / small.count("accounts") < 2.4
    assert 1.6 < double.count("opportunity_history") / small.count("opportunity_history") < 2.4
    for org, today in ((small, TODAY), (double, date(2024, 1, 10))):
        created = [o["created_date"] for o in org.tables["opportunities"]]
        assert today - timedelta(days=1001) <= min(created) < today - timedelta(days=900)
        assert max(created) < today
        assert all(o["closed_date"] < today for o in org.tables["opportunities"] if o["closed_date"])


# the organisation -----------------------------------------------------------------------------------
def test_sales_org_has_teams_managers_and_a_vp(org: Organisation) -> None:
    users = {u["id"]: u for u in org.tables["users"]}
    teams = org.tables["teams"]
    vp = [u for u in users.values() if u["role"] == "executive"]
    assert len(vp) == 1 and vp[0]["manager_id"] is None
    sales_teams = [t for t in teams if t["parent_id"] is not None]
    assert 3 <= len(sales_teams) <= 4
    for team in sales_teams:
        manager = users[team["manager_id"]]
        assert manager["role"] == "manager" and manager["manager_id"] == vp[0]["id"]
        reps = [u for u in users.values() if u["team_id"] == team["id"] and u["role"] == "rep"]
        assert 5 <= len(reps) <= 8
        assert all(rep["manager_id"] == manager["id"] for rep in reps)
    assert all(u["email"].endswith("@demo.dealsight.example") for u in users.values())
    assert len({u["email"] for u in users.values()}) == len(users)


def test_accounts_have_segments_subsidiaries_and_planted_duplicates(org: Organisation) -> None:
    accounts = org.tables["accounts"]
    assert 550 <= len(accounts) <= 700
    assert {a["segment"] for a in accounts} == {s.value for s in Segment}
    assert sum(a["parent_id"] is not None for a in accounts) >= 2
    names = {a["name"] for a in accounts}
    by_key: dict[str, list[Row]] = defaultdict(list)
    for account in accounts:
        by_key[company_key(account["name"])].append(account)
    for kept, _, spellings in catalog.PLANTED_DUPLICATES:
        assert kept in names and all(spelling in names for spelling, _ in spellings)
    assert len(by_key["northwind traders"]) == 2 and len(by_key["northwind"]) == 1
    contacts_by_account: dict[int, list[Row]] = defaultdict(list)
    for contact in org.tables["contacts"]:
        contacts_by_account[contact["account_id"]].append(contact)
    assert all(any(c["is_executive"] for c in contacts_by_account[a["id"]]) for a in accounts)
    by_name = {a["name"]: a["id"] for a in accounts}
    emails = {c["email"] for c in contacts_by_account[by_name["Northwind Traders Inc."]]}
    assert {c["email"] for c in contacts_by_account[by_name["NORTHWIND TRADERS"]]} & emails


# history and state invariants, on both back ends -----------------------------------------------------
def _read(conn: sa.Connection, table: sa.Table) -> list[Row]:
    return [dict(r) for r in conn.execute(sa.select(table)).mappings()]


def test_stored_history_chains_end_at_the_current_values(engine: Engine) -> None:
    summary = create_demo(engine, seed=11, scale=0.2, today=TODAY)
    with engine.connect() as conn:
        opportunities = {o["id"]: o for o in _read(conn, schema.opportunities)}
        history = _read(conn, schema.opportunity_history)
        stages = {s["name"]: s for s in _read(conn, schema.stages)}
    assert len(opportunities) == summary.opportunities == 1000
    assert len(history) == summary.history_rows
    chains: dict[tuple[int, str], list[Row]] = defaultdict(list)
    for row in history:
        chains[(row["opportunity_id"], row["field"])].append(row)
    current: dict[str, Callable[[Row], str | None]] = {
        HistoryField.STAGE.value: lambda o: o["stage"],
        HistoryField.AMOUNT.value: lambda o: _text(o["amount"]),
        HistoryField.CLOSE_DATE.value: lambda o: _text(o["expected_close_date"]),
        HistoryField.FORECAST_CATEGORY.value: lambda o: o["forecast_category"],
    }
    for (deal_id, field), rows in chains.items():
        deal = opportunities[deal_id]
        rows.sort(key=lambda r: r["changed_at"])
        assert len({r["changed_at"] for r in rows}) == len(rows)
        for before, after in itertools.pairwise(rows):
            assert after["old_value"] == before["new_value"], (deal_id, field)
        assert all(r["old_value"] != r["new_value"] for r in rows)
        assert rows[-1]["new_value"] == current[field](deal), (deal_id, field)
        if field == HistoryField.STAGE.value:
            assert rows[0]["old_value"] in ("Prospecting", "Qualification")
        if field == HistoryField.FORECAST_CATEGORY.value:
            assert rows[0]["old_value"] == "pipeline"
        for row in rows:
            assert row["changed_at"].date() >= deal["created_date"]
            assert row["changed_at"] < datetime(TODAY.year, TODAY.month, TODAY.day)
            if deal["closed_date"]:
                assert row["changed_at"].date() <= deal["closed_date"]
    # state consistency
    for deal in opportunities.values():
        closed_outcome = stages[deal["stage"]]["outcome"]
        assert (
            (deal["outcome"] is not None) == (closed_outcome is not None) == (deal["closed_date"] is not None)
        )
        if deal["outcome"]:
            assert (
                deal["forecast_category"] == "closed" and deal["expected_close_date"] == deal["closed_date"]
            )
            assert deal["stage"] == ("Closed Won" if deal["outcome"] == "won" else "Closed Lost")
            assert (deal["loss_reason"] is None) == (deal["outcome"] == "won")
            if deal["outcome"] == "no_decision":
                assert deal["loss_reason"].startswith("No decision")
        else:
            assert deal["forecast_category"] in ("pipeline", "best_case", "commit")
        if (deal["id"], "stage") not in chains:
            assert deal["stage"] in ("Prospecting", "Qualification")
        assert deal["amount"] > 0 and deal["owner_id"] and deal["account_id"]
        if deal["discount"] is not None:
            assert 0 <= deal["discount"] < 1
            assert float(deal["amount"]) == pytest.approx(
                float(deal["list_price"]) * (1 - deal["discount"]), rel=1e-3
            )
        assert deal_id


def test_stored_links_fit_each_deal(engine: Engine) -> None:
    create_demo(engine, seed=5, scale=0.1, today=TODAY)
    with engine.connect() as conn:
        deals = {o["id"]: o for o in _read(conn, schema.opportunities)}
        contacts = {c["id"]: c for c in _read(conn, schema.contacts)}
        links = _read(conn, schema.opportunity_contacts)
        activities = _read(conn, schema.activities)
        answers = _read(conn, schema.qualification_answers)
        questions = _read(conn, schema.qualification_questions)
        teams = _read(conn, schema.teams)
    assert all(t["manager_id"] is not None for t in teams)
    for link in links:
        assert contacts[link["contact_id"]]["account_id"] == deals[link["opportunity_id"]]["account_id"]
    linked = {(lk["opportunity_id"], lk["contact_id"]) for lk in links}
    for deal in deals.values():
        if deal["executive_sponsor_id"]:
            assert contacts[deal["executive_sponsor_id"]]["is_executive"]
            assert (deal["id"], deal["executive_sponsor_id"]) in linked
    assert activities and answers and len(questions) == len(catalog.QUESTIONS)
    end = datetime(TODAY.year, TODAY.month, TODAY.day)
    on_deals = [a for a in activities if a["opportunity_id"] is not None]  # not customer meetings
    for moment, deal in [(a["occurred_at"], deals[a["opportunity_id"]]) for a in on_deals] + [
        (a["answered_at"], deals[a["opportunity_id"]]) for a in answers
    ]:
        assert deal["created_date"] <= moment.date() and moment < end
        assert deal["closed_date"] is None or moment.date() <= deal["closed_date"]
    assert {a["answer"] for a in answers} == {"yes", "no", "unknown"}


# the service: conflict, replace, one transaction ---------------------------------------------------
def test_existing_data_is_kept_unless_replaced_and_a_failure_changes_nothing(engine: Engine) -> None:
    first = create_demo(engine, seed=2, scale=0.05, today=TODAY)
    with engine.connect() as conn:
        before = data_counts(conn)
    with pytest.raises(ConflictError, match=r"already holds 250 opportunities; run with --replace"):
        create_demo(engine, seed=2, scale=0.05, today=TODAY)

    def fail_midway(label: str, done: int, total: int) -> None:
        if label == "activities":
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        create_demo(engine, seed=9, scale=0.1, today=TODAY, replace=True, progress=fail_midway)
    with engine.connect() as conn:
        assert data_counts(conn) == before
    again = create_demo(engine, seed=2, scale=0.05, today=TODAY, replace=True)
    assert again == first
    with engine.connect() as conn:
        assert data_counts(conn) == before
        # ids keep working after the demo's explicit ids (PostgreSQL sequences moved past them)
        conn.execute(schema.stages.insert().values(name="Legal review", position=8))
        conn.commit()


# hidden mechanics, visible in the data ---------------------------------------------------------------
def test_business_problem_and_sponsor_raise_win_rates(org: Organisation) -> None:
    closed = _closed(org)
    both = [o for o in closed if o["business_problem"] and o["executive_sponsor_id"]]
    rest = [o for o in closed if not (o["business_problem"] and o["executive_sponsor_id"])]
    assert _win_rate(both) - _win_rate(rest) >= 0.15
    assert 0.2 <= _win_rate(closed) <= 0.4


def test_late_engagement_lowers_win_rates_more_for_high_impact(org: Organisation) -> None:
    closed = _closed(org)

    def gap(high: bool) -> float:
        group = [o for o in closed if (o["problem_impact"] in ("high", "critical")) == high]
        early = [o for o in group if o["engaged_before_preference"]]
        late = [o for o in group if not o["engaged_before_preference"]]
        assert all(
            o["preferred_competitor"] in (o["competitors"] or []) for o in late if o["preferred_competitor"]
        )
        return _win_rate(early) - _win_rate(late)

    assert gap(high=False) > 0.02
    assert gap(high=True) > gap(high=False) + 0.08


def test_no_decision_is_about_a_quarter_of_losses(org: Organisation) -> None:
    not_won = [o for o in _closed(org) if o["outcome"] != "won"]
    share = sum(o["outcome"] == "no_decision" for o in not_won) / len(not_won)
    assert 0.18 <= share <= 0.35
    assert all(o["stage"] == "Closed Lost" for o in not_won)


def test_stalled_deals_mostly_end_lost(org: Organisation) -> None:
    """Stage ages from the history against the typical (median) age of that stage and segment."""
    segment = {a["id"]: a["segment"] for a in org.tables["accounts"]}
    history = _history_by_deal(org)
    ages: dict[int, list[tuple[str, float]]] = {}
    for deal in _closed(org):
        start = datetime.combine(deal["created_date"], datetime.min.time())
        rows = [r for r in history[deal["id"]] if r["field"] == "stage"]
        ages[deal["id"]] = [
            (
                r["old_value"],
                (r["changed_at"] - (rows[i - 1]["changed_at"] if i else start)).total_seconds() / 86400,
            )
            for i, r in enumerate(rows)
        ]
    typical: dict[tuple[str, str], list[float]] = defaultdict(list)
    for deal in _closed(org):
        for stage, age in ages[deal["id"]]:
            typical[(segment[deal["account_id"]], stage)].append(age)
    medians = {key: statistics.median(values) for key, values in typical.items()}
    stalled: list[Row] = []
    others: list[Row] = []
    for deal in _closed(org):
        key = segment[deal["account_id"]]
        is_stalled = any(age > 2.5 * medians[(key, stage)] for stage, age in ages[deal["id"]])
        (stalled if is_stalled else others).append(deal)
    assert len(stalled) > 200
    assert _win_rate(stalled) < 0.5 * _win_rate(others)


def test_about_half_of_commit_deals_slip_or_are_lost(org: Organisation) -> None:
    history = _history_by_deal(org)
    committed = slipped_or_lost = 0
    for deal in _closed(org):
        rows = history[deal["id"]]
        commit_at = next(
            (
                r["changed_at"]
                for r in rows
                if r["field"] == "forecast_category" and r["new_value"] == "commit"
            ),
            None,
        )
        if commit_at is None:
            continue
        committed += 1
        pushed = any(
            r["field"] == "close_date" and r["changed_at"] > commit_at and r["new_value"] > r["old_value"]
            for r in rows
        )
        slipped_or_lost += pushed or deal["outcome"] != "won"
    assert committed > 1000
    assert 0.35 <= slipped_or_lost / committed <= 0.65


def test_discounts_grow_at_quarter_end(org: Organisation) -> None:
    won = [o for o in _closed(org) if o["outcome"] == "won"]
    at_end = [o["discount"] for o in won if _in_quarter_end(o["closed_date"])]
    elsewhere = [o["discount"] for o in won if not _in_quarter_end(o["closed_date"])]
    assert statistics.mean(at_end) > statistics.mean(elsewhere) + 0.02
    # and deals bunch up there: two weeks of thirteen hold far more than 2/13 of wins
    assert len(at_end) / len(won) > 0.2


def test_reps_differ_in_finding_problems_and_executives(org: Organisation) -> None:
    by_rep: dict[int, list[Row]] = defaultdict(list)
    for deal in _closed(org):
        by_rep[deal["owner_id"]].append(deal)
    problem = [
        statistics.mean(o["business_problem"] is not None for o in d) for d in by_rep.values() if len(d) > 40
    ]
    sponsor = [
        statistics.mean(o["executive_sponsor_id"] is not None for o in d)
        for d in by_rep.values()
        if len(d) > 40
    ]
    assert len(problem) >= 15
    assert max(problem) - min(problem) > 0.25 and max(sponsor) - min(sponsor) > 0.25


def test_enterprise_deals_are_larger_and_longer(org: Organisation) -> None:
    segment = {a["id"]: a["segment"] for a in org.tables["accounts"]}
    won = [o for o in _closed(org) if o["outcome"] == "won"]

    def medians(name: str) -> tuple[float, float]:
        deals = [o for o in won if segment[o["account_id"]] == name]
        return (
            statistics.median(float(o["amount"]) for o in deals),
            statistics.median((o["closed_date"] - o["created_date"]).days for o in deals),
        )

    (ent_amount, ent_days), (smb_amount, smb_days) = medians("enterprise"), medians("smb")
    assert ent_amount > 3 * smb_amount and ent_days > 1.8 * smb_days


def test_activity_decays_before_a_loss(org: Organisation) -> None:
    """Share of a deal's activities in the last fifth of its life: lower for lost deals than won ones."""
    activities: dict[int, list[datetime]] = defaultdict(list)
    for activity in org.tables["activities"]:
        activities[activity["opportunity_id"]].append(activity["occurred_at"])
    late_share: dict[bool, list[float]] = {True: [], False: []}
    for deal in _closed(org):
        life = (deal["closed_date"] - deal["created_date"]).days
        moments = activities[deal["id"]]
        if life < 30 or len(moments) < 4:
            continue
        cutoff = deal["closed_date"] - timedelta(days=life // 5)
        share = sum(m.date() > cutoff for m in moments) / len(moments)
        late_share[deal["outcome"] == "won"].append(share)
    assert statistics.mean(late_share[True]) > statistics.mean(late_share[False]) + 0.08


def test_open_pipeline_is_recent_with_a_stale_tail_and_data_gaps(org: Organisation) -> None:
    open_deals = [o for o in org.tables["opportunities"] if o["outcome"] is None]
    ages = [(TODAY - o["created_date"]).days for o in open_deals]
    assert 0.06 < len(open_deals) / org.count("opportunities") < 0.2
    assert statistics.median(ages) < 120 and sum(age > 240 for age in ages) >= 5
    assert {o["stage"] for o in open_deals} == set(catalog.OPEN_STAGES)
    assert any(o["expected_close_date"] < TODAY for o in open_deals)  # past-due close dates, as in real CRMs
    stances = [c["stance"] for c in org.tables["contacts"]]
    assert 0.1 < stances.count("unknown") / len(stances) < 0.4
    reached_discovery = [o for o in _closed(org) if o["executive_sponsor_id"] or o["decision_criteria"]]
    assert any(o["business_problem"] is None for o in reached_discovery)
    question = next(q["id"] for q in org.tables["qualification_questions"] if q["key"] == "business_problem")
    answered_yes = {
        a["opportunity_id"]
        for a in org.tables["qualification_answers"]
        if a["question_id"] == question and a["answer"] == "yes"
    }
    deals = {o["id"]: o for o in org.tables["opportunities"]}
    assert any(deals[i]["business_problem"] is None for i in answered_yes)
