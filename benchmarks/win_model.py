"""Benchmark: the win model on an indicator-frame-shaped synthetic table (1,000,000 rows x 45 features).

Aims (2 cores): ``fit`` under 40 s; ``win_probability`` plus ``factors(top=3)`` under 15 s.

    .venv/bin/python benchmarks/win_model.py                     # 1M rows, 3 runs, medians
    .venv/bin/python benchmarks/win_model.py --rows 100000 --runs 1   # quick check

The table (seeded) mimics the indicator frame: 25 numeric columns (float64, 10% missing), 10 flags
(0.0/1.0/NaN), 10 categorical columns (``category``, 3 to 200 values: stage, segment, region, owner...),
an as-of date per row over two years and an outcome (won 30%, lost, and with ``--outcomes 3`` no_decision)
drawn from a logistic model with interactions and a slow drift. Measured per run, wall and CPU seconds
(all threads): a baseline in the same run (LightGBM's ``LGBMClassifier()`` with its defaults, 100 trees of
31 leaves, on the same encoded matrix), fit with ``time`` (the newest 20% calibrate), fit without ``time``
(from 100,000 rows one stratified random fifth calibrates; below, 3-fold cross-fitting),
``win_probability``, ``factors(top=3, method="path")`` and TreeSHAP factors on 20,000 rows (scaled to the
table's rows: TreeSHAP on all of them takes minutes). The cores may be shared with other work: the load
average is printed per run, and the ratio to the baseline measured in the same run is the stable figure.
Held-out AUC and Brier of the time-calibrated model on the newest 10% (learnt from the older 90%) are
printed once, to show that the speed is not bought with a useless model.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from dealsight.analytics.evaluation import auc, brier  # noqa: E402
from dealsight.analytics.win_model import WinModel  # noqa: E402

LEVELS = (3, 5, 7, 8, 12, 20, 30, 50, 100, 200)


def synthetic_frame(
    rows: int, outcomes: int = 2, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Features, outcome labels and as-of times shaped like the indicator frame."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    numeric = rng.normal(size=(rows, 25))
    numeric[rng.random(numeric.shape) < 0.1] = np.nan
    for j in range(25):
        columns[f"indicator_{j}"] = numeric[:, j]
    flags = (rng.random((rows, 10)) < 0.4).astype(np.float64)
    flags[rng.random(flags.shape) < 0.05] = np.nan
    for j in range(10):
        columns[f"flag_{j}"] = flags[:, j]
    codes = np.column_stack([rng.integers(0, levels, rows) for levels in LEVELS])
    for j, levels in enumerate(LEVELS):
        names = np.array([f"value {k}" for k in range(levels)], dtype=object)
        columns[f"category_{j}"] = pd.Categorical.from_codes(codes[:, j], categories=names)
    frame = pd.DataFrame(columns)
    days = np.sort(rng.integers(0, 730, rows))
    as_of = np.datetime64("2023-01-01") + days.astype("timedelta64[D]")
    filled = np.nan_to_num(numeric)
    effects = [rng.normal(scale=0.5, size=levels) for levels in LEVELS[:4]]
    logit = (
        -1.0
        + 0.8 * filled[:, 0]
        - 0.6 * filled[:, 1]
        + 0.4 * filled[:, 2] * filled[:, 3]
        + 0.5 * np.nan_to_num(flags[:, 0])
        - 0.7 * np.isnan(numeric[:, 4])
        + sum(effect[codes[:, j]] for j, effect in enumerate(effects))
        + 0.3 * (days / 730.0) * filled[:, 5]
    )
    won = rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))
    labels = np.where(won, "won", "lost").astype(object)
    if outcomes == 3:
        labels[(~won) & (rng.random(rows) < 0.35 + 0.2 * (filled[:, 6] > 0))] = "no_decision"
    return frame, labels, as_of


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds (all threads of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--outcomes", type=int, choices=(2, 3), default=2)
    parser.add_argument("--shap-rows", type=int, default=20_000)
    args = parser.parse_args()

    X, y, as_of = synthetic_frame(args.rows, args.outcomes)
    print(f"table: {len(X):,} rows x {X.shape[1]} features ({args.outcomes} outcomes)", flush=True)
    cut = int(len(X) * 0.9)
    check = WinModel().fit(X.iloc[:cut], y[:cut], time=as_of[:cut])
    p = check.win_probability(X.iloc[cut:])
    print(
        f"held-out newest 10%: AUC {auc(y[cut:] == 'won', p):.3f}, Brier {brier(y[cut:] == 'won', p):.4f}, "
        f"{check.n_trees_} trees",
        flush=True,
    )
    matrix = check.layout_.matrix(X)
    won = (y == "won").astype(int)
    categorical = check.layout_.categorical_positions
    shap_rows = X.iloc[: args.shap_rows]
    figures: dict[str, list[tuple[float, float]]] = {}

    def record(name: str, figure: tuple[float, float]) -> None:
        figures.setdefault(name, []).append(figure)

    for run in range(1, args.runs + 1):
        load = os.getloadavg()[0]
        baseline = lgb.LGBMClassifier(n_jobs=os.cpu_count(), verbose=-1)
        record(
            "baseline: LGBMClassifier() defaults, fit",
            timed(lambda b=baseline: b.fit(matrix, won, categorical_feature=categorical)),
        )
        record("baseline: predict_proba", timed(lambda b=baseline: b.predict_proba(matrix)))
        model = WinModel()
        record("fit (time given)", timed(lambda m=model: m.fit(X, y, time=as_of)))
        record("fit (no time)", timed(lambda: WinModel().fit(X, y)))
        record("win_probability", timed(lambda m=model: m.win_probability(X)))
        record("factors(top=3, method='path')", timed(lambda m=model: m.factors(X, top=3, method="path")))
        both = [figures[name][-1] for name in ("win_probability", "factors(top=3, method='path')")]
        record("win_probability + factors (path)", (both[0][0] + both[1][0], both[0][1] + both[1][1]))
        wall, cpu = timed(lambda m=model: m.factors(shap_rows, top=3, method="treeshap"))
        scale = len(X) / len(shap_rows)
        record(
            f"factors(top=3, 'treeshap'), x{scale:.0f} from {len(shap_rows):,} rows",
            (wall * scale, cpu * scale),
        )
        print(
            f"run {run} (load average {load:.1f} -> {os.getloadavg()[0]:.1f}, {model.n_trees_} trees): "
            + ", ".join(f"{name} {values[-1][0]:.1f} s" for name, values in figures.items()),
            flush=True,
        )
    print(f"\nmedians of {args.runs} run(s), {len(X):,} rows x {X.shape[1]} features, {os.cpu_count()} cores")
    fit_baseline = statistics.median(w for w, _ in figures["baseline: LGBMClassifier() defaults, fit"])
    print(f"  {'':55s} {'wall s':>8s} {'CPU s':>8s} {'x baseline fit':>15s}")
    for name, values in figures.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(f"  {name:55s} {wall:8.1f} {cpu:8.1f} {wall / fit_baseline:15.2f}")


if __name__ == "__main__":
    main()
