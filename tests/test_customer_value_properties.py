"""Property tests of the customer value imports: a subscriptions or value file with one bad cell changes
nothing and names that cell; importing the same file twice changes nothing more."""

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
from tests.test_import_files import write_csv

pytestmark = pytest.mark.storage
PROPERTY = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ACCOUNTS = ["A-1", "A-2", "A-3"]
HEADER = [
    "subscription_id",
    "account_id",
    "start_date",
    "end_date",
    "plan_tier",
    "seats",
    "mrr_amount",
    "billing_frequency",
    "auto_renew_flag",
    "churn_flag",
]
days = st.dates(date(2015, 1, 1), date(2035, 12, 31))
subscription = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"S-[0-9a-f]{6}", fullmatch=True),
        "account": st.sampled_from(ACCOUNTS),
        "start": days,
        "length": st.one_of(st.none(), st.integers(0, 2000)),
        "plan": st.sampled_from(["Basic", "Pro", "Enterprise"]),
        "seats": st.integers(0, 500),
        "mrr": st.decimals(min_value=0, max_value=10**7, places=2),
        "billing": st.sampled_from(["monthly", "annual", "quarterly", "Annually"]),
        "auto": st.booleans(),
        "churned": st.booleans(),
    }
)
subscriptions = st.lists(subscription, min_size=1, max_size=12, unique_by=lambda s: s["id"])
BAD = {2: "2024-13-01", 6: "-10", 1: "A-404", 7: "fortnightly"}  # start, MRR, account, billing frequency


def rows_of(items: list[dict[str, object]]) -> list[list[str]]:
    rows = []
    for s in items:
        start = s["start"]
        assert isinstance(start, date)
        end = (
            ""
            if s["length"] is None
            else date.fromordinal(start.toordinal() + int(str(s["length"]))).isoformat()
        )
        rows.append(
            [
                str(s["id"]),
                str(s["account"]),
                start.isoformat(),
                end,
                str(s["plan"]),
                str(s["seats"]),
                str(s["mrr"]),
                str(s["billing"]),
                str(s["auto"]),
                str(s["churned"]),
            ]
        )
    return rows


def accounts(folder: Path) -> Path:
    return write_csv(
        folder / "accounts.csv", ["account_id", "account_name"], [[a, f"Co {a}"] for a in ACCOUNTS]
    )


@PROPERTY
@given(
    base=subscriptions,
    extra=subscriptions,
    bad_row=st.integers(0, 11),
    bad_column=st.sampled_from(sorted(BAD)),
)
def test_a_failed_subscription_import_leaves_the_database_unchanged(
    engine: Engine,
    base: list[dict[str, object]],
    extra: list[dict[str, object]],
    bad_row: int,
    bad_column: int,
) -> None:
    with TemporaryDirectory() as folder:
        import_file(engine, "accounts", accounts(Path(folder)), preset="ravenstack")
        import_file(
            engine,
            "subscriptions",
            write_csv(Path(folder) / "base.csv", HEADER, rows_of(base)),
            preset="ravenstack",
        )
        before = dump(engine)
        rows = rows_of(extra)
        rows[bad_row % len(rows)][bad_column] = BAD[bad_column]
        with pytest.raises(RowError) as caught:
            import_file(
                engine,
                "subscriptions",
                write_csv(Path(folder) / "bad.csv", HEADER, rows),
                preset="ravenstack",
            )
        problem = caught.value.problems[0]
        assert (problem.row, problem.column) == (bad_row % len(rows) + 2, HEADER[bad_column])
        assert dump(engine) == before


@PROPERTY
@given(items=subscriptions)
def test_reimporting_subscriptions_is_idempotent(engine: Engine, items: list[dict[str, object]]) -> None:
    with TemporaryDirectory() as folder:
        import_file(engine, "accounts", accounts(Path(folder)), preset="ravenstack")
        path = write_csv(Path(folder) / "subs.csv", HEADER, rows_of(items))
        import_file(engine, "subscriptions", path, preset="ravenstack")
        before = dump(engine)
        again = import_file(engine, "subscriptions", path, preset="ravenstack").reports[0]
        assert (again.created, again.updated, again.unchanged) == (0, 0, len(items))
        after = dump(engine)
        before.pop("import_runs"), after.pop("import_runs")
        assert after == before
