"""The customer value commands as a new user runs them on ravenstack: ``dealsight import accounts /
subscriptions / churn-events --preset ravenstack``, the fictional values and RIQ answers of
``examples/ravenstack``, then ``dealsight value`` for the portfolio and one account, and the one-line
errors of a bad file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dealsight.cli.main import app
from dealsight.errors import NotFoundError, RowError
from tests.conftest import shared_data
from tests.test_import_files import write_csv

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "ravenstack"


def run(url: str, *args: str) -> str:
    result = runner.invoke(app, [*args, "--database", url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture(scope="module")
def url(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """ravenstack's accounts, subscriptions and churn events, and the example contacts, values and RIQ."""
    path = tmp_path_factory.mktemp("value-cli") / "rv.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    for entity, name in (
        ("accounts", "accounts"),
        ("subscriptions", "subscriptions"),
        ("churn-events", "churn_events"),
    ):
        output = run(
            url,
            "import",
            entity,
            str(shared_data("ravenstack_saas", f"ravenstack_{name}.csv")),
            "--preset",
            "ravenstack",
        )
        assert "Imported" in output
    run(
        url,
        "import",
        "contacts",
        str(EXAMPLES / "contacts.csv"),
        "--mapping",
        str(EXAMPLES / "contacts.yaml"),
    )
    run(
        url,
        "import",
        "value-evidence",
        str(EXAMPLES / "value_evidence.csv"),
        "--mapping",
        str(EXAMPLES / "value_evidence.yaml"),
    )
    run(url, "import", "riq-answers", str(EXAMPLES / "riq_answers.csv"))
    return url


def as_json(url: str, *args: str) -> Any:
    return json.loads(run(url, "value", *args, "--json"))


def test_the_portfolio_as_of_the_end_of_2024(url: str) -> None:
    result = as_json(url, "--as-of", "2024-12-31", "--quarters", "4", "--limit", "3")
    summary = result["summary"]
    assert summary["arr_booked"] == 123_114_108.0  # the ARR of every subscription in force that day
    # values confirmed in 2024; Company_166's onboarding outcome re-confirmed in December counts at 320,000
    assert (summary["value_12m"], summary["value_all_time"]) == (685_000.0, 745_000.0)
    assert (summary["accounts_booked"], summary["accounts_without_value"]) == (500, 497)
    assert [q["quarter"] for q in summary["trend"]] == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    assert len(result["accounts"]) == 3 and result["accounts"][0]["value_12m"] == 0.0
    table = run(url, "value", "--as-of", "2024-12-31", "--quarters", "2")
    assert "Booked vs delivered, every account, as of 2024-12-31 (USD)" in table
    assert "123,114,108" in table and "2024-Q4 (to 2024-12-31)" in table


def test_one_account_by_its_ravenstack_id(url: str) -> None:
    result = as_json(url, "--account", "A-5b1bcd", "--as-of", "2024-12-31", "--quarters", "4")
    assert (result["account_name"], result["arr_booked"], result["value_12m"]) == (
        "Company_166",
        1_582_932.0,
        500_000.0,  # onboarding at its latest 320,000 and code review 180,000
    )
    assert result["ratio_12m"] == pytest.approx(500_000 / 1_582_932)
    assert [q["value_confirmed"] for q in result["trend"]] == [240_000.0, 0.0, 180_000.0, 320_000.0]


def test_errors_are_one_line(url: str, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["value", "--account", "A-000000", "--database", url])
    assert missing.exit_code != 0 and isinstance(missing.exception, NotFoundError)
    bad = write_csv(
        tmp_path / "subs.csv",
        ["subscription_id", "account_id", "start_date", "arr_amount"],
        [["S-new", "A-2e4581", "2024-02-30", "100"]],
    )
    result = runner.invoke(
        app, ["import", "subscriptions", str(bad), "--preset", "ravenstack", "--database", url]
    )
    assert isinstance(result.exception, RowError)
    assert result.exception.message.startswith("subs.csv, row 2, column 'start_date': got '2024-02-30'")
