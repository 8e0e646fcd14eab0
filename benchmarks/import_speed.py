"""Import speed: 1,000,000 opportunities with their history, against a plain bulk load of the same files.

Run from the repository root::

    .venv/bin/python -m benchmarks.import_speed                  # 1M rows, 3 runs, SQLite and PostgreSQL
    .venv/bin/python benchmarks/import_speed.py --rows 100000 --runs 2 --backend sqlite

What it does:

1. Generates (seeded, once, cached in ``--out``) a Salesforce "Opportunities" report export (the columns the
   ``salesforce_opportunities`` preset reads) with accounts and owners drawn from realistic pools (50,000
   accounts, 500 owners), and its "Opportunity Field History" export (preset ``salesforce_field_history``:
   2-4 changes of stage, amount or close date per opportunity).
2. For each back end and run, on a fresh, migrated database: imports both files with the product's own
   service (:func:`dealsight.services.imports.import_file` with the presets) in a child process.
3. The floor, in the same run, on the same database server, from the same files: a plain bulk load into
   staging tables of TEXT columns (SQLite: ``csv.reader`` + ``executemany`` INSERT in one transaction;
   PostgreSQL: ``COPY ... FROM STDIN``), also in a child process.

Each child reports its wall time (the work only, not interpreter start-up) and its own peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``). The table shows medians (and min-max) of the runs and the ratio of
importer to bulk-load speed; the verdict checks the aims: ratio >= 0.25 and peak memory < 1 GiB.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from dealsight.ingest.mapping import load_preset

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tests.pgcluster` importable
    sys.path.insert(0, str(ROOT))

SEED = 20240331
ACCOUNTS = 50_000
OWNERS = 500
RATIO_AIM = 0.25
MEMORY_AIM = 1024**3
FILES = ("opportunities", "history")

# the export shapes the presets read, column for column (the rows below are written in this order)
OPPORTUNITY_HEADER = list(load_preset("salesforce_opportunities").columns.values())
HISTORY_HEADER = list(load_preset("salesforce_field_history").columns.values())
OPEN_STAGES = [
    ("Prospecting", 10, "Pipeline"),
    ("Qualification", 10, "Pipeline"),
    ("Needs Analysis", 20, "Pipeline"),
    ("Value Proposition", 50, "Pipeline"),
    ("Id. Decision Makers", 60, "Best Case"),
    ("Perception Analysis", 70, "Best Case"),
    ("Proposal/Price Quote", 75, "Commit"),
    ("Negotiation/Review", 90, "Commit"),
]
LOSS_REASONS = [
    "Price",
    "Lost to competitor",
    "No decision - kept status quo",
    "Product fit",
    "Timing",
    "Went dark",
    "Budget",
]
SOURCES = ["Web", "Partner", "Phone Inquiry", "Trade Show", "Employee Referral", "Advertisement", ""]
PRODUCTS = ["Platform", "Renewal", "Expansion", "Pilot", "Services", "Add-on", "Upgrade", "Support"]
FIRST = [
    "Dana",
    "Sam",
    "Alex",
    "Maria",
    "Jon",
    "Priya",
    "Wei",
    "Lena",
    "Omar",
    "Ines",
    "Theo",
    "Ruth",
    "Ken",
    "Aiko",
    "Lars",
    "Nora",
    "Raj",
    "Eva",
    "Hugo",
    "Mia",
]
LAST = [
    "Reyes",
    "Park",
    "Novak",
    "Silva",
    "Becker",
    "Chen",
    "Okafor",
    "Rossi",
    "Haddad",
    "Larsen",
    "Kowalski",
    "Tanaka",
    "Moreau",
    "Singh",
    "Dubois",
    "Fischer",
    "Costa",
    "Nilsen",
    "Ward",
    "Brooks",
    "Ortiz",
    "Kim",
    "Meyer",
    "Ahmed",
    "Lopez",
]
SYLLABLES = [
    f"{c}{v}{e}" for c in "bdfgklmnprstvz" for v in "aeiou" for e in ("", "n", "r")
]  # 210 syllables: 9 million three-syllable cores
TRADES = [
    "Analytics",
    "Logistics",
    "Systems",
    "Foods",
    "Health",
    "Energy",
    "Capital",
    "Retail",
    "Media",
    "Labs",
    "Networks",
    "Robotics",
    "Motors",
    "Pharma",
    "Textiles",
    "Insurance",
    "Telecom",
    "Software",
    "Mining",
    "Foods",
    "Travel",
    "Security",
    "Bio",
    "Metals",
]
LEGAL = ["Inc.", "LLC", "GmbH", "Ltd", "Corp.", "S.A.", "plc", "AG"]


# --- data ------------------------------------------------------------------------------------------------
def _us_date(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def _us_time(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    noon = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d} {noon}"


def _pools(rng: random.Random) -> tuple[list[str], list[str]]:
    """Account names with distinct cores (``Kavoren Logistics GmbH``): few look alike, as in a clean CRM."""
    cores: set[str] = set()
    while len(cores) < ACCOUNTS:
        cores.add("".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize())
    accounts = [f"{core} {rng.choice(TRADES)} {rng.choice(LEGAL)}" for core in sorted(cores)]
    owners: set[str] = set()
    while len(owners) < OWNERS:
        owners.add(f"{rng.choice(FIRST)} {rng.choice(LAST)}-{rng.choice(LAST)}")
    return accounts, sorted(owners)


def generate(rows: int, out: Path) -> tuple[Path, Path, int]:
    """Write the opportunities and field-history CSVs for ``rows`` opportunities (cached); history rows."""
    opportunities = out / f"opportunities_{rows}.csv"
    history = out / f"history_{rows}.csv"
    count_file = out / f"history_{rows}.count"
    if opportunities.exists() and history.exists() and count_file.exists():
        return opportunities, history, int(count_file.read_text())
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    accounts, owners = _pools(rng)
    start = date(2019, 1, 1)
    history_rows = 0
    with (
        opportunities.open("w", newline="", encoding="utf-8") as opp_handle,
        history.open("w", newline="", encoding="utf-8") as hist_handle,
    ):
        opp_writer, hist_writer = csv.writer(opp_handle), csv.writer(hist_handle)
        opp_writer.writerow(OPPORTUNITY_HEADER)
        hist_writer.writerow(HISTORY_HEADER)
        for number in range(rows):
            external_id = f"0065g{number:010X}AAQ"
            account = accounts[
                int(rng.paretovariate(1.2)) % ACCOUNTS if rng.random() < 0.3 else rng.randrange(ACCOUNTS)
            ]
            owner = rng.choice(owners)
            created = start + timedelta(days=rng.randrange(5 * 365))
            close = created + timedelta(days=rng.randrange(14, 270))
            amount = round(rng.lognormvariate(10, 1.1), -2) or 1000.0
            roll = rng.random()
            loss = ""
            if roll < 0.25:
                stage, probability, category = "Closed Won", 100, "Closed"
            elif roll < 0.6:
                stage, probability, category = "Closed Lost", 0, "Omitted"
                loss = rng.choice(LOSS_REASONS)
            else:
                stage, probability, category = rng.choice(OPEN_STAGES)
            modified = datetime.combine(close, datetime.min.time()) + timedelta(
                minutes=rng.randrange(600, 1200)
            )
            opp_writer.writerow(
                [
                    external_id,
                    f"{account.split(' ')[0]} - {rng.choice(PRODUCTS)}",
                    account,
                    owner,
                    stage,
                    f"{amount:.2f}",
                    probability,
                    _us_date(close),
                    _us_date(created),
                    category,
                    rng.choice(SOURCES),
                    loss,
                    _us_time(modified),
                ]
            )
            moment = datetime.combine(created, datetime.min.time()) + timedelta(hours=9)
            old_stage, old_amount, old_close = "Prospecting", amount * 0.8, close - timedelta(days=30)
            for _ in range(rng.randint(2, 4)):
                moment += timedelta(days=rng.randrange(1, 20), minutes=rng.randrange(1, 600))
                what = rng.random()
                if what < 0.5:
                    new_stage = rng.choice(OPEN_STAGES)[0] if rng.random() < 0.7 else stage
                    change = ("Stage", old_stage, new_stage)
                    old_stage = new_stage
                elif what < 0.8:
                    new_amount = round(old_amount * rng.uniform(0.8, 1.3), -2)
                    change = ("Amount", f"{old_amount:.2f}", f"{new_amount:.2f}")
                    old_amount = new_amount
                else:
                    new_close = old_close + timedelta(days=rng.randrange(7, 60))
                    change = ("Close Date", old_close.isoformat(), new_close.isoformat())
                    old_close = new_close
                hist_writer.writerow([external_id, _us_time(moment), owner, *change])
                history_rows += 1
    count_file.write_text(str(history_rows))
    return opportunities, history, history_rows


# --- children: the measured work ------------------------------------------------------------------------
def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def child_importer(url: str, opportunities: str, history: str) -> dict[str, Any]:
    from dealsight.services.imports import import_file
    from dealsight.store.database import connect

    engine = connect(url)
    seconds: dict[str, float] = {}
    calls = 0

    def progress(_label: str, _done: int, _total: int) -> None:
        nonlocal calls
        calls += 1

    for name, path, preset, entity in (
        ("opportunities", opportunities, "salesforce_opportunities", "opportunities"),
        ("history", history, "salesforce_field_history", "history"),
    ):
        started = time.perf_counter()
        result = import_file(engine, entity, Path(path), preset=preset, progress=progress)
        seconds[name] = time.perf_counter() - started
        if result.reports[0].created == 0:
            raise RuntimeError(f"the importer created nothing from {path}")
    engine.dispose()
    return {"seconds": seconds, "peak_rss": _peak_rss(), "progress_calls": calls}


def child_bulk(url: str, opportunities: str, history: str) -> dict[str, Any]:
    seconds: dict[str, float] = {}
    if url.startswith("sqlite"):
        import sqlite3

        db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        for name, path in (("opportunities", opportunities), ("history", history)):
            started = time.perf_counter()
            with open(path, newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                header = next(reader)
                columns = ", ".join(f"c{i} TEXT" for i in range(len(header)))
                marks = ", ".join("?" * len(header))
                db.execute("BEGIN")
                db.execute(f"CREATE TABLE staging_{name} ({columns})")
                db.executemany(f"INSERT INTO staging_{name} VALUES ({marks})", reader)
                db.execute("COMMIT")
            seconds[name] = time.perf_counter() - started
        db.close()
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as db:
            for name, path in (("opportunities", opportunities), ("history", history)):
                started = time.perf_counter()
                with open(path, encoding="utf-8") as handle, db.cursor() as cursor:
                    header = next(csv.reader([handle.readline()]))
                    columns = ", ".join(f"c{i} TEXT" for i in range(len(header)))
                    cursor.execute(f"CREATE TABLE staging_{name} ({columns})")
                    with cursor.copy(f"COPY staging_{name} FROM STDIN (FORMAT csv)") as copy:
                        while data := handle.read(1 << 20):
                            copy.write(data)
                db.commit()
                seconds[name] = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss": _peak_rss()}


def _run_child(kind: str, url: str, opportunities: Path, history: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        url,
        str(opportunities),
        str(history),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- databases ------------------------------------------------------------------------------------------
@contextlib.contextmanager
def databases(backend: str) -> Iterator[Any]:
    """Yields a function returning the URL of a fresh, migrated database on ``backend``."""
    from dealsight.store.database import connect, upgrade

    counter = iter(range(1_000_000))
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="dealsight-bench-") as directory:

            def fresh_sqlite() -> str:
                url = f"sqlite:///{directory}/bench_{next(counter)}.db"
                engine = connect(url)
                upgrade(engine)
                engine.dispose()
                return url

            yield fresh_sqlite
        return
    import sqlalchemy as sa
    from tests.pgcluster import start_cluster

    cluster = start_cluster()
    try:

        def fresh_postgres() -> str:
            name = f"bench_{next(counter)}"
            admin = connect(cluster.url())
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text(f"CREATE DATABASE {name}"))
            admin.dispose()
            engine = connect(cluster.url(name))
            upgrade(engine)
            engine.dispose()
            return cluster.url(name)

        yield fresh_postgres
    finally:
        cluster.stop()


def _drop(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import sqlalchemy as sa

    from dealsight.store.database import connect

    base, name = url.rsplit("/", 1)
    admin = connect(f"{base}/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


# --- the benchmark --------------------------------------------------------------------------------------
@dataclass
class Measured:
    backend: str
    rows: dict[str, int]
    importer: list[dict[str, Any]] = field(default_factory=list)
    bulk: list[dict[str, Any]] = field(default_factory=list)


def measure(backend: str, runs: int, opportunities: Path, history: Path, rows: dict[str, int]) -> Measured:
    measured = Measured(backend, rows)
    with databases(backend) as fresh:
        for run in range(runs):
            for kind, results in (("importer", measured.importer), ("bulk", measured.bulk)):
                url = fresh()
                try:
                    outcome = _run_child(kind, url, opportunities, history)
                finally:
                    _drop(url)
                results.append(outcome)
                total = sum(outcome["seconds"].values())
                print(
                    f"  {backend} run {run + 1}/{runs} {kind:8s} "
                    + "  ".join(f"{k} {v:7.1f} s" for k, v in outcome["seconds"].items())
                    + f"  total {total:7.1f} s  peak {outcome['peak_rss'] / 2**20:6.0f} MiB",
                    flush=True,
                )
    return measured


def _speeds(results: list[dict[str, Any]], rows: int, name: str | None) -> list[float]:
    if name is None:
        return [rows / sum(r["seconds"].values()) for r in results]
    return [rows / r["seconds"][name] for r in results]


def summarise(measured: list[Measured]) -> tuple[list[dict[str, Any]], bool]:
    lines: list[dict[str, Any]] = []
    ok = True
    for m in measured:
        for name in (*FILES, None):
            rows = sum(m.rows.values()) if name is None else m.rows[name]
            imp = _speeds(m.importer, rows, name)
            bulk = _speeds(m.bulk, rows, name)
            ratio = statistics.median(imp) / statistics.median(bulk)
            peak_imp = max(r["peak_rss"] for r in m.importer)
            peak_bulk = max(r["peak_rss"] for r in m.bulk)
            line = {
                "backend": m.backend,
                "file": name or "total",
                "rows": rows,
                "importer_rows_per_s": statistics.median(imp),
                "importer_min": min(imp),
                "importer_max": max(imp),
                "bulk_rows_per_s": statistics.median(bulk),
                "ratio": ratio,
                "importer_peak_rss": peak_imp,
                "bulk_peak_rss": peak_bulk,
            }
            lines.append(line)
            if name is None:
                ok = ok and ratio >= RATIO_AIM and peak_imp < MEMORY_AIM
    return lines, ok


def print_table(lines: list[dict[str, Any]], runs: int) -> None:
    print()
    print(
        f"{'backend':10s} {'file':13s} {'rows':>9s} {'importer rows/s (min-max)':>29s} "
        f"{'bulk rows/s':>11s} {'ratio':>6s} {'peak imp.':>10s} {'peak bulk':>10s}"
    )
    for line in lines:
        spread = (
            f"{line['importer_rows_per_s']:,.0f} ({line['importer_min']:,.0f}-{line['importer_max']:,.0f})"
        )
        print(
            f"{line['backend']:10s} {line['file']:13s} {line['rows']:9,d} {spread:>29s} "
            f"{line['bulk_rows_per_s']:11,.0f} {line['ratio']:6.2f} "
            f"{line['importer_peak_rss'] / 2**20:6.0f} MiB {line['bulk_peak_rss'] / 2**20:6.0f} MiB"
        )
    print(f"(medians of {runs} run{'s' if runs != 1 else ''}; peak = the largest peak RSS of the runs)")
    for line in lines:
        if line["file"] == "total":
            speed_ok = line["ratio"] >= RATIO_AIM
            memory_ok = line["importer_peak_rss"] < MEMORY_AIM
            print(
                f"{line['backend']}: importer at {line['ratio']:.2f} x bulk-load speed "
                f"({'meets' if speed_ok else 'MISSES'} the aim >= {RATIO_AIM}), peak "
                f"{line['importer_peak_rss'] / 2**20:.0f} MiB ({'meets' if memory_ok else 'MISSES'} "
                "the aim < 1 GiB)"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="opportunities in the file")
    parser.add_argument("--runs", type=int, default=3, help="runs per back end (medians are reported)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out", help="where data is cached")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, url, opportunities, history = args.child
        work = child_importer if kind == "importer" else child_bulk
        print(json.dumps(work(url, opportunities, history)))
        return 0

    started = time.perf_counter()
    opportunities, history, history_rows = generate(args.rows, args.out)
    rows = {"opportunities": args.rows, "history": history_rows}
    for path, count in ((opportunities, args.rows), (history, history_rows)):
        print(f"{path}: {count:,} rows, {path.stat().st_size / 2**20:,.0f} MiB")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    measured = [measure(b, args.runs, opportunities, history, rows) for b in backends]
    lines, ok = summarise(measured)
    print_table(lines, args.runs)
    print(f"benchmark took {time.perf_counter() - started:,.0f} s; verdict: {'PASS' if ok else 'FAIL'}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "command": " ".join(sys.argv),
                    "runs": args.runs,
                    "summary": lines,
                    "raw": [asdict(m) for m in measured],
                    "cpu_count": os.cpu_count(),
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
