"""Benchmark: the needs analysis of 50,000 survey responses with 1,000 bootstrap resamples.

    .venv/bin/python benchmarks/needs_analysis.py                       # 50,000 respondents, 3 runs
    .venv/bin/python benchmarks/needs_analysis.py --respondents 5000 --runs 5

Synthetic answers (seeded): 5 needs, us and 3 competitors, customers in 3 segments (points drawn from a
Dirichlet around segment weights, rounded to whole points adding up to 100; ratings 0-10 with ~10% not
rated), and 0.2% internal respondents in 4 functions. Timed, each the median of ``--runs`` runs:

- ``frames``: :func:`~dealsight.analytics.survey_answers.answers_from_frames` (the long frames the store
  reads, to arrays);
- ``analysis``: :func:`~dealsight.analytics.needs.analyse_needs` with ``--resamples`` resamples (weighted
  needs of all customers and per segment with intervals, grid, perception gaps of every function with
  intervals, opportunity, flanking);
- baseline, in the same run: one :func:`scipy.stats.bootstrap` of the customers' points resampling the
  rows themselves (percentile method, the same resamples): what the analysis would cost per group had it
  bootstrapped the plain way. The ratio analysis / baseline says what the whole analysis costs against
  that single plain bootstrap.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dealsight.analytics.needs import analyse_needs
from dealsight.analytics.survey_answers import BATCH_ROWS, SurveyAnswers, answers_from_frames

NEEDS = ("brand", "product", "quality", "price", "service")
VENDORS = ("us", "Acme", "Globex", "Initech")
SEGMENT_WEIGHTS = {
    "smb": (12, 18, 20, 28, 22),
    "mid_market": (12, 20, 24, 18, 26),
    "enterprise": (10, 20, 26, 10, 34),
}
FUNCTIONS = ("marketing", "sales", "service", "leadership")


def frames(respondents: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    segments = rng.choice(list(SEGMENT_WEIGHTS), respondents)
    functions = np.where(rng.random(respondents) < 0.002, rng.choice(FUNCTIONS, respondents), None)
    alpha = np.array([SEGMENT_WEIGHTS[s] for s in segments], dtype=float) / 100 * 12
    shares = rng.gamma(alpha)
    shares = shares / shares.sum(axis=1, keepdims=True) * 100
    points = np.floor(shares)
    short = (100 - points.sum(axis=1)).astype(int)
    order = np.argsort(points - shares, axis=1)
    for k in range(len(NEEDS)):
        points[np.arange(respondents), order[:, k]] += short > k
    ratings = np.clip(np.rint(rng.normal(6.5, 1.8, (respondents, len(VENDORS), len(NEEDS)))), 0, 10)
    ratings[rng.random(ratings.shape) < 0.1] = np.nan
    people = pd.DataFrame(
        {"id": np.arange(respondents), "function": functions, "segment": segments, "industry": None}
    )
    ids = np.arange(respondents)
    long_points = pd.DataFrame(
        {
            "respondent_id": np.repeat(ids, len(NEEDS)),
            "need": np.tile(NEEDS, respondents),
            "points": points.ravel(),
        }
    )
    cells = len(VENDORS) * len(NEEDS)
    long_ratings = pd.DataFrame(
        {
            "respondent_id": np.repeat(ids, cells),
            "vendor": np.tile(np.repeat(VENDORS, len(NEEDS)), respondents),
            "need": np.tile(NEEDS, respondents * len(VENDORS)),
            "rating": ratings.ravel(),
        }
    ).dropna()
    return people, long_points, long_ratings


def timed(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def plain_bootstrap(answers: SurveyAnswers, resamples: int) -> Any:
    customers = answers.points[answers.is_customer]
    return stats.bootstrap(
        (customers,),
        np.mean,
        axis=0,
        vectorized=True,
        n_resamples=resamples,
        method="percentile",
        batch=max(1, BATCH_ROWS // (len(customers) * len(NEEDS))),
        rng=np.random.default_rng(0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--respondents", type=int, default=50_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    people, points, ratings = frames(args.respondents)
    print(
        f"{args.respondents:,} respondents ({int(people['function'].notna().sum())} internal), "
        f"{len(points):,} points rows, {len(ratings):,} ratings; {args.resamples:,} resamples; "
        f"median of {args.runs} runs"
    )
    build, answers = timed(
        args.runs, lambda: answers_from_frames(NEEDS, VENDORS, "us", people, points, ratings)
    )
    analysis, result = timed(args.runs, lambda: analyse_needs(answers, resamples=args.resamples, seed=0))
    baseline, _ = timed(args.runs, lambda: plain_bootstrap(answers, args.resamples))
    groups = 1 + len(result.breakdown) + len(result.gaps)
    print(f"frames to arrays       {build:7.2f} s")
    print(f"needs analysis         {analysis:7.2f} s  ({groups} bootstrapped groups; aim: under 10 s)")
    print(f"plain scipy bootstrap  {baseline:7.2f} s  (customers' points only, rows resampled)")
    print(f"ratio analysis / plain {analysis / baseline:7.2f}")


if __name__ == "__main__":
    main()
