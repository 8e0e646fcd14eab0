"""Experiment: the best a set-based (staging table + SQL) import could do against the bulk-load floor.

Not product code: it measures the ceiling of any importer that writes into the product's schema. It
bulk-loads an opportunities export (the shape ``import_speed.py`` generates) into a TEXT staging table (the
floor of ``import_speed.py``: SQLite ``executemany``, PostgreSQL ``COPY``), then converts dates, amounts and
outcomes and resolves owners and accounts in one ``INSERT ... SELECT`` into the real ``opportunities``
table of a migrated dealsight database (its unique external id, foreign keys and secondary indexes). It
leaves out what the product also does (validation with row/column messages, name normalisation, the
upsert check of existing ids, history), so its ratio is an upper bound for every importer design.

    .venv/bin/python benchmarks/staging_floor.py benchmarks/out/opportunities_1000000.csv --runs 3
    .venv/bin/python benchmarks/staging_floor.py FILE --backend postgresql --runs 2
    .venv/bin/python benchmarks/staging_floor.py FILE --drop secondary-indexes   # what index upkeep costs
    .venv/bin/python benchmarks/staging_floor.py FILE --drop foreign-keys --drop secondary-indexes
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.store.database import connect, upgrade

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tests.pgcluster` importable
    sys.path.insert(0, str(ROOT))

SECONDARY = {  # the secondary indexes of opportunities in store/schema.py (migration 0003)
    "ix_opportunities_pipeline_by_owner": "owner_id, stage, expected_close_date, currency, amount",
    "ix_opportunities_account_id": "account_id",
    "ix_opportunities_pipeline_by_stage": "stage, expected_close_date, currency, amount",
}
COLUMNS = (
    "external_id, name, account_id, owner_id, stage, amount, probability, expected_close_date, created_date, "
    "forecast_category, source, loss_reason, outcome, closed_date"
)


def us_date_sqlite(column: str) -> str:
    """SQLite SQL turning M/D/YYYY text into an ISO date (NULL when the text is not such a date)."""
    rest = f"substr({column}, instr({column}, '/') + 1)"
    return (
        f"CASE WHEN {column} GLOB '[0-9]*/[0-9]*/[0-9][0-9][0-9][0-9]*' THEN printf('%04d-%02d-%02d', "
        f"substr({rest}, instr({rest}, '/') + 1, 4), substr({column}, 1, instr({column}, '/') - 1), "
        f"substr({rest}, 1, instr({rest}, '/') - 1)) END"
    )


def transform(dialect: str) -> str:
    """The one INSERT ... SELECT from staging table ``s`` (columns c0..c12) into opportunities."""
    if dialect == "postgresql":
        close, created = "to_date(c7, 'MM/DD/YYYY')", "to_date(c8, 'MM/DD/YYYY')"
        amount, share = "replace(c5, ',', '')::numeric", "c6::float / 100"
    else:
        close, created = us_date_sqlite("c7"), us_date_sqlite("c8")
        amount, share = "CAST(replace(c5, ',', '') AS NUMERIC)", "CAST(c6 AS REAL) / 100"
    return f"""INSERT INTO opportunities({COLUMNS})
        SELECT c0, c1, a.id, u.id, c4, {amount}, {share}, {close}, {created}, lower(replace(c9, ' ', '_')),
          nullif(c10, ''), nullif(c11, ''),
          CASE c4 WHEN 'Closed Won' THEN 'won' WHEN 'Closed Lost' THEN 'lost' END,
          CASE WHEN c4 LIKE 'Closed%' THEN {close} END
        FROM s LEFT JOIN users u ON u.name_key = lower(c3) LEFT JOIN accounts a ON a.name_key = lower(c2)
        ORDER BY rn"""


@contextmanager
def fresh_database(backend: str, run: int) -> Iterator[Engine]:
    """A migrated, empty dealsight database: a SQLite file, or a new database on a throwaway cluster."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            engine = connect(f"sqlite:///{Path(folder) / 'staging.db'}")
            upgrade(engine)
            yield engine
            engine.dispose()
        return
    from tests.pgcluster import start_cluster

    cluster = start_cluster()
    try:
        admin = connect(cluster.url())
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f"CREATE DATABASE ceiling_{run}"))
        admin.dispose()
        engine = connect(cluster.url(f"ceiling_{run}"))
        upgrade(engine)
        yield engine
        engine.dispose()
    finally:
        cluster.stop()


def stage_file(conn: sa.Connection, path: Path) -> None:
    """The floor: the file into TEXT staging table ``s`` as fast as the back end loads."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        names = ", ".join(f"c{i}" for i in range(len(header)))
        typed = ", ".join(f"c{i} TEXT" for i in range(len(header)))
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"CREATE TEMP TABLE s(rn bigserial PRIMARY KEY, {typed})")
            driver = conn.connection.driver_connection
            assert driver is not None
            handle.seek(0)
            with (
                driver.cursor() as cursor,
                cursor.copy(f"COPY s({names}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            ):
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
            return
        conn.exec_driver_sql(f"CREATE TEMP TABLE s(rn INTEGER PRIMARY KEY, {typed})")
        marks = ", ".join("?" * len(header))
        conn.connection.driver_connection.executemany(  # type: ignore[union-attr]
            f"INSERT INTO s({names}) VALUES({marks})", reader
        )


def drop_constraints(conn: sa.Connection, drop: set[str]) -> None:
    if "secondary-indexes" in drop:
        for index in SECONDARY:
            conn.exec_driver_sql(f"DROP INDEX {index}")
    if "foreign-keys" in drop:
        if conn.dialect.name != "postgresql":
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")  # SQLite cannot drop a constraint in place
            return
        for (name,) in conn.exec_driver_sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'opportunities'::regclass AND contype = 'f'"
        ):
            conn.exec_driver_sql(f"ALTER TABLE opportunities DROP CONSTRAINT {name}")


def one_run(path: Path, backend: str, drop: set[str], run: int) -> tuple[int, float, float]:
    """(rows, floor seconds, floor + transform seconds) on one fresh database."""
    with fresh_database(backend, run) as engine, engine.connect() as conn:
        drop_constraints(conn, drop)
        conn.commit()
        started = time.perf_counter()
        stage_file(conn, path)
        staged = time.perf_counter()
        conn.exec_driver_sql("INSERT INTO users(name, name_key) SELECT min(c3), lower(c3) FROM s GROUP BY 2")
        conn.exec_driver_sql(
            "INSERT INTO accounts(name, name_key) SELECT min(c2), lower(c2) FROM s WHERE c2 <> '' GROUP BY 2"
        )
        conn.exec_driver_sql(transform(conn.dialect.name).replace("%", "%%"))
        if "secondary-indexes" in drop:  # rebuilt inside the transaction, as a large import would
            for index, column in SECONDARY.items():
                conn.exec_driver_sql(f"CREATE INDEX {index} ON opportunities({column})")
        conn.commit()
        done = time.perf_counter()
        rows = conn.exec_driver_sql("SELECT count(*) FROM opportunities").scalar_one()
    return int(rows), staged - started, done - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path, help="an opportunities CSV made by import_speed.py")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--drop",
        action="append",
        default=[],
        choices=["secondary-indexes", "foreign-keys"],
        help="leave these out while loading (indexes are rebuilt after the insert, inside the transaction)",
    )
    args = parser.parse_args()
    results = [one_run(args.file, args.backend, set(args.drop), run) for run in range(args.runs)]
    rows = results[0][0]
    floor = statistics.median(r[1] for r in results)
    total = statistics.median(r[2] for r in results)
    print(
        f"{args.backend}: {rows:,} rows; staging load (the floor) {rows / floor:,.0f} rows/s; "
        f"staging + one INSERT ... SELECT {rows / total:,.0f} rows/s; ratio {floor / total:.2f} "
        f"(medians of {args.runs} runs; dropped: {', '.join(args.drop) or 'nothing'})"
    )


if __name__ == "__main__":
    main()
