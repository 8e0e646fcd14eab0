"""Deals not yet created, learned from history: hand-computed cases and no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dealsight.analytics.new_deals import NewDeals, new_deals_from_history
from dealsight.errors import ValidationError

AS_OF = pd.Timestamp("2025-03-31")
PERIOD_END = pd.Timestamp("2025-04-14")  # 14 days


def _frame(rows: list[tuple[str, str | None, str | None, float | None, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["created_date", "closed_date", "outcome", "amount", "team_id"])


def _history() -> pd.DataFrame:
    return _frame([
        ("2024-12-01", "2025-01-20", "lost", 10.0, 0),  # the first deal known: history starts here
        ("2025-03-25", "2025-03-28", "won", 100.0, 0),  # inside the window ending at as-of only
        ("2025-03-01", "2025-03-05", "won", 50.0, 1),  # inside the window (02-24, 03-10] only
        ("2025-02-01", "2025-03-20", "won", 70.0, 0),  # won, but 47 days after creation: never inside
        ("2025-03-10", "2025-03-12", "no_decision", 30.0, 1),  # not won
        ("2025-03-20", None, None, 20.0, 0),  # still open
    ])  # fmt: skip


def test_hand_computed_windows_counts_and_amounts() -> None:
    history = _history()
    found = new_deals_from_history(
        history, AS_OF, PERIOD_END, group_codes=history["team_id"].to_numpy(), n_groups=2
    )
    # windows end at 03-31, 03-24, ... while they start on or after 2024-12-01: 03-17 - 7k >= 12-01
    assert found.windows == 16
    assert found.history_days == 120
    np.testing.assert_allclose(found.expected_count, [1 / 16, 1 / 16])
    np.testing.assert_array_equal(found.amounts[0], [100.0])
    np.testing.assert_array_equal(found.amounts[1], [50.0])
    np.testing.assert_allclose(found.expected_amount, [100 / 16, 50 / 16])
    assert found.note is None


def test_one_group_by_default_and_a_longer_period_counts_the_slow_win() -> None:
    found = new_deals_from_history(_history(), AS_OF, AS_OF + pd.Timedelta(days=52))
    # 52-day windows (E - 52 days, E], E = 03-31 - 7k, start >= 12-01: 02-07 - 7k >= 12-01, k <= 9: 10.
    # The 100 deal (03-25 -> 03-28) is inside the window ending 03-31 only; the 50 deal (03-01 -> 03-05)
    # inside those ending 03-10..03-31 (4); the 70 deal (02-01 -> 03-20) needs start < 02-01 and
    # end >= 03-20: the window (01-31, 03-24] only.
    assert found.windows == 10
    assert found.expected_count == pytest.approx([(1 + 4 + 1) / 10])
    assert sorted(found.amounts[0]) == [50.0, 70.0, 100.0]


def test_no_look_ahead_deals_created_or_closed_after_as_of_change_nothing() -> None:
    history = _history()
    later = pd.concat([
        history,
        _frame([
            ("2025-04-02", "2025-04-05", "won", 1000.0, 0),  # created after as-of
            ("2025-03-30", "2025-04-02", "won", 1000.0, 1),  # created before, won after as-of
            ("2025-03-29", "2025-03-31 12:00", "won", 1000.0, 1),  # won on as-of day, after its start
        ]),
    ], ignore_index=True)  # fmt: skip
    before = new_deals_from_history(
        history, AS_OF, PERIOD_END, group_codes=history["team_id"].to_numpy(), n_groups=2
    )
    after = new_deals_from_history(
        later, AS_OF, PERIOD_END, group_codes=later["team_id"].to_numpy(), n_groups=2
    )
    np.testing.assert_array_equal(before.expected_count, after.expected_count)
    for a, b in zip(before.amounts, after.amounts, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (before.windows, before.history_days) == (after.windows, after.history_days)


def test_thin_history_is_said_and_no_window_gives_zero() -> None:
    short = _frame([("2025-03-01", "2025-03-05", "won", 50.0, 0)])
    thin = new_deals_from_history(short, AS_OF, PERIOD_END)
    assert thin.note is not None and "under a quarter" in thin.note
    assert thin.windows == 3  # ends 03-31, 03-24, 03-17 (start 03-03 > 03-01: the deal is never inside)
    assert thin.expected_count[0] == 0
    none = new_deals_from_history(short, AS_OF, AS_OF + pd.Timedelta(days=60))
    assert none.windows == 0 and none.expected_count[0] == 0
    assert none.note is not None and "No past window" in none.note
    empty = new_deals_from_history(short.iloc[:0], AS_OF, PERIOD_END)
    assert empty.windows == 0 and empty.note is not None


def test_lookback_limits_the_windows_and_missing_amounts_count_zero() -> None:
    history = _history()
    history.loc[1, "amount"] = None
    found = new_deals_from_history(history, AS_OF, PERIOD_END, lookback_days=28)
    assert found.windows == 3  # windows starting on or after 03-03: ends 03-31, 03-24, 03-17
    assert found.expected_count == pytest.approx([1 / 3])
    np.testing.assert_array_equal(found.amounts[0], [0.0])


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        new_deals_from_history(_history(), AS_OF, AS_OF)
    assert [p.field for p in caught.value.problems] == ["period_end"]
    with pytest.raises(ValidationError) as caught:
        new_deals_from_history(_history(), AS_OF, PERIOD_END, group_codes=np.zeros(2, dtype=int))
    assert [p.field for p in caught.value.problems] == ["group_codes"]
    with pytest.raises(ValidationError):
        new_deals_from_history(_history().drop(columns="outcome"), AS_OF, PERIOD_END)
    with pytest.raises(ValidationError):
        NewDeals(np.array([1.0]), (np.zeros(0),))  # deals expected, but no amounts to draw from
    with pytest.raises(ValidationError):
        NewDeals(np.array([1.0, 2.0]), (np.ones(3),))
