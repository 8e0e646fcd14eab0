"""Backtests of the won-count and won-amount forecast: replay each as-of date with only what was known then,
forecast the deals open at that date that will be won within the horizon, compare with what happened.

``backtest(data, start=..., end=...)`` returns a :class:`BacktestResult`; ``to_json()`` gives::

    {"start": ..., "end": ..., "every_days": 7, "horizon_days": 28, "dates": 35,
     "results": {method: {"count": {"mape", "bias", "mdape", "coverage_p10_p90", "dates"},
                          "amount": {...}}},
     "skipped": {method: why}, "notes": [...],
     "rows": [{"as_of", "method", "measure", "p10", "p50", "p90", "expected", "forecast", "actual",
               "dispersion", "calibration_dates", "open_deals"}, ...]}

Metric definitions (all in percent, over the as-of dates whose actual figure is positive for the
percentage errors; ``forecast`` is the method's expected value, the sum of its probabilities, times the
amounts for the amount):

- ``mape``: mean of ``|forecast - actual| / actual``; ``mdape``: its median;
- ``bias``: ``sum(forecast - actual) / sum(actual)`` (positive: the method forecasts too much);
- ``coverage_p10_p90``: share of dates (all of them) whose actual lies within ``[p10, p90]``.

**Honest ranges** (decision). Ranges come from the range engine
(:func:`dealsight.analytics.forecast_simulation.period_ranges`) with a ``dispersion``: the sd of one shock
on the log-odds shared by every deal of a draw; given the shock the deals are independent coin flips, so
the range already holds the flips' own spread and the shock must only add what they do not explain. The
dispersion is calibrated per method and per measure from past errors only, as a split-conformal
quantile:

- every earlier forecast whose horizon had ended by the current date gives the shock ``z*`` that would
  have made its expected value equal what happened (:func:`common_shock`, bisection on
  ``sum w expit(logit p + z*) = actual``) and ``s``, the sd of its coin flips in shock units at ``z*``
  (:func:`shock_noise`: ``sqrt(sum w**2 q(1-q)) / sum w q(1-q)``); a forecast with no uncertain deal of
  positive weight says nothing about the shock and is left out;
- of the latest :data:`CALIBRATION_DATES` of them, the dispersion ``d`` is the smallest for which the
  conformal 80% quantile (rank ``0.8 (n + 1)``, numpy's ``weibull`` method) of the scores
  ``|z*| / sqrt(d**2 + s**2)`` is :data:`COVERAGE_Z` (1.2816, the normal's 90th percentile), i.e. the
  past outcomes would have fallen inside their own P10-P90 80% of the time, the coin flips counted once.
  The conformal rank makes the expected coverage of the next forecast 80% for exchangeable errors (the
  plain ``quantile(..., 0.8)`` of 13 scores covers ~76%). It is 0 when the coin flips alone explain the
  errors.
- With fewer than :data:`MIN_CALIBRATION_DATES` ended forecasts (the conformal rank would exceed ``n``)
  the largest score is used instead and the dispersion is at least :data:`FALLBACK_DISPERSION`; with none
  it is the fallback. ``calibration_dates`` in each row says how many ended forecasts were used and the
  notes count the dates that had too few.

No constant is set from a backtest's outcomes: there is no prior to shrink toward, and the fallback binds
only while fewer than four forecasts have ended. Warm-up dates before ``start`` (up to
:data:`WARMUP_DATES`, every ``every_days``) give the first dates a past; they are not scored. A method
whose probabilities are all 0 or 1 (rep commit) gets no shock (its range is the one figure they give);
deals certain either way are added outside the range engine.

**Speed** (decision). The replay keeps every open deal only at the instants forecast (the dates, the
warm-up and, for ``model``, the earlier dates its ensemble weighs); at the other weeks only a learning
sample of at most :data:`~dealsight.analytics.forecast_replay.SNAPSHOTS_PER_INSTANT` deals (a fixed
order of deal ids, so the choice at a week depends only on who was open then). Fits and member
forecasts are shared by every date and method of one backtest (``HorizonContext.memo``, keyed by the
instant they were made as of); the snapshot model is refitted every 4 steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit, ndtri

from dealsight.analytics.deal_data import DealData
from dealsight.analytics.forecast_replay import (
    as_of_grid,
    deal_lives,
    expected_amounts,
    realised,
    replay_snapshots,
)
from dealsight.analytics.forecast_simulation import Range, period_ranges
from dealsight.analytics.time_to_close import METHODS, HorizonContext, ensemble_instants
from dealsight.errors import FieldProblem, InsufficientDataError, ValidationError

DEFAULT_METHODS = ("stage_weighted", "stage_weighted_ttc", "rep_commit", "competing_risks", "model")
MEASURES = ("count", "amount")
COVERAGE = 0.8
"""The share of outcomes P10-P90 should hold."""
COVERAGE_Z = float(ndtri(0.5 + COVERAGE / 2))  # 1.2816, the 90th percentile of the standard normal
MIN_CALIBRATION_DATES = 4
"""The fewest ended forecasts whose conformal 80% rank ``0.8 (n + 1)`` is at most ``n`` (3 give 3.2)."""
FALLBACK_DISPERSION = 1.0
"""The least dispersion while fewer than :data:`MIN_CALIBRATION_DATES` forecasts have ended (module
docstring): with no evidence yet of how wrong the probabilities are, P10-P90 of the shock moves the odds by
a factor of 3.6 either way. Set a priori, not from a backtest; no maven_crm or demo figure of ``model``
depends on it (docs/forecast-models.md)."""
PRIOR_DISPERSION = FALLBACK_DISPERSION
"""The dispersion a period forecast uses without a stored backtest (:mod:`dealsight.services.forecasts`
imports this name): nothing is known then, so it is the fallback."""
CALIBRATION_DATES = 13
"""The dispersion learns from the errors of at most this many latest ended forecasts (a quarter of weeks):
errors made while the history was thin must not widen the ranges for ever."""
WARMUP_DATES = 12
TRAINING_WEEKS = 104
"""Snapshots for learning go back at most this many steps of ``every_days`` before ``start``."""
Z_BOUND = 4.0


@dataclass(frozen=True)
class BacktestResult:
    """Per method and measure the metrics (module docstring), per date the rows, and what was skipped."""

    start: pd.Timestamp
    end: pd.Timestamp
    every_days: int
    horizon_days: int
    rows: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def results(
        self, since: pd.Timestamp | None = None
    ) -> dict[str, dict[str, dict[str, float | int | None]]]:
        """method -> measure -> metrics, over every date (or those from ``since``)."""
        rows = self.rows if since is None else self.rows[self.rows["as_of"] >= since]
        out: dict[str, dict[str, dict[str, float | int | None]]] = {}
        for (method, measure), part in rows.groupby(["method", "measure"], sort=False):
            out.setdefault(str(method), {})[str(measure)] = forecast_metrics(
                part["forecast"].to_numpy(np.float64),
                part["actual"].to_numpy(np.float64),
                part["p10"].to_numpy(np.float64),
                part["p90"].to_numpy(np.float64),
            )
        return out

    def to_json(self) -> dict[str, Any]:
        rows = self.rows.assign(as_of=self.rows["as_of"].dt.strftime("%Y-%m-%d"))
        return {
            "start": f"{self.start:%Y-%m-%d}",
            "end": f"{self.end:%Y-%m-%d}",
            "every_days": self.every_days,
            "horizon_days": self.horizon_days,
            "dates": int(self.rows["as_of"].nunique()),
            "results": self.results(),
            "skipped": dict(self.skipped),
            "notes": list(self.notes),
            "rows": rows.to_dict(orient="records"),
        }


def forecast_metrics(
    forecast: np.ndarray, actual: np.ndarray, p10: np.ndarray, p90: np.ndarray
) -> dict[str, float | int | None]:
    """``mape``, ``bias``, ``mdape``, ``coverage_p10_p90`` in percent and ``dates`` (module docstring);
    ``None`` where undefined (no date with a positive actual)."""
    positive = actual > 0
    errors = np.abs(forecast[positive] - actual[positive]) / actual[positive]
    total = float(actual.sum())
    inside = (actual >= p10) & (actual <= p90)
    return {
        "mape": float(100 * errors.mean()) if len(errors) else None,
        "bias": float(100 * (forecast - actual).sum() / total) if total > 0 else None,
        "mdape": float(100 * np.median(errors)) if len(errors) else None,
        "coverage_p10_p90": float(100 * inside.mean()) if len(inside) else None,
        "dates": len(actual),
    }


def common_shock(probability: np.ndarray, weight: np.ndarray, actual: float) -> float:
    """The shock ``z`` on every log-odds that makes ``sum weight * expit(logit p + z)`` equal ``actual``
    (clipped to +-:data:`Z_BOUND`); NaN when no uncertain deal (0 < p < 1) has a positive weight (no shock
    changes such a forecast, so its error says nothing about the shock)."""
    p = np.clip(probability, 1e-6, 1 - 1e-6)
    keep = (weight > 0) & (probability > 0)
    if not (keep & (probability < 1)).any():
        return float("nan")
    odds, w = logit(p[keep]), weight[keep]
    low, high = -Z_BOUND, Z_BOUND
    if float((w * expit(odds + low)).sum()) >= actual:
        return low
    if float((w * expit(odds + high)).sum()) <= actual:
        return high
    for _ in range(50):
        middle = (low + high) / 2
        if float((w * expit(odds + middle)).sum()) < actual:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def shock_noise(probability: np.ndarray, weight: np.ndarray, shock: float) -> float:
    """The sd of the won figure's coin flips given the shock, in shock units: ``sqrt(sum w**2 q (1 - q)) /
    sum w q (1 - q)`` over the uncertain deals, ``q = expit(logit p + shock)`` (the flips' sd divided by
    the slope of the expected figure in the shock). NaN when the shock is NaN or nothing is uncertain."""
    uncertain = (weight > 0) & (probability > 0) & (probability < 1)
    if not np.isfinite(shock) or not uncertain.any():
        return float("nan")
    q = expit(logit(probability[uncertain]) + shock)
    spread = q * (1.0 - q)
    w = weight[uncertain]
    slope = float((w * spread).sum())
    return float(np.sqrt((w * w * spread).sum()) / slope) if slope > 0 else float("nan")


def calibrated_dispersion(past_shocks: Sequence[float], past_noise: Sequence[float] | None = None) -> float:
    """The least dispersion that would have put 80% of the past outcomes inside their P10-P90, their coin
    flips (``past_noise``, shock units; none: 0) counted once, by the conformal rank; with fewer than
    :data:`MIN_CALIBRATION_DATES` past outcomes the largest score and at least the fallback (module
    docstring). Pairs with a NaN are left out."""
    shocks = np.abs(np.asarray(past_shocks, dtype=float))
    noise = np.zeros(len(shocks)) if past_noise is None else np.asarray(past_noise, dtype=float)
    known = np.isfinite(shocks) & np.isfinite(noise)
    shocks, noise = shocks[known], noise[known]
    few = len(shocks) < MIN_CALIBRATION_DATES
    if not len(shocks):
        return FALLBACK_DISPERSION

    def excess(dispersion: float) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.nan_to_num(shocks / np.sqrt(dispersion**2 + noise**2), nan=0.0)
        reached = scores.max() if few else np.quantile(scores, COVERAGE, method="weibull")
        return float(reached) - COVERAGE_Z

    if excess(0.0) <= 0:
        dispersion = 0.0
    elif excess(Z_BOUND) >= 0:
        dispersion = Z_BOUND
    else:
        dispersion = float(brentq(excess, 0.0, Z_BOUND, xtol=1e-6))
    return max(dispersion, FALLBACK_DISPERSION) if few else dispersion


@dataclass
class _Forecast:
    as_of: pd.Timestamp
    probability: np.ndarray
    amount: np.ndarray
    actual: dict[str, float]
    shock: dict[str, float]
    noise: dict[str, float]


def horizon_forecast(
    data: DealData,
    as_of: pd.Timestamp | str,
    *,
    horizon_days: int = 28,
    method: str = "model",
    every_days: int = 7,
) -> pd.DataFrame:
    """Per deal open at the end of day ``as_of``: ``opportunity_id``, ``probability`` of being won within
    ``horizon_days`` by ``method`` and the ``amount`` it brings if won, from what was known then (the
    learned methods use weekly snapshots back to :data:`TRAINING_WEEKS` steps, as the backtest does)."""
    if method not in METHODS:
        raise ValidationError(
            "Unknown forecast method.", [FieldProblem("method", f"unknown method {method!r}")]
        )
    instant = as_of_grid(pd.Timestamp(as_of), pd.Timestamp(as_of), every_days)[0]
    lives = deal_lives(data)
    grid = [instant - pd.Timedelta(days=every_days * k) for k in range(TRAINING_WEEKS, -1, -1)]
    forecast_instants = [instant, *ensemble_instants(instant, horizon_days, every_days)]
    snapshots = replay_snapshots(data, grid, lives, forecast_instants=forecast_instants)
    context = HorizonContext(snapshots, data.stages, instant, horizon_days, every_days)
    probability = METHODS[method](context)
    open_rows = context.open_rows
    return pd.DataFrame(
        {
            "opportunity_id": open_rows["opportunity_id"].to_numpy(),
            "probability": np.nan if probability is None else probability,
            "amount": expected_amounts(open_rows, lives, instant),
        }
    )


def backtest(
    data: DealData,
    *,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    every_days: int = 7,
    horizon_days: int = 28,
    methods: Sequence[str] = DEFAULT_METHODS,
    draws: int = 4000,
    seed: int = 0,
) -> BacktestResult:
    """Replay every as-of date from ``start`` to ``end`` (module docstring)."""
    problems = [
        FieldProblem(n, "must be positive")
        for n, v in (("every_days", every_days), ("horizon_days", horizon_days))
        if v < 1
    ]
    problems += [FieldProblem("methods", f"unknown method {m!r}") for m in methods if m not in METHODS]
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end < start:
        problems.append(FieldProblem("end", "is before start"))
    if problems:
        raise ValidationError("The backtest cannot run as asked.", problems)
    dates = as_of_grid(start, end, every_days)
    step = pd.Timedelta(days=every_days)
    lives = deal_lives(data)
    started = lives.start_ns[lives.start_ns != np.iinfo(np.int64).min]
    if not len(started) or started.min() > dates[-1].value:
        raise InsufficientDataError(
            "No deal had started by the end of the backtest: there is nothing to replay."
        )
    first_deal = pd.Timestamp(int(started.min()))
    history = [dates[0] - step * k for k in range(TRAINING_WEEKS, 0, -1)]
    history = [d for d in history if d >= first_deal - step * TRAINING_WEEKS]
    warmup = set(history[-WARMUP_DATES:])
    forecast_instants = {*warmup, *dates}
    if "model" in methods:  # the ensemble weighs its members by the errors of earlier dates
        forecast_instants |= {
            i for d in forecast_instants for i in ensemble_instants(d, horizon_days, every_days)
        }
    snapshots = replay_snapshots(
        data, [*history, *dates], lives, forecast_instants=forecast_instants & {*history, *dates}
    )

    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    memo: dict[Any, Any] = {}  # fits and member forecasts shared by every date and method
    for method in methods:
        past: list[_Forecast] = []
        for as_of in sorted(warmup) + dates:
            context = HorizonContext(snapshots, data.stages, as_of, horizon_days, every_days, memo)
            probability = METHODS[method](context)
            if probability is None:
                skipped[method] = "the data records no forecast categories"
                break
            open_rows = context.open_rows
            amount = expected_amounts(open_rows, lives, as_of)
            won, won_amount = realised(lives, open_rows["row"].to_numpy(np.int64), as_of, horizon_days)
            actual = {"count": float(won.sum()), "amount": float(won_amount.sum())}
            weights = {"count": np.ones(len(probability)), "amount": np.nan_to_num(amount)}
            shock = {m: common_shock(probability, weights[m], actual[m]) for m in MEASURES}
            noise = {m: shock_noise(probability, weights[m], shock[m]) for m in MEASURES}
            forecast = _Forecast(as_of, probability, amount, actual, shock, noise)
            if as_of in dates:
                rows += _scored(forecast, past, weights, horizon_days, method, draws, seed)
            past.append(forecast)
    frame = pd.DataFrame(rows)
    return BacktestResult(start, end, every_days, horizon_days, frame, skipped, _thin_notes(frame))


def _thin_notes(rows: pd.DataFrame) -> tuple[str, ...]:
    """A note per method with dates whose range was calibrated on fewer than the minimum ended forecasts."""
    if rows.empty:
        return ()
    thin = rows[rows["calibration_dates"] < MIN_CALIBRATION_DATES]
    return tuple(
        f"{method}: {part['as_of'].nunique()} of the first dates had fewer than {MIN_CALIBRATION_DATES} "
        f"ended forecasts to calibrate the range on (dispersion at least {FALLBACK_DISPERSION:g})"
        for method, part in thin.groupby("method", sort=False)
        if (part["dispersion"] > 0).any()
    )


def _scored(
    forecast: _Forecast,
    past: list[_Forecast],
    weights: dict[str, np.ndarray],
    horizon_days: int,
    method: str,
    draws: int,
    seed: int,
) -> list[dict[str, Any]]:
    """The rows of one date: per measure the range with the dispersion calibrated on past errors."""
    ended = [f for f in past if f.as_of + pd.Timedelta(days=horizon_days) <= forecast.as_of]
    probability = np.clip(forecast.probability, 0.0, 1.0)
    binary = bool(np.all((probability == 0) | (probability == 1)))
    out = []
    for measure in MEASURES:
        known = [f for f in ended if np.isfinite(f.shock[measure]) and np.isfinite(f.noise[measure])][
            -CALIBRATION_DATES:
        ]
        dispersion = (
            0.0
            if binary
            else calibrated_dispersion([f.shock[measure] for f in known], [f.noise[measure] for f in known])
        )
        figure = _total_range(probability, forecast.amount, measure, dispersion, draws, seed)
        out.append(
            {
                "as_of": forecast.as_of.normalize(),
                "method": method,
                "measure": measure,
                "p10": figure.p10,
                "p50": figure.p50,
                "p90": figure.p90,
                "expected": figure.expected,
                "forecast": float((forecast.probability * weights[measure]).sum()),
                "actual": forecast.actual[measure],
                "dispersion": dispersion,
                "calibration_dates": len(known),
                "open_deals": len(forecast.probability),
            }
        )
    return out


def _total_range(
    probability: np.ndarray, amount: np.ndarray, measure: str, dispersion: float, draws: int, seed: int
) -> Range:
    """The range of the won count or amount. Deals certain to be won (probability 1) add their count and
    amount to every quantile and deals certain not to be (0) nothing, whatever the shock (``logit(p) + z``
    stays infinite), so only the uncertain ones go to the range engine (which would flip the certain ones
    one by one: a small group's deals are simulated exactly)."""
    certain = probability >= 1.0
    uncertain = (probability > 0.0) & ~certain
    sure = float(certain.sum()) if measure == "count" else float(np.nan_to_num(amount[certain]).sum())
    if not uncertain.any():
        return Range(sure, sure, sure, sure)
    ranges = period_ranges(
        probability[uncertain], amount[uncertain], dispersion=dispersion, draws=draws, seed=seed
    ).total
    figure = ranges.count if measure == "count" else ranges.amount
    return Range(figure.p10 + sure, figure.p50 + sure, figure.p90 + sure, figure.expected + sure)


__all__ = [
    "DEFAULT_METHODS",
    "FALLBACK_DISPERSION",
    "MEASURES",
    "PRIOR_DISPERSION",
    "BacktestResult",
    "backtest",
    "calibrated_dispersion",
    "common_shock",
    "forecast_metrics",
    "horizon_forecast",
    "shock_noise",
]
