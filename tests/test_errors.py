"""The exception tree and its messages."""

from __future__ import annotations

from dealsight.errors import DealsightError, ImportError_, RowError, RowProblem


def test_row_error_names_file_row_column_and_expectation() -> None:
    problem = RowProblem("deals.csv", 7, "Amount", "12,x", "a number such as 1250.50")
    error = RowError([problem], more=3)
    assert isinstance(error, ImportError_) and isinstance(error, DealsightError)
    assert "deals.csv, row 7, column 'Amount'" in error.message
    assert "a number such as 1250.50" in error.message
    assert "and 3 more problems" in error.message
    assert error.message.endswith("nothing was imported")


def test_row_problem_shortens_long_values() -> None:
    text = str(RowProblem("f.csv", 2, "Notes", "x" * 200, "at most 40 characters"))
    assert "x" * 37 + "..." in text and "x" * 41 not in text
