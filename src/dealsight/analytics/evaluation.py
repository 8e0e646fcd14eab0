"""Honest evaluation: every method learns from one part of the deals and is scored on deals it never saw.

Metrics, all about the positive outcome (won against everything else, also when the data keeps "lost" and
"no_decision" apart):

* **AUC**: the chance that a won deal gets a higher probability than a deal not won (0.5 is a coin, 1 is a
  perfect ranking); says nothing about calibration.
* **Brier score**: the mean squared difference between the probability and what happened (0 or 1); lower
  is better; the base rate's is ``rate * (1 - rate)``.
* **Log loss**: the mean negative log-likelihood of what happened; probabilities are clipped to
  ``[1e-15, 1 - 1e-15]`` so that one certain mistake costs 34.5, not infinity.
* **Expected calibration error (ECE)**: probabilities put into 10 equal-width bins (0-0.1, ..., 0.9-1; a
  probability of exactly 1 goes in the last), the gap between the bin's mean probability and its observed
  win rate, weighted by the bin's share of the deals. The **reliability table** shows those bins.

Splits (:func:`evaluate_methods`): with ``time``, one time-ordered split: the newest ``test_share`` of the
deals are the test, methods learn only from deals strictly older than every test deal (and, with groups,
from no group that has a row in the test). Without ``time``: repeated stratified K-fold, scikit-learn's
``RepeatedStratifiedKFold``; with groups, whole groups are dealt to folds, round robin within each outcome
after a seeded shuffle (:func:`stratified_folds`: scikit-learn's ``StratifiedGroupKFold`` takes 13 s for the
78,000 opportunities of the IBM data, this a few milliseconds). Metrics are computed per fold; the result
gives their mean and standard deviation, and one reliability table of all out-of-fold predictions pooled.
"""

from __future__ import annotations

import json
import math
import time as clock
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.model_selection import RepeatedStratifiedKFold

from dealsight.errors import FieldProblem, InsufficientDataError, ValidationError

BINS = 10
CLIP = 1e-15
METRICS = ("auc", "brier", "log_loss", "ece")
MIN_PER_SIDE = 10
"""Deals of each side (positive and not) an evaluation needs at least."""
MIN_ROWS = 40


class OutcomeEstimator(Protocol):
    """What :func:`evaluate_methods` needs of a method: scikit-learn's fit/predict_proba with outcomes."""

    classes_: np.ndarray

    def fit(self, X: pd.DataFrame, y: Any, *, time: Any = None, groups: Any = None) -> Any: ...

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray: ...


# -- metrics ----------------------------------------------------------------------------------------------


def auc(positive: Any, probability: Any) -> float:
    """Area under the ROC curve of ``probability`` for the boolean ``positive`` (NaN with one side only)."""
    truth = np.asarray(positive, dtype=bool)
    if truth.all() or not truth.any():
        return math.nan
    return float(metrics.roc_auc_score(truth, np.asarray(probability, dtype=np.float64)))


def brier(positive: Any, probability: Any) -> float:
    """Mean squared difference between the probability and the outcome (1 when positive, else 0)."""
    truth = np.asarray(positive, dtype=bool)
    return float(metrics.brier_score_loss(truth, np.asarray(probability, dtype=np.float64), pos_label=True))


def log_loss(positive: Any, probability: Any) -> float:
    """Mean negative log-likelihood, probabilities clipped to ``[1e-15, 1 - 1e-15]``."""
    truth = np.asarray(positive, dtype=bool)
    clipped = np.clip(np.asarray(probability, dtype=np.float64), CLIP, 1 - CLIP)
    return float(metrics.log_loss(truth, clipped, labels=[False, True]))


def _bins(probability: np.ndarray, bins: int) -> np.ndarray:
    return np.asarray(np.clip(np.floor(probability * bins).astype(np.int64), 0, bins - 1))


def reliability_table(positive: Any, probability: Any, bins: int = BINS) -> pd.DataFrame:
    """One row per equal-width bin: ``lower``, ``upper``, ``mean_predicted``, ``observed_rate`` (NaN for
    an empty bin) and ``count``."""
    truth = np.asarray(positive, dtype=np.float64)
    p = np.asarray(probability, dtype=np.float64)
    where = _bins(p, bins)
    count = np.bincount(where, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.bincount(where, weights=p, minlength=bins) / count
        observed = np.bincount(where, weights=truth, minlength=bins) / count
    edges = np.arange(bins + 1) / bins
    return pd.DataFrame(
        {
            "lower": edges[:-1],
            "upper": edges[1:],
            "mean_predicted": mean_predicted,
            "observed_rate": observed,
            "count": count,
        }
    )


def expected_calibration_error(positive: Any, probability: Any, bins: int = BINS) -> float:
    """Count-weighted mean gap between predicted and observed rates over equal-width bins."""
    table = reliability_table(positive, probability, bins)
    filled = table[table["count"] > 0]
    if filled.empty:
        return math.nan
    gap = (filled["mean_predicted"] - filled["observed_rate"]).abs()
    return float((gap * filled["count"]).sum() / filled["count"].sum())


def scores(positive: Any, probability: Any) -> dict[str, float]:
    """The four metrics of one set of predictions."""
    return {
        "auc": auc(positive, probability),
        "brier": brier(positive, probability),
        "log_loss": log_loss(positive, probability),
        "ece": expected_calibration_error(positive, probability),
    }


# -- splits -----------------------------------------------------------------------------------------------


def stratified_folds(
    labels: Any, folds: int, *, groups: Any = None, random_state: int | None = None
) -> np.ndarray:
    """The fold (0 .. folds-1) of each row: rows (or whole groups) shuffled, then dealt round robin within
    each outcome (a group's outcome is its first row's), so each fold gets its share of every outcome."""
    codes = pd.factorize(np.asarray(labels, dtype=object))[0]
    if groups is None:
        units, unit_label = np.arange(len(codes)), codes
    else:
        units = pd.factorize(np.asarray(groups, dtype=object))[0]
        _, first = np.unique(units, return_index=True)
        unit_label = codes[first]
    rng = np.random.default_rng(random_state)
    order = rng.permutation(len(unit_label))
    order = order[np.argsort(unit_label[order], kind="stable")]
    label_sorted = unit_label[order]
    starts = np.r_[0, np.flatnonzero(label_sorted[1:] != label_sorted[:-1]) + 1]
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    shift = rng.integers(folds, size=len(starts))  # which fold gets the first of each outcome
    fold_of_unit = np.empty(len(order), dtype=np.int64)
    fold_of_unit[order] = (rank + np.repeat(shift, np.diff(np.r_[starts, len(order)]))) % folds
    return fold_of_unit[units]


def time_split(time: Any, test_share: float, groups: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Learning and test rows: the test is the newest ``test_share`` of the rows (every row at or after the
    cut-off time), learning rows are strictly older, and no group with a test row is learnt from."""
    stamps = pd.Series(np.asarray(time)).to_numpy()
    if pd.isna(stamps).any():
        raise ValidationError("time is missing in some rows", [FieldProblem("time", "missing values")])
    order = np.sort(stamps)
    cut = order[min(len(order) - max(round(test_share * len(order)), 1), len(order) - 1)]
    test = np.flatnonzero(stamps >= cut)
    learn = np.flatnonzero(stamps < cut)
    if groups is not None:
        group = np.asarray(groups, dtype=object)
        learn = learn[~pd.Index(group[learn]).isin(pd.Index(group[test]))]
    return learn, test


# -- the evaluation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodResult:
    """One method's metrics: the mean over folds, their standard deviation (NaN with one split), the pooled
    out-of-fold reliability table and the seconds spent learning and predicting."""

    mean: dict[str, float]
    spread: dict[str, float]
    reliability: pd.DataFrame
    seconds: float


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate_methods`; ``to_frame()`` for a table, ``to_dict()``/``to_json()``."""

    results: dict[str, MethodResult]
    positive: Any
    rows: int
    positives: int
    outcomes: dict[str, int]
    split: str
    features: list[str]
    left_out: dict[str, str] = field(default_factory=dict)
    rows_left_out: dict[str, int] = field(default_factory=dict)
    group_column: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """Methods as rows, the four metrics as columns (means over the folds)."""
        return pd.DataFrame({name: r.mean for name, r in self.results.items()}).T[list(METRICS)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": {name: _plain(r.mean) for name, r in self.results.items()},
            "spread": {name: _plain(r.spread) for name, r in self.results.items()},
            "positive": _plain(self.positive),
            "rows": self.rows,
            "positives": self.positives,
            "outcomes": self.outcomes,
            "split": self.split,
            "features": self.features,
            "left_out": self.left_out,
            "rows_left_out": self.rows_left_out,
            "groups": self.group_column,
            "reliability": {
                name: [_plain(row) for row in r.reliability.to_dict(orient="records")]
                for name, r in self.results.items()
            },
            "seconds": {name: round(r.seconds, 2) for name, r in self.results.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        return f"{self.split}\n{self.to_frame().round(4).to_string()}"


def _plain(value: Any) -> Any:
    """JSON-ready: NaN becomes None, numpy scalars Python ones."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def evaluate_methods(
    X: pd.DataFrame,
    y: Any,
    methods: Mapping[str, Callable[[], OutcomeEstimator]],
    *,
    positive: Any,
    time: Any = None,
    groups: Any = None,
    folds: int = 5,
    repeats: int = 1,
    test_share: float = 0.2,
    random_state: int | None = 0,
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Each method (a factory giving a new, unfitted estimator) learnt on the learning part of each split
    only and scored on its test part; see the module's docstring for the splits and metrics."""
    labels = np.asarray(y, dtype=object)
    truth = labels == positive
    if not truth.any():
        raise ValidationError(
            f"the positive outcome {positive!r} does not occur", [FieldProblem("positive", "not an outcome")]
        )
    _check_size(len(labels), truth, folds, time is not None)
    splits, split = _splits(labels, truth, time, groups, folds, repeats, test_share, random_state)
    stamps = None if time is None else np.asarray(time)
    group = None if groups is None else np.asarray(groups, dtype=object)
    results = {}
    for name, factory in methods.items():
        fold_scores: list[dict[str, float]] = []
        pooled_truth, pooled_p = [], []
        started = clock.perf_counter()
        for number, (learn, test) in enumerate(splits, start=1):
            if progress is not None:
                progress(f"{name}: split {number} of {len(splits)}")
            estimator = factory()
            estimator.fit(
                X.iloc[learn],
                labels[learn],
                time=None if stamps is None else stamps[learn],
                groups=None if group is None else group[learn],
            )
            classes = list(estimator.classes_)
            p = estimator.predict_proba(X.iloc[test])[:, classes.index(positive)]
            fold_scores.append(scores(truth[test], p))
            pooled_truth.append(truth[test])
            pooled_p.append(p)
        table = pd.DataFrame(fold_scores)
        results[name] = MethodResult(
            mean={m: float(table[m].mean()) for m in METRICS},
            spread={m: float(table[m].std(ddof=1)) if len(table) > 1 else math.nan for m in METRICS},
            reliability=reliability_table(np.concatenate(pooled_truth), np.concatenate(pooled_p)),
            seconds=clock.perf_counter() - started,
        )
    values, counts = np.unique(labels.astype(str), return_counts=True)
    return Evaluation(
        results=results,
        positive=positive,
        rows=len(labels),
        positives=int(truth.sum()),
        outcomes={str(v): int(c) for v, c in zip(values, counts, strict=True)},
        split=split,
        features=[str(c) for c in X.columns],
    )


def _moment(value: Any) -> str:
    """A time as a reader wants it: the day alone when it is midnight."""
    if isinstance(value, pd.Timestamp | np.datetime64):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat(sep=" ")
    return str(value)


def _check_size(rows: int, truth: np.ndarray, folds: int, timed: bool) -> None:
    won, other = int(truth.sum()), int((~truth).sum())
    if rows < MIN_ROWS or min(won, other) < max(MIN_PER_SIDE, 0 if timed else 2 * folds):
        need = max(MIN_PER_SIDE, 0 if timed else 2 * folds)
        raise InsufficientDataError(
            f"too few deals to evaluate: {rows:,} deals, {won:,} positive and {other:,} other; "
            f"an evaluation needs at least {MIN_ROWS} deals with {need} of each"
        )


def _splits(
    labels: np.ndarray,
    truth: np.ndarray,
    time: Any,
    groups: Any,
    folds: int,
    repeats: int,
    test_share: float,
    random_state: int | None,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    if time is not None:
        learn, test = time_split(time, test_share, groups)
        sides = [int(truth[part].sum()) for part in (learn, test)] + [
            int((~truth[part]).sum()) for part in (learn, test)
        ]
        if min(sides) == 0:
            raise InsufficientDataError(
                f"the time-ordered split leaves {len(learn):,} older deals to learn from and {len(test):,} "
                f"newest to test with {int(truth[test].sum())} positive; both sides need won and lost deals"
            )
        stamps = pd.Series(np.asarray(time))
        text = (
            f"time-ordered: learnt from the {len(learn):,} oldest deals (until "
            f"{_moment(stamps.iloc[learn].max())}), tested on the {len(test):,} newest "
            f"(from {_moment(stamps.iloc[test].min())})"
        )
        return [(learn, test)], text
    if groups is None:
        splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=random_state)
        splits = list(splitter.split(np.zeros(len(labels)), labels))
        return splits, f"stratified {folds}-fold cross-validation, {repeats} time(s), seed {random_state}"
    splits = []
    seeds = np.random.default_rng(random_state).integers(2**31, size=repeats)
    for seed in seeds:
        fold = stratified_folds(labels, folds, groups=groups, random_state=int(seed))
        splits.extend((np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(folds))
    return splits, (
        f"stratified {folds}-fold cross-validation by group, {repeats} time(s), seed {random_state}"
    )


__all__ = [
    "Evaluation",
    "MethodResult",
    "OutcomeEstimator",
    "auc",
    "brier",
    "evaluate_methods",
    "expected_calibration_error",
    "log_loss",
    "reliability_table",
    "scores",
    "stratified_folds",
    "time_split",
]
