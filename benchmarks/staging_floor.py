"""Experiment: how close can a set-based (staging table + SQL) import get to SQLite's bulk-load floor?

Not product code: it measures the design the importer may move to. It bulk-loads an opportunities export
(the shape `import_speed.py` generates) into a TEXT staging table (the floor), then converts dates,
amounts and outcomes and resolves owners and accounts in one ``INSERT ... SELECT`` into an
``opportunities`` table with the product's indexes. It leaves out what the product also does (name
normalisation, the upsert check of existing ids, history), so its ratio is an upper bound.

    .venv/bin/python benchmarks/staging_floor.py benchmarks/out/opportunities_1000000.csv --runs 3
    .venv/bin/python benchmarks/staging_floor.py FILE --no-secondary-indexes   # what index upkeep costs
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, name_key TEXT);
CREATE INDEX ix_users_name_key ON users(name_key);
CREATE TABLE accounts(id INTEGER PRIMARY KEY, name TEXT, name_key TEXT);
CREATE INDEX ix_accounts_name_key ON accounts(name_key);
CREATE TABLE opportunities(id INTEGER PRIMARY KEY, external_id TEXT UNIQUE, name TEXT,
  account_id INT REFERENCES accounts(id), owner_id INT REFERENCES users(id), stage TEXT, amount NUMERIC,
  probability REAL, expected_close_date DATE, created_date DATE, forecast_category TEXT, source TEXT,
  loss_reason TEXT, outcome TEXT, closed_date DATE);
"""
SECONDARY_INDEXES = """
CREATE INDEX ix_opportunities_owner_id ON opportunities(owner_id);
CREATE INDEX ix_opportunities_account_id ON opportunities(account_id);
CREATE INDEX ix_opportunities_stage ON opportunities(stage);
"""


def us_date(column: str) -> str:
    """SQL turning M/D/YYYY text into an ISO date (NULL when the text is not such a date)."""
    rest = f"substr({column}, instr({column}, '/') + 1)"
    return (
        f"CASE WHEN {column} GLOB '[0-9]*/[0-9]*/[0-9][0-9][0-9][0-9]*' THEN printf('%04d-%02d-%02d', "
        f"substr({rest}, instr({rest}, '/') + 1, 4), substr({column}, 1, instr({column}, '/') - 1), "
        f"substr({rest}, 1, instr({rest}, '/') - 1)) END"
    )


def one_run(path: Path, secondary_indexes: bool) -> tuple[int, float, float, int]:
    """(rows, staging seconds, transform seconds, unreadable dates) for one fresh database."""
    with tempfile.TemporaryDirectory() as folder:
        con = sqlite3.connect(Path(folder) / "staging.db")
        con.executescript(SCHEMA + (SECONDARY_INDEXES if secondary_indexes else ""))
        started = time.perf_counter()
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            columns = ", ".join(f"c{i}" for i in range(len(header)))
            con.execute(f"CREATE TEMP TABLE s(rn INTEGER PRIMARY KEY, {columns.replace(',', ' TEXT,')} TEXT)")
            marks = ", ".join("?" * len(header))
            con.executemany(f"INSERT INTO s({columns}) VALUES({marks})", reader)
        staged = time.perf_counter()
        bad = con.execute(f"SELECT count(*) FROM s WHERE c7 <> '' AND {us_date('c7')} IS NULL").fetchone()[0]
        con.execute("INSERT INTO users(name, name_key) SELECT c3, lower(c3) FROM s GROUP BY lower(c3)")
        con.execute(
            "INSERT INTO accounts(name, name_key) "
            "SELECT c2, lower(c2) FROM s WHERE c2 <> '' GROUP BY lower(c2)"
        )
        con.execute(
            f"""INSERT INTO opportunities(external_id, name, account_id, owner_id, stage, amount, probability,
              expected_close_date, created_date, forecast_category, source, loss_reason, outcome, closed_date)
            SELECT c0, c1, a.id, u.id, c4, CAST(replace(c5, ',', '') AS NUMERIC), CAST(c6 AS REAL) / 100,
              {us_date("c7")}, {us_date("c8")}, lower(replace(c9, ' ', '_')), nullif(c10, ''),
              nullif(c11, ''), CASE c4 WHEN 'Closed Won' THEN 'won' WHEN 'Closed Lost' THEN 'lost' END,
              CASE WHEN c4 LIKE 'Closed%' THEN {us_date("c7")} END
            FROM s LEFT JOIN users u ON u.name_key = lower(c3) LEFT JOIN accounts a ON a.name_key = lower(c2)
            ORDER BY rn"""
        )
        con.commit()
        done = time.perf_counter()
        rows = con.execute("SELECT count(*) FROM opportunities").fetchone()[0]
        con.close()
    return rows, staged - started, done - staged, bad


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path, help="an opportunities CSV made by import_speed.py")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-secondary-indexes", action="store_true")
    args = parser.parse_args()
    results = [one_run(args.file, not args.no_secondary_indexes) for _ in range(args.runs)]
    rows = results[0][0]
    floor = statistics.median(r[1] for r in results)
    total = statistics.median(r[1] + r[2] for r in results)
    print(
        f"{rows:,} rows, {results[0][3]} unreadable dates; "
        f"staging load (the floor) {rows / floor:,.0f} rows/s; "
        f"staging + SQL transform {rows / total:,.0f} rows/s; ratio {floor / total:.2f} "
        f"(medians of {args.runs} runs, secondary indexes {'off' if args.no_secondary_indexes else 'on'})"
    )


if __name__ == "__main__":
    main()
