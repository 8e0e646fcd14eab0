"""Web and API latency under load: the demo organisation at 100,000 opportunities, 50 concurrent clients.

Run from the repository root::

    .venv/bin/python benchmarks/web_load.py                          # both back ends, 3 runs, 50 clients
    .venv/bin/python benchmarks/web_load.py --backend sqlite --runs 1 --duration 10   # quick look

What it does, per back end:

1. Prepares (once, cached in ``--out`` for SQLite) the demo organisation at scale 20: 100,000
   opportunities, ~800k history rows, ~770k activities, its open deals scored as ``dealsight demo`` does.
   PostgreSQL: a throwaway cluster from ``tests/pgcluster.py`` and the same demo written into it.
2. Starts ``dealsight serve`` as users run it (its default worker processes, or ``--workers N``) on a free
   loopback port and waits for ``/health``.
3. Signs in as the demo's manager (an API token and a web session made through the product's services),
   then for each target runs ``--clients`` concurrent keep-alive connections with ``wrk`` (Debian's
   package; ``make benchmark-web`` installs it and runs this script) for ``--duration`` seconds after a
   warm-up of the same kind.
   Each connection sends its next request as soon as the answer arrives (a closed loop, no think time:
   the harshest reading of "50 concurrent clients").
4. Reports per target the median and p95 latency and the throughput (medians over ``--runs``), and the
   ratio of each p95 to that of ``/health`` measured in the same run (the stack's own floor: routing, JSON,
   two tiny reads). Every non-2xx answer is counted as an error; a target that got no answer at all within
   the run is reported as "no answer", its connections counted as errors.

Aim (issue 3): p95 under 100 ms at 50 concurrent clients for API reads. The client shares the 2 cores with
the server, so the figures are pessimistic for a server that has the machine to itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tests.pgcluster` importable
    sys.path.insert(0, str(ROOT))

from dealsight.store.database import connect, upgrade  # noqa: E402

SCALE = 20.0  # 100,000 opportunities
SEED = 7
P95_AIM_MS = 100.0


@dataclass
class Target:
    name: str
    kind: str  # "api", "page" or "baseline"
    paths: list[str]


@dataclass
class Figures:
    target: str
    requests: int
    errors: int
    median_ms: float
    p95_ms: float
    throughput: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# preparing the data -------------------------------------------------------------------------------------
def prepare_sqlite(out: Path) -> str:
    """The cached demo database (made once; a copy is served so runs never change the cache)."""
    from dealsight.services.demo import create_demo
    from dealsight.services.scoring import score_open_deals

    out.mkdir(parents=True, exist_ok=True)
    cached = out / f"web_load_demo_{SCALE:g}_scored.db"
    if not cached.exists():
        partial = cached.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        engine = connect(f"sqlite:///{partial}")
        upgrade(engine)
        print(
            f"writing the demo organisation at scale {SCALE:g} into {cached} (once, ~2 minutes)", flush=True
        )
        create_demo(engine, seed=SEED, scale=SCALE)
        score_open_deals(engine, retrain=True)  # as `dealsight demo` does: the lists show each deal's insight
        engine.dispose()
        partial.rename(cached)
    served = Path(tempfile.mkdtemp(prefix="dealsight-load-")) / "served.db"
    shutil.copyfile(cached, served)
    engine = connect(f"sqlite:///{served}")
    upgrade(engine)  # a demo cached by an older version gets the current schema (and its indexes)
    engine.dispose()
    return f"sqlite:///{served}"


@contextlib.contextmanager
def prepare_postgresql() -> Iterator[str]:
    from tests.pgcluster import start_cluster

    from dealsight.services.demo import create_demo
    from dealsight.services.scoring import score_open_deals

    cluster = start_cluster()
    try:
        admin = connect(cluster.url())
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("CREATE DATABASE load"))
        admin.dispose()
        url = cluster.url("load")
        engine = connect(url)
        upgrade(engine)
        print(f"writing the demo organisation at scale {SCALE:g} into PostgreSQL (~3 minutes)", flush=True)
        create_demo(engine, seed=SEED, scale=SCALE)
        score_open_deals(engine, retrain=True)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        engine.dispose()
        yield url
    finally:
        cluster.stop()


# signing in and choosing targets ------------------------------------------------------------------------
@dataclass
class Credentials:
    token: str
    cookie_name: str
    cookie: str
    deal_ids: list[int]
    stage: str
    owner_id: int


def sign_in(url: str) -> Credentials:
    """An API token and a web session for the demo's manager, and the open deals they can see."""
    from dealsight.domain.access import Principal
    from dealsight.domain.enums import UserRole
    from dealsight.services.access import scope_of
    from dealsight.services.auth import create_api_token, start_session
    from dealsight.services.opportunities import OpportunityQuery, list_opportunities
    from dealsight.services.users import list_users
    from dealsight.web.core import SESSION_COOKIE as COOKIE_NAME

    engine = connect(url)
    manager = next(u for u in list_users(engine, role=UserRole.MANAGER, limit=500) if u.has_password)
    principal = Principal(manager.id, manager.name, manager.role)
    token = create_api_token(engine, None, manager.id, "load benchmark", via="cli").token
    ticket = start_session(engine, principal)
    page = list_opportunities(engine, scope_of(engine, principal), OpportunityQuery(limit=500))
    deal_ids = [o.id for o in page.items]
    owner_id = page.items[0].owner_id
    assert owner_id is not None
    engine.dispose()
    return Credentials(token, COOKIE_NAME, ticket.token, deal_ids, "Proposal", owner_id)


def targets(c: Credentials) -> list[Target]:
    deals = [f"/deals/{i}" for i in c.deal_ids]
    api_deals = [f"/api/v1/opportunities/{i}" for i in c.deal_ids]
    filtered = f"stage={c.stage}&owner_id={c.owner_id}"
    return [
        Target("/health (baseline)", "baseline", ["/health"]),
        Target("API opportunity list, first page", "api", ["/api/v1/opportunities?limit=50"]),
        Target("API opportunity list, filtered", "api", [f"/api/v1/opportunities?limit=50&{filtered}"]),
        Target("API opportunity detail", "api", api_deals),
        Target("page pipeline, first page", "page", ["/pipeline"]),
        Target("page pipeline, filtered", "page", [f"/pipeline?{filtered}"]),
        Target("page deal", "page", deals),
    ]


# the load generator -------------------------------------------------------------------------------------
# wrk (C, epoll: Debian's `wrk`, installed by `make benchmark-web`) keeps the client's share of the 2 cores
# small; this Lua script spreads requests over the target's paths and prints the figures as one JSON line.
WRK_SCRIPT = """
local paths = {%s}
local headers = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1], headers)
end
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    '{"requests": %%d, "errors": %%d, "median_us": %%d, "p95_us": %%d, "seconds": %%f}\\n',
    summary.requests, errors, latency:percentile(50), latency:percentile(95), summary.duration / 1e6))
end
"""


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def hammer(
    base: str, target: Target, c: Credentials, clients: int, duration: float, warmup: float
) -> Figures:
    headers = {"Authorization": f"Bearer {c.token}"} if target.kind == "api" else {}
    if target.kind == "page":
        headers["Cookie"] = f"{c.cookie_name}={c.cookie}"
    rng = random.Random(len(target.paths))
    paths = rng.sample(target.paths, len(target.paths))
    script = WRK_SCRIPT % (
        ", ".join(lua_string(p) for p in paths),
        ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()),
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        command = ["wrk", "-t1", f"-c{clients}", "--timeout", "30s", "-s", handle.name, base]
        if warmup > 0:
            subprocess.run([*command[:3], f"-d{warmup:g}s", *command[3:]], check=True, capture_output=True)
        done = subprocess.run(
            [*command[:3], f"-d{duration:g}s", *command[3:]], check=True, capture_output=True
        )
    finally:
        os.unlink(handle.name)
    line = next(x for x in done.stdout.decode().splitlines() if x.startswith("{"))
    figures = json.loads(line)
    if figures["requests"] == 0:  # not one answer within the run: latency is beyond the duration
        return Figures(target.name, 0, clients, math.inf, math.inf, 0.0)
    return Figures(
        target.name,
        figures["requests"],
        figures["errors"],  # wrk counts answers with status >= 400 among its errors
        figures["median_us"] / 1000,
        figures["p95_us"] / 1000,
        figures["requests"] / figures["seconds"],
    )


@contextlib.contextmanager
def serving(url: str, workers: int | None) -> Iterator[str]:
    port = free_port()
    dealsight = Path(sys.executable).with_name("dealsight")
    chosen = [] if workers is None else ["--workers", str(workers)]
    process = subprocess.Popen(
        [str(dealsight), "serve", "--host", "127.0.0.1", "--port", str(port), "--database", url, *chosen],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"dealsight serve exited: {process.stderr.read().decode() if process.stderr else ''}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("dealsight serve did not answer /health within 60 s")
            time.sleep(0.2)  # polling for readiness, not waiting for a result
        yield base
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        if process.poll() is None:
            process.kill()


def run_backend(url: str, args: argparse.Namespace) -> list[list[Figures]]:
    credentials = sign_in(url)
    runs: list[list[Figures]] = []
    with serving(url, args.workers) as base:
        for run in range(args.runs):
            figures = []
            for target in targets(credentials):
                if args.kinds and target.kind not in (*args.kinds, "baseline"):
                    continue
                result = hammer(base, target, credentials, args.clients, args.duration, args.warmup)
                print(
                    f"  run {run + 1}: {result.target:<36} median {result.median_ms:7.1f} ms  "
                    f"p95 {result.p95_ms:7.1f} ms  {result.throughput:7.1f} req/s  errors {result.errors}",
                    flush=True,
                )
                figures.append(result)
            runs.append(figures)
    return runs


def _ms(value: float) -> str:
    return "no answer" if math.isinf(value) else f"{value:.1f}"


def report(backend: str, runs: list[list[Figures]]) -> list[dict[str, object]]:
    rows = []
    baseline_p95 = statistics.median(r[0].p95_ms for r in runs)
    print(f"\n{backend}: medians of {len(runs)} runs")
    print("| target | median ms | p95 ms | req/s | p95 / health p95 | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for index, first in enumerate(runs[0]):
        per_run = [r[index] for r in runs]
        median = statistics.median(f.median_ms for f in per_run)
        p95 = statistics.median(f.p95_ms for f in per_run)
        rate = statistics.median(f.throughput for f in per_run)
        errors = sum(f.errors for f in per_run)
        ratio = p95 / baseline_p95
        print(f"| {first.target} | {_ms(median)} | {_ms(p95)} | {rate:.0f} | {ratio:.1f} | {errors} |")
        rows.append(
            {
                "backend": backend,
                "target": first.target,
                "median_ms": median,
                "p95_ms": p95,
                "throughput": rate,
                "errors": errors,
            }
        )
    api = [r for r in rows if str(r["target"]).startswith("API")]
    worst = max(float(r["p95_ms"]) for r in api)  # type: ignore[arg-type]
    verdict = "meets" if worst < P95_AIM_MS else "misses"
    print(f"verdict: API reads p95 at most {worst:.1f} ms: {verdict} the aim of {P95_AIM_MS:.0f} ms")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per target and run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, help="server worker processes (default: that of `dealsight serve`)"
    )
    parser.add_argument(
        "--kind",
        dest="kinds",
        action="append",
        choices=["api", "page"],
        help="measure only targets of this kind and /health, the baseline (repeatable; default: all)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    if args.backend in ("sqlite", "both"):
        url = prepare_sqlite(args.out)
        print(f"SQLite ({url}), {args.clients} clients", flush=True)
        try:
            rows += report("SQLite", run_backend(url, args))
        finally:
            shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    if args.backend in ("postgresql", "both"):
        with prepare_postgresql() as url:
            print(f"PostgreSQL, {args.clients} clients", flush=True)
            rows += report("PostgreSQL", run_backend(url, args))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
