"""Playbook speed: the default playbook assessed over a synthetic indicator frame, median of several runs.

Run from the repository root::

    .venv/bin/python -m benchmarks.playbook                    # 1,000,000 rows, 3 runs
    .venv/bin/python benchmarks/playbook.py --rows 100000 --runs 5

The frame has every indicator column of docs/playbook.md (and ``win_probability``), drawn from seeded
distributions shaped like a real pipeline: each deal seen at 12 monthly as-of dates (rows in no
particular order), stage ages log-normal around the stage's typical, 5-30% of most indicators unknown
(NaN / None). The rates are deliberately pessimistic (about three risks per row), so the text formatting
and the ordering are exercised, not only the masks.

Printed: median (min-max) seconds of ``assess`` (parsing is timed apart), rows per second, the risks found
and the share of rows with at least one; and, as the baseline measured in the same run, the time to
evaluate the rules' conditions alone (masks: no texts, no ordering), so the cost of the texts and the
ordering shows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dealsight.analytics.playbook import DEFAULT_SOURCE, Playbook, assess, parse_playbook
from dealsight.analytics.rule_values import Scope

STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Proposal", "Negotiation")
PROBABILITY = (0.1, 0.2, 0.4, 0.6, 0.8)
TYPICAL = (12.0, 15.0, 21.0, 19.0, 14.0)
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
COMPETITORS = ("Acme", "Globex", "Initech", "Umbrella")


def _unknown(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    out = values.astype(np.float64)
    out[rng.random(len(out)) < share] = np.nan
    return out


def _flag(rng: np.random.Generator, n: int, rate: float, unknown: float = 0.1) -> np.ndarray:
    return _unknown(rng, (rng.random(n) < rate).astype(np.float64), unknown)


def _text(rng: np.random.Generator, choices: tuple[str, ...], n: int, unknown: float) -> np.ndarray:
    values = np.array(choices, dtype=object)[rng.integers(0, len(choices), n)]
    values[rng.random(n) < unknown] = None
    return values


def indicator_frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """A synthetic frame with every indicator column (see the module docstring)."""
    rng = np.random.default_rng(seed)
    deal, month = np.divmod(rng.permutation(rows), 12)  # each deal seen at up to 12 monthly as-of dates
    stage = rng.integers(0, len(STAGES), rows)
    typical = np.array(TYPICAL)[stage] * rng.uniform(0.8, 1.2, rows)
    stage_age = np.round(typical * rng.lognormal(0.0, 0.7, rows))
    amount = np.round(rng.lognormal(10.5, 1.0, rows), -2)
    recent = rng.poisson(3.0, rows).astype(np.float64)
    prior = rng.poisson(6.0, rows).astype(np.float64)
    contacts = rng.poisson(3.0, rows).astype(np.float64)
    pushes = rng.poisson(0.6, rows).astype(np.float64)
    preferred = _flag(rng, rows, 0.12, 0.3)
    phase = _text(rng, ("awareness", "interest", "preference", "decision"), rows, 0.3)
    impact = _text(rng, ("low", "medium", "high", "critical"), rows, 0.3)
    high = np.isin(impact, ["high", "critical"]).astype(np.float64)
    engaged = _text(rng, ("yes", "no", "unknown"), rows, 0.0)
    return pd.DataFrame(
        {
            "opportunity_id": deal + 1,
            "as_of": pd.Timestamp("2024-01-31") + pd.to_timedelta(month * 30, unit="D"),
            "owner_id": rng.integers(1, 200, rows),
            "stage": np.array(STAGES, dtype=object)[stage],
            "stage_position": stage + 1.0,
            "segment": _text(rng, SEGMENTS, rows, 0.05),
            "product": _text(rng, ("Core", "Analytics", "Platform"), rows, 0.1),
            "source": _text(rng, ("inbound", "outbound", "partner"), rows, 0.2),
            "forecast_category": _text(rng, ("pipeline", "best_case", "commit"), rows, 0.05),
            "amount": _unknown(rng, amount, 0.05),
            "amount_percentile": _unknown(rng, rng.random(rows), 0.05),
            "deal_age_days": rng.integers(1, 400, rows).astype(np.float64),
            "crm_stage_probability": _unknown(rng, np.array(PROBABILITY)[stage], 0.1),
            "stage_age_days": stage_age,
            "typical_stage_days": _unknown(rng, np.round(typical), 0.1),
            "typical_stage_days_p75": np.round(typical * 1.4),
            "stage_age_ratio": stage_age / typical,
            "close_date_pushes": pushes,
            "days_pushed": pushes * rng.integers(5, 40, rows),
            "close_date_passed": _flag(rng, rows, 0.08, 0.05),
            "days_to_expected_close": rng.integers(-60, 180, rows).astype(np.float64),
            "amount_changes": rng.poisson(0.5, rows).astype(np.float64),
            "amount_change_share": _unknown(rng, rng.normal(0.0, 0.2, rows), 0.1),
            "days_since_activity": _unknown(rng, rng.exponential(12.0, rows).round(), 0.1),
            "activities_30d": recent,
            "activities_prior_60d": prior,
            "activity_trend": np.log((recent + 1) / (prior / 2 + 1)),
            "sponsor_recorded": _flag(rng, rows, 0.5),
            "sponsor_engaged": _flag(rng, rows, 0.6),
            "executives_engaged": rng.poisson(1.0, rows).astype(np.float64),
            "contacts": contacts,
            "key_players_known": rng.poisson(1.2, rows).astype(np.float64),
            "supporter_share": _unknown(rng, rng.random(rows), 0.3),
            "opponents": rng.poisson(0.3, rows).astype(np.float64),
            "questions_due": rng.integers(0, 10, rows).astype(np.float64),
            "questions_answered_share": _unknown(rng, rng.random(rows), 0.1),
            "essential_unanswered": rng.poisson(0.4, rows).astype(np.float64),
            "essential_no": rng.poisson(0.05, rows).astype(np.float64),
            "buyer_phase": phase,
            "engaged_before_preference": engaged,
            "problem_impact": impact,
            "high_impact": high,
            "late_on_high_impact": high * (engaged == "no"),
            "competitors": rng.poisson(1.0, rows).astype(np.float64),
            "competitor_preferred": preferred,
            "preferred_competitor": np.where(
                preferred == 1, _text(rng, COMPETITORS, rows, 0.2), np.array(None)
            ),
            "problem_recorded": _flag(rng, rows, 0.8),
            "impact_recorded": _flag(rng, rows, 0.7),
            "compelling_event_recorded": _flag(rng, rows, 0.6),
            "decision_criteria_recorded": _flag(rng, rows, 0.6),
            "ubv_recorded": _flag(rng, rows, 0.6),
            "win_probability": _unknown(rng, rng.beta(2.0, 3.0, rows), 0.05),
        }
    )


def _parse(text: str, known: list[str]) -> Playbook:
    return parse_playbook(text, source=DEFAULT_SOURCE, known=known)


def _conditions_only(playbook: Playbook, frame: pd.DataFrame) -> int:
    scope = Scope(frame, dict(playbook.definitions))
    return sum(int(rule.condition.holds(scope).sum()) for rule in playbook.rules)


T = TypeVar("T")


def _timed(function: Callable[[], T], runs: int) -> tuple[list[float], T]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return times, result


def _summary(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} s ({min(times):.2f}-{max(times):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    frame = indicator_frame(args.rows)
    text = (
        resources.files("dealsight.analytics").joinpath("default_playbook.yaml").read_text(encoding="utf-8")
    )
    parse_times, playbook = _timed(lambda: _parse(text, list(frame.columns)), runs=3)
    base_times, matches = _timed(lambda: _conditions_only(playbook, frame), runs=args.runs)
    times, risks = _timed(lambda: assess(playbook, frame), runs=args.runs)
    flagged = risks[["opportunity_id", "as_of"]].drop_duplicates().shape[0]
    median = statistics.median(times)
    parsed_ms = statistics.median(parse_times) * 1000
    print(f"default playbook: {len(playbook.rules)} rules, parsed in {parsed_ms:.1f} ms (median)")
    print(f"rows: {args.rows:,}, runs: {args.runs}")
    print(f"conditions only (baseline): {_summary(base_times)}, {matches:,} matches")
    ratio = median / statistics.median(base_times)
    print(f"assess: {_summary(times)}, {args.rows / median:,.0f} rows/s, {ratio:.1f}x the conditions alone")
    per_row = len(risks) / args.rows
    print(f"risks: {len(risks):,} ({per_row:.2f} per row), rows with a risk: {flagged / args.rows:.0%}")


if __name__ == "__main__":
    main()
