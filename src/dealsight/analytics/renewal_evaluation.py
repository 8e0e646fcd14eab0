"""Honest evaluation of renewal risk: the baselines it must beat and the learning sample of a history.

* :class:`LogisticRegressionBaseline`: the churn model most teams would build first (scikit-learn's
  ``LogisticRegression`` on standardised numbers, their missing values imputed with the median and flagged,
  and one-hot categories), with the estimator contract :func:`~dealsight.analytics.evaluation.
  evaluate_methods` needs.
* :class:`OnColumns`: any method restricted to some feature columns, e.g. the **usage-only** model (the
  renewal model on usage signals alone: what a login-based health score knows).
* :func:`renewal_snapshots`: each decided renewal looked at :data:`LEADS` days before its renewal date
  (never on or after the day it was decided), its features as of that moment only (so a renewal's
  snapshots hold nothing known later), labelled with how it ended; what the renewal model learns from and
  is evaluated on.
* :func:`renewal_methods`: the methods compared on a team's history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from dealsight.analytics.baselines import BaseRate
from dealsight.analytics.evaluation import OutcomeEstimator
from dealsight.analytics.renewal_features import (
    SUPPORT_FEATURES,
    USAGE_FEATURES,
    RenewalEvidence,
    renewal_features,
)
from dealsight.analytics.renewal_risk import NOT_RENEWED, RENEWED, RenewalModel
from dealsight.analytics.tabular import Outcomes

LEADS = (30, 90, 180, 270)
"""Days before a renewal's date at which it is looked at (a renewal is worked on for months; 270 days
teaches the model what a young subscription looks like, a year ahead of its first renewal)."""


class LogisticRegressionBaseline(BaseEstimator):  # type: ignore[misc]
    """Logistic regression on one-hot categories and standardised numbers (median-imputed, flagged)."""

    def __init__(self, *, positive: Any = RENEWED, C: float = 1.0, max_iter: int = 2000) -> None:
        self.positive = positive
        self.C = C
        self.max_iter = max_iter

    def fit(
        self, X: pd.DataFrame, y: Any, *, time: Any = None, groups: Any = None
    ) -> LogisticRegressionBaseline:
        outcomes = Outcomes.of(y, self.positive)
        numeric = [
            c
            for c in X.columns
            if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
        ]
        categorical = [c for c in X.columns if c not in numeric]
        numbers = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
        categories = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="(missing)"),
            OneHotEncoder(handle_unknown="ignore"),
        )
        columns = ColumnTransformer([("numbers", numbers, numeric), ("categories", categories, categorical)])
        self.pipeline_ = Pipeline(
            [("columns", columns), ("logistic", LogisticRegression(C=self.C, max_iter=self.max_iter))]
        )
        frame = X.copy()
        for name in categorical:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None).astype(str)
        self.categorical_ = categorical
        self.pipeline_.fit(frame, outcomes.is_positive)
        self.classes_ = outcomes.classes
        self.positive_index_ = outcomes.positive_index
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        frame = X.copy()
        for name in self.categorical_:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None).astype(str)
        p = self.pipeline_.predict_proba(frame)[:, 1]
        proba = np.empty((len(X), len(self.classes_)))
        proba[:, self.positive_index_] = p
        proba[:, 1 - self.positive_index_] = 1.0 - p
        return proba


class OnColumns(BaseEstimator):  # type: ignore[misc]
    """A method (``factory()`` gives a new one) that sees only ``columns`` of the features."""

    def __init__(self, factory: Callable[[], Any], columns: Sequence[str]) -> None:
        self.factory = factory
        self.columns = columns

    def fit(self, X: pd.DataFrame, y: Any, *, time: Any = None, groups: Any = None) -> OnColumns:
        self.estimator_ = self.factory().fit(X[list(self.columns)], y, time=time, groups=groups)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(X[list(self.columns)]))


def renewal_snapshots(
    events: pd.DataFrame, evidence: RenewalEvidence, *, leads: Sequence[int] = LEADS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The decided renewals of ``events`` (:func:`~dealsight.analytics.renewal_features.renewal_events`),
    each looked at ``leads`` days before its renewal date: the snapshot rows (``subscription_id``,
    ``account_id``, ``renewal_date``, ``decided_on``, ``at``, ``arr``, ``outcome``: ``renewed`` or
    ``not_renewed``) and their features. A look on or after the day the renewal was decided (a customer's
    notice before the renewal date) or before the subscription started is left out.

    Looks are counted from the renewal date, not from the decision: a look counted from an early notice
    would sit further from its renewal date than a renewed one's, and the model would learn that a distant
    renewal date means churn (it did, on the demo, before this rule)."""
    decided = events[events["renewed"].notna()]
    starts = evidence.subscriptions.set_index("id")["term_start"] if len(evidence.subscriptions) else None
    parts = []
    for lead in leads:
        part = decided.assign(at=pd.to_datetime(decided["renewal_date"]) - pd.Timedelta(days=lead))
        part = part[part["at"] < pd.to_datetime(part["decided_on"])]
        if starts is not None:
            began = pd.to_datetime(part["subscription_id"].map(starts))
            part = part[~(part["at"] < began)]
        parts.append(part)
    rows = (
        pd.concat(parts, ignore_index=True) if parts else decided.assign(at=pd.Series(dtype="datetime64[ns]"))
    )
    rows["outcome"] = np.where(rows["renewed"].astype(bool), RENEWED, NOT_RENEWED)
    rows = rows.sort_values(["decided_on", "subscription_id", "at"], kind="stable").reset_index(drop=True)
    return rows, renewal_features(rows, evidence)


def renewal_methods(seed: int = 0) -> dict[str, Callable[[], OutcomeEstimator]]:
    """The methods compared on a team's renewals: the renewal model on every signal, the same model on
    usage alone and on usage and support (a login-and-tickets health score), a logistic regression on
    every signal, and the base rate."""
    usage_support = (*USAGE_FEATURES, *SUPPORT_FEATURES)
    return {
        "model": lambda: RenewalModel(random_state=seed),
        "usage_only": lambda: OnColumns(
            lambda: RenewalModel(random_state=seed, monotone=False), USAGE_FEATURES
        ),
        "usage_and_support": lambda: OnColumns(
            lambda: RenewalModel(random_state=seed, monotone=False), usage_support
        ),
        "logistic_regression": lambda: LogisticRegressionBaseline(),
        "base_rate": lambda: BaseRate(positive=RENEWED),
    }


def decided_before(events: pd.DataFrame, day: date) -> pd.DataFrame:
    """The renewals decided before ``day`` (what a model trained on that day may learn from)."""
    return events[events["renewed"].notna() & (pd.to_datetime(events["decided_on"]) < pd.Timestamp(day))]


__all__ = [
    "LEADS",
    "LogisticRegressionBaseline",
    "OnColumns",
    "decided_before",
    "renewal_methods",
    "renewal_snapshots",
]
