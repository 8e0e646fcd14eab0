"""Benchmark (issue 4): train the win model on 200,000 closed deals and score 1,000,000 open deals.

    .venv/bin/python benchmarks/deal_scoring.py                         # 200k closed, 1M open, 3 runs
    .venv/bin/python benchmarks/deal_scoring.py --closed 20000 --open 100000 --runs 1   # a quick look

Data: the synthetic organisations of ``benchmarks/indicators.py`` (seeded, vectorised: ~8 history rows,
~8 activities with attendees, 3 contacts and ~5 answers per deal). For training, every deal of one such
organisation lives 30-240 days (its recorded instants moved toward its start, order and values kept) and
is closed a few days after its last recorded change (a stage change to Closed Won or Closed Lost, appended
to its history), won with a chance that rises with how far it had got and its qualification, so the
model has something to learn.

Measured, each the median of ``--runs`` runs, on what the product runs (:mod:`dealsight.services.scoring`
without the database: reading and writing are timed by ``benchmarks/indicators.py --load`` and apart):

- **training** as ``dealsight train`` does it: snapshots of every closed deal every 14 days with their
  indicators, the time-ordered evaluation against the baselines, and the final fit (each fit on at most
  ``MAX_FIT_SNAPSHOTS`` snapshots drawn at random);
  baseline in the same run: fitting the three baselines alone on the same snapshots;
- **scoring** every open deal now: indicators, the model's probability beside the baselines, the top
  three factors for and against, the default playbook's risks, health and the insight rows the store
  takes; baseline in the same run: :func:`dealsight.analytics.replay.state_as_of` of every deal (the
  replay the pipeline summary runs).

Aims (issue 4): scoring under 30 s, training under 60 s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dealsight.analytics.baselines import CrmStageProbability, NaiveBayesFrequency, StageWinRate
from dealsight.analytics.deal_data import DealData
from dealsight.analytics.indicators import INDICATOR_NAMES, MODEL_FEATURES
from dealsight.analytics.playbook import default_playbook
from dealsight.analytics.replay import OPPORTUNITY_COLUMNS, state_as_of
from dealsight.analytics.win_training import (
    WinPredictor,
    evaluate_in_time_order,
    fit_predictor,
    training_set,
)
from dealsight.domain.enums import Outcome
from dealsight.services.scoring import insight_rows, open_pairs
from indicators import DAY, NOW, synthetic_data

OPEN_STAGES = ("Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation")


def _compressed(frame: pd.DataFrame, column: str, start: pd.Series, factor: pd.Series) -> pd.DataFrame:
    """``frame`` with each deal's instants in ``column`` moved toward the deal's start by its ``factor``
    (order and values kept: the deal's life is only made shorter)."""
    frame = frame.copy()
    deal = frame["opportunity_id"]
    begin = deal.map(start).to_numpy()
    offset = (pd.to_datetime(frame[column]).to_numpy() - begin).astype(np.int64)
    moved = begin + (offset * deal.map(factor).to_numpy()).astype(np.int64).astype("timedelta64[ns]")
    frame[column] = moved.astype("datetime64[s]").astype("datetime64[ns]")
    return frame


def closed_organisation(deals: int, seed: int) -> DealData:
    """A synthetic organisation whose every deal has closed after a life of 30-240 days (see the module
    docstring)."""
    data = synthetic_data(deals, seed)
    rng = np.random.default_rng(seed + 1)
    o = data.opportunities.copy()
    start = pd.Series(pd.to_datetime(o["created_date"]).to_numpy(), index=o["id"].to_numpy())
    span = (NOW - start.to_numpy()).astype(np.int64)
    life = rng.uniform(30, 240, deals) * DAY.astype(np.int64)
    factor = pd.Series(np.minimum(life / np.maximum(span, 1), 1.0), index=start.index)
    history = _compressed(data.history, "changed_at", start, factor)
    # instants within a deal stay distinct: one change per deal, field and second
    history = history.drop_duplicates(["opportunity_id", "field", "changed_at"])
    activities = _compressed(data.activities, "occurred_at", start, factor)
    attendees = _compressed(data.activity_contacts, "occurred_at", start, factor)
    answers = _compressed(data.answers, "answered_at", start, factor)
    last = history.groupby("opportunity_id")["changed_at"].max()
    last_change = last.reindex(o["id"]).to_numpy()
    last_change = np.where(pd.isna(last_change), start.to_numpy(), last_change).astype("datetime64[ns]")
    closed_at = last_change + (rng.uniform(1, 20, deals) * DAY.astype(np.int64)).astype("timedelta64[ns]")
    closed_at = np.minimum(closed_at, NOW - DAY).astype("datetime64[s]").astype("datetime64[ns]")
    closed_at = np.maximum(closed_at, last_change + np.timedelta64(1, "s"))
    position = pd.Series(o["stage"]).map({s: i for i, s in enumerate(OPEN_STAGES)}).fillna(0).to_numpy()
    answered = answers.groupby("opportunity_id").size().reindex(o["id"]).fillna(0).to_numpy()
    logit = -2.0 + 0.6 * position + 0.25 * answered + rng.normal(0, 1, deals)
    won = rng.random(deals) < 1 / (1 + np.exp(-logit))
    no_decision = ~won & (rng.random(deals) < 0.3)
    outcome = np.where(
        won, Outcome.WON.value, np.where(no_decision, Outcome.NO_DECISION.value, Outcome.LOST.value)
    )
    final = np.where(won, "Closed Won", "Closed Lost")
    closes = pd.DataFrame(
        {
            "opportunity_id": o["id"].to_numpy(),
            "field": "stage",
            "changed_at": closed_at,
            "old_value": o["stage"].to_numpy(),
            "new_value": final,
        }
    )
    o["stage"] = final
    o["outcome"] = outcome
    o["closed_date"] = pd.to_datetime(closed_at).normalize()
    history = pd.concat([history, closes.astype(history.dtypes.to_dict())], ignore_index=True)
    history = history.sort_values(["opportunity_id", "changed_at"], kind="stable").reset_index(drop=True)
    return DealData(
        opportunities=o,
        history=history,
        activities=activities,
        activity_contacts=attendees,
        deal_contacts=data.deal_contacts,
        questions=data.questions,
        answers=answers,
        stages=data.stages,
    )


def median_of(action: Callable[[], Any], runs: int) -> tuple[float, list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        result = None
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, result


def show(name: str, median: float, times: list[float], baseline: float, aim: float) -> None:
    runs = ", ".join(f"{t:.1f}" for t in times)
    verdict = "meets" if median < aim else "misses"
    ratio = median / baseline
    print(f"  {name}: median {median:.1f} s (runs {runs}); baseline {baseline:.1f} s, ratio {ratio:.1f}")
    print(f"  aim under {aim:.0f} s: {verdict}")


def bench_training(closed_deals: int, runs: int) -> WinPredictor:
    """Time training as ``dealsight train`` does it; the predictor of the last run."""
    print(f"generating {closed_deals:,} closed deals", flush=True)
    closed = closed_organisation(closed_deals, seed=11)
    until = pd.Timestamp(NOW)

    def baselines_only() -> None:
        training = training_set(closed, until)
        won = np.where(training.outcome == "won", "won", "not_won")
        x = training.indicators
        StageWinRate().fit(x, won)
        CrmStageProbability().fit(x, won)
        NaiveBayesFrequency().fit(x[list(MODEL_FEATURES)], won)

    def train() -> Any:
        training = training_set(closed, until)
        evaluation = evaluate_in_time_order(training)
        predictor = fit_predictor(training)
        return training, evaluation, predictor

    print("training", flush=True)
    base, _, _ = median_of(baselines_only, runs)
    median, times, (training, evaluation, predictor) = median_of(train, runs)
    print(
        f"training on {training.closed_deals:,} closed deals ({training.snapshots:,} snapshots), "
        f"kind {predictor.kind}; held-out model Brier {evaluation['results']['model']['brier']:.3f} against "
        f"stage win rates {evaluation['results']['stage_win_rate']['brier']:.3f}"
    )
    show("train (snapshots, time-ordered evaluation, refit)", median, times, base, 60)
    return predictor  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--closed", type=int, default=200_000, help="closed deals to train on")
    parser.add_argument("--open", type=int, default=1_000_000, help="open deals to score")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    predictor = bench_training(args.closed, args.runs)

    print(f"generating {args.open:,} open deals", flush=True)
    data = synthetic_data(args.open, seed=5)
    book = default_playbook([*INDICATOR_NAMES, "win_probability"])
    pairs = open_pairs(data, pd.Timestamp(NOW).to_pydatetime())
    stage_outcomes = {
        str(n): Outcome(o) if isinstance(o, str) else None
        for n, o in zip(data.stages["name"], data.stages["outcome"], strict=True)
    }
    opportunities = data.opportunities[list(OPPORTUNITY_COLUMNS)]
    history = data.history.astype({"field": object})

    print("scoring", flush=True)
    base, _, _ = median_of(
        lambda: state_as_of(opportunities, history, stage_outcomes, pd.Timestamp(NOW).to_pydatetime()),
        args.runs,
    )
    median, times, rows = median_of(
        lambda: insight_rows(predictor, book, data, pairs, None, pd.Timestamp(NOW).to_pydatetime()), args.runs
    )
    risks = sum(row["risk_count"] for row in rows)
    print(f"scoring {len(rows):,} open deals: {risks:,} risks; factors for every deal")
    show(
        "score (indicators, probability and baselines, factors, risks, insight rows)", median, times, base, 30
    )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
