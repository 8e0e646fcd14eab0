"""The win model: a calibrated win probability learnt from a team's closed deals, with its factors.

:class:`WinModel` follows scikit-learn's estimator contract (a constructor that only stores its parameters,
``fit`` returning the model, fitted attributes ending in ``_``, ``random_state``). Decisions:

* **Booster**: LightGBM gradient-boosted trees on any frame of features (see
  :class:`~dealsight.analytics.tabular.FeatureLayout`): numbers as they are, text and ``category`` columns as
  LightGBM's native categoricals (one feature each; a value not seen when learning counts as missing).
  Outcomes are kept apart as the data has them: two outcomes give a binary model, three ("won", "lost",
  "no_decision") a multiclass one. Defaults: learning rate 0.2, at most 300 trees of 15 leaves, at least 40
  deals a leaf, early stopping after 20 trees without progress on the held-out log loss. On the IBM win/loss
  data (5-fold, leaky columns out) learning rates 0.05-0.2, 15-63 leaves and 20-100 deals a leaf all land
  within AUC 0.842-0.844 and Brier 0.1211-0.1216; 0.2 needs half the trees of 0.1, which halves the time to
  learn and to explain (1,000,000 rows: see benchmarks/win_model.py). Small tables use one thread (see
  :data:`PARALLEL_CELLS`).
* **Calibration** of the positive outcome's probability, on predictions for deals the booster did not learn
  from. With ``time``: the newest ``calibration_share`` of the deals are held out, a booster learns from the
  older ones (stopping early on the held-out deals' log loss) and the calibrator learns from its predictions
  for the held-out deals. Without ``time``: ``calibration_folds``-fold cross-fitting (stratified, deals of
  one group kept together), the held-out predictions of every fold pooled; from 100,000 deals on
  (:data:`CROSS_FIT_ROWS`) one stratified random ``calibration_share`` is held out instead. Then the
  booster is learnt again from all deals with the mean number of trees and the calibrator is applied to it.
  ``refit=False`` keeps the booster of the older deals instead (time given only); refitting is the default
  because the newest deals are the most like tomorrow's: on synthetic data with drift (5,000 to 100,000
  deals, newest 20% tested) it gave the better AUC and Brier score in 5 of 6 cases, at twice the time.
  The calibrator is Platt's sigmoid by default: scikit-learn's ``LogisticRegression`` on the booster's
  log-odds, with its default regularisation, which pulls a slope learnt from few deals toward the base rate.
  ``calibration="isotonic"`` uses scikit-learn's ``IsotonicRegression`` instead, its steps smoothed (see
  :func:`_smoothed_isotonic`). Measured on Maven CRM and synthetic data in time order, IBM in 5 folds and an
  over-fitted booster, isotonic regression never beat the sigmoid on Brier score or log loss, and on Maven
  its end steps said 100% for deals then lost (log loss 0.787 against 0.651; docs/evaluate.md).
* **Multiclass**: the positive outcome's probability is calibrated as above; the other outcomes share what
  is left in the proportions the booster gave them.
* **Factors**: per-feature contributions to the positive outcome's log-odds before calibration (which is
  monotone, so a factor's direction holds for the calibrated probability), from LightGBM's TreeSHAP
  (``pred_contrib=True``, exact; ``method="treeshap"``, the default) or from each deal's path through each
  tree (``method="path"``, Saabas' attribution: the change of the expected score at each split, summed per
  feature). Both add up, with ``expected``, to the deal's score. TreeSHAP costs about a minute per 1,000,000
  rows, fine for a team's open deals; the path attribution takes seconds and agrees on the strongest factor
  for 75-92% of deals (IBM and synthetic data), for bulk use. In a multiclass model the score is the
  positive outcome's log-odds against the geometric mean of all outcomes (softmax scores centred), which
  stays additive.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from dealsight.analytics.evaluation import stratified_folds
from dealsight.analytics.tabular import FeatureLayout, Outcomes
from dealsight.errors import FieldProblem, InsufficientDataError, ValidationError

MIN_CALIBRATION_SIDE = 5
"""Held-out deals of each side (positive and not) the calibrator needs at least."""
ISOTONIC_PRIOR = 2.0
"""Deals' worth of the overall rate added to each isotonic step (see :func:`_smoothed_isotonic`)."""
CHUNK_ROWS = 100_000
CROSS_FIT_ROWS = 100_000
"""From this many deals on, calibration without ``time`` holds out one stratified random ``calibration_share``
(20,000 deals and more: plenty for isotonic regression) instead of cross-fitting, which would cost three
boosters more for no gain."""
PARALLEL_CELLS = 2_000_000
"""Below this many feature values (rows x features) LightGBM learns with one thread: its parallel steps are
then so short that a second thread gains little, and on cores shared with other work it loses several times
(plain LightGBM on 20,000 x 45 with 2 threads on busy cores: 15 s against 1 s). Predicting and explaining use
every core: one long parallel step per call."""
FactorMethod = Literal["treeshap", "path"]


class WinModel(BaseEstimator):  # type: ignore[misc]
    """Calibrated win probability from closed deals (LightGBM, calibrated on deals it did not learn from)."""

    def __init__(
        self,
        *,
        positive: Any = "won",
        learning_rate: float = 0.2,
        max_trees: int = 300,
        num_leaves: int = 15,
        min_child_samples: int = 40,
        subsample: float = 1.0,
        colsample: float = 1.0,
        reg_lambda: float = 1.0,
        early_stopping_rounds: int = 20,
        calibration: Literal["sigmoid", "isotonic"] = "sigmoid",
        calibration_share: float = 0.2,
        calibration_folds: int = 3,
        refit: bool = True,
        booster_params: Mapping[str, Any] | None = None,
        n_jobs: int | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.positive = positive
        self.learning_rate = learning_rate
        self.max_trees = max_trees
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample = colsample
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.calibration_share = calibration_share
        self.calibration_folds = calibration_folds
        self.refit = refit
        self.booster_params = booster_params
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- learning -----------------------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any, *, time: Any = None, groups: Any = None) -> WinModel:
        """Learn from closed deals: ``X`` their features, ``y`` their outcomes, ``time`` (optional) when each
        row was observed (dates or numbers: the newest rows calibrate), ``groups`` (optional) the deal each
        row belongs to (rows of one deal are never split between learning and calibrating)."""
        outcomes = Outcomes.of(y, self.positive)
        if len(outcomes.codes) != len(X):
            raise ValidationError(
                f"{len(X):,} rows of features but {len(outcomes.codes):,} outcomes",
                [FieldProblem("y", "length differs from X")],
            )
        layout = FeatureLayout.learn(X)
        matrix = layout.matrix(X)
        multiclass = len(outcomes.classes) > 2
        label = outcomes.codes if multiclass else outcomes.is_positive.astype(np.float64)
        params = self._params(len(outcomes.classes) if multiclass else 0)
        params["num_threads"] = self._threads(matrix)
        full = lgb.Dataset(
            matrix,
            label,
            feature_name=[f"f{i}" for i in range(len(layout.names))],
            categorical_feature=layout.categorical_positions,
            params=params,
            free_raw_data=False,
        ).construct()
        held_scores, held_rows, trees = [], [], []
        last_booster = None
        stopping: list[Callable[..., Any]] = []
        if self.early_stopping_rounds:
            stopping.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        for learn, held in self._calibration_splits(outcomes, time, groups):
            booster = lgb.train(
                params,
                full.subset(learn.tolist()),
                num_boost_round=self.max_trees,
                valid_sets=[full.subset(held.tolist())],
                callbacks=stopping,
            )
            trees.append(max(booster.best_iteration, 1) if self.early_stopping_rounds else self.max_trees)
            raw = _predict(booster, matrix[held], num_iteration=trees[-1])
            held_scores.append(raw[:, outcomes.positive_index] if multiclass else raw)
            held_rows.append(held)
            last_booster = booster
        held_all = np.concatenate(held_rows)
        self.calibrator_ = _fit_calibrator(
            np.concatenate(held_scores), outcomes.is_positive[held_all], self.calibration
        )
        self.n_trees_ = round(float(np.mean(trees)))
        if self.refit or last_booster is None or len(trees) > 1:
            self.booster_ = lgb.train(params, full, num_boost_round=self.n_trees_)
        else:
            self.booster_ = last_booster
            self.n_trees_ = trees[0]
        self._path_cache: tuple[sparse.csr_matrix, np.ndarray, float] | None = None
        self.layout_ = layout
        self.classes_ = outcomes.classes
        self.positive_index_ = outcomes.positive_index
        self.multiclass_ = multiclass
        self.feature_names_in_ = np.asarray(layout.names, dtype=object)
        self.n_features_in_ = len(layout.names)
        return self

    def _params(self, num_class: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": "multiclass" if num_class else "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "lambda_l2": self.reg_lambda,
            "feature_fraction": self.colsample,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "max_bin": 255,
            "seed": 0 if self.random_state is None else self.random_state,
            "force_col_wise": True,
            "verbose": -1,
        }
        if num_class:
            params["num_class"] = num_class
        params.update(self.booster_params or {})
        return params

    def _calibration_splits(
        self, outcomes: Outcomes, time: Any, groups: Any
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        n = len(outcomes.codes)
        group_codes = None if groups is None else pd.factorize(np.asarray(groups, dtype=object))[0]
        if time is None:
            large = n >= CROSS_FIT_ROWS
            count = max(round(1 / self.calibration_share), 2) if large else self.calibration_folds
            folds = stratified_folds(
                outcomes.codes, count, groups=group_codes, random_state=self.random_state
            )
            splits = [
                (np.flatnonzero(folds != k), np.flatnonzero(folds == k))
                for k in range(1 if large else folds.max() + 1)
            ]
        else:
            stamps = pd.Series(np.asarray(time)).to_numpy()
            if len(stamps) != n or pd.isna(stamps).any():
                raise ValidationError(
                    "time must have one value per row, none missing",
                    [FieldProblem("time", "length or missing")],
                )
            order = np.argsort(stamps, kind="stable")
            cut = n - max(round(self.calibration_share * n), 1)
            held = np.sort(order[cut:])
            learn = np.sort(order[:cut])
            if group_codes is not None:  # a deal seen in the calibration slice is not learnt from
                learn = learn[~np.isin(group_codes[learn], group_codes[held])]
            splits = [(learn, held)]
        held_positive = np.concatenate([outcomes.is_positive[h] for _, h in splits])
        side = min(int(held_positive.sum()), int((~held_positive).sum()))
        if side < MIN_CALIBRATION_SIDE or any(len(learn) == 0 for learn, _ in splits):
            raise InsufficientDataError(
                f"too few deals to learn and calibrate a win probability: {n:,} deals, "
                f"{int(outcomes.is_positive.sum()):,} of them {outcomes.positive!r}; the deals held out to "
                f"calibrate have {int(held_positive.sum())} positive and {int((~held_positive).sum())} other "
                f"outcomes, and at least {MIN_CALIBRATION_SIDE} of each are needed"
            )
        return splits

    # -- predicting ---------------------------------------------------------------------------------------

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of each outcome, columns in ``classes_`` order."""
        matrix = self.layout_.matrix(X)
        raw = _predict(self.booster_, matrix, num_threads=self._threads())
        if not self.multiclass_:
            win = self.calibrator_(raw)
            proba = np.empty((len(raw), 2))
            proba[:, self.positive_index_] = win
            proba[:, 1 - self.positive_index_] = 1.0 - win
            return proba
        win = self.calibrator_(raw[:, self.positive_index_])
        others = raw.copy()
        others[:, self.positive_index_] = 0.0
        rest = others.sum(axis=1, keepdims=True)
        even = np.full_like(others, 1.0 / (others.shape[1] - 1))
        even[:, self.positive_index_] = 0.0
        shares = np.divide(others, rest, out=even, where=rest > 1e-12)  # a certain win: share the rest evenly
        proba = np.asarray(shares * (1.0 - win)[:, None])
        proba[:, self.positive_index_] = win
        return proba

    def win_probability(self, X: pd.DataFrame) -> np.ndarray:
        """The calibrated probability of the positive outcome, one per row."""
        return self.predict_proba(X)[:, self.positive_index_]

    def _threads(self, matrix: np.ndarray | None = None) -> int:
        """``n_jobs`` when given, else every core, except one thread to learn from a small table."""
        if self.n_jobs:
            return int(self.n_jobs)
        if matrix is not None and matrix.size < PARALLEL_CELLS:
            return 1
        return os.cpu_count() or 1

    # -- factors ------------------------------------------------------------------------------------------

    def contributions(self, X: pd.DataFrame, *, method: FactorMethod = "treeshap") -> pd.DataFrame:
        """Each feature's contribution to each row's positive log-odds (before calibration), plus the column
        ``expected`` (the average score); a row's contributions and ``expected`` add up to its score."""
        parts = [part for _, part in self._contribution_chunks(self.layout_.matrix(X), method)]
        values = np.vstack(parts) if parts else np.zeros((0, len(self.layout_.names) + 1))
        return pd.DataFrame(values, index=X.index, columns=[*self.layout_.names, "expected"])

    def factors(
        self,
        X: pd.DataFrame,
        top: int = 3,
        *,
        labels: Mapping[str, str] | None = None,
        method: FactorMethod = "treeshap",
        with_values: bool = True,
    ) -> pd.DataFrame:
        """The ``top`` factors for (positive contribution) and against (negative) each row's win, long form.

        Columns: ``row`` (the row's index label in ``X``), ``direction`` ("for" or "against"), ``rank``
        (1 = strongest), ``feature``, ``label`` (``labels[feature]`` when given, else the feature's name),
        ``contribution`` (log-odds) and, with ``with_values``, ``value`` (the row's value of the feature).
        Rows in ``X`` order, then "for" before "against", then by rank; a feature contributing nothing is no
        factor, so a row may have fewer than ``top`` of either.
        """
        if top < 1:
            raise ValidationError("top must be at least 1", [FieldProblem("top", "must be at least 1")])
        names = self.layout_.names
        k = min(top, len(names))
        positions, slots, codes, strengths = [], [], [], []
        for start, contributions in self._contribution_chunks(self.layout_.matrix(X), method):
            feature = np.hstack([_strongest(contributions[:, :-1], k), _strongest(-contributions[:, :-1], k)])
            strength = np.hstack(
                [
                    np.take_along_axis(contributions, feature[:, :k], 1),
                    -np.take_along_axis(contributions, feature[:, k:], 1),
                ]
            )
            keep = strength > 0  # a feature contributing nothing (or the other way) is no factor
            position, slot = np.nonzero(keep)
            positions.append(position + start)
            slots.append(slot)
            codes.append(feature[keep])
            strengths.append(np.where(slot < k, 1.0, -1.0) * strength[keep])
        position = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
        slot = np.concatenate(slots) if slots else np.zeros(0, dtype=np.int64)
        code = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int64)
        shown = [(labels or {}).get(name, name) for name in names]
        frame = pd.DataFrame(
            {
                "row": X.index.to_numpy()[position],
                "direction": pd.Categorical.from_codes(
                    (slot >= k).astype(np.int64), categories=pd.Index(["for", "against"])
                ),
                "rank": (slot % k + 1).astype(np.int16),
                "feature": pd.Categorical.from_codes(code, categories=pd.Index(names)),
                "label": pd.Categorical.from_codes(code, categories=pd.Index(shown))
                if len(set(shown)) == len(shown)
                else np.asarray(shown, dtype=object)[code],
                "contribution": np.concatenate(strengths) if strengths else np.zeros(0),
            }
        )
        if with_values:
            value = np.empty(len(code), dtype=object)
            for j, name in enumerate(names):
                at = np.flatnonzero(code == j)
                if len(at):
                    value[at] = X[name].iloc[position[at]].to_numpy(dtype=object)
            frame["value"] = value
        return frame

    def _contribution_chunks(
        self, matrix: np.ndarray, method: FactorMethod
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Contributions (features, then the expected score) for each chunk of rows, with its first row."""
        if method not in ("treeshap", "path"):
            raise ValidationError(
                f"unknown factor method {method!r}; use 'treeshap' or 'path'",
                [FieldProblem("method", method)],
            )
        for start in range(0, len(matrix), CHUNK_ROWS):
            chunk = matrix[start : start + CHUNK_ROWS]
            yield start, self._treeshap(chunk) if method == "treeshap" else self._path_contributions(chunk)

    def _treeshap(self, chunk: np.ndarray) -> np.ndarray:
        raw = _predict(self.booster_, chunk, pred_contrib=True, num_threads=self._threads())
        if not self.multiclass_:
            return raw
        per_class = raw.reshape(len(chunk), len(self.classes_), -1)
        return np.asarray(per_class[:, self.positive_index_] - per_class.mean(axis=1))

    def _path_contributions(self, chunk: np.ndarray) -> np.ndarray:
        table, offsets, expected = self._path_table()
        leaves = np.asarray(self.booster_.predict(chunk, pred_leaf=True, num_threads=self._threads()))
        leaves = leaves.astype(np.int64) + offsets
        count, trees = leaves.shape
        visits = sparse.csr_matrix(
            (np.ones(count * trees), leaves.ravel(), np.arange(0, count * trees + 1, trees)),
            shape=(count, table.shape[0]),
        )
        out = np.empty((count, table.shape[1] + 1))
        out[:, :-1] = (visits @ table).toarray()
        out[:, -1] = expected
        return out

    def _path_table(self) -> tuple[sparse.csr_matrix, np.ndarray, float]:
        """Per leaf of every tree, the change of expected score at each split on its path, summed per
        feature (rows: leaves of all trees one after the other); the offsets of each tree's leaves; and the
        expected score (count-weighted over the learning data, as TreeSHAP's)."""
        cached: tuple[sparse.csr_matrix, np.ndarray, float] | None = getattr(self, "_path_cache", None)
        if cached is not None:
            return cached
        trees = self.booster_.dump_model(num_iteration=-1)["tree_info"]
        classes = len(self.classes_) if self.multiclass_ else 1
        rows: list[int] = []
        columns: list[int] = []
        values: list[float] = []
        offsets = np.zeros(len(trees), dtype=np.int64)
        expected = 0.0
        total = 0
        for t, tree in enumerate(trees):
            weight = 1.0
            if classes > 1:
                weight = (1.0 if t % classes == self.positive_index_ else 0.0) - 1.0 / classes
            offsets[t] = total
            node = tree["tree_structure"]
            mean = _node_means(node)
            expected += weight * mean[id(node)]
            _walk_paths(node, mean, weight, total, rows, columns, values)
            total += int(tree["num_leaves"])
        table = sparse.csr_matrix(
            (values, (rows, columns)), shape=(total, len(self.layout_.names)), dtype=np.float64
        )
        cached = (table, offsets, expected)
        self._path_cache = cached
        return cached


def _predict(booster: lgb.Booster, matrix: np.ndarray, **options: Any) -> np.ndarray:
    return np.asarray(booster.predict(matrix, **options), dtype=np.float64)


def _strongest(values: np.ndarray, k: int) -> np.ndarray:
    """Per row, the columns of the ``k`` largest values, largest first (``k`` passes of ``argmax``: for a
    handful of factors several times faster than ``argpartition`` along rows)."""
    work = values.copy()
    rows = np.arange(len(work))
    picks = np.empty((len(work), k), dtype=np.int64)
    for rank in range(k):
        picks[:, rank] = work.argmax(axis=1)
        work[rows, picks[:, rank]] = -np.inf
    return picks


def _node_means(root: dict[str, Any]) -> dict[int, float]:
    """The count-weighted mean leaf value below each node (keyed by ``id`` of the node's dict)."""
    means: dict[int, float] = {}

    def visit(node: dict[str, Any]) -> tuple[float, float]:
        if "leaf_value" in node:
            count = float(node.get("leaf_count", 0))
            means[id(node)] = float(node["leaf_value"])
            return float(node["leaf_value"]) * count, count
        left_sum, left_count = visit(node["left_child"])
        right_sum, right_count = visit(node["right_child"])
        count = left_count + right_count
        means[id(node)] = (left_sum + right_sum) / count if count else 0.0
        return left_sum + right_sum, count

    visit(root)
    return means


def _walk_paths(
    root: dict[str, Any],
    mean: dict[int, float],
    weight: float,
    offset: int,
    rows: list[int],
    columns: list[int],
    values: list[float],
) -> None:
    stack: list[tuple[dict[str, Any], dict[int, float]]] = [(root, {})]
    while stack:
        node, path = stack.pop()
        if "leaf_value" in node:
            leaf = offset + int(node.get("leaf_index", 0))
            for feature, change in path.items():
                rows.append(leaf)
                columns.append(feature)
                values.append(weight * change)
            continue
        feature = int(node["split_feature"])
        for child in (node["left_child"], node["right_child"]):
            step = dict(path)
            step[feature] = step.get(feature, 0.0) + mean[id(child)] - mean[id(node)]
            stack.append((child, step))


class _Calibrator:
    """A monotone map from the booster's positive probability to a calibrated one: Platt's sigmoid
    (``model``: a logistic regression on the log-odds), or isotonic regression whose steps (``steps``: the
    scores and values of scikit-learn's fitted thresholds, smoothed as in :func:`_smoothed_isotonic`)."""

    def __init__(self, method: str, model: Any = None, steps: tuple[np.ndarray, np.ndarray] | None = None):
        self.method = method
        self.model = model
        self.steps = steps

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        if self.steps is not None:
            return np.asarray(np.interp(scores, *self.steps), dtype=np.float64)
        return np.asarray(self.model.predict_proba(_logit(scores)[:, None])[:, 1], dtype=np.float64)


def _smoothed_isotonic(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's isotonic regression, each step's win rate then smoothed toward the overall one.

    A step is the held-out deals isotonic regression gives one value; at the ends a step often holds a
    handful of deals that were all won (or all lost), and plain isotonic regression then says 100% (or 0%)
    for every deal scored beyond them: one such deal lost costs a log loss of 34.5. Each step's rate becomes
    ``(won + ISOTONIC_PRIOR * rate) / (deals + ISOTONIC_PRIOR)`` (negligible for steps of hundreds of deals),
    made monotone again by a second isotonic regression over the steps weighted by their deals.
    """
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, positive)
    fitted = iso.predict(scores)
    values, step, deals = np.unique(fitted, return_inverse=True, return_counts=True)
    won = np.bincount(step, weights=positive.astype(np.float64), minlength=len(values))
    rate = float(positive.mean())
    smoothed = (won + ISOTONIC_PRIOR * rate) / (deals + ISOTONIC_PRIOR)
    smoothed = (
        IsotonicRegression().fit(values, smoothed, sample_weight=deals + ISOTONIC_PRIOR).predict(values)
    )
    thresholds = np.asarray(iso.X_thresholds_, dtype=np.float64)
    position = np.clip(np.searchsorted(values, iso.y_thresholds_), 0, len(values) - 1)
    return thresholds, np.asarray(smoothed[position], dtype=np.float64)


def _fit_calibrator(scores: np.ndarray, positive: np.ndarray, method: str) -> _Calibrator:
    if method not in ("isotonic", "sigmoid"):
        raise ValidationError(
            f"unknown calibration {method!r}; use 'sigmoid' or 'isotonic'",
            [FieldProblem("calibration", method)],
        )
    if method == "isotonic":
        return _Calibrator("isotonic", steps=_smoothed_isotonic(scores, positive))
    platt = LogisticRegression().fit(_logit(scores)[:, None], positive)
    return _Calibrator("sigmoid", model=platt)


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, 1e-9, 1 - 1e-9)
    return np.asarray(np.log(clipped / (1 - clipped)))


__all__ = ["WinModel"]
