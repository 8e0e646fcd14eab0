"""Renewal risk on hand-made frames: which renewals are decided or upcoming, the features by hand and
without look-ahead, reasons in the order of weight, the model's contract, fallback and direction."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from dealsight.analytics.renewal_evaluation import LogisticRegressionBaseline, OnColumns, renewal_snapshots
from dealsight.analytics.renewal_features import (
    FEATURES,
    USAGE_FEATURES,
    RenewalEvidence,
    renewal_events,
    renewal_features,
)
from dealsight.analytics.renewal_reasons import renewal_reasons, top_reasons
from dealsight.analytics.renewal_risk import RENEWED, RenewalModel, arr_at_risk

AS_OF = date(2025, 6, 1)


def _subscription(
    sid: int, account: int, start: date, end: date | None, **extra: object
) -> dict[str, object]:
    row: dict[str, object] = {
        "id": sid,
        "account_id": account,
        "arr": 12_000.0,
        "mrr": 1_000.0,
        "currency": "USD",
        "term_start": start,
        "term_end": end,
        "billing_frequency": "annual",
        "auto_renew": False,
        "renewal_date": end,
        "is_trial": False,
        "status": "active",
    }
    row.update(extra)
    return row


def _evidence(subscriptions: list[dict[str, object]], **frames: pd.DataFrame) -> RenewalEvidence:
    empty = {
        "churn_events": pd.DataFrame(columns=["account_id", "subscription_id", "churned_on"]),
        "values": pd.DataFrame(columns=["account_id", "monetary_value", "confirmed_on", "confirmer_level"]),
        "riq_answers": pd.DataFrame(columns=["account_id", "impact", "recovery", "answered_on"]),
        "executive_activities": pd.DataFrame(columns=["account_id", "occurred_at"]),
        "usage": pd.DataFrame(
            columns=["subscription_id", "account_id", "used_on", "usage_count", "features"]
        ),
        "tickets": pd.DataFrame(columns=["account_id", "opened_at", "escalated", "satisfaction"]),
    }
    empty.update(frames)
    return RenewalEvidence(subscriptions=pd.DataFrame(subscriptions), **empty)


# which renewals ------------------------------------------------------------------------------------------
def test_renewals_are_decided_lost_renewed_or_upcoming_by_the_documented_rules() -> None:
    subs = [
        _subscription(1, 10, date(2024, 1, 1), date(2024, 12, 31)),  # active, past its end: renewed
        _subscription(2, 10, date(2025, 1, 1), date(2025, 12, 31)),  # its next term: upcoming
        _subscription(3, 11, date(2024, 3, 1), date(2025, 2, 28), status="churned"),  # lost
        _subscription(
            4,
            12,
            date(2023, 2, 10),
            None,
            billing_frequency="monthly",
            auto_renew=True,
            renewal_date=date(2023, 3, 10),
        ),
        _subscription(
            5,
            13,
            date(2023, 5, 1),
            date(2024, 8, 15),
            billing_frequency="monthly",
            auto_renew=True,
            renewal_date=date(2024, 8, 15),
            status="churned",
        ),
        _subscription(6, 14, date(2025, 1, 1), date(2025, 12, 31), is_trial=True),  # a trial: none
    ]
    churn = pd.DataFrame([{"account_id": 11, "subscription_id": 3, "churned_on": date(2025, 1, 10)}])
    events = renewal_events(pd.DataFrame(subs), churn, AS_OF)
    got = {(r.subscription_id, r.renewal_date, r.decided_on, r.renewed) for r in events.itertuples()}
    assert got == {
        (1, date(2024, 12, 31), date(2024, 12, 31), True),
        (2, date(2025, 12, 31), date(2025, 12, 31), None),
        (3, date(2025, 2, 28), date(2025, 1, 10), False),  # decided when the customer gave notice
        (4, date(2024, 2, 10), date(2024, 2, 10), True),  # monthly plans decide once a year
        (4, date(2025, 2, 10), date(2025, 2, 10), True),
        (4, date(2026, 2, 10), date(2026, 2, 10), None),
        (5, date(2024, 5, 1), date(2024, 5, 1), True),
        (5, date(2025, 5, 1), date(2024, 8, 15), False),  # the year it did not complete, decided at its end
    }


# features ------------------------------------------------------------------------------------------------
def _rich_evidence() -> RenewalEvidence:
    subs = [_subscription(1, 10, date(2024, 7, 1), date(2025, 6, 30))]
    values = pd.DataFrame(
        {
            "account_id": 10,
            "monetary_value": [6_000.0, 9_000.0, 50_000.0],
            "confirmed_on": [date(2025, 3, 1), date(2025, 1, 1), date(2023, 1, 1)],
            "confirmer_level": ["staff", "executive", "executive"],
        }
    )
    riq = pd.DataFrame(
        [
            {"account_id": 10, "impact": "critical", "recovery": "cannot", "answered_on": date(2024, 6, 1)},
            {"account_id": 10, "impact": "minor", "recovery": "days", "answered_on": date(2025, 2, 1)},
        ]
    )
    meetings = pd.DataFrame(
        {
            "account_id": [10, 10, 10],
            "occurred_at": [datetime(2025, 5, 1, 10), datetime(2025, 4, 1, 10), datetime(2024, 6, 1, 10)],
        }
    )
    usage = pd.DataFrame(
        {
            "subscription_id": 1,
            "account_id": 10,
            "used_on": [date(2025, 5, 1), date(2025, 1, 1)],
            "usage_count": [30.0, 90.0],
            "features": [2, 4],
        }
    )
    tickets = pd.DataFrame(
        {
            "account_id": 10,
            "opened_at": [datetime(2025, 4, 1), datetime(2025, 5, 1), datetime(2024, 1, 1)],
            "escalated": [True, True, True],
            "satisfaction": [2.0, np.nan, 5.0],
        }
    )
    return _evidence(
        subs, values=values, riq_answers=riq, executive_activities=meetings, usage=usage, tickets=tickets
    )


def _one(evidence: RenewalEvidence, at: date) -> pd.Series:
    row = pd.DataFrame(
        {
            "subscription_id": [1],
            "account_id": [10],
            "renewal_date": [date(2025, 6, 30)],
            "arr": [12_000.0],
            "at": [pd.Timestamp(at)],
        }
    )
    return renewal_features(row, evidence).iloc[0]


def test_features_by_hand() -> None:
    f = _one(_rich_evidence(), date(2025, 6, 1))
    assert list(f.index) == list(FEATURES)
    assert f["days_since_value"] == (date(2025, 6, 1) - date(2025, 3, 1)).days
    assert f["value_ratio_12m"] == pytest.approx(15_000 / 12_000)  # the 2023 value is older than a year
    assert f["executive_values_12m"] == 1
    assert f["days_since_executive_value"] == (date(2025, 6, 1) - date(2025, 1, 1)).days
    assert (f["riq_impact"], f["riq_recovery"]) == (1, 0)  # the latest answer: minor, days
    assert f["riq_age_days"] == (date(2025, 6, 1) - date(2025, 2, 1)).days
    assert f["executive_activities_180d"] == 2
    assert f["usage_per_day_90d"] == pytest.approx(30 / 90)
    assert f["usage_trend"] == pytest.approx((30 - 90) / 120)
    assert f["features_used_90d"] == 2
    assert (f["tickets_180d"], f["escalations_180d"], f["satisfaction_180d"]) == (2, 2, 2.0)


def test_nothing_dated_at_or_after_the_as_of_moment_moves_a_feature() -> None:
    at = date(2025, 3, 1)
    before = _one(_rich_evidence(), at)
    later = _rich_evidence()
    later = RenewalEvidence(
        subscriptions=pd.concat([later.subscriptions, pd.DataFrame([_subscription(2, 10, at, None)])]),
        churn_events=pd.DataFrame([{"account_id": 10, "subscription_id": 1, "churned_on": at}]),
        values=pd.concat(
            [
                later.values,
                pd.DataFrame(
                    [
                        {
                            "account_id": 10,
                            "monetary_value": 1e6,
                            "confirmed_on": at,
                            "confirmer_level": "executive",
                        }
                    ]
                ),
            ]
        ),
        riq_answers=pd.concat(
            [
                later.riq_answers,
                pd.DataFrame([{"account_id": 10, "impact": "none", "recovery": "days", "answered_on": at}]),
            ]
        ),
        executive_activities=pd.concat(
            [
                later.executive_activities,
                pd.DataFrame({"account_id": [10], "occurred_at": [datetime(2025, 3, 1, 9)]}),
            ]
        ),
        usage=pd.concat(
            [
                later.usage,
                pd.DataFrame(
                    {
                        "subscription_id": [1],
                        "account_id": [10],
                        "used_on": [at],
                        "usage_count": [1e6],
                        "features": [6],
                    }
                ),
            ]
        ),
        tickets=pd.concat(
            [
                later.tickets,
                pd.DataFrame(
                    {
                        "account_id": [10],
                        "opened_at": [datetime(2025, 3, 2)],
                        "escalated": [True],
                        "satisfaction": [1.0],
                    }
                ),
            ]
        ),
    )
    pd.testing.assert_series_equal(before, _one(later, at))


def test_snapshots_look_before_each_decision_and_skip_looks_before_the_start() -> None:
    subs = [_subscription(1, 10, date(2024, 3, 1), date(2025, 2, 28), status="churned")]
    evidence = _evidence(subs)
    events = renewal_events(evidence.subscriptions, evidence.churn_events, AS_OF)
    rows, X = renewal_snapshots(events, evidence, leads=(30, 90, 400))
    assert list(rows["at"]) == [pd.Timestamp(2024, 11, 30), pd.Timestamp(2025, 1, 29)]
    assert set(rows["outcome"]) == {"not_renewed"} and len(X) == 2


# reasons -------------------------------------------------------------------------------------------------
def test_reasons_speak_plainly_in_the_order_of_weight() -> None:
    X = pd.DataFrame([dict.fromkeys(FEATURES, np.nan) for _ in range(3)])
    X.loc[
        0,
        [
            "days_since_value",
            "value_ratio_12m",
            "executive_values_12m",
            "riq_impact",
            "riq_age_days",
            "executive_activities_180d",
            "usage_trend",
            "escalations_180d",
        ],
    ] = [274, 0.4, 0, 1, 30, 0, -0.5, 3]
    X.loc[
        1,
        [
            "days_since_value",
            "days_since_executive_value",
            "value_ratio_12m",
            "executive_values_12m",
            "riq_impact",
            "riq_age_days",
            "executive_activities_180d",
        ],
    ] = [20, 20, 2.5, 2, 3, 40, 4]
    X.loc[2, ["executive_values_12m", "executive_activities_180d"]] = [0, 2]
    reasons = renewal_reasons(X)
    first = reasons[(reasons["row"] == 0) & (reasons["kind"] == "against")]
    assert list(first["reason"]) == [
        "no confirmed value in 9 months",
        "no executive confirmed value in 12 months",
        "RIQ answered 'minor impact'",
        "no contact with an executive of the account in 6 months",
        "usage fell 67% over the last 90 days",
        "3 escalated tickets in 6 months",
    ]
    assert list(first["group"]) == ["value", "value", "riq", "sponsor", "usage", "support"]
    assert "RIQ" in first.iloc[0]["next_action"]
    strong = reasons[reasons["row"] == 1]
    assert set(strong["kind"]) == {"for"}
    assert "an executive confirmed value 1 months ago" in set(strong["reason"])
    assert list(top_reasons(reasons, 2)[lambda t: t["row"] == 2]["reason"]) == [
        "no value confirmed by the customer yet",
        "the RIQ was never asked",
    ]


# the model -----------------------------------------------------------------------------------------------
def _synthetic(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Renewal decided by value (days since value, RIQ), usage irrelevant."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f: rng.normal(size=n) for f in FEATURES})
    X["days_since_value"] = rng.uniform(0, 600, n)
    X["riq_impact"] = rng.integers(0, 4, n).astype(float)
    logit = 2.5 - X["days_since_value"] / 120 + 0.8 * (X["riq_impact"] - 1.5)
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), RENEWED, "not_renewed")
    return X, y


def test_the_model_follows_the_estimator_contract_and_the_known_directions() -> None:
    X, y = _synthetic(3000)
    model = RenewalModel(random_state=3)
    assert clone(model).get_params() == model.get_params()
    assert model.fit(X, y) is model and model.method_ == "learned"
    probe = X.iloc[:200].copy()
    fresh, stale = probe.assign(days_since_value=10.0), probe.assign(days_since_value=500.0)
    assert (model.renewal_probability(fresh) >= model.renewal_probability(stale)).all()  # monotone
    assert model.renewal_probability(fresh).mean() > model.renewal_probability(stale).mean() + 0.3


def test_too_little_history_falls_back_to_the_scorecard_and_says_so() -> None:
    X, y = _synthetic(60)
    model = RenewalModel().fit(X, y)
    assert model.method_ == "scorecard" and "too few" in model.note_
    good = X.iloc[:1].assign(
        days_since_value=30.0,
        riq_impact=3.0,
        executive_values_12m=2.0,
        value_ratio_12m=2.0,
        executive_activities_180d=3.0,
    )
    bad = X.iloc[:1].assign(
        days_since_value=np.nan,
        riq_impact=0.0,
        executive_values_12m=0.0,
        value_ratio_12m=0.0,
        executive_activities_180d=0.0,
    )
    assert model.renewal_probability(good)[0] > 0.9
    assert model.renewal_probability(bad)[0] < 0.5
    empty = RenewalModel().fit(X.iloc[:0], y[:0])  # nothing decided yet: no signal means 85%
    assert empty.estimator_.intercept_ == pytest.approx(math.log(0.85 / 0.15))


def test_usage_only_sees_only_usage_and_the_logistic_baseline_handles_categories_and_gaps() -> None:
    X, y = _synthetic(2000, seed=1)
    usage = OnColumns(lambda: RenewalModel(monotone=False), USAGE_FEATURES).fit(X, y)
    assert list(usage.estimator_.feature_names_in_) == list(USAGE_FEATURES)
    frame = X.assign(contract=np.where(X["riq_impact"] > 1, "Two year", "Month-to-month"))
    frame.loc[:10, "days_since_value"] = np.nan
    logistic = LogisticRegressionBaseline(positive=RENEWED).fit(frame, y)
    p = logistic.predict_proba(frame.assign(contract="never seen"))[:, list(logistic.classes_).index(RENEWED)]
    assert ((p > 0) & (p < 1)).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1e7), st.floats(0, 1)), min_size=1, max_size=30))
def test_arr_at_risk_lies_between_nothing_and_the_arr(pairs: list[tuple[float, float]]) -> None:
    arr, p = np.array([a for a, _ in pairs]), np.array([q for _, q in pairs])
    risk = arr_at_risk(arr, p)
    assert ((risk >= -1e-9) & (risk <= arr + 1e-9)).all()


def test_scorecard_probabilities_stay_in_bounds_for_any_features() -> None:
    rng = np.random.default_rng(5)
    X = pd.DataFrame({f: rng.normal(0, 1e4, 500) for f in FEATURES}).mask(
        rng.random((500, len(FEATURES))) < 0.3
    )
    p = RenewalModel().fit(X.iloc[:10], [RENEWED] * 10).renewal_probability(X)
    assert np.isfinite(p).all() and ((p > 0) & (p < 1)).all()
