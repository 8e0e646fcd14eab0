"""``dealsight evaluate``: the IBM acceptance figure, any CSV with a time-ordered split, and one-line errors
that name the file and the column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from dealsight.cli.evaluate import evaluate_command
from dealsight.errors import ImportError_, InsufficientDataError, ValidationError
from tests.conftest import shared_data

app = typer.Typer()
app.command()(evaluate_command)
runner = CliRunner()

LEAKY = [
    "Elapsed Days In Sales Stage",
    "Sales Stage Change Count",
    "Total Days Identified Through Closing",
    "Total Days Identified Through Qualified",
    "Ratio Days Identified To Total Days",
    "Ratio Days Validated To Total Days",
    "Ratio Days Qualified To Total Days",
]


def test_ibm_win_loss_model_beats_every_baseline_at_the_published_level() -> None:
    data = shared_data("ibm_sales_win_loss", "WA_Fn-UseC_-Sales-Win-Loss.csv")
    drops = [part for column in LEAKY for part in ("--drop", column)]
    args = [str(data), "--target", "Opportunity Result", "--positive", "Won", *drops, "--json"]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    model = report["results"]["model"]
    assert model["auc"] >= 0.84 and model["brier"] <= 0.122
    for baseline in ("base_rate", "naive_bayes"):
        assert model["auc"] > report["results"][baseline]["auc"]
        assert model["brier"] < report["results"][baseline]["brier"]
        assert model["log_loss"] < report["results"][baseline]["log_loss"]
    assert report["results"]["base_rate"]["brier"] == pytest.approx(0.175, abs=0.001)
    assert model["ece"] < 0.02
    assert report["rows"] == 78025 and report["positives"] == 17627
    assert report["left_out"]["Opportunity Number"].startswith("identifies rows")
    assert report["groups"] == "Opportunity Number"
    assert all(report["left_out"][column] == "left out as asked (leaky)" for column in LEAKY)
    assert sum(row["count"] for row in report["reliability"]["model"]) == 78025


def _deals_csv(path: Path, rows: int = 400, *, seed: int = 0) -> Path:
    """A semicolon-separated export: id, close date, stage, region, amount and a status."""
    rng = np.random.default_rng(seed)
    stage = rng.choice(["Discovery", "Proposal", "Negotiation"], rows)
    region = rng.choice(["North", "South"], rows)
    amount = rng.gamma(2, 10_000, rows).round(2)
    chance = 0.1 + 0.5 * (stage == "Negotiation") + 0.2 * (region == "North")
    status = np.where(rng.random(rows) < chance, "Won", "Lost")
    frame = pd.DataFrame(
        {
            "Deal ID": [f"D-{i:05d}" for i in range(rows)],
            "Close Date": (
                pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, rows), "D")
            ).strftime("%Y-%m-%d"),
            "Stage": stage,
            "Region": region,
            "Amount": amount,
            "Status": status,
        }
    )
    frame.to_csv(path, sep=";", index=False)
    return path


def test_any_csv_with_a_date_is_split_in_time_and_the_table_names_every_method(tmp_path: Path) -> None:
    data = _deals_csv(tmp_path / "deals.csv")
    args = [str(data), "--target", "Status", "--positive", "Won", "--date", "Close Date", "--stage", "Stage"]
    done = runner.invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)  # stdout holds the JSON object and nothing else
    assert list(report["results"]) == ["model", "stage_win_rate", "naive_bayes", "base_rate"]
    for metrics in report["results"].values():
        assert set(metrics) == {"auc", "brier", "log_loss", "ece"}
    assert report["split"].startswith("time-ordered")
    assert report["left_out"] == {"Deal ID": "identifies rows (400 distinct values in 400 rows)"}
    assert report["features"] == ["Stage", "Region", "Amount"]
    assert report["results"]["base_rate"]["auc"] == 0.5
    assert all(0 < metrics["brier"] < 0.5 for metrics in report["results"].values())
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.output
    for text in ("model", "stage_win_rate", "naive_bayes", "base_rate", "Brier", "time-ordered", "Deal ID"):
        assert text in shown.stdout
    assert "0.0-0.1" in shown.stdout and "0.9-1.0" in shown.stdout


def test_rows_of_one_opportunity_stay_in_one_fold(tmp_path: Path) -> None:
    data = _deals_csv(tmp_path / "deals.csv", rows=300)
    frame = pd.read_csv(data, sep=";")
    doubled = pd.concat([frame, frame.head(10)])  # repeated deal ids, as in the IBM data
    doubled.to_csv(data, sep=";", index=False)
    done = runner.invoke(
        app, [str(data), "--target", "Status", "--positive", "Won", "--folds", "3", "--json"]
    )
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["groups"] == "Deal ID" and "by group" in report["split"] and report["rows"] == 310


@pytest.mark.parametrize(
    ("extra", "column"),
    [
        (["--target", "Result"], "Result"),
        (["--target", "Status", "--date", "Closed"], "Closed"),
        (["--target", "Status", "--drop", "Region", "--drop", "Owner"], "Owner"),
        (["--target", "Status", "--stage", "Phase"], "Phase"),
    ],
)
def test_an_unknown_column_is_named_with_the_file(tmp_path: Path, extra: list[str], column: str) -> None:
    data = _deals_csv(tmp_path / "deals.csv", rows=60)
    done = runner.invoke(app, [str(data), "--positive", "Won", *extra])
    assert done.exit_code == 1
    assert isinstance(done.exception, ValidationError)
    assert (
        f"deals.csv: no column '{column}'" in done.exception.message and "'Status'" in done.exception.message
    )


def test_clear_errors_for_a_missing_file_a_wrong_value_one_outcome_and_too_few_rows(tmp_path: Path) -> None:
    missing = runner.invoke(app, [str(tmp_path / "nope.csv"), "--target", "Status", "--positive", "Won"])
    assert isinstance(missing.exception, ImportError_) and "no such file" in missing.exception.message

    data = _deals_csv(tmp_path / "deals.csv", rows=60)
    wrong = runner.invoke(app, [str(data), "--target", "Status", "--positive", "won"])
    assert isinstance(wrong.exception, ValidationError)
    assert "deals.csv" in wrong.exception.message and "'Status'" in wrong.exception.message
    assert "did you mean 'Won'?" in wrong.exception.message

    frame = pd.read_csv(data, sep=";")
    frame.assign(Status="Won").to_csv(data, sep=";", index=False)
    single = runner.invoke(app, [str(data), "--target", "Status", "--positive", "Won"])
    assert isinstance(single.exception, InsufficientDataError) and "'Status'" in single.exception.message

    few = _deals_csv(tmp_path / "few.csv", rows=30)
    short = runner.invoke(app, [str(few), "--target", "Status", "--positive", "Won"])
    assert short.exit_code == 1 and isinstance(short.exception, InsufficientDataError)
    assert short.exception.message.startswith("few.csv: too few deals to evaluate: 30 deals")

    bad_date = _deals_csv(tmp_path / "dates.csv", rows=60)
    pd.read_csv(bad_date, sep=";").assign(**{"Close Date": "soon"}).to_csv(bad_date, sep=";", index=False)
    undated = runner.invoke(
        app, [str(bad_date), "--target", "Status", "--positive", "Won", "--date", "Close Date"]
    )
    assert isinstance(undated.exception, ValidationError)
    assert "dates.csv: the date column 'Close Date' holds no readable dates" in undated.exception.message
