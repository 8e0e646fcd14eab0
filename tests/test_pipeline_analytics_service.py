"""Pipeline analytics through the service (:mod:`dealsight.services.pipeline_analytics`) on SQLite and
PostgreSQL: the hand-built deals of tests/test_pipeline_flow.py written to a store give the same exact
figures; scopes and filters narrow them (a rep sees only their deals' figures); bad options are refused.
One test imports the real maven_crm data set and checks that the figures are consistent."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.analytics.pipeline_flow import ALL
from dealsight.domain.access import Principal, Scope
from dealsight.domain.enums import UserRole
from dealsight.domain.names import name_key
from dealsight.errors import InsufficientDataError, NotFoundError, ValidationError
from dealsight.services.access import scope_of
from dealsight.services.imports import import_bundle
from dealsight.services.pipeline_analytics import (
    FULL_SIGHT,
    DealFilters,
    changes_report,
    funnel_report,
    outcome_report,
    parse_window,
    stage_duration_report,
    velocity_report,
)
from dealsight.store import schema
from tests.conftest import shared_data
from tests.test_pipeline_flow import AS_OF, BASE_DEALS, BASE_HISTORY, PROCESS, d

pytestmark = pytest.mark.storage

MIA, ANA, BEN = 1, 2, 3  # Mia manages East, where Ana sells; Ben sells in West
MAVEN = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "maven_crm.yaml"


def seed(engine: Engine) -> None:
    """The deals of tests/test_pipeline_flow.py: East's owned by Ana, West's by Ben; deal 4's account is an
    enterprise, the others' small businesses."""
    with engine.begin() as conn:
        conn.execute(sa.insert(schema.teams), [{"id": 1, "name": "East"}, {"id": 2, "name": "West"}])
        people = [
            (MIA, "Mia Manager", "manager", 1, None),
            (ANA, "Ana Silva", "rep", 1, MIA),
            (BEN, "Ben Ode", "rep", 2, None),
        ]
        conn.execute(
            sa.insert(schema.users),
            [
                {"id": i, "name": n, "name_key": name_key(n), "role": r, "team_id": team, "manager_id": boss}
                for i, n, r, team, boss in people
            ],
        )
        conn.execute(sa.update(schema.teams).where(schema.teams.c.id == 1).values(manager_id=MIA))
        conn.execute(
            sa.insert(schema.accounts),
            [
                {"id": 1, "name": "Big Co", "name_key": "big co", "segment": "enterprise"},
                {"id": 2, "name": "Small Co", "name_key": "small co", "segment": "smb"},
            ],
        )
        conn.execute(
            sa.insert(schema.stages),
            [
                {"name": name, "position": i + 1, "outcome": outcome.value if outcome else None}
                for i, (name, outcome) in enumerate(PROCESS.outcomes.items())
            ],
        )
        conn.execute(
            sa.insert(schema.opportunities),
            [
                {
                    "id": row["id"],
                    "name": f"Deal {row['id']}",
                    "account_id": 1 if row["segment"] == "enterprise" else 2,
                    "owner_id": ANA if row["team"] == "East" else BEN,
                    "stage": row["stage"],
                    "amount": row["amount"],
                    "currency": row["currency"],
                    "expected_close_date": row["expected_close_date"],
                    "created_date": row["created_date"],
                    "closed_date": row["closed_date"],
                    "outcome": row["outcome"],
                    "source": row["source"],
                    "product": row["product"],
                }
                for row in BASE_DEALS
            ],
        )
        conn.execute(
            sa.insert(schema.opportunity_history),
            [
                {"opportunity_id": i, "field": f, "changed_at": at, "old_value": old, "new_value": new}
                for i, f, at, old, new in BASE_HISTORY
            ],
        )


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def rep(user_id: int) -> Scope:
    return Scope(owner_ids=frozenset({user_id}), can_write=True)


def test_the_service_gives_the_exact_figures_of_the_hand_built_deals(store: Engine) -> None:
    velocity = velocity_report(store, FULL_SIGHT, as_of=AS_OF, window_days=30, by="owner")
    usd = next(r for r in velocity.overall if r.currency == "USD")
    assert (usd.current.velocity_per_day, usd.previous.velocity_per_day) == (60.0, 200.0)
    owners = {r.group: r.current.velocity_per_day for r in velocity.groups if r.currency == "USD"}
    assert owners == {"Ana Silva": 50.0, "Ben Ode": 14.29}
    funnel = funnel_report(store, FULL_SIGHT, as_of=AS_OF)
    assert [s.reached for s in funnel.stages] == [12, 9, 7]
    durations = stage_duration_report(store, FULL_SIGHT, as_of=AS_OF, by_segment=True)
    proposal = [
        (r.segment, r.all_deals.spells, r.all_deals.median_days)
        for r in durations.stages
        if r.stage == "Proposal"
    ]
    assert proposal == [(ALL, 3, 30.0), ("enterprise", 1, 30.0), ("smb", 2, 36.5)]
    breakdown = outcome_report(store, FULL_SIGHT, as_of=AS_OF, window_days=30)
    assert {r.value: (r.won, r.lost, r.no_decision) for r in breakdown.by["owner"]} == {
        "Ana Silva": (1, 1, 0),
        "Ben Ode": (1, 0, 1),
    }
    assert {r.value: r.won_amount for r in breakdown.by["segment"]} == {"enterprise": 3000.0, "smb": 1000.0}
    changes = changes_report(store, FULL_SIGHT, from_date=d(2, 29), to_date=AS_OF)
    usd_fall = next(w for w in changes.waterfalls if w.currency == "USD")
    assert (usd_fall.start_amount, usd_fall.end_amount) == (7300.0, 7500.0)
    deltas = {s.category: s.delta for s in usd_fall.steps if s.deals}
    assert deltas == {
        "new": 4500.0,
        "won": -4000.0,
        "lost": 0.0,
        "no_decision": -800.0,
        "pushed_out": 0.0,
        "amount_up": 500.0,
    }


def test_a_rep_and_a_manager_see_only_the_figures_of_their_deals(store: Engine) -> None:
    for scope in (rep(ANA), scope_of(store, Principal(MIA, "Mia Manager", UserRole.MANAGER))):
        velocity = velocity_report(store, scope, as_of=AS_OF, window_days=30)
        (usd,) = velocity.overall  # East has no EUR deal
        assert (usd.currency, usd.current.qualified_deals, usd.current.velocity_per_day) == ("USD", 1, 50.0)
        funnel = funnel_report(store, scope, as_of=AS_OF)
        assert [s.reached for s in funnel.stages] == [5, 3, 2]  # deals 1, 4, 6, 9 and 12
    breakdown = outcome_report(store, rep(BEN), as_of=AS_OF, window_days=30)
    assert [(r.value, r.closed) for r in breakdown.by["owner"]] == [("Ben Ode", 2)]
    # another team or owner is not found for a rep, as if it did not exist
    with pytest.raises(NotFoundError) as team:
        velocity_report(store, rep(ANA), as_of=AS_OF, filters=DealFilters(team="West"))
    assert team.value.message == "no team named 'West'"
    with pytest.raises(NotFoundError, match="no deal owner named 'ben ode'"):
        funnel_report(store, rep(ANA), as_of=AS_OF, filters=DealFilters(owner="ben ode"))


def test_filters_narrow_by_team_owner_and_segment(store: Engine) -> None:
    west = velocity_report(store, FULL_SIGHT, as_of=AS_OF, window_days=30, filters=DealFilters(team="west"))
    assert {r.currency: r.current.qualified_deals for r in west.overall} == {"EUR": 1, "USD": 2}
    ana = funnel_report(store, FULL_SIGHT, as_of=AS_OF, filters=DealFilters(owner="ANA SILVA"))
    assert ana.deals == 5
    enterprise = outcome_report(
        store, FULL_SIGHT, as_of=AS_OF, window_days=30, filters=DealFilters(segment="Enterprise")
    )
    assert [(r.closed, r.won_amount) for r in enterprise.total] == [(1, 3000.0)]
    with pytest.raises(NotFoundError, match="teams are: East, West"):
        funnel_report(store, FULL_SIGHT, filters=DealFilters(team="North"))
    with pytest.raises(ValidationError, match="segments are: enterprise, mid_market, smb"):
        funnel_report(store, FULL_SIGHT, filters=DealFilters(segment="giant"))
    with pytest.raises(InsufficientDataError, match="no deals to analyse for segment mid_market"):
        funnel_report(store, FULL_SIGHT, filters=DealFilters(segment="mid_market"))


def test_bad_options_are_refused_before_reading(engine: Engine) -> None:
    # the store is empty: each refusal comes from the options alone
    with pytest.raises(ValidationError) as late:
        changes_report(engine, FULL_SIGHT, from_date=d(4, 2), to_date=d(4, 1))
    assert (late.value.message, late.value.problems[0].field) == (
        "--from 2024-04-02 is after --to 2024-04-01",
        "from",
    )
    with pytest.raises(ValidationError) as window:
        velocity_report(engine, FULL_SIGHT, window_days=0)
    assert window.value.problems[0].field == "window"
    with pytest.raises(ValidationError, match="expected one of: team, owner, segment"):
        velocity_report(engine, FULL_SIGHT, by="product")
    with pytest.raises(ValidationError):
        funnel_report(engine, FULL_SIGHT, created_from=d(3, 1), created_to=d(2, 1))
    with pytest.raises(InsufficientDataError, match="no deals to analyse among the deals you can see"):
        funnel_report(engine, FULL_SIGHT)


@pytest.mark.parametrize(
    ("text", "days"), [("90d", 90), ("90", 90), ("12w", 84), ("3m", 90), ("1Y", 365), (" 7 d ", 7)]
)
def test_windows_are_read_in_days_weeks_months_and_years(text: str, days: int) -> None:
    assert parse_window(text) == days


@pytest.mark.parametrize("text", ["", "0d", "-5d", "ninety", "90x", "11y"])
def test_unreadable_windows_are_refused(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_window(text)
    assert refused.value.problems[0].field == "window"


def test_maven_crm_figures_are_consistent(engine: Engine) -> None:
    import_bundle(engine, MAVEN, data_dir=shared_data("maven_crm"))
    end = date(2017, 12, 31)
    funnel = funnel_report(engine, FULL_SIGHT, as_of=end)
    reached = [s.reached for s in funnel.stages]
    assert [s.stage for s in funnel.stages] == ["Prospecting", "Engaging"]
    # every deal was imported before today, so all 8,800 exist at the end of 2017 except the 500 Prospecting
    # deals without dates, which reached dealsight only at the import
    assert funnel.deals == 8800 - 500
    assert reached == sorted(reached, reverse=True) and reached[0] == funnel.deals
    assert funnel.won + funnel.lost + funnel.no_decision + funnel.still_open == funnel.deals
    assert (funnel.won, funnel.lost) == (4238, 2473)
    breakdown = outcome_report(engine, FULL_SIGHT, as_of=end, window_days=365)
    (total,) = breakdown.total
    assert total.won + total.lost + total.no_decision == total.closed > 0
    assert 0.55 < (total.win_rate or 0) < 0.7  # maven: 4,238 won of 6,711 closed, 63%
    for dimension, rows in breakdown.by.items():
        assert sum(r.closed for r in rows) == total.closed, dimension
    velocity = velocity_report(engine, FULL_SIGHT, as_of=end, by="team")
    (usd,) = velocity.overall
    now = usd.current
    assert now.closed_deals == now.won_deals + now.lost_deals + now.no_decision_deals > 0
    assert now.qualified_deals == 1589  # the Engaging deals open at the end of the data
    assert now.velocity_per_day is not None and now.velocity_per_day > 0
    assert now.average_cycle_days is not None and 0 < now.average_cycle_days < 200
    assert {r.group for r in velocity.groups} == {"Central", "East", "West"}
    assert sum(r.current.won_deals for r in velocity.groups) == now.won_deals
    changes = changes_report(engine, FULL_SIGHT, from_date=date(2017, 9, 30), to_date=end)
    (fall,) = changes.waterfalls
    assert round(fall.start_amount + sum(s.delta for s in fall.steps), 2) == fall.end_amount
    assert sum(s.deals for s in fall.steps if s.category in ("won", "lost", "no_decision")) > 0
