"""Property tests: a failed import changes nothing; importing the same file twice changes nothing more."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from dealsight.errors import RowError
from dealsight.services.imports import import_file
from tests.dbdump import dump
from tests.test_import_files import SF_HEADER, write_csv

PROPERTY = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
                max_size=30).map(str.strip).filter(bool)  # fmt: skip
STAGES = ["Prospecting", "Qualification", "Negotiation/Review", "Closed Won", "Closed Lost"]
deal = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"006[A-Z0-9]{6}", fullmatch=True),
        "name": names,
        "account": names,
        "owner": st.sampled_from(["Dana Reyes", "Sam Park", "Lee Chan"]),
        "stage": st.sampled_from(STAGES),
        "amount": st.decimals(min_value=0, max_value=10**9, places=2).map(str),
        "close": st.dates(date(1990, 1, 1), date(2100, 12, 31)).map(lambda d: d.strftime("%m/%d/%Y")),
    }
)
deals = st.lists(deal, min_size=1, max_size=15, unique_by=lambda d: d["id"])
BAD_CELLS = {5: "lots", 7: "soon", 9: "certain"}  # Amount, Close Date, Forecast Category


def rows_of(items: list[dict[str, str]]) -> list[list[str]]:
    return [[d["id"], d["name"], d["account"], d["owner"], d["stage"], d["amount"], "", d["close"], "",
             "", "", ""] for d in items]  # fmt: skip


@PROPERTY
@given(base=deals, extra=deals, bad_row=st.integers(0, 14), bad_column=st.sampled_from(sorted(BAD_CELLS)))
def test_a_failed_import_leaves_the_database_unchanged(
    engine: Engine, base: list[dict[str, str]], extra: list[dict[str, str]], bad_row: int, bad_column: int
) -> None:
    with TemporaryDirectory() as folder:
        import_file(engine, "opportunities", write_csv(Path(folder) / "base.csv", SF_HEADER, rows_of(base)),
                    preset="salesforce_opportunities")  # fmt: skip
        before = dump(engine)
        rows = rows_of(extra)
        rows[bad_row % len(rows)][bad_column] = BAD_CELLS[bad_column]
        with pytest.raises(RowError) as caught:
            import_file(engine, "opportunities", write_csv(Path(folder) / "bad.csv", SF_HEADER, rows),
                        preset="salesforce_opportunities")  # fmt: skip
        assert caught.value.problems[0].row == bad_row % len(rows) + 2
        assert caught.value.problems[0].column == SF_HEADER[bad_column]
        assert dump(engine) == before


@PROPERTY
@given(items=deals)
def test_reimporting_a_file_is_idempotent(engine: Engine, items: list[dict[str, str]]) -> None:
    with TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "deals.csv", SF_HEADER, rows_of(items))
        import_file(engine, "opportunities", path, preset="salesforce_opportunities")
        before = dump(engine)
        again = import_file(engine, "opportunities", path, preset="salesforce_opportunities")
        assert (again.reports[0].created, again.reports[0].updated) == (0, 0)
        assert again.reports[0].unchanged == len(items)
        after = dump(engine)
        before.pop("import_runs"), after.pop("import_runs")
        assert after == before
