"""Leading indicators (:mod:`dealsight.analytics.indicators`) on small hand-built frames, with exact values.

Helpers here (``deal``, ``deal_data``, ``STAGES``) build :class:`DealData` by hand; the leakage test reuses
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dealsight.analytics.deal_data import OPPORTUNITY_FIELDS
from dealsight.analytics.deal_state import DealHistory
from dealsight.analytics.deal_timelines import DealCodes
from dealsight.analytics.indicators import (
    INDICATOR_NAMES,
    INDICATORS,
    MODEL_FEATURES,
    DealData,
    deal_indicators,
    snapshot_pairs,
)
from dealsight.analytics.replay import STAGE_NOT_RECORDED
from dealsight.analytics.stage_spells import stage_spells
from dealsight.analytics.typical_stage_age import MIN_SEGMENT_SPELLS, ended_spells, typical_stage_days
from dealsight.errors import NotFoundError, ValidationError

T = pd.Timestamp
STAGES = pd.DataFrame(
    {
        "name": [
            "Prospecting",
            "Qualification",
            "Discovery",
            "Proposal",
            "Negotiation",
            "Closed Won",
            "Closed Lost",
        ],
        "position": [1, 2, 3, 4, 5, 6, 7],
        "probability": [0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 0.0],
        "outcome": [None, None, None, None, None, "won", "lost"],
    }
)
QUESTIONS = pd.DataFrame(
    {
        "question_id": [1, 2, 3, 4, 5, 9],
        "question_set_id": [1, 1, 1, 1, 1, 2],
        "key": ["funds", "project", "problem", "sponsor", "anytime", "other_set"],
        "stage": ["Qualification", "Qualification", "Discovery", "Proposal", None, None],
        "essential": [True, False, True, True, False, True],
    }
)


def deal(id: int, **fields: Any) -> dict[str, Any]:
    """An opportunity row with every field of the contract; open, created 2024-01-01, in Prospecting."""
    row: dict[str, Any] = dict.fromkeys(OPPORTUNITY_FIELDS)
    row.update(
        id=id, owner_id=7, account_id=1, stage="Prospecting", amount=1000.0, forecast_category="pipeline",
        expected_close_date=T("2024-03-01"), created_date=T("2024-01-01"), closed_date=pd.NaT,
        known_since=T("2024-01-01 09:00"), product="Platform", source="Inbound", segment="smb", team_id=1,
        question_set_id=1,
    )  # fmt: skip
    row.update(fields)
    return row


def deal_data(
    deals: list[dict[str, Any]],
    history: Sequence[tuple[int, str, pd.Timestamp, Any, Any]] = (),
    activities: Sequence[tuple[int, pd.Timestamp]] = (),
    attendees: Sequence[tuple[int, pd.Timestamp, int, bool]] = (),
    contacts: Sequence[tuple[int, int, str | None, str | None, str | None, bool]] = (),
    answers: Sequence[tuple[int, int, str, pd.Timestamp]] = (),
) -> DealData:
    """Deal data of ``deals`` with the given rows (history: deal, field, changed_at, old, new; activities:
    deal, time; attendees: deal, time, contact, executive; contacts: deal, contact, role, influence, stance,
    executive; answers: deal, question, answer, time); the questions and stages above."""

    def frame(rows: Any, columns: list[str]) -> pd.DataFrame:
        return pd.DataFrame(list(rows), columns=columns)

    return DealData(
        opportunities=pd.DataFrame(deals, columns=list(OPPORTUNITY_FIELDS)),
        history=frame(history, ["opportunity_id", "field", "changed_at", "old_value", "new_value"]),
        activities=frame(
            [(d, at, "call") for d, at in activities], ["opportunity_id", "occurred_at", "type"]
        ),
        activity_contacts=frame(attendees, ["opportunity_id", "occurred_at", "contact_id", "is_executive"]),
        deal_contacts=frame(
            contacts, ["opportunity_id", "contact_id", "role", "influence", "stance", "is_executive"]
        ),
        questions=QUESTIONS.copy(),
        answers=frame(answers, ["opportunity_id", "question_id", "answer", "answered_at"]),
        stages=STAGES.copy(),
    )


def at(data: DealData, *pairs: tuple[int, str | pd.Timestamp]) -> pd.DataFrame:
    frame = pd.DataFrame([(i, T(when)) for i, when in pairs], columns=["opportunity_id", "as_of"])
    return deal_indicators(data, frame)


def values(result: pd.DataFrame, column: str) -> list[Any]:
    return [None if isinstance(v, float) and np.isnan(v) else v for v in result[column].tolist()]


# the contract ----------------------------------------------------------------------------------------
def test_columns_kinds_and_order_follow_the_contract() -> None:
    data = deal_data([deal(1), deal(2, segment=None, product=None)])
    instants = [T("2024-02-01"), T("2024-01-05"), T("2024-01-02")]
    pairs = pd.DataFrame({"opportunity_id": [2, 1, 2], "as_of": instants}, index=[10, 11, 12])
    result = deal_indicators(data, pairs)
    assert list(result.columns) == list(INDICATOR_NAMES)
    assert result.index.tolist() == [10, 11, 12]
    assert result["opportunity_id"].tolist() == [2, 1, 2]
    assert result["as_of"].tolist() == pairs["as_of"].tolist()
    for indicator in INDICATORS:
        column = result[indicator.name]
        if indicator.kind in ("number", "flag"):
            assert column.dtype == np.float64, indicator.name
        if indicator.kind == "flag":
            assert set(column.dropna().unique()) <= {0.0, 1.0}, indicator.name
        if indicator.kind in ("category", "text"):
            assert column.dtype == object and all(v is None or isinstance(v, str) for v in column), (
                indicator.name
            )
        assert indicator.label and indicator.label == indicator.label.strip()
    assert result["segment"].tolist()[0] is None and result["product"].tolist()[0] is None


def test_model_features_leave_out_ids_text_owner_baseline_and_buyer_phase() -> None:
    kinds = {i.name: i.kind for i in INDICATORS}
    assert len(set(INDICATOR_NAMES)) == len(INDICATOR_NAMES) == 51
    for name in (
        "opportunity_id",
        "as_of",
        "owner_id",
        "crm_stage_probability",
        "preferred_competitor",
        "buyer_phase",
    ):
        assert name not in MODEL_FEATURES
    assert all(kinds[name] not in ("id", "text") for name in MODEL_FEATURES)
    assert {"stage_age_ratio", "activity_trend", "problem_recorded", "late_on_high_impact"} <= set(
        MODEL_FEATURES
    )
    replayed = {i.name for i in INDICATORS if i.replayed}
    assert "stage_age_days" in replayed and "sponsor_recorded" not in replayed and "segment" not in replayed


def test_unknown_deals_missing_instants_and_missing_columns_are_refused() -> None:
    data = deal_data([deal(1)])
    with pytest.raises(NotFoundError, match="99"):
        at(data, (99, "2024-01-02"))
    with pytest.raises(ValidationError, match="as_of"):
        deal_indicators(data, pd.DataFrame({"opportunity_id": [1], "as_of": [pd.NaT]}))
    with pytest.raises(ValidationError, match="lacks columns") as refused:
        DealData.of(opportunities=pd.DataFrame({"id": [1]}))
    assert "opportunities.segment" in [p.field for p in refused.value.problems]
    with pytest.raises(ValidationError, match="repeated"):
        deal_indicators(
            deal_data([deal(1), deal(1)]), pd.DataFrame({"opportunity_id": [1], "as_of": [T("2024-01-02")]})
        )


# stage and its age -----------------------------------------------------------------------------------
STAGE_HISTORY = [
    (1, "stage", T("2024-01-11 10:00"), "Prospecting", "Qualification"),
    (1, "stage", T("2024-01-21 10:00"), "Qualification", "Proposal"),
    (1, "stage", T("2024-01-26 10:00"), "Proposal", "Discovery"),
    (1, "forecast_category", T("2024-01-21 10:00"), "pipeline", "commit"),
]


def test_stage_forecast_and_stage_age_are_replayed_at_each_instant() -> None:
    data = deal_data([deal(1, stage="Discovery", forecast_category="commit")], STAGE_HISTORY)
    result = at(data, (1, "2024-01-06"), (1, "2024-01-21 10:00"), (1, "2024-01-25"), (1, "2024-02-04 10:00"))
    assert result["stage"].tolist() == ["Prospecting", "Proposal", "Proposal", "Discovery"]
    assert result["forecast_category"].tolist() == ["pipeline", "commit", "commit", "commit"]
    assert result["stage_position"].tolist() == [1.0, 4.0, 4.0, 3.0]
    assert result["crm_stage_probability"].tolist() == [0.1, 0.6, 0.6, 0.4]
    # since the start (midnight of the created date), or since the change into the stage (a change at
    # exactly as_of is known)
    assert result["stage_age_days"].tolist() == [5.0, 0.0, pytest.approx(3.5833333), 9.0]
    assert result["deal_age_days"].tolist() == [
        5.0,
        pytest.approx(20 + 10 / 24),
        24.0,
        pytest.approx(34 + 10 / 24),
    ]


def test_a_closed_deal_without_stage_history_was_in_a_stage_not_recorded_before_its_close() -> None:
    closed = deal(
        1, stage="Closed Won", outcome="won", forecast_category="closed", closed_date=T("2024-02-01")
    )
    result = at(deal_data([closed]), (1, "2024-01-15"), (1, "2024-02-02"))
    assert result["stage"].tolist() == [STAGE_NOT_RECORDED, "Closed Won"]
    assert values(result, "forecast_category") == [None, "closed"]
    assert values(result, "stage_age_days")[0] is None and values(result, "stage_position")[0] is None
    assert values(result, "crm_stage_probability") == [None, 1.0]
    # a stage not recorded: every question of the set counts as due (the deal page's rule)
    assert result["questions_due"].tolist()[0] == 5.0


def test_typical_stage_days_come_from_spells_ended_before_the_month_of_as_of() -> None:
    smb = [deal(i) for i in range(1, 21)]  # Prospecting spells of 1..20 days, ended in January
    history = [
        (i, "stage", T("2024-01-01") + pd.Timedelta(days=i), "Prospecting", "Qualification")
        for i in range(1, 21)
    ]
    enterprise = [deal(i, segment="enterprise") for i in range(21, 24)]  # 3 spells of 100 days: too few
    history += [(i, "stage", T("2024-04-10"), "Prospecting", "Qualification") for i in range(21, 24)]
    late = deal(24)  # a spell ended in February counts from March only
    history.append((24, "stage", T("2024-02-10"), "Prospecting", "Qualification"))
    targets = [
        deal(30, created_date=T("2024-02-01")),
        deal(31, segment="enterprise", created_date=T("2024-04-01")),
    ]
    data = deal_data([*smb, *enterprise, late, *targets], history)
    result = at(data, (30, "2024-02-21"), (30, "2024-03-11"), (31, "2024-05-06"), (30, "2024-01-15"))
    first_twenty = np.arange(1.0, 21.0)
    assert result["typical_stage_days"].tolist()[0] == 10.5
    assert result["typical_stage_days_p75"].tolist()[0] == np.percentile(first_twenty, 75)
    assert result["stage_age_ratio"].tolist()[0] == pytest.approx(20 / 10.5)
    # March: the February spell of 40 days joins the 20 smb spells
    assert result["typical_stage_days"].tolist()[1] == 11.0
    # enterprise has 3 spells (< MIN_SEGMENT_SPELLS): all segments' 24 spells (1..20, 40, 3 x 100)
    everyone = np.r_[first_twenty, 40.0, 100.0, 100.0, 100.0]
    assert MIN_SEGMENT_SPELLS == 20
    assert result["typical_stage_days"].tolist()[2] == np.median(everyone)
    assert result["typical_stage_days_p75"].tolist()[2] == np.percentile(everyone, 75)
    # January: no spell had ended before January began
    assert values(result, "typical_stage_days")[3] is None and values(result, "stage_age_ratio")[3] is None


def test_ended_spells_are_the_completed_spells_of_stage_spells() -> None:
    deals = [deal(1, stage="Proposal"), deal(2, stage="Negotiation"), deal(3, created_date=None)]
    history = [
        *STAGE_HISTORY[:3],
        (2, "stage", T("2024-01-05"), None, "Proposal"),
        (2, "stage", T("2024-01-09"), "Proposal", "Negotiation"),
        (3, "stage", T("2024-01-04"), "Prospecting", "Discovery"),
    ]
    data = deal_data(deals, history)
    reference = stage_spells(data.opportunities, data.history)
    reference = reference[reference["left_at"].notna()].assign(segment="smb")
    codes = DealCodes.of(data.opportunities["id"])
    history_index = DealHistory.of(data.opportunities, data.history, codes)
    stage = history_index.stage
    mine = ended_spells(
        stage.timeline, stage.old, history_index.start_ns, np.array(["smb"] * 3, dtype=object)
    )
    assert mine["stage"].tolist() == reference["stage"].tolist()
    assert mine["left_at"].tolist() == reference["left_at"].astype("datetime64[ns]").astype(np.int64).tolist()
    assert (
        mine["entered_at"].tolist()
        == reference["entered_at"].astype("datetime64[ns]").astype(np.int64).tolist()
    )
    months = np.array([T("2024-02-01").value])
    a, b = typical_stage_days(mine, months), typical_stage_days(reference, months)
    assert np.array_equal(a.median, b.median, equal_nan=True)


# slips -----------------------------------------------------------------------------------------------
def test_close_date_pushes_amount_changes_and_dates() -> None:
    history = [
        (1, "close_date", T("2024-01-10"), "2024-02-01", "2024-02-15"),
        (1, "close_date", T("2024-01-20"), "2024-02-15", "2024-02-10"),
        (1, "close_date", T("2024-02-12"), "2024-02-10", "2024-03-01"),
        (1, "amount", T("2024-01-15"), "1000", "1500"),
        (1, "amount", T("2024-02-20"), "1500", "1200"),
    ]
    data = deal_data([deal(1, amount=1200.0, expected_close_date=T("2024-03-01"))], history)
    result = at(data, (1, "2024-01-05"), (1, "2024-01-25"), (1, "2024-02-11 08:00"), (1, "2024-02-25"))
    assert result["close_date_pushes"].tolist() == [0.0, 1.0, 1.0, 2.0]
    assert result["days_pushed"].tolist() == [0.0, 14.0, 14.0, 34.0]  # 14 + 20 (February 2024 has 29 days)
    assert result["days_to_expected_close"].tolist() == [27.0, 16.0, -1.0, 5.0]
    assert result["close_date_passed"].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert result["amount"].tolist() == [1000.0, 1500.0, 1500.0, 1200.0]
    assert result["amount_changes"].tolist() == [0.0, 1.0, 1.0, 2.0]
    assert result["amount_change_share"].tolist() == [0.0, 0.5, 0.5, pytest.approx(0.2)]


def test_amount_percentile_ranks_among_deals_created_in_the_year_before() -> None:
    deals = [
        deal(i, amount=float(1000 * i), created_date=T("2024-01-01") + pd.Timedelta(days=i))
        for i in range(1, 6)
    ]
    deals.append(deal(6, amount=3000.0, created_date=T("2022-01-01")))  # too old to compare with
    deals.append(deal(7, amount=None, created_date=T("2024-01-02")))  # unknown amount: not compared
    result = at(
        deal_data(deals), (3, "2024-01-10"), (5, "2024-01-06 12:00"), (1, "2024-01-02"), (7, "2024-01-10")
    )
    # deal 3 (3000) among 1000..5000: 2 below, 1 equal -> 2.5 / 5; deal 5 on its creation day is not yet
    # among the deals before that day (1000..4000): 4 / 4; deal 1 on 2024-01-02: no deal before it
    assert values(result, "amount_percentile") == [0.5, 1.0, None, None]


# activity and stakeholders ---------------------------------------------------------------------------
def test_activity_counts_windows_and_trend() -> None:
    moments = [
        T("2024-01-02"),
        T("2024-01-20"),
        T("2024-02-10"),
        T("2024-03-05"),
        T("2024-03-20"),
        T("2024-04-10"),
    ]
    data = deal_data([deal(1), deal(2)], activities=[(1, m) for m in moments])
    result = at(data, (1, "2024-01-01"), (1, "2024-04-01"), (1, "2024-04-10"), (2, "2024-04-10"))
    assert values(result, "days_since_activity") == [None, 12.0, 0.0, None]
    # 2024-04-01: (03-02, 04-01] holds 03-05 and 03-20; (01-02, 03-02] holds 01-20 and 02-10
    # (2024-01-02 is exactly 90 days before 04-01: outside); 04-10: (03-11, 04-10] and (01-11, 03-11]
    assert result["activities_30d"].tolist() == [0.0, 2.0, 2.0, 0.0]
    assert result["activities_prior_60d"].tolist() == [0.0, 2.0, 3.0, 0.0]
    assert result["activity_trend"].tolist() == [
        0.0,
        pytest.approx(np.log(3 / 2)),
        pytest.approx(np.log(3 / 2.5)),
        0.0,
    ]


def test_sponsor_and_executive_engagement_and_contact_coverage() -> None:
    deals = [deal(1, executive_sponsor_id=50), deal(2)]
    attendees = [
        (1, T("2024-01-05"), 50, True),  # the sponsor
        (1, T("2024-03-20"), 51, True),  # another executive
        (1, T("2024-03-25"), 51, True),  # the same executive again
        (1, T("2024-03-25"), 52, False),
        (2, T("2024-01-05"), 50, True),  # an executive, not deal 2's sponsor (it has none)
    ]
    contacts = [
        (1, 50, "economic_buyer", "high", "supporter", True),
        (1, 51, "champion", "high", "opponent", True),
        (1, 52, "user", "low", "unknown", False),
        (1, 53, "decision_maker", "medium", "supporter", False),
        (2, 60, "user", "low", None, False),
    ]
    data = deal_data(deals, attendees=attendees, contacts=contacts)
    result = at(
        data, (1, "2024-01-04"), (1, "2024-02-01"), (1, "2024-03-10"), (1, "2024-03-31"), (2, "2024-01-06")
    )
    assert result["sponsor_engaged"].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]
    assert result["executives_engaged"].tolist() == [0.0, 1.0, 1.0, 2.0, 1.0]
    assert result["sponsor_recorded"].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]
    assert result["contacts"].tolist()[0] == 4.0 and result["contacts"].tolist()[4] == 1.0
    assert result["key_players_known"].tolist()[0] == 3.0  # economic buyer, high influence, decision maker
    assert result["supporter_share"].tolist()[0] == pytest.approx(2 / 3)  # the unknown stance is left out
    assert result["opponents"].tolist()[0] == 1.0
    assert values(result, "supporter_share")[4] is None


# qualification ---------------------------------------------------------------------------------------
def test_questions_due_by_the_furthest_stage_reached_and_answers_known_by_then() -> None:
    history = [
        (1, "stage", T("2024-01-10"), "Prospecting", "Discovery"),
        (1, "stage", T("2024-01-20"), "Discovery", "Qualification"),  # back: Discovery stays reached
    ]
    answers = [
        (1, 1, "yes", T("2024-01-05")),  # essential, due at Qualification
        (1, 2, "Unknown", T("2024-01-06")),  # not an answer
        (1, 3, "no", T("2024-01-15")),  # essential, due at Discovery
        (1, 4, "no", T("2024-01-16")),  # essential, not due before Proposal, answered no
        (1, 9, "no", T("2024-01-07")),  # a question of another set: ignored
        (1, 5, "yes", T("2024-02-01")),  # after the pairs below
    ]
    data = deal_data(
        [deal(1, stage="Qualification"), deal(2, question_set_id=None)], history, answers=answers
    )
    result = at(data, (1, "2024-01-08"), (1, "2024-01-12"), (1, "2024-01-25"), (2, "2024-01-25"))
    # Prospecting: only the question without a stage; Discovery reached: stages 2 and 3 and the stageless
    assert result["questions_due"].tolist() == [1.0, 4.0, 4.0, 0.0]
    assert values(result, "questions_answered_share") == [0.0, 0.25, 0.5, None]
    assert result["essential_unanswered"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert result["essential_no"].tolist() == [0.0, 0.0, 2.0, 0.0]


# fields without history ------------------------------------------------------------------------------
def test_buyer_competition_and_problem_fields_as_the_crm_holds_them() -> None:
    deals = [
        deal(1, engaged_before_preference=False, problem_impact="critical", competitors=["A", "B"],
             preferred_competitor="A", business_problem="Forecasts miss", compelling_event="",
             decision_criteria="Price", unique_business_value="Calibrated", buyer_phase="preference"),
        deal(2, engaged_before_preference=True, problem_impact="high", competitors='["A"]'),
        deal(3, engaged_before_preference=None, problem_impact="low"),
        deal(4, engaged_before_preference=None, problem_impact=None),
        deal(5, engaged_before_preference=False, problem_impact=None),
    ]  # fmt: skip
    result = at(deal_data(deals), *((i, "2024-01-05") for i in range(1, 6)))
    assert result["engaged_before_preference"].tolist() == ["no", "yes", "unknown", "unknown", "no"]
    assert values(result, "high_impact") == [1.0, 1.0, 0.0, None, None]
    assert values(result, "late_on_high_impact") == [1.0, 0.0, 0.0, None, None]
    assert result["competitors"].tolist() == [2.0, 1.0, 0.0, 0.0, 0.0]
    assert result["competitor_preferred"].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert values(result, "preferred_competitor") == ["A", None, None, None, None]
    assert result["problem_recorded"].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert result["compelling_event_recorded"].tolist()[0] == 0.0  # empty text is not recorded
    assert result["impact_recorded"].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert result["decision_criteria_recorded"].tolist()[0] == result["ubv_recorded"].tolist()[0] == 1.0
    assert values(result, "buyer_phase") == ["preference", None, None, None, None]


# training pairs --------------------------------------------------------------------------------------
def test_snapshots_run_every_few_days_until_the_close_with_equal_weight_per_deal() -> None:
    won = deal(1, stage="Closed Won", outcome="won", closed_date=T("2024-02-01"))
    no_decision = deal(2, stage="Closed Lost", outcome="no_decision", closed_date=T("2024-01-20"))
    long = deal(3, stage="Closed Lost", outcome="lost", closed_date=T("2025-01-01"))
    history = [(1, "stage", T("2024-02-01 15:00"), "Negotiation", "Closed Won")]
    data = deal_data([won, no_decision, long, deal(4)], history)
    pairs = snapshot_pairs(data, every_days=14)
    one = pairs[pairs["opportunity_id"] == 1]
    # end of each 14th day from the created date, before the close change at 15:00 on 02-01
    assert one["as_of"].tolist() == [
        T("2024-01-01 23:59:59"),
        T("2024-01-15 23:59:59"),
        T("2024-01-29 23:59:59"),
    ]
    assert set(one["outcome"]) == {"won"} and set(one["closed_at"]) == {T("2024-02-01 15:00")}
    two = pairs[pairs["opportunity_id"] == 2]
    assert two["outcome"].tolist() == ["no_decision", "no_decision"] and two["closed_at"].iloc[0] == T(
        "2024-01-20"
    )
    three = pairs[pairs["opportunity_id"] == 3]
    assert len(three) == 26 and three["as_of"].iloc[0] == T("2024-01-01 23:59:59")
    assert three["as_of"].iloc[-1] == T("2024-01-01 23:59:59") + pd.Timedelta(days=14 * 26)  # the 27th of 27
    assert three["as_of"].is_monotonic_increasing
    assert 4 not in set(pairs["opportunity_id"])  # open
    assert pairs.groupby("opportunity_id")["weight"].sum().tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert (pairs["as_of"] < pairs["closed_at"]).all()

    later = snapshot_pairs(data, every_days=7, min_age_days=10, until=T("2024-01-31"))
    assert set(later["opportunity_id"]) == {2}
    assert later["as_of"].tolist() == [T("2024-01-11 23:59:59"), T("2024-01-18 23:59:59")]
    with pytest.raises(ValidationError):
        snapshot_pairs(data, every_days=0)


def test_indicators_of_snapshots_of_a_closed_deal_show_it_open() -> None:
    history = [
        (1, "stage", T("2024-01-10"), "Prospecting", "Proposal"),
        (1, "stage", T("2024-02-01 15:00"), "Proposal", "Closed Won"),
        (1, "forecast_category", T("2024-02-01 15:00"), "pipeline", "closed"),
    ]
    won = deal(1, stage="Closed Won", outcome="won", forecast_category="closed", closed_date=T("2024-02-01"))
    data = deal_data([won], history)
    pairs = snapshot_pairs(data, every_days=14)
    result = deal_indicators(data, pairs)
    assert result["stage"].tolist() == ["Prospecting", "Proposal", "Proposal"]
    assert result["forecast_category"].tolist() == ["pipeline"] * 3


def test_no_deals_and_no_pairs_give_empty_frames_with_the_columns() -> None:
    empty = DealData.of(stages=STAGES)
    pairs = snapshot_pairs(empty)
    assert pairs.empty and list(pairs.columns) == [
        "opportunity_id",
        "as_of",
        "outcome",
        "closed_at",
        "weight",
    ]
    assert snapshot_pairs(deal_data([deal(1)])).empty  # open deals give no training pairs
    result = deal_indicators(empty, pd.DataFrame({"opportunity_id": [], "as_of": []}))
    assert result.empty and list(result.columns) == list(INDICATOR_NAMES)
