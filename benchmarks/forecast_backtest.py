"""Backtests of the won-count / won-amount forecast (issue 5): maven_crm, the demo organisation, timing.

    .venv/bin/python benchmarks/forecast_backtest.py maven    # imports maven_crm into a temporary SQLite
    .venv/bin/python benchmarks/forecast_backtest.py demo     # demo organisation, four quarters
    .venv/bin/python benchmarks/forecast_backtest.py timing [DEALS] [RUNS]   # 52 weeks over synthetic deals

The timing uses benchmarks/indicators.py's synthetic deals made to close (:func:`closing_data`; on their
own they all stay open, which leaves nothing to learn and makes every range an exact simulation of
150,000 certain losses). Baseline in the same run: competing risks alone.

Prints every method's MAPE / bias / MdAPE / P10-P90 coverage (percent) for count and amount, over all dates
and (maven) from August on, the coverage as dates inside / dates with its Wilson 95% interval, how many
non-overlapping horizons the dates span (consecutive weekly 28-day windows share three quarters of their
days, so the dates are far from independent), the median dispersion and the dates calibrated on fewer than
four ended forecasts; and the load average (another engineer may be running tests).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from statistics import median

import numpy as np
import pandas as pd

from dealsight.analytics.backtest import MIN_CALIBRATION_DATES, BacktestResult, backtest
from dealsight.analytics.deal_data import DealData
from dealsight.analytics.time_to_close import METHODS as ALL_METHODS
from dealsight.store.database import connect, upgrade
from dealsight.store.deal_frames import load_deal_data

ROOT = Path(__file__).resolve().parents[1]
MAVEN = ROOT.parent / "shared" / "data" / "maven_crm"
METHODS = tuple(ALL_METHODS)  # every method, ``model`` last


def wilson(inside: int, dates: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score 95% interval of a share (percent)."""
    share = inside / dates
    centre = (share + z * z / (2 * dates)) / (1 + z * z / dates)
    half = z * np.sqrt(share * (1 - share) / dates + z * z / (4 * dates**2)) / (1 + z * z / dates)
    return 100 * (centre - half), 100 * (centre + half)


def report(result: BacktestResult, since: pd.Timestamp | None = None) -> None:
    rows = result.rows if since is None else result.rows[result.rows["as_of"] >= since]
    span = (rows["as_of"].max() - rows["as_of"].min()).days + result.horizon_days
    print(
        f"  {'dates from ' + format(since, '%Y-%m-%d') if since is not None else 'all dates'}: "
        f"{rows['as_of'].nunique()} dates spanning {span} days, "
        f"{span / result.horizon_days:.1f} non-overlapping {result.horizon_days}-day horizons"
    )
    for method, measures in result.results(since).items():
        for measure, m in measures.items():
            cells = "  ".join(
                f"{k} {m[k]:7.1f}" if isinstance(m[k], float) else f"{k} {m[k]}"
                for k in ("mape", "bias", "mdape", "coverage_p10_p90")
            )
            part = rows[(rows["method"] == method) & (rows["measure"] == measure)]
            inside = int(((part["actual"] >= part["p10"]) & (part["actual"] <= part["p90"])).sum())
            low, high = wilson(inside, len(part))
            thin = int(((part["calibration_dates"] < MIN_CALIBRATION_DATES) & (part["dispersion"] > 0)).sum())
            print(
                f"    {method:24s} {measure:7s} {cells}  ({inside}/{len(part)}, Wilson {low:.0f}-{high:.0f}; "
                f"median dispersion {part['dispersion'].median():.2f}; {thin} thin)"
            )
    for method, why in result.skipped.items():
        print(f"    {method:24s} skipped: {why}")
    for note in result.notes if since is None else ():
        print(f"    note: {note}")


def maven() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/maven.db"
        env = {**os.environ, "DEALSIGHT_DATABASE_URL": url}
        cli = str(ROOT / ".venv" / "bin" / "dealsight")
        subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run(
            [cli, "import", "bundle", str(ROOT / "examples/mappings/maven_crm.yaml"),
             "--data-dir", str(MAVEN)],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        engine = connect(url)
        with engine.connect() as conn:
            data = load_deal_data(conn)
        engine.dispose()
    started = time.perf_counter()
    result = backtest(data, start="2017-04-01", end="2017-11-30", methods=METHODS)
    print(
        f"maven_crm: {result.rows['as_of'].nunique()} weekly dates, 28 days, "
        f"{time.perf_counter() - started:.1f} s"
    )
    report(result)
    report(result, pd.Timestamp("2017-08-01"))


def demo() -> None:
    from dealsight.demo.generator import generate_organisation
    from dealsight.demo.writer import write_organisation

    today = date(2025, 6, 15)
    with tempfile.TemporaryDirectory() as folder:
        engine = connect(f"sqlite:///{folder}/demo.db")
        upgrade(engine)
        with engine.begin() as conn:
            write_organisation(conn, generate_organisation(seed=7, scale=1.0, today=today))
        with engine.connect() as conn:
            data = load_deal_data(conn)
        engine.dispose()
    started = time.perf_counter()
    result = backtest(data, start="2024-04-01", end="2025-04-30", methods=METHODS)
    print(
        f"demo (seed 7): {result.rows['as_of'].nunique()} weekly dates, {time.perf_counter() - started:.1f} s"
    )
    report(result)


def closing_data(deals: int, seed: int = 0) -> tuple[DealData, pd.Timestamp]:
    """benchmarks/indicators.py's synthetic deals (created over two years, every one still open) made to
    close: 30% after 3-20 days, the rest after 40-130 days, 40% won; a deal whose close is past "now" stays
    open. The close is a stage change into Closed Won / Closed Lost; later changes are dropped."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from indicators import NOW, synthetic_data  # type: ignore[import-not-found]

    data: DealData = synthetic_data(deals, seed=seed)
    rng = np.random.default_rng(seed + 1)
    deals_frame = data.opportunities.copy()
    created = deals_frame["created_date"].to_numpy("datetime64[ns]")
    fast = rng.random(deals) < 0.3
    days = np.where(fast, rng.integers(3, 21, deals), rng.integers(40, 131, deals))
    closed_at = created + days * np.timedelta64(1, "D") + np.timedelta64(15, "h")
    closes = closed_at <= NOW
    won = rng.random(deals) < 0.4
    stage = np.where(won, "Closed Won", "Closed Lost").astype(object)
    history = data.history
    close_of = pd.Series(np.where(closes, closed_at, np.datetime64("NaT")), index=deals_frame["id"])
    after = history["changed_at"].to_numpy("datetime64[ns]") >= history["opportunity_id"].map(
        close_of
    ).to_numpy("datetime64[ns]")
    history = history[~after]
    stages = history[history["field"] == "stage"]
    last_stage = stages.groupby("opportunity_id")["new_value"].last()
    ids = deals_frame["id"].to_numpy()[closes]
    closing = pd.DataFrame(
        {
            "opportunity_id": ids,
            "field": "stage",
            "changed_at": closed_at[closes],
            "old_value": pd.Series(ids).map(last_stage).fillna("Prospecting").to_numpy(dtype=object),
            "new_value": stage[closes],
        }
    )
    history = pd.concat([history.astype({"field": str}), closing], ignore_index=True)
    history["field"] = history["field"].astype("category")
    deals_frame.loc[closes, "stage"] = stage[closes]
    deals_frame.loc[closes, "closed_date"] = pd.to_datetime(closed_at[closes]).normalize()
    deals_frame.loc[closes, "outcome"] = np.where(won[closes], "won", "lost")
    return dataclasses.replace(data, opportunities=deals_frame, history=history), pd.Timestamp(NOW)


def timing(deals: int, runs: int) -> None:
    data, now = closing_data(deals, seed=0)
    end = now - pd.Timedelta(days=35)
    start = end - pd.Timedelta(weeks=51)
    for label, methods in (
        ("baseline: competing_risks only", ("competing_risks",)),
        ("all methods", METHODS),
    ):
        seconds = []
        for _ in range(runs):
            began = time.perf_counter()
            backtest(data, start=start, end=end, methods=methods, draws=2000)
            seconds.append(time.perf_counter() - began)
        print(f"{deals:,} deals, 52 weekly dates, {label}: median {median(seconds):.1f} s of {seconds}")


if __name__ == "__main__":
    print(f"load average before: {os.getloadavg()}")
    what = sys.argv[1] if len(sys.argv) > 1 else "maven"
    if what == "maven":
        maven()
    elif what == "demo":
        demo()
    else:
        timing(
            int(sys.argv[2]) if len(sys.argv) > 2 else 200_000, int(sys.argv[3]) if len(sys.argv) > 3 else 3
        )
    print(f"load average after: {os.getloadavg()}")
