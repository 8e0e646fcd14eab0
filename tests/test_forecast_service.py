"""The forecast service on SQLite and PostgreSQL: ranges ordered and above what is already won, scope
(a rep sees only their own figures), snapshots stored company-wide and read back as earlier forecasts, no
look-ahead, the movement's steps add up exactly, and the pure waterfall by hand.

No look-ahead, at the service level: a forecast as of T (every figure of every group, in each role's view,
and the movement of the week before T) is unchanged when history dated after T is added to the store, by
the product's own write path (stamped now) and by hand one second after T: stage changes, amount changes,
close-date changes, won and lost closes of deals open at T, and deals created after T (one of them won).
The same additions do change the forecast as of today (else the test would prove nothing). A deal won
before T and changed after it (its amount corrected, or reopened) still changes the forecast as of T, and
so does a backtest stored later whose dates come after T (the range's dispersion): known look-aheads of
the service, kept as strict expected failures until they are fixed.

Ranges (hypothesis over as-of day, period and method, on each back end): for every group P10 <= P50 <= P90,
what is already won <= P10, and P90 <= won so far + the open pipeline as replayed at as-of (amounts as
known then) + the most the deals not yet created can bring. The last term is not their *expected* value:
the range draws the new deals (a compound Poisson sharing the period's shock), so P90 may hold more than
the expected number (on the demo a rep with one open deal, one won and 0.3 new deals expected has a
count P90 of 3). The bound is the Poisson count no draw exceeds (the shock is at most ``Z_SPAN`` sd)
times the largest won amount.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson
from sqlalchemy.engine import Engine

from dealsight.analytics.forecast_movement import forecast_movement
from dealsight.analytics.forecast_simulation import Z_SPAN
from dealsight.analytics.replay import end_of_day, state_as_of
from dealsight.analytics.time_to_close import METHODS
from dealsight.domain.access import Principal, Scope
from dealsight.domain.enums import HistoryField
from dealsight.services.access import scope_of
from dealsight.services.backtests import run_backtest
from dealsight.services.demo import DemoSummary, create_demo
from dealsight.services.forecasts import (
    forecast_movement_report,
    forecast_period,
    forecast_snapshots,
    period_bounds,
)
from dealsight.services.opportunities import create_opportunity, update_opportunity
from dealsight.services.users import find_user
from dealsight.store import frames
from dealsight.store.database import connect, upgrade
from dealsight.store.records import write_history
from dealsight.store.schema import forecast_snapshots as snapshot_table
from dealsight.store.schema import opportunities, opportunity_history, teams, users
from tests.conftest import _drop_postgres, _fresh_postgres

TODAY = date(2026, 11, 24)
ALL = Scope(None, False)
FAST = "competing_risks"


@pytest.fixture
def demo(engine: Engine) -> Engine:
    create_demo(engine, seed=11, scale=0.15, today=TODAY)
    return engine


def test_period_bounds() -> None:
    assert period_bounds(date(2026, 11, 24), "quarter") == (date(2026, 10, 1), date(2026, 12, 31))
    assert period_bounds(date(2026, 2, 10), "month") == (date(2026, 2, 1), date(2026, 2, 28))


@pytest.mark.storage
def test_ranges_scope_and_snapshots(demo: Engine) -> None:
    as_of = TODAY - timedelta(days=7)
    first = forecast_period(demo, ALL, as_of=as_of, method=FAST, store=True)
    for group in [first.total, *first.teams, *first.reps]:
        assert group.amount.p10 <= group.amount.p50 <= group.amount.p90
        assert group.count.p10 <= group.count.p50 <= group.count.p90
        assert group.amount.p10 >= group.won_amount
        assert group.reach_probability is None or 0 <= group.reach_probability <= 1
    assert first.stored == 1 + len(first.teams) + len(first.reps)
    now = forecast_period(demo, ALL, as_of=TODAY, method=FAST, store=False)
    assert now.total.earlier["week"] is not None
    assert now.total.earlier["week"].amount.p50 == pytest.approx(first.total.amount.p50)
    rep = now.reps[0]
    mine = forecast_period(
        demo, Scope(frozenset({rep.user_id}), False), as_of=TODAY, method=FAST, store=False
    )
    assert [r.user_id for r in mine.reps] == [rep.user_id] and mine.teams == []
    assert mine.total.level == "view" and mine.total.won_amount == pytest.approx(rep.won_amount)
    series = forecast_snapshots(demo, ALL, level="company", as_of=TODAY, method=FAST)
    assert [p.as_of for p in series.points] == [as_of]


# no look-ahead ---------------------------------------------------------------------------------------------
AS_OF = TODAY - timedelta(days=35)  # 2026-10-20, in the quarter of TODAY
SECOND_AFTER = datetime.combine(AS_OF + timedelta(days=1), time())  # as-of is the end of its day
IN_PERIOD, AFTER_PERIOD = date(2026, 12, 15), date(2027, 2, 15)


@dataclasses.dataclass
class Org:
    """The demo in a database, with a principal per demo login."""

    engine: Engine
    principals: dict[str, Principal]

    def scope(self, role: str) -> Scope:
        return scope_of(self.engine, self.principals[role])


def _org(engine: Engine, summary: DemoSummary) -> Org:
    principals = {}
    for login in summary.logins:
        user = find_user(engine, login.email)
        principals[login.role.value] = Principal(user.id, user.name, login.role)
    return Org(engine, principals)


@pytest.fixture
def org(engine: Engine) -> Org:
    return _org(engine, create_demo(engine, seed=11, scale=0.15, today=TODAY))


def _differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Where two results differ (paths into the dataclasses), for a readable failure."""
    if dataclasses.is_dataclass(before) and dataclasses.is_dataclass(after):
        before, after = dataclasses.asdict(before), dataclasses.asdict(after)  # type: ignore[arg-type]
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after), key=str)
        return [d for k in keys for d in _differences(before.get(k), after.get(k), f"{path}.{k}")]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            d
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for d in _differences(b, a, f"{path}[{i}]")
        ]
    return [] if before == after else [f"{path}: {before!r} -> {after!r}"]


def _forecasts(org: Org, day: date) -> dict[str, Any]:
    """What the service says as of ``day``: for everyone (two methods, quarter and month), in a manager's
    and a rep's view, and the movement of the week before. (Every method's probabilities are checked for
    look-ahead in tests/test_time_to_close.py; here it is what the service adds around them.)"""
    engine = org.engine
    found: dict[str, Any] = {
        method: forecast_period(engine, ALL, as_of=day, method=method, store=False)
        for method in (FAST, "rep_commit")
    }
    found["month"] = forecast_period(engine, ALL, as_of=day, period="month", method=FAST, store=False)
    found["movement"] = forecast_movement_report(engine, ALL, as_of=day, method=FAST)
    for role in ("manager", "rep"):
        found[role] = forecast_period(engine, org.scope(role), as_of=day, method=FAST, store=False)
    found["rep movement"] = forecast_movement_report(engine, org.scope("rep"), as_of=day, method=FAST)
    return found


def _open_deals(engine: Engine, day: date) -> pd.DataFrame:
    """The deals open at the end of ``day`` as the store's history replays them (id, owner, amount then)."""
    with engine.connect() as conn:
        deals = frames.opportunity_frame(conn)
        history = frames.history_frame(conn)
        outcomes = frames.stage_outcomes(frames.stage_table(conn))
    state = state_as_of(deals, history, outcomes, end_of_day(day))
    return state.loc[state["is_open"], ["id", "owner_id", "amount"]].reset_index(drop=True)


def _untouched_since(engine: Engine, ids: list[int], moment: datetime) -> list[int]:
    """Those of ``ids`` with no recorded change after ``moment``."""
    h = opportunity_history
    with engine.connect() as conn:
        later = set(
            conn.execute(sa.select(h.c.opportunity_id).where(h.c.changed_at > moment).distinct()).scalars()
        )
    return [i for i in ids if i not in later]


def _add_later_history(org: Org) -> dict[str, list[int]]:
    """History after AS_OF: through the product's writes (stamped now) for deals open at AS_OF and now,
    by hand one second after AS_OF for deals with no change since; new deals created after AS_OF."""
    engine, admin = org.engine, org.principals["admin"]
    write = Scope(None, True)
    open_then = _open_deals(engine, AS_OF)
    with engine.connect() as conn:
        still_open = set(
            conn.execute(sa.select(opportunities.c.id).where(opportunities.c.outcome.is_(None))).scalars()
        )
    ids = sorted(int(i) for i in open_then["id"] if int(i) in still_open)
    quiet = _untouched_since(engine, ids, end_of_day(AS_OF))
    busy = [i for i in ids if i not in set(quiet)]
    assert len(busy) >= 12 and len(quiet) >= 4, (len(busy), len(quiet))
    changed: dict[str, list[int]] = {}

    # the product's write path: every change is stamped now (after AS_OF), history and all
    def update(kind: str, deal_ids: list[int], changes: Any) -> None:
        changed[kind] = deal_ids
        for deal_id in deal_ids:
            values = changes(deal_id) if callable(changes) else changes
            update_opportunity(engine, admin, write, deal_id, values, "api")

    amounts = dict(zip(open_then["id"].astype(int), open_then["amount"], strict=True))
    update("stage", busy[0:3], {"stage": "Negotiation"})
    update("amount", busy[3:6], lambda i: {"amount": str(Decimal(str(amounts[i] or 1000)) * 3)})
    update("close in", busy[6:8], {"expected_close_date": IN_PERIOD.isoformat()})
    update("close out", busy[8:10], {"expected_close_date": AFTER_PERIOD.isoformat()})
    update("won", busy[10:12], {"stage": "Closed Won"})
    update("lost", busy[12:13], {"stage": "Closed Lost"})

    # by hand, the sharpest "after": one second after the end of AS_OF, current values to match
    h, o = HistoryField, opportunities
    with engine.begin() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(o).where(o.c.id.in_(quiet[:4])))}
        for deal_id in quiet[:4]:
            row = rows[deal_id]
            amount = (row.amount or Decimal(1000)) * 2
            write_history(
                conn,
                deal_id,
                {
                    h.STAGE: (row.stage, "Proposal" if row.stage != "Proposal" else "Negotiation"),
                    h.AMOUNT: (None if row.amount is None else f"{row.amount:.2f}", f"{amount:.2f}"),
                    h.CLOSE_DATE: (
                        None if row.expected_close_date is None else row.expected_close_date.isoformat(),
                        IN_PERIOD.isoformat(),
                    ),
                },
                SECOND_AFTER,
                admin.user_id,
            )
            stage = "Proposal" if row.stage != "Proposal" else "Negotiation"
            conn.execute(
                o.update()
                .where(o.c.id == deal_id)
                .values(stage=stage, amount=amount, expected_close_date=IN_PERIOD)
            )
    changed["by hand"] = quiet[:4]

    # deals created after AS_OF: one the day after (by hand), two today; one of today's won at once
    with engine.connect() as conn:
        template = conn.execute(sa.select(o.c.account_id, o.c.owner_id).where(o.c.id == busy[0])).one()
    new = []
    for created, stage in (
        (AS_OF + timedelta(days=1), "Discovery"),
        (TODAY, "Proposal"),
        (TODAY, "Prospecting"),
    ):
        deal = create_opportunity(
            engine,
            admin,
            write,
            {
                "name": f"Later deal {len(new)}",
                "account_id": template.account_id,
                "owner_id": template.owner_id,
                "stage": stage,
                "amount": "250000",
                "created_date": created.isoformat(),
                "expected_close_date": IN_PERIOD.isoformat(),
            },
            "api",
        )
        new.append(deal.id)
    update_opportunity(engine, admin, write, new[1], {"stage": "Closed Won"}, "api")
    changed["new"] = new
    return changed


@pytest.mark.storage
def test_history_added_after_the_as_of_day_changes_no_figure_of_the_forecast_then(org: Org) -> None:
    before = _forecasts(org, AS_OF)
    today_before = forecast_period(org.engine, ALL, as_of=TODAY, method=FAST, store=False)
    changed = _add_later_history(org)
    after = _forecasts(org, AS_OF)
    for name in before:
        assert not _differences(before[name], after[name]), (name, _differences(before[name], after[name]))
    # the additions were real: the forecast as of today sees them
    today_after = forecast_period(org.engine, ALL, as_of=TODAY, method=FAST, store=False)
    assert today_after.total.won_count == today_before.total.won_count + 3  # two deals and a new one won
    assert today_after.total.open_deals == today_before.total.open_deals - 3 + 2
    assert today_after.total.amount.expected != today_before.total.amount.expected
    assert sum(map(len, changed.values())) == 20
    # and the forecast as of AS_OF covered the deals changed later
    open_then = set(_open_deals(org.engine, AS_OF)["id"].astype(int))
    assert set().union(*(changed[k] for k in changed if k != "new")) <= open_then
    assert not set(changed["new"]) & open_then
    assert before[FAST].total.open_deals == len(open_then) - 0


@pytest.mark.storage
@pytest.mark.parametrize("change", ["amount corrected", "reopened"])
def test_a_deal_won_before_the_as_of_day_and_changed_later_changes_nothing_then(
    org: Org, change: str
) -> None:
    start, _ = period_bounds(AS_OF, "quarter")
    o = opportunities
    with org.engine.connect() as conn:
        won = conn.execute(
            sa.select(o.c.id, o.c.amount)
            .where(o.c.outcome == "won", o.c.closed_date >= start, o.c.closed_date <= AS_OF)
            .order_by(o.c.id)
        ).first()
    assert won is not None, "the demo has a deal won in the quarter by AS_OF"
    before = forecast_period(org.engine, ALL, as_of=AS_OF, method=FAST, store=False)
    values = {"amount": str(won.amount * 2)} if change == "amount corrected" else {"stage": "Negotiation"}
    update_opportunity(org.engine, org.principals["admin"], Scope(None, True), won.id, values, "api")
    after = forecast_period(org.engine, ALL, as_of=AS_OF, method=FAST, store=False)
    assert (after.total.won_amount, after.total.won_count) == (
        before.total.won_amount,
        before.total.won_count,
    )
    assert not _differences(before, after)


@pytest.mark.storage
def test_a_backtest_of_later_dates_changes_nothing_in_a_forecast_before_them(org: Org) -> None:
    day = AS_OF - timedelta(days=60)
    before = forecast_period(org.engine, ALL, as_of=day, method=FAST, store=False)
    run_backtest(
        org.engine, start=day + timedelta(days=14), end=AS_OF, every_days=14, methods=(FAST,)
    )  # every date and every outcome it measures lie after ``day``
    after = forecast_period(org.engine, ALL, as_of=day, method=FAST, store=False)
    assert (after.dispersion, after.total.amount) == (before.dispersion, before.total.amount)


# ranges of every group -------------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_org(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    """One demo per back end for the module's property test (hypothesis runs many cases on it)."""
    if request.param == "sqlite":
        engine = connect(f"sqlite:///{tmp_path_factory.mktemp('ranges') / 'demo.db'}")
        upgrade(engine)
        name = None
    else:
        cluster = request.getfixturevalue("pg_cluster")
        engine, name = _fresh_postgres(cluster)
    try:
        yield _org(engine, create_demo(engine, seed=5, scale=0.1, today=TODAY))
    finally:
        engine.dispose()
        if name is not None:
            _drop_postgres(request.getfixturevalue("pg_cluster"), name)


def _members(engine: Engine) -> dict[int, set[int]]:
    """Each team's members, sub-teams included."""
    with engine.connect() as conn:
        parent = {int(r.id): r.parent_id for r in conn.execute(sa.select(teams.c.id, teams.c.parent_id))}
        team_of = {int(r.id): r.team_id for r in conn.execute(sa.select(users.c.id, users.c.team_id))}
    below = {t: {t} for t in parent}
    for team in parent:
        up = parent[team]
        while up is not None:
            below[int(up)].add(team)
            up = parent[int(up)]
    return {t: {u for u, ut in team_of.items() if ut in below[t]} for t in parent}


def _largest_won(engine: Engine) -> float:
    with engine.connect() as conn:
        query = sa.select(sa.func.max(opportunities.c.amount)).where(opportunities.c.outcome == "won")
        return float(conn.execute(query).scalar_one())


@pytest.mark.storage
@settings(max_examples=6, deadline=None)
@given(
    back=st.integers(0, 500),
    period=st.sampled_from(["quarter", "month"]),
    method=st.sampled_from(sorted(METHODS)),
)
def test_every_groups_range_is_ordered_and_bounded_by_what_could_be_won(
    module_org: Org, back: int, period: str, method: str
) -> None:
    engine = module_org.engine
    day = TODAY - timedelta(days=back)
    report = forecast_period(engine, ALL, as_of=day, period=period, method=method, store=False)
    open_then = _open_deals(engine, day)
    owner = open_then["owner_id"]
    amount = pd.to_numeric(open_then["amount"], errors="coerce").fillna(0.0)
    members = _members(engine)
    groups = [(report.total, None)] + [(t, members[t.team_id]) for t in report.teams]
    groups += [(r, {r.user_id}) for r in report.reps]
    largest = _largest_won(engine)
    for group, who in groups:
        mine = np.ones(len(open_then), dtype=bool) if who is None else owner.isin(list(who)).to_numpy()
        assert group.open_deals == int(mine.sum()), group.name
        rate = group.new_deals_expected * np.exp(Z_SPAN * report.dispersion - report.dispersion**2 / 2)
        most_new = float(poisson.ppf(1 - 1e-12, rate)) if rate > 0 else 0.0
        count, money = group.count, group.amount
        assert group.won_count <= count.p10 <= count.p50 <= count.p90, group
        assert count.p90 <= group.won_count + group.open_deals + most_new, group
        assert group.won_amount <= money.p10 <= money.p50 <= money.p90, group
        pipeline = float(amount[mine].sum())
        assert money.p90 <= group.won_amount + pipeline + most_new * largest + 1e-6, (group, pipeline)
        assert group.won_amount <= money.expected <= group.won_amount + pipeline + most_new * largest + 1e-6
        assert group.reach_probability is None or 0.0 <= group.reach_probability <= 1.0


# movement --------------------------------------------------------------------------------------------------
@pytest.mark.storage
def test_movement_steps_add_up(demo: Engine) -> None:
    report = forecast_movement_report(demo, ALL, as_of=TODAY, method=FAST)
    assert abs(report.start + sum(s.amount for s in report.steps) - report.end) < 1e-6
    assert abs(report.unexplained) < 1e-6
    assert sum(s.deals for s in report.steps) >= 1
    assert snapshot_table.name == "forecast_snapshots"


def test_waterfall_by_hand() -> None:
    frame = lambda rows: pd.DataFrame(rows, columns=["opportunity_id", "probability", "amount", "in_period"])  # noqa: E731
    start = frame(
        [
            (1, 0.5, 100, True),
            (2, 0.5, 200, True),
            (3, 0.2, 50, True),
            (4, 0.4, 100, True),
            (5, 0.1, 80, False),
        ]
    )
    end = frame([(3, 0.1, 50, False), (4, 0.5, 120, True), (5, 0.6, 80, True), (6, 0.3, 10, True)])
    closed = pd.DataFrame(
        [(1, True, 110, True), (2, False, 200, True)],
        columns=["opportunity_id", "won", "amount", "in_period"],
    )
    moved = forecast_movement(start, end, closed, won_to_date_start=1000, won_to_date_end=1110)
    steps = {s.key: s.amount for s in moved.steps}
    assert steps["won"] == pytest.approx(110 - 50)
    assert steps["lost"] == pytest.approx(-100)
    assert steps["new"] == pytest.approx(3)
    assert steps["slipped"] == pytest.approx(5 - 10)
    assert steps["pulled_in"] == pytest.approx(48 - 8)
    assert steps["amount"] == pytest.approx(20 * 0.4)
    assert steps["probability"] == pytest.approx(0.1 * 120)
    assert moved.start == pytest.approx(1000 + 50 + 100 + 10 + 40 + 8)
    assert moved.start + sum(steps.values()) == pytest.approx(moved.end)
    assert moved.unexplained == pytest.approx(0)
