"""Baselines shown beside the win model, with its contract: ``fit(X, y, *, time=None, groups=None)``,
``predict_proba(X)`` (columns in ``classes_`` order) and ``win_probability(X)``.

* :class:`BaseRate`: the share of each outcome among the training deals, the same for every deal.
* :class:`StageWinRate`: each stage's historical share of each outcome, smoothed toward the base rate
  (``(count + prior_weight * base_rate) / (deals + prior_weight)``: with the default weight 2 a stage with
  one won deal of one gets ``(1 + 2 * base) / 3``, never 100%); a stage not seen, or missing, gets the base
  rate.
* :class:`CrmStageProbability`: the probability the CRM attaches to the deal (its stage's default or the
  rep's), used as it is; a column whose values go above 1 is in percent and divided by 100; missing gets
  the training base rate. It learns nothing else. The other outcomes share the rest in their training
  proportions.
* :class:`NaiveBayesFrequency`: the naive Bayes frequency model open-source CRMs ship (Odoo's predictive
  lead scoring): for every feature, how often each value occurs among the deals of each outcome, with
  Laplace smoothing, combined with the outcome's prior as if the features were independent
  (scikit-learn's ``CategoricalNB``). Numbers are cut into quantile bins learnt from the training deals;
  missing is a value of its own; a value never seen in training gets smoothed zero counts. Outcomes are kept
  apart as the data has them (with two outcomes this is exactly won against not won).

``time`` and ``groups`` are accepted for a uniform contract and not used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.naive_bayes import CategoricalNB

from dealsight.analytics.tabular import FeatureLayout, Outcomes, category_positions
from dealsight.errors import FieldProblem, ValidationError


class _Baseline(BaseEstimator):  # type: ignore[misc]
    """What every baseline shares: the outcomes learnt in ``fit`` and ``win_probability``."""

    positive: Any
    classes_: np.ndarray
    positive_index_: int
    base_rate_: np.ndarray

    def _learn_outcomes(self, y: Any, rows: int) -> Outcomes:
        outcomes = Outcomes.of(y, self.positive)
        if len(outcomes.codes) != rows:
            raise ValidationError(
                f"{rows:,} rows of features but {len(outcomes.codes):,} outcomes",
                [FieldProblem("y", "length differs from X")],
            )
        self.classes_ = outcomes.classes
        self.positive_index_ = outcomes.positive_index
        self.base_rate_ = outcomes.counts() / len(outcomes.codes)
        return outcomes

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def win_probability(self, X: pd.DataFrame) -> np.ndarray:
        """The probability of the positive outcome, one per row."""
        return self.predict_proba(X)[:, self.positive_index_]

    def _with_win(self, win: np.ndarray) -> np.ndarray:
        """Probabilities per outcome from the positive one: the others share the rest as in training."""
        others = self.base_rate_.copy()
        others[self.positive_index_] = 0.0
        others = others / others.sum()
        proba = np.asarray((1.0 - win)[:, None] * others[None, :])
        proba[:, self.positive_index_] = win
        return proba


def _column(X: pd.DataFrame, column: str, baseline: str) -> pd.Series:
    if column not in X.columns:
        raise ValidationError(
            f"{baseline} needs the column {column!r}, which the data does not have",
            [FieldProblem(column, "missing")],
        )
    return X[column]


class BaseRate(_Baseline):
    """Every deal gets the training share of each outcome."""

    def __init__(self, *, positive: Any = "won") -> None:
        self.positive = positive

    def fit(self, X: pd.DataFrame, y: Any, *, time: Any = None, groups: Any = None) -> BaseRate:
        self._learn_outcomes(y, len(X))
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.tile(self.base_rate_, (len(X), 1))


class StageWinRate(_Baseline):
    """Each stage's training share of each outcome, smoothed toward the base rate."""

    def __init__(self, column: str = "stage", *, positive: Any = "won", prior_weight: float = 2.0) -> None:
        self.column = column
        self.positive = positive
        self.prior_weight = prior_weight

    def fit(self, X: pd.DataFrame, y: Any, *, time: Any = None, groups: Any = None) -> StageWinRate:
        outcomes = self._learn_outcomes(y, len(X))
        stage = _column(X, self.column, "the stage win rate").astype(object)
        known = stage.notna().to_numpy()
        codes, stages = pd.factorize(stage[known], sort=False)
        counts = np.zeros((len(stages), len(self.classes_)))
        np.add.at(counts, (codes, outcomes.codes[known]), 1.0)
        smoothed = (counts + self.prior_weight * self.base_rate_) / (
            counts.sum(axis=1, keepdims=True) + self.prior_weight
        )
        self.stages_ = pd.Index(stages, dtype=object)
        self.rates_ = np.vstack([smoothed, self.base_rate_])  # the last row: unseen or missing stages
        self.deals_per_stage_ = counts.sum(axis=1).astype(np.int64)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        stage = _column(X, self.column, "the stage win rate").astype(object)
        codes = self.stages_.get_indexer(stage)  # -1 (the base-rate row) when unseen or missing
        return np.asarray(self.rates_[codes])


class CrmStageProbability(_Baseline):
    """The CRM's own probability of each deal, used as it is (percent when above 1; missing: base rate)."""

    def __init__(self, column: str = "crm_stage_probability", *, positive: Any = "won") -> None:
        self.column = column
        self.positive = positive

    def fit(self, X: pd.DataFrame, y: Any, *, time: Any = None, groups: Any = None) -> CrmStageProbability:
        self._learn_outcomes(y, len(X))
        values = self._values(X)
        self.percent_ = bool(np.nanmax(values, initial=0.0) > 1.0)
        return self

    def _values(self, X: pd.DataFrame) -> np.ndarray:
        column = _column(X, self.column, "the CRM stage probability")
        return np.asarray(pd.to_numeric(column, errors="coerce"), dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        values = self._values(X)
        if self.percent_ or np.nanmax(values, initial=0.0) > 1.0:
            values = values / 100.0
        win = np.where(np.isnan(values), self.base_rate_[self.positive_index_], np.clip(values, 0.0, 1.0))
        return self._with_win(win)


class NaiveBayesFrequency(_Baseline):
    """Per-feature value frequencies per outcome (Laplace-smoothed), combined under independence."""

    def __init__(self, *, positive: Any = "won", bins: int = 10, alpha: float = 1.0) -> None:
        self.positive = positive
        self.bins = bins
        self.alpha = alpha

    def fit(self, X: pd.DataFrame, y: Any, *, time: Any = None, groups: Any = None) -> NaiveBayesFrequency:
        outcomes = self._learn_outcomes(y, len(X))
        self.layout_ = FeatureLayout.learn(X)
        self.edges_: dict[str, np.ndarray] = {}
        for name in self.layout_.names:
            if name not in self.layout_.categories:
                values = np.asarray(X[name], dtype=np.float64)
                quantiles = np.linspace(0, 1, self.bins + 1)[1:-1]
                known = values[~np.isnan(values)]
                self.edges_[name] = np.unique(np.quantile(known, quantiles)) if len(known) else np.zeros(0)
        codes, sizes = self._codes(X)
        self.model_ = CategoricalNB(alpha=self.alpha, min_categories=sizes).fit(codes, outcomes.codes)
        return self

    def _codes(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each feature as small whole numbers: the bin or seen value, then missing, then unseen."""
        codes = np.empty((len(X), len(self.layout_.names)), dtype=np.int64)
        sizes = np.empty(len(self.layout_.names), dtype=np.int64)
        for j, name in enumerate(self.layout_.names):
            column = _column(X, name, "the naive Bayes baseline")
            seen = self.layout_.categories.get(name)
            if seen is not None:
                value = category_positions(column, seen)
                missing = column.isna().to_numpy()
                value[missing] = len(seen)
                value[(value < 0) & ~missing] = len(seen) + 1
                sizes[j] = len(seen) + 2
            else:
                numbers = np.asarray(column, dtype=np.float64)
                edges = self.edges_[name]
                value = np.searchsorted(edges, numbers, side="right").astype(np.int64)
                value[np.isnan(numbers)] = len(edges) + 1
                sizes[j] = len(edges) + 2
            codes[:, j] = value
        return codes, sizes

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        codes, _ = self._codes(X)
        return np.asarray(self.model_.predict_proba(codes))


__all__ = ["BaseRate", "CrmStageProbability", "NaiveBayesFrequency", "StageWinRate"]
