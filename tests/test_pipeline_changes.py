"""The waterfall of the open pipeline between two days (:mod:`dealsight.analytics.pipeline_changes`): each
category exact on hand-built deals, and the sums reconciling to the cent, also on random histories."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealsight.analytics.pipeline_changes import CATEGORIES, PipelineChanges, Waterfall, pipeline_changes
from dealsight.errors import InsufficientDataError, ValidationError
from tests.test_pipeline_flow import BASE_DEALS, BASE_HISTORY, PROCESS, d, deal, frames, t

# on top of the deals of tests/test_pipeline_flow.py (from 02-29 to 03-31):
EXTRA_DEALS = [
    deal(13, "West", "Proposal", 900.0, d(2, 10)),  # amount 1200 -> 900 on 03-20
    deal(14, "West", "Qualification", 600.0, d(2, 5), close=d(4, 15)),  # pulled in and 500 -> 600 on 03-18
    deal(15, "East", "Prospecting", 250.0, d(2, 2)),  # unchanged
    deal(16, "East", "Proposal", 300.0, d(2, 3)),  # lost 02-25, reopened 03-05
    deal(17, "East", "Closed Won", 100.0, d(3, 3), d(3, 9), "won"),  # created and won within
]
EXTRA_HISTORY = [
    (13, "amount", t(3, 20), "1200", "900"),
    (14, "close_date", t(3, 18), "2024-06-30", "2024-04-15"),
    (14, "amount", t(3, 18), "500", "600"),
    (16, "stage", t(2, 25), "Proposal", "Closed Lost"),
    (16, "stage", t(3, 5), "Closed Lost", "Proposal"),
    (17, "stage", t(3, 9), "Prospecting", "Closed Won"),
]


def reconciles(waterfall: Waterfall) -> bool:
    """Start + every step's delta == end, in exact decimal arithmetic."""
    total = Decimal(str(waterfall.start_amount)) + sum(Decimal(str(s.delta)) for s in waterfall.steps)
    return total == Decimal(str(waterfall.end_amount))


def steps(waterfall: Waterfall) -> dict[str, tuple[int, float, float, float]]:
    return {s.category: (s.deals, s.amount_before, s.amount_after, s.delta) for s in waterfall.steps}


def test_each_category_of_the_waterfall_is_exact_and_the_sums_reconcile() -> None:
    deals, history = frames(BASE_DEALS + EXTRA_DEALS, BASE_HISTORY + EXTRA_HISTORY)
    changes = pipeline_changes(deals, history, PROCESS, from_date=d(2, 29), to_date=d(3, 31))
    assert [w.currency for w in changes.waterfalls] == ["EUR", "USD"]
    usd = changes.waterfalls[1]
    # open at 02-29: 1, 2 (1500), 4, 5, 6 (no amount), 7, 13 (1200), 14 (500), 15
    assert (usd.start_deals, usd.start_amount, usd.unknown_amount_start) == (9, 9250.0, 1)
    # open at 03-31: 1, 2, 3, 10 (4000: raised only after), 13, 14, 15, 16
    assert (usd.end_deals, usd.end_amount, usd.unknown_amount_end) == (8, 9550.0, 0)
    assert [s.category for s in usd.steps] == list(CATEGORIES)
    assert steps(usd) == {
        "new": (2, 0.0, 4500.0, 4500.0),  # 3 and 10
        "reopened": (1, 0.0, 300.0, 300.0),  # 16
        "won": (2, 4000.0, 4000.0, -4000.0),  # 4 and 5
        "lost": (1, 0.0, 0.0, 0.0),  # 6, without an amount
        "no_decision": (1, 800.0, 800.0, -800.0),  # 7
        "pushed_out": (1, 1000.0, 1000.0, 0.0),  # 1
        "pulled_in": (1, 500.0, 600.0, 100.0),  # 14: a slip wins over its amount change
        "amount_up": (1, 1500.0, 2000.0, 500.0),  # 2
        "amount_down": (1, 1200.0, 900.0, -300.0),  # 13
        "unchanged": (1, 250.0, 250.0, 0.0),  # 15
        "created_closed": (1, 0.0, 100.0, 0.0),  # 17
    }
    assert reconciles(usd)
    eur = changes.waterfalls[0]
    assert (eur.start_amount, eur.end_amount, steps(eur)["new"]) == (0.0, 700.0, (1, 0.0, 700.0, 700.0))
    assert reconciles(eur)


def test_changes_after_the_later_day_do_not_count() -> None:
    deals, history = frames(BASE_DEALS + EXTRA_DEALS, BASE_HISTORY + EXTRA_HISTORY)
    early = pipeline_changes(deals, history, PROCESS, from_date=d(2, 29), to_date=d(3, 31))
    # deal 15 is pushed out and resized on 04-02, after the later day: nothing changes
    later_rows = [dict(r) for r in BASE_DEALS + EXTRA_DEALS]
    later_rows[-3].update(amount=9000.0, expected_close_date=d(9, 30))
    later_history = [
        *BASE_HISTORY,
        *EXTRA_HISTORY,
        (15, "amount", t(4, 2), "250", "9000"),
        (15, "close_date", t(4, 2), "2024-06-30", "2024-09-30"),
    ]
    later = pipeline_changes(
        *frames(later_rows, later_history), PROCESS, from_date=d(2, 29), to_date=d(3, 31)
    )
    assert asdict(later) == asdict(early)


def test_the_same_day_twice_changes_nothing_and_bad_days_are_refused() -> None:
    deals, history = frames()
    same = pipeline_changes(deals, history, PROCESS, from_date=d(3, 31), to_date=d(3, 31))
    usd = same.waterfalls[1]
    assert usd.start_amount == usd.end_amount
    assert {s.category for s in usd.steps if s.deals} == {"unchanged"}
    with pytest.raises(ValidationError) as after:
        pipeline_changes(deals, history, PROCESS, from_date=d(4, 1), to_date=d(3, 31))
    assert after.value.problems[0].field == "from"
    assert "--from 2024-04-01 is after --to 2024-03-31" in after.value.message
    with pytest.raises(InsufficientDataError, match="no deal was open"):
        pipeline_changes(deals, history, PROCESS, from_date=date(2023, 1, 1), to_date=date(2023, 6, 30))


STAGES = ["Prospecting", "Qualification", "Proposal", "Closed Won", "Closed Lost"]


@st.composite
def deal_lives(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deals with random stage, amount (cents, sometimes unknown) and close-date histories."""
    rows, changes = [], []
    for number in range(1, draw(st.integers(1, 8)) + 1):
        created = d(1, 1) + timedelta(days=draw(st.integers(0, 60)))
        stage, amount = draw(st.sampled_from(STAGES[:3])), draw(st.integers(0, 10**7)) / 100
        close = created + timedelta(days=draw(st.integers(10, 90)))
        moment = datetime.combine(created, datetime.min.time())
        for _ in range(draw(st.integers(0, 5))):
            moment += timedelta(days=draw(st.integers(1, 20)))
            field = draw(st.sampled_from(["stage", "amount", "close_date"]))
            if field == "stage":
                new = draw(st.sampled_from([s for s in STAGES if s != stage]))
                changes.append((number, "stage", moment, stage, new))
                stage = new
            elif field == "amount":
                new_amount = draw(st.one_of(st.none(), st.integers(0, 10**7).map(lambda c: c / 100)))
                changes.append((number, "amount", moment, _text(amount), _text(new_amount)))
                amount = new_amount
            else:
                new_close = close + timedelta(days=draw(st.integers(-30, 30)))
                changes.append((number, "close_date", moment, close.isoformat(), new_close.isoformat()))
                close = new_close
        outcome = {"Closed Won": "won", "Closed Lost": draw(st.sampled_from(["lost", "no_decision"]))}.get(
            stage
        )
        closed = moment.date() if outcome else None
        currency = draw(st.sampled_from(["USD", "EUR"]))
        rows.append(
            deal(number, "East", stage, amount, created, closed, outcome, close=close, currency=currency)
        )
    return frames(rows, changes)


def _text(amount: float | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


@settings(max_examples=60, deadline=None)
@given(deal_lives(), st.integers(0, 120), st.integers(0, 120))
def test_every_waterfall_reconciles_to_the_cent(
    lives: tuple[pd.DataFrame, pd.DataFrame], first: int, length: int
) -> None:
    deals, history = lives
    from_date = d(1, 1) + timedelta(days=first)
    try:
        changes: PipelineChanges = pipeline_changes(
            deals, history, PROCESS, from_date=from_date, to_date=from_date + timedelta(days=length)
        )
    except InsufficientDataError:
        return
    for waterfall in changes.waterfalls:
        assert reconciles(waterfall)
        assert sum(
            s.deals for s in waterfall.steps if s.category not in ("new", "reopened", "created_closed")
        ) == (waterfall.start_deals)
        assert waterfall.end_deals == sum(
            s.deals for s in waterfall.steps if s.category in ("new", "reopened", *CATEGORIES[5:10])
        )
