"""Stage spells rebuilt from stage history (:mod:`dealsight.analytics.stage_spells`)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from dealsight.analytics.stage_spells import SPELL_COLUMNS, spell_days, stage_spells


def _deals(*rows: tuple[int, str, date | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [(i, stage, created, datetime(2024, 1, 1)) for i, stage, created in rows],
        columns=["id", "stage", "created_date", "known_since"],
    )


def _history(*rows: tuple[int, str, datetime, str | None, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["opportunity_id", "field", "changed_at", "old_value", "new_value"])


def test_spells_follow_the_changes_from_the_deals_start() -> None:
    deals = _deals((1, "Closed Won", date(2024, 1, 10)), (2, "Proposal", None))
    history = _history(
        (1, "stage", datetime(2024, 1, 20), "Prospecting", "Proposal"),
        (1, "amount", datetime(2024, 1, 25), "10", "20"),
        (1, "stage", datetime(2024, 2, 19), "Proposal", "Closed Won"),
    )
    spells = stage_spells(deals, history)
    assert list(spells.columns) == list(SPELL_COLUMNS)
    one = spells[spells["opportunity_id"] == 1]
    assert one["stage"].tolist() == ["Prospecting", "Proposal", "Closed Won"]
    assert one["position"].tolist() == [0, 1, 2]
    assert one["next_stage"].tolist()[:2] == ["Proposal", "Closed Won"]
    assert spell_days(one).tolist()[:2] == [10.0, 30.0]
    assert pd.isna(one["left_at"].iloc[2])
    # no history: the current stage since the moment the deal reached dealsight (no created date)
    two = spells[spells["opportunity_id"] == 2]
    assert two["stage"].tolist() == ["Proposal"]
    assert two["entered_at"].iloc[0] == pd.Timestamp(2024, 1, 1)
    until = pd.Timestamp(2024, 1, 11)
    assert spell_days(two, until).tolist() == [10.0]


def test_a_first_change_without_an_old_value_starts_the_known_spells() -> None:
    deals = _deals((1, "Negotiation", date(2024, 1, 1)))
    history = _history(
        (1, "stage", datetime(2024, 1, 5), None, "Proposal"),
        (1, "stage", datetime(2024, 1, 9), "Proposal", "Negotiation"),
    )
    spells = stage_spells(deals, history)
    assert spells["stage"].tolist() == ["Proposal", "Negotiation"]
    assert spells["entered_at"].tolist() == [pd.Timestamp(2024, 1, 5), pd.Timestamp(2024, 1, 9)]


def test_no_deals_give_an_empty_frame_with_the_columns() -> None:
    spells = stage_spells(_deals(), _history())
    assert spells.empty and list(spells.columns) == list(SPELL_COLUMNS)


def test_a_mistyped_year_gives_a_long_spell_not_an_overflow() -> None:
    deals = _deals((1, "Proposal", date(1146, 3, 4)))
    history = _history((1, "stage", datetime(2026, 1, 1), "Prospecting", "Proposal"))
    days = spell_days(stage_spells(deals, history))
    assert days.iloc[0] == (date(2026, 1, 1) - date(1146, 3, 4)).days
    assert pd.isna(days.iloc[1])
