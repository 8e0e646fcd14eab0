"""Booked vs delivered: the computation on hand-made frames whose figures are worked out by hand, no
look-ahead, and the service's scope (a rep's portfolio is their accounts only)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from dealsight.analytics.booked_value import booked_vs_delivered, by_account, in_force, quarter_of
from dealsight.domain.access import Principal
from dealsight.errors import NotFoundError
from dealsight.services.account_records import create_account
from dealsight.services.booked_value import account_booked_value, portfolio_booked_value
from dealsight.services.delivered_value import create_value_evidence
from dealsight.services.subscriptions import create_subscription
from tests import test_opportunity_records
from tests.api_fixtures import unique
from tests.test_opportunity_records import People, people

fresh = test_opportunity_records.fresh
SUB_COLUMNS = [
    "id",
    "account_id",
    "arr",
    "currency",
    "term_start",
    "term_end",
    "auto_renew",
    "is_trial",
    "status",
]


def subscriptions() -> pd.DataFrame:
    rows = [
        (1, 10, 12000.0, "USD", date(2024, 1, 1), None, False, False, "active"),
        (2, 10, 0.0, "USD", date(2024, 1, 1), None, False, True, "active"),  # a trial: never booked
        (3, 20, 6000.0, "USD", date(2024, 1, 1), date(2024, 6, 30), False, False, "churned"),
        (4, 20, 1000.0, "USD", date(2023, 4, 1), date(2024, 3, 31), True, False, "active"),  # renews on
        (5, 20, 9999.0, "USD", date(2023, 1, 1), None, None, False, "churned"),  # ended, day unknown
        (6, 30, 500.0, "USD", date(2025, 2, 1), None, True, False, "active"),  # starts after the day
    ]
    return pd.DataFrame(rows, columns=SUB_COLUMNS)


VALUE_COLUMNS = ["id", "account_id", "metric", "monetary_value", "currency", "confirmed_on"]


def values() -> pd.DataFrame:
    rows = [
        (1, 10, "Hours saved", 5000.0, "USD", date(2024, 5, 1)),
        (2, 10, "Close time", 3000.0, "USD", date(2023, 12, 1)),
        (3, 20, "Tickets", None, "USD", date(2024, 2, 1)),  # an outcome without a monetary value
        (4, 10, "Uptime", 7000.0, "USD", date(2025, 1, 5)),  # confirmed after the day
    ]
    return pd.DataFrame(rows, columns=VALUE_COLUMNS)


def test_booked_and_delivered_worked_out_by_hand() -> None:
    result = booked_vs_delivered(subscriptions(), values(), date(2024, 12, 31), quarters=4)
    assert result.arr_booked == 13000.0  # account 10's 12,000 and account 20's auto-renewing 1,000
    assert (result.value_12m, result.value_all_time) == (5000.0, 8000.0)
    assert result.ratio_12m == pytest.approx(5000 / 13000)
    assert (result.accounts_booked, result.accounts_without_value, result.arr_without_value) == (2, 1, 1000.0)
    assert result.last_confirmed_on == date(2024, 5, 1)
    assert [q.quarter for q in result.trend] == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    first = result.trend[0]
    assert (first.arr_booked, first.value_confirmed, first.value_12m) == (19000.0, 0.0, 3000.0)
    assert first.ratio_12m == pytest.approx(3000 / 19000)
    assert [q.value_confirmed for q in result.trend] == [0.0, 5000.0, 0.0, 0.0]
    assert [q.arr_booked for q in result.trend] == [19000.0, 19000.0, 13000.0, 13000.0]


def test_a_reconfirmed_outcome_counts_once_at_its_latest_value() -> None:
    again = pd.DataFrame(
        [
            (5, 10, " hours  SAVED", 8000.0, "USD", date(2024, 11, 15)),
            (6, 10, "Hours saved", None, "USD", date(2024, 12, 1)),
        ],
        columns=VALUE_COLUMNS,
    )  # the same metric re-confirmed at 8,000, then once more without a money figure
    result = booked_vs_delivered(
        subscriptions(), pd.concat([values(), again]), date(2024, 12, 31), quarters=4
    )
    assert (result.value_12m, result.value_all_time) == (8000.0, 11000.0)  # not 5,000 + 8,000
    assert [q.value_confirmed for q in result.trend] == [0.0, 5000.0, 0.0, 8000.0]
    assert result.last_confirmed_on == date(2024, 12, 1)  # a confirmation without money still counts here


def test_the_running_quarter_ends_on_the_day() -> None:
    result = booked_vs_delivered(subscriptions(), values(), date(2024, 5, 15), quarters=2)
    assert [(q.start, q.end) for q in result.trend] == [
        (date(2024, 1, 1), date(2024, 3, 31)),
        (date(2024, 4, 1), date(2024, 5, 15)),
    ]
    assert result.trend[-1].value_confirmed == 5000.0
    assert quarter_of(date(2024, 11, 30)) == (date(2024, 10, 1), date(2024, 12, 31))


def test_by_account_and_nothing_at_all() -> None:
    frame = by_account(subscriptions(), values(), date(2024, 12, 31))
    assert frame["account_id"].tolist() == [10, 20, 30]
    assert frame["arr_booked"].tolist() == [12000.0, 1000.0, 0.0]
    assert frame["ratio_12m"].iloc[1] == 0.0 and pd.isna(frame["ratio_12m"].iloc[2])
    empty = booked_vs_delivered(subscriptions().iloc[:0], values().iloc[:0], date(2024, 12, 31), quarters=1)
    assert (empty.arr_booked, empty.ratio_12m, empty.last_confirmed_on) == (0.0, None, None)
    assert in_force(subscriptions(), date(2022, 1, 1)).sum() == 0


later = st.lists(
    st.tuples(st.integers(10, 40), st.floats(0, 1e6), st.dates(date(2025, 1, 1), date(2030, 12, 31))),
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(extra_subscriptions=later, extra_values=later)
def test_what_starts_or_is_confirmed_after_the_day_changes_nothing(
    extra_subscriptions: list[tuple[int, float, date]], extra_values: list[tuple[int, float, date]]
) -> None:
    day = date(2024, 12, 31)
    before = booked_vs_delivered(subscriptions(), values(), day, quarters=3)
    subs = pd.concat(
        [
            subscriptions(),
            pd.DataFrame(
                [
                    (100 + i, a, x, "USD", d, None, True, False, "active")
                    for i, (a, x, d) in enumerate(extra_subscriptions)
                ],
                columns=SUB_COLUMNS,
            ),
        ]
    )
    vals = pd.concat(
        [
            values(),
            pd.DataFrame(
                [(100 + i, a, "Hours saved", x, "USD", d) for i, (a, x, d) in enumerate(extra_values)],
                columns=VALUE_COLUMNS,
            ),
        ]
    )
    after = booked_vs_delivered(subs, vals, day, quarters=3)
    assert (after.arr_booked, after.value_12m, after.value_all_time, after.trend) == (
        before.arr_booked,
        before.value_12m,
        before.value_all_time,
        before.trend,
    )


def _account(engine: Engine, who: People, owner: Principal) -> int:
    """A new account of ``owner``, with no subscription and no value yet (the demo may have others)."""
    data = {"name": unique("Booked Co"), "owner_id": owner.user_id}
    return create_account(engine, who.admin, who.admin_scope, data, "cli").id


@pytest.mark.storage
def test_the_portfolio_is_the_scopes_accounts(fresh: Engine) -> None:
    who = people(fresh)
    mine, theirs = _account(fresh, who, who.rep), _account(fresh, who, who.other_rep)
    day = date(2024, 12, 31)
    rep_before = portfolio_booked_value(fresh, who.rep_scope, as_of=day).summary
    all_before = portfolio_booked_value(fresh, who.executive_scope, as_of=day).summary
    deal = {"arr": "12000", "term_start": "2024-01-01"}
    create_subscription(fresh, who.admin, who.admin_scope, mine, deal, "cli")
    create_subscription(fresh, who.admin, who.admin_scope, theirs, {**deal, "arr": "50000"}, "cli")
    value = {"metric": "Hours saved", "monetary_value": 6000, "confirmed_on": "2024-06-30"}
    create_value_evidence(fresh, who.rep, who.rep_scope, mine, value, "api")
    mine_alone = account_booked_value(fresh, who.rep_scope, mine, as_of=day)
    assert (mine_alone.arr_booked, mine_alone.value_12m, mine_alone.ratio_12m) == (12000.0, 6000.0, 0.5)
    rep = portfolio_booked_value(fresh, who.rep_scope, as_of=day, limit=500)
    assert rep.summary.arr_booked - rep_before.arr_booked == 12000.0
    assert rep.summary.value_12m - rep_before.value_12m == 6000.0
    assert mine in {a.account_id for a in rep.accounts} and theirs not in {a.account_id for a in rep.accounts}
    everyone = portfolio_booked_value(fresh, who.executive_scope, as_of=day, limit=500)
    assert everyone.summary.arr_booked - all_before.arr_booked == 62000.0
    assert everyone.summary.arr_without_value - all_before.arr_without_value == 50000.0
    order = [a.account_id for a in everyone.accounts]
    assert order.index(theirs) < order.index(mine)  # no value before some value
    assert next(a for a in everyone.accounts if a.account_id == theirs).last_confirmed_on is None
    with pytest.raises(NotFoundError):
        account_booked_value(fresh, who.rep_scope, theirs, as_of=day)
