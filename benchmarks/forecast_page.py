"""How long the forecast page and the forecast API take (issue 5), in process with the app's TestClient.

Run from the repository root::

    .venv/bin/python benchmarks/forecast_page.py                       # scales 1 and 20, 5 runs, SQLite
    .venv/bin/python benchmarks/forecast_page.py --scale 1 --runs 3    # quick look
    .venv/bin/python benchmarks/forecast_page.py --backend postgresql  # a throwaway PostgreSQL cluster

What it does, per back end and scale:

1. Prepares the demo organisation (seed 7, today = the real today, as the page forecasts as of today):
   scale 1 is ~5,000 deals, scale 20 ~100,000 deals with ~800k history rows and ~770k activities. SQLite:
   made once per day and cached in ``--out`` (git-ignored); each run works on a fresh copy. PostgreSQL: a
   cluster from ``tests/pgcluster.py``, the demo written once into a template database, each run on a new
   database made from it.
2. Per run, on that fresh copy with no stored forecast: signs in the demo's manager (a web session and an
   API token made through the product's services), then times single requests with the app's TestClient:

   - the **baseline** pages: ``/health`` and the pipeline page, median of 5 after one warm-up;
   - ``GET /forecast`` **cold** (nothing stored, nothing in memory), then the movement fragment the page
     loads after it (``GET /forecast/movement``, with htmx's header);
   - both again, **warm** (the forecast stored, the movement in the process's memory);
   - both again as a **new process** would see them: stored forecasts kept, the process's memory emptied
     (``dealsight serve`` runs several worker processes; a restart empties them too);
   - with the stored forecasts removed and the memory emptied (:func:`reset`), ``GET /api/v1/forecast``
     cold, then warm.
3. Prints, per target, the median over the runs, its ratio to ``/health`` and to the pipeline page
   measured in the same run, each run's figure, and the load average (another engineer may be running
   tests on the same two cores).

Every answer must be 200; the page must show the forecast (its reps table), not a problem. On a version
before the stored forecasts were served (commit 71884c8), the page has no movement fragment (the page
computes it) and there is no memory to empty: the same command measures it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tests.pgcluster` importable
    sys.path.insert(0, str(ROOT))

from dealsight.api.app import create_app  # noqa: E402
from dealsight.domain.clock import utc_now  # noqa: E402
from dealsight.store.database import connect, upgrade  # noqa: E402

SEED = 7
BASELINE_REQUESTS = 5


@dataclass
class Timings:
    """Seconds per target, one value per run."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, target: str, seconds: float) -> None:
        self.values.setdefault(target, []).append(seconds)

    def median(self, target: str) -> float:
        return statistics.median(self.values[target])


# preparing the data -------------------------------------------------------------------------------------
def _write_demo(engine: Engine, scale: float, today: date) -> None:
    from dealsight.services.demo import create_demo

    upgrade(engine)
    started = time.perf_counter()
    print(f"writing the demo organisation at scale {scale:g} (today {today})", flush=True)
    create_demo(engine, seed=SEED, scale=scale, today=today)
    print(f"  written in {time.perf_counter() - started:.0f} s", flush=True)


@contextlib.contextmanager
def sqlite_copies(out: Path, scale: float, today: date) -> Iterator[Callable[[], Iterator[Engine]]]:
    """Fresh copies of the cached demo database, one per run."""
    out.mkdir(parents=True, exist_ok=True)
    cached = out / f"forecast_page_demo_{scale:g}_{today.isoformat()}.db"
    if not cached.exists():
        partial = cached.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        engine = connect(f"sqlite:///{partial}")
        _write_demo(engine, scale, today)
        engine.dispose()
        partial.rename(cached)
    folder = Path(tempfile.mkdtemp(prefix="dealsight-forecast-page-"))

    @contextlib.contextmanager
    def copy() -> Iterator[Engine]:
        served = folder / "run.db"
        shutil.copyfile(cached, served)
        engine = connect(f"sqlite:///{served}")
        upgrade(engine)  # a demo cached by an older version gets the current schema
        try:
            yield engine
        finally:
            engine.dispose()
            served.unlink()

    try:
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def postgresql_copies(scale: float, today: date) -> Iterator[Callable[[], Iterator[Engine]]]:
    """A throwaway cluster holding the demo as a template; a new database from it per run."""
    from tests.pgcluster import start_cluster

    cluster = start_cluster()
    admin = connect(cluster.url())
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("CREATE DATABASE demo"))
        engine = connect(cluster.url("demo"))
        _write_demo(engine, scale, today)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        engine.dispose()

        @contextlib.contextmanager
        def copy() -> Iterator[Engine]:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("CREATE DATABASE run TEMPLATE demo"))
            engine = connect(cluster.url("run"))
            try:
                yield engine
            finally:
                engine.dispose()
                with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(sa.text("DROP DATABASE run"))

        yield copy
    finally:
        admin.dispose()
        cluster.stop()


# one run ------------------------------------------------------------------------------------------------
def manager_client(engine: Engine) -> tuple[TestClient, dict[str, str]]:
    """A TestClient holding the demo manager's web session, and the headers of their API token."""
    from dealsight.domain.access import Principal
    from dealsight.domain.enums import UserRole
    from dealsight.services.auth import create_api_token, start_session
    from dealsight.services.users import list_users
    from dealsight.web.core import SESSION_COOKIE

    manager = next(u for u in list_users(engine, role=UserRole.MANAGER, limit=500) if u.has_password)
    principal = Principal(manager.id, manager.name, manager.role)
    token = create_api_token(engine, None, manager.id, "forecast page benchmark", via="cli").token
    client = TestClient(create_app(engine), base_url="http://127.0.0.1")
    client.cookies.set(SESSION_COOKIE, start_session(engine, principal).token)
    return client, {"Authorization": f"Bearer {token}"}


def forget_memory() -> None:
    """Empty the process's memory of deal states and movements (a new worker process starts so)."""
    with contextlib.suppress(ImportError):  # a version before the memory has none
        from dealsight.services.forecast_cache import forget

        forget()


def reset(engine: Engine) -> None:
    """Forget every stored forecast and the process's memory, so the next request is cold again."""
    from dealsight.store.schema import forecast_snapshots

    with engine.begin() as conn:
        conn.execute(sa.delete(forecast_snapshots))
    forget_memory()


def timed(client: TestClient, path: str, headers: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.text[:300]}")
    if path.startswith("/forecast?") and 'id="reps-table"' not in response.text:
        raise SystemExit(f"GET {path} shows no forecast: {response.text[:300]}")
    return seconds, response.text


def page_and_movement(client: TestClient, timings: Timings, query: str, label: str) -> None:
    """The page, then the movement fragment it loads (when it has one)."""
    seconds, html = timed(client, "/forecast" + query)
    timings.add(f"/forecast {label}", seconds)
    if 'hx-get="/forecast/movement' in html:
        fragment = timed(client, "/forecast/movement" + query, {"HX-Request": "true"})[0]
        timings.add(f"  its movement {label}", fragment)


def one_run(engine: Engine, timings: Timings, method: str) -> None:
    client, api = manager_client(engine)
    query = f"?method={method}"
    for name, path in (("/health", "/health"), ("pipeline page", "/pipeline")):
        timed(client, path)  # warm-up
        runs = [timed(client, path)[0] for _ in range(BASELINE_REQUESTS)]
        timings.add(name, statistics.median(runs))
    reset(engine)
    page_and_movement(client, timings, query, "cold")
    page_and_movement(client, timings, query, "warm")
    forget_memory()
    page_and_movement(client, timings, query, "new process")
    reset(engine)
    timings.add("/api/v1/forecast cold", timed(client, "/api/v1/forecast" + query, api)[0])
    timings.add("/api/v1/forecast warm", timed(client, "/api/v1/forecast" + query, api)[0])


# reporting ----------------------------------------------------------------------------------------------
def report(label: str, timings: Timings) -> None:
    health, pipeline = timings.median("/health"), timings.median("pipeline page")
    runs = len(timings.values["/health"])
    print(f"\n{label}: medians of {runs} runs, load average {os.getloadavg()[0]:.2f}")
    print(f"  {'target':<30} {'median':>10} {'x /health':>10} {'x pipeline':>11}   runs")
    for target in timings.values:
        seconds = timings.median(target)
        each = ", ".join(f"{1000 * s:.0f}" for s in timings.values[target])
        print(
            f"  {target:<30} {1000 * seconds:>8.1f}ms {seconds / health:>10.1f} {seconds / pipeline:>11.2f}"
            f"   [{each}] ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--scale", type=float, action="append", help="demo scale (repeatable; 1 and 20)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--method", default="model", help="forecast method (the page's default: model)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = parser.parse_args()
    today = utc_now().date()
    for scale in args.scale or [1.0, 20.0]:
        copies = (
            sqlite_copies(args.out, scale, today)
            if args.backend == "sqlite"
            else postgresql_copies(scale, today)
        )
        timings = Timings()
        with copies as copy:
            for number in range(1, args.runs + 1):
                with copy() as engine:
                    started = time.perf_counter()
                    one_run(engine, timings, args.method)
                    print(f"  run {number}: {time.perf_counter() - started:.1f} s", flush=True)
        report(f"{args.backend}, scale {scale:g}, method {args.method}", timings)


if __name__ == "__main__":
    main()
