"""Renewal risk on IBM's Telco customer churn data (7,043 customers, churn as non-renewal), through
``dealsight evaluate --renewals``: stratified 5-fold cross-validation against a logistic regression and
the base rate. Telco has no value ledger; the model sees what it has (contract, tenure, charges, services
as usage proxies). Published figures for this data: logistic regression AUC about 0.84-0.85."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from dealsight.cli.main import app
from tests.conftest import shared_data


def test_renewal_model_on_telco_churn_beats_the_base_rate_and_matches_logistic_regression() -> None:
    path = shared_data("ibm_telco_churn", "Telco-Customer-Churn.csv")
    result = CliRunner().invoke(
        app, ["evaluate", str(path), "--target", "Churn", "--positive", "No", "--renewals", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows"] == 7043 and report["positives"] == 5174  # 'TotalCharges' blank in 11 rows: kept
    assert "TotalCharges" in report["features"] and "customerID" not in report["features"]
    model, logistic, base = (
        report["results"][name] for name in ("model", "logistic_regression", "base_rate")
    )
    assert model["auc"] > 0.84 and logistic["auc"] > 0.83
    assert model["brier"] < base["brier"] - 0.05 and model["brier"] <= logistic["brier"] + 0.003
    assert model["ece"] < 0.04 and abs(base["brier"] - 0.7346 * 0.2654) < 0.001
