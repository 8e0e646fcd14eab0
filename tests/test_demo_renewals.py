"""The demo's customers after the sale (demo/subscriptions.py): consistent with the won deals, and hidden
mechanics that make delivered value, not usage, decide renewals: renewal risk from value beats a
usage-only model on renewals decided after the ones it learnt from."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pandas as pd
import pytest

from dealsight.analytics.evaluation import evaluate_methods
from dealsight.analytics.renewal_evaluation import renewal_methods, renewal_snapshots
from dealsight.analytics.renewal_features import RenewalEvidence, renewal_events
from dealsight.analytics.renewal_risk import RENEWED
from dealsight.demo.generator import Organisation, generate_organisation

TODAY = date(2025, 6, 15)


@pytest.fixture(scope="module")
def org() -> Organisation:
    return generate_organisation(seed=7, scale=1.0, today=TODAY)


def evidence_of(org: Organisation) -> RenewalEvidence:
    """The frames the store would read (store/renewal_frames.py), from the generated rows."""

    def table(name: str) -> pd.DataFrame:
        return pd.DataFrame(org.tables[name])

    subscriptions = table("subscriptions").assign(arr=lambda f: f["arr"].astype(float))
    values = table("value_evidence").assign(monetary_value=lambda f: f["monetary_value"].astype(float))
    contacts = table("contacts")
    executives = contacts[contacts["is_executive"]][["id", "account_id"]].rename(columns={"id": "contact_id"})
    meetings = (
        table("activity_contacts")
        .merge(executives, on="contact_id")
        .merge(
            table("activities")[["id", "occurred_at"]].rename(columns={"id": "activity_id"}), on="activity_id"
        )
        .drop_duplicates(["account_id", "activity_id"])[["account_id", "occurred_at"]]
    )
    usage = (
        table("feature_usage")
        .groupby(["subscription_id", "account_id", "used_on"])
        .agg(usage_count=("usage_count", "sum"), features=("feature", "nunique"))
        .reset_index()
    )
    return RenewalEvidence(
        subscriptions,
        table("churn_events"),
        values,
        table("riq_answers"),
        meetings,
        usage,
        table("support_tickets"),
    )


def _snapshots(org: Organisation) -> tuple[pd.DataFrame, pd.DataFrame]:
    evidence = evidence_of(org)
    events = renewal_events(evidence.subscriptions, evidence.churn_events, TODAY)
    return renewal_snapshots(events, evidence)


def test_customers_follow_the_won_deals_and_stop_before_today(org: Organisation) -> None:
    deals = {o["id"]: o for o in org.tables["opportunities"]}
    won = [o for o in deals.values() if o["outcome"] == "won"]
    subscriptions = org.tables["subscriptions"]
    first_terms = {(s["account_id"], s["product"]) for s in subscriptions}
    assert first_terms <= {(o["account_id"], o["product"]) for o in won}
    assert all(s["product"] != "Implementation Services" for s in subscriptions)
    assert all(s["term_start"] < TODAY for s in subscriptions)
    assert all(s["term_end"] is None or s["term_end"] >= s["term_start"] for s in subscriptions)
    dated = (
        [v["confirmed_on"] for v in org.tables["value_evidence"]]
        + [r["answered_on"] for r in org.tables["riq_answers"]]
        + [c["churned_on"] for c in org.tables["churn_events"]]
        + [u["used_on"] for u in org.tables["feature_usage"]]
        + [t["opened_at"].date() for t in org.tables["support_tickets"]]
    )
    assert max(dated) < TODAY
    churned = {s["id"] for s in subscriptions if s["status"] == "churned"}
    assert churned == {c["subscription_id"] for c in org.tables["churn_events"]}
    assert Counter(c["reason"] for c in org.tables["churn_events"]).most_common(1)[0][0] == "no_value"
    assert any(s["upgraded"] for s in subscriptions) and any(s["downgraded"] for s in subscriptions)
    assert {s["billing_frequency"] for s in subscriptions} == {"annual", "quarterly", "monthly"}
    meetings = [a for a in org.tables["activities"] if a["opportunity_id"] is None]
    assert meetings and all(a["subject"].startswith("Executive business review") for a in meetings)


def test_the_customer_stream_moves_no_deal_and_is_deterministic() -> None:
    small = generate_organisation(seed=3, scale=0.2, today=TODAY)
    again = generate_organisation(seed=3, scale=0.2, today=TODAY)
    for name in ("subscriptions", "churn_events", "value_evidence", "riq_answers", "support_tickets"):
        assert small.tables[name] == again.tables[name]
    assert small.tables["subscriptions"], "a fifth of the demo still has customers"


def test_hidden_value_decides_renewal_not_usage(org: Organisation) -> None:
    """Accounts with heavy usage and no confirmed value renew less often than accounts with modest usage
    whose executive confirmed value (renewals looked at 90 days before their decision)."""
    rows, X = _snapshots(org)
    look = (pd.to_datetime(rows["renewal_date"]) - rows["at"]).dt.days == 90
    rows, X = rows[look], X[look]
    renewed = rows["outcome"] == RENEWED
    heavy = X["usage_per_day_90d"] >= X["usage_per_day_90d"].median()
    no_value = X["value_ratio_12m"].fillna(0) == 0
    executive_value = X["executive_values_12m"] >= 1
    heavy_without_value = renewed[heavy & no_value].mean()
    modest_with_executive_value = renewed[~heavy & executive_value].mean()
    assert (heavy & no_value).sum() >= 30 and (~heavy & executive_value).sum() >= 30
    assert modest_with_executive_value > heavy_without_value + 0.15  # 0.93 against 0.72 (seed 7)
    # usage alone splits renewals far less than value does
    assert abs(renewed[heavy].mean() - renewed[~heavy].mean()) < 0.1


def test_renewal_risk_from_value_beats_a_usage_only_model_in_time_order(org: Organisation) -> None:
    rows, X = _snapshots(org)
    evaluation = evaluate_methods(
        X,
        rows["outcome"].to_numpy(),
        {name: renewal_methods()[name] for name in ("model", "usage_only", "base_rate")},
        positive=RENEWED,
        time=pd.to_datetime(rows["decided_on"]).to_numpy(),
        groups=rows["subscription_id"].to_numpy(),
    )
    model, usage, base = (evaluation.results[n].mean for n in ("model", "usage_only", "base_rate"))
    assert evaluation.split.startswith("time-ordered")
    assert model["auc"] >= 0.70 and model["auc"] >= usage["auc"] + 0.1
    assert model["brier"] < usage["brier"] - 0.01 and model["brier"] < base["brier"] - 0.01
    assert model["ece"] < 0.08
