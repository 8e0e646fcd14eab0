"""Learning the win probability from a team's closed deals, evaluating it against the baselines in time
order, and scoring open deals: the pure part of deal intelligence (the services load and store).

Training rows are **snapshots**: each closed deal is looked at every :data:`SNAPSHOT_EVERY_DAYS` days of
its life (:func:`dealsight.analytics.indicators.snapshot_pairs`) and its leading indicators are computed
as of each snapshot from what was known then, labelled with how the deal ended. A model learned this way
is valid at any stage of a deal, and nothing known only at close enters a row.

Decisions:

- **Minimum data.** The gradient-boosted model needs :data:`MIN_CLOSED_DEALS` closed deals with at least
  :data:`MIN_PER_OUTCOME` won and as many not won; with less, the product says so (the model's ``note``)
  and falls back to historical stage win rates, which need far less data.
- **Outcomes kept apart.** When at least :data:`MIN_PER_OUTCOME` deals ended in no decision, the model
  learns won / lost / no decision as three outcomes (the chance of no decision is shown too); otherwise
  won against not won.
- **Time-ordered evaluation.** The closed deals are ordered by close; the newest :data:`TEST_SHARE` are
  held out. The model and every baseline learn from the snapshots of the older deals only (all closed by
  the cut-off) and are scored on the held-out deals' snapshots taken at or after the cut-off: exactly what
  a model trained on the cut-off day would have faced. Metrics overall and per stage; the reliability
  table of each method. The stored model is then learned from every closed deal.
- **Large histories are sampled.** Snapshots of one deal a fortnight apart say much the same, so beyond
  :data:`MAX_FIT_SNAPSHOTS` snapshots a model learns from that many drawn at random (seeded), and from
  :data:`REFIT_FROM` snapshots on the booster that was calibrated is kept rather than learned once more on
  every row (a second pass that changes nothing measurable at that size): training on 200,000 closed deals
  then takes seconds per step instead of minutes. The evaluation says how many snapshots the model learned
  from (``fit_snapshots``).
- **Known only at the close.** A feature that alone tells won from not won almost perfectly (AUC of at
  least :data:`LEAK_AUC` on the training snapshots, by its value, its being missing or its categories' win
  rates) is a value the CRM fills in at the close, not a leading indicator: it is left out and the model's
  note names it (maven_crm keeps no amount for lost deals: the amount alone gives AUC 1.00).
- **Baselines always beside the model**: the CRM's stage probability, historical stage win rates and a
  naive Bayes frequency model (:mod:`dealsight.analytics.baselines`).
- **Health** of a scored deal comes from its calibrated chance against the historical win rate of deals in
  its stage: ``at_risk`` below half that rate; ``watch`` below four fifths of it, or when a high-severity
  risk fired; ``good`` otherwise. Risks explain and suggest; the chance, which is evaluated, decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from dealsight.analytics.baselines import CrmStageProbability, NaiveBayesFrequency, StageWinRate
from dealsight.analytics.evaluation import reliability_table, scores
from dealsight.analytics.indicators import (
    INDICATORS,
    MODEL_FEATURES,
    DealData,
    deal_indicators,
    snapshot_pairs,
)
from dealsight.analytics.win_model import WinModel
from dealsight.domain.enums import Outcome

SNAPSHOT_EVERY_DAYS = 14
MIN_CLOSED_DEALS = 200
MIN_PER_OUTCOME = 30
TEST_SHARE = 0.2
LEAK_AUC = 0.97
MIN_STAGE_SNAPSHOTS = 20
MAX_FIT_SNAPSHOTS = 400_000
REFIT_FROM = 100_000
WON = Outcome.WON.value
BASELINES = ("stage_win_rate", "crm_stage_probability", "naive_bayes")
GRADIENT_BOOSTING = "gradient_boosting"
STAGE_WIN_RATES = "stage_win_rates"
LABELS: dict[str, str] = {indicator.name: indicator.label for indicator in INDICATORS}


@dataclass(frozen=True)
class TrainingSet:
    """Snapshots of closed deals: their indicators, how each deal ended and when it closed."""

    indicators: pd.DataFrame
    outcome: np.ndarray
    closed_at: np.ndarray
    closed_deals: int

    @property
    def snapshots(self) -> int:
        return len(self.indicators)


def training_set(data: DealData, until: pd.Timestamp, every_days: int = SNAPSHOT_EVERY_DAYS) -> TrainingSet:
    """The snapshots of every deal closed by ``until``, with their indicators as of each snapshot."""
    pairs = snapshot_pairs(data, every_days=every_days, until=until)
    indicators = deal_indicators(data, pairs[["opportunity_id", "as_of"]])
    return TrainingSet(
        indicators=indicators,
        outcome=pairs["outcome"].astype(str).to_numpy(),
        closed_at=pd.to_datetime(pairs["closed_at"]).to_numpy(),
        closed_deals=int(pairs["opportunity_id"].nunique()),
    )


def thin_history(training: TrainingSet) -> str | None:
    """Why the history is too thin for the gradient-boosted model, or ``None`` when it is enough."""
    deal_ids = training.indicators["opportunity_id"].to_numpy()
    outcomes = pd.Series(training.outcome).groupby(deal_ids).first()
    won = int((outcomes == WON).sum())
    other = int((outcomes != WON).sum())
    if training.closed_deals < MIN_CLOSED_DEALS or won < MIN_PER_OUTCOME or other < MIN_PER_OUTCOME:
        return (
            f"history too thin for the learned model: {training.closed_deals} closed deals ({won} won, "
            f"{other} not won); it needs {MIN_CLOSED_DEALS} with at least {MIN_PER_OUTCOME} of each. "
            "Historical stage win rates are used instead."
        )
    return None


def _labels(outcome: np.ndarray) -> np.ndarray:
    """Three outcomes when no decision is common enough to learn, else won / not won."""
    no_decision = int((outcome == Outcome.NO_DECISION.value).sum())
    if no_decision >= MIN_PER_OUTCOME:
        return outcome
    return np.where(outcome == WON, WON, Outcome.LOST.value)


@dataclass
class WinPredictor:
    """What a scoring run uses: the learned model (or the fallback) and the baselines, fitted together."""

    kind: str
    features: list[str]
    outcomes: list[str]
    stage_rates: StageWinRate
    crm: CrmStageProbability
    naive_bayes: NaiveBayesFrequency | None
    model: WinModel | None = None
    note: str | None = None
    left_out: dict[str, float] = field(default_factory=dict)
    """Features left out as known only at the close, with the AUC each reached alone."""
    labels: dict[str, str] = field(default_factory=lambda: dict(LABELS))

    def factor_frame(self, indicators: pd.DataFrame, top: int = 3) -> pd.DataFrame:
        """The model's top factors for and against each row, long form (:meth:`WinModel.factors` with
        plain-words labels; ``row`` is the row's position); empty for the fallback, which has only the
        stage."""
        if self.model is None:
            return pd.DataFrame(
                columns=["row", "direction", "rank", "feature", "label", "contribution", "value"]
            )
        x = indicators[self.features].reset_index(drop=True)
        # path contributions: they add up to the score like TreeSHAP's and take seconds per million deals
        # (TreeSHAP about a minute); the strongest factor agrees with TreeSHAP's for 75-92% of deals
        return self.model.factors(x, top, labels=self.labels, method="path")

    def factors(self, indicators: pd.DataFrame, top: int = 3) -> list[dict[str, list[dict[str, Any]]]]:
        """Per row: the factors for and against the win, each ``{feature, label, value, weight}``."""
        return factor_words(self.factor_frame(indicators, top), len(indicators))

    def predictions(self, indicators: pd.DataFrame) -> pd.DataFrame:
        """Per row: ``win_probability`` (the model's, or the stage win rate for the fallback),
        ``no_decision_probability`` (when learned) and each baseline's probability."""
        result = pd.DataFrame(index=indicators.index)
        result["stage_win_rate"] = self.stage_rates.win_probability(indicators)
        result["crm_probability"] = self.crm.win_probability(indicators)
        result["naive_bayes_probability"] = (
            np.nan
            if self.naive_bayes is None
            else self.naive_bayes.win_probability(indicators[self.features])
        )
        if self.model is None:
            result["win_probability"] = result["stage_win_rate"]
            result["no_decision_probability"] = np.nan
            return result
        probabilities = self.model.predict_proba(indicators[self.features])
        classes = list(self.model.classes_)
        result["win_probability"] = probabilities[:, classes.index(WON)]
        no_decision = Outcome.NO_DECISION.value
        result["no_decision_probability"] = (
            probabilities[:, classes.index(no_decision)] if no_decision in classes else np.nan
        )
        return result


def _single_feature_auc(values: pd.Series, won: np.ndarray) -> float:
    """How well one feature alone tells won from not won (AUC folded to 0.5-1): its values, its being
    missing, or for a category the win rate of each value (categories with at most 50 values)."""
    scores: list[np.ndarray] = [values.isna().to_numpy(dtype=np.float64)]
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=np.float64)
        if np.isfinite(numbers).any():
            scores.append(np.nan_to_num(numbers, nan=np.nanmedian(numbers)))
    else:
        text = values.astype(object).where(values.notna(), "(missing)").astype(str)
        if text.nunique() <= 50:
            scores.append(text.map(pd.Series(won).groupby(text.to_numpy()).mean()).to_numpy(dtype=np.float64))
    best = 0.5
    for score in scores:
        if np.ptp(score) > 0:
            auc = _auc(won, score)
            best = max(best, auc, 1 - auc)
    return best


def _auc(won: np.ndarray, score: np.ndarray) -> float:
    """The area under the ROC curve by the rank-sum (Mann-Whitney) formula, ties counted half."""
    positive = won.astype(bool)
    n_positive = int(positive.sum())
    n_negative = len(positive) - n_positive
    if not n_positive or not n_negative:
        return 0.5
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))


def known_only_at_close(x: pd.DataFrame, won: np.ndarray, features: list[str]) -> dict[str, float]:
    """Features that alone tell won from not won almost perfectly (AUC at least :data:`LEAK_AUC`): no
    leading indicator does that, a value the CRM fills in at the close does (maven_crm stores no amount
    for lost deals). They are left out of the learned models, and the model's note says so."""
    if len(set(won.tolist())) < 2:
        return {}
    found = {name: _single_feature_auc(x[name], won) for name in features}
    return {name: auc for name, auc in found.items() if auc >= LEAK_AUC}


def fit_rows(rows: np.ndarray, random_state: int) -> np.ndarray:
    """``rows``, or :data:`MAX_FIT_SNAPSHOTS` of them drawn at random (in order) when there are more."""
    if len(rows) <= MAX_FIT_SNAPSHOTS:
        return rows
    drawn = np.random.default_rng(random_state).choice(len(rows), MAX_FIT_SNAPSHOTS, replace=False)
    return rows[np.sort(drawn)]


def _fit(kind: str, training: TrainingSet, rows: np.ndarray, random_state: int) -> WinPredictor:
    rows = fit_rows(rows, random_state)
    x = training.indicators.iloc[rows]
    outcome = training.outcome[rows]
    labels = _labels(outcome)
    won = np.where(outcome == WON, WON, "not_won")
    stage_rates = StageWinRate(column="stage").fit(x, won)
    crm = CrmStageProbability(column="crm_stage_probability").fit(x, won)
    leaky = known_only_at_close(x, (outcome == WON).astype(int), list(MODEL_FEATURES))
    features = [name for name in MODEL_FEATURES if name not in leaky]
    naive_bayes = NaiveBayesFrequency().fit(x[features], won)
    model = None
    if kind == GRADIENT_BOOSTING:
        deals = x["opportunity_id"].to_numpy()
        model = WinModel(random_state=random_state, refit=len(rows) < REFIT_FROM).fit(
            x[features], labels, time=training.closed_at[rows], groups=deals
        )
    return WinPredictor(
        kind=kind,
        features=features,
        outcomes=sorted(set(labels.tolist())),
        stage_rates=stage_rates,
        crm=crm,
        naive_bayes=naive_bayes,
        model=model,
        left_out=leaky,
    )


def fit_predictor(training: TrainingSet, *, random_state: int = 0) -> WinPredictor:
    """The predictor learned from every snapshot: the model, or the fallback when history is too thin."""
    note = thin_history(training)
    kind = STAGE_WIN_RATES if note else GRADIENT_BOOSTING
    predictor = _fit(kind, training, np.arange(training.snapshots), random_state)
    notes = [note] if note else []
    if predictor.left_out:
        told = ", ".join(f"{LABELS.get(n, n)} (alone AUC {auc:.2f})" for n, auc in predictor.left_out.items())
        notes.append(
            f"left out as known only at the close (each alone tells won from lost almost perfectly, which no "
            f"leading indicator does): {told}"
        )
    predictor.note = "; ".join(notes) or None
    return predictor


def evaluate_in_time_order(
    training: TrainingSet, *, test_share: float = TEST_SHARE, random_state: int = 0
) -> dict[str, Any]:
    """The time-ordered evaluation described in the module docstring, JSON-ready: ``cutoff``, counts,
    ``results`` (method -> auc, brier, log_loss, ece), ``by_stage`` (stage -> method -> metrics, n) and
    ``reliability`` (method -> rows of the reliability table)."""
    deal_ids = training.indicators["opportunity_id"].to_numpy()
    deals = (
        pd.DataFrame({"deal": deal_ids, "closed_at": training.closed_at})
        .drop_duplicates("deal")
        .sort_values("closed_at")
    )
    cutoff = pd.Timestamp(deals["closed_at"].iloc[int(len(deals) * (1 - test_share))])
    closed_at = pd.to_datetime(training.closed_at)
    as_of = pd.to_datetime(training.indicators["as_of"]).to_numpy()
    train_rows = np.flatnonzero(closed_at <= cutoff)
    test_rows = np.flatnonzero((closed_at > cutoff) & (as_of >= cutoff.to_datetime64()))
    kind = STAGE_WIN_RATES if thin_history(training) else GRADIENT_BOOSTING
    predictor = _fit(kind, training, train_rows, random_state)
    test = training.indicators.iloc[test_rows]
    won = (training.outcome[test_rows] == WON).astype(int)
    predicted = predictor.predictions(test)
    methods = {
        "model": predicted["win_probability"].to_numpy(),
        "stage_win_rate": predicted["stage_win_rate"].to_numpy(),
        "crm_stage_probability": predicted["crm_probability"].to_numpy(),
        "naive_bayes": predicted["naive_bayes_probability"].to_numpy(),
    }
    by_stage: dict[str, Any] = {}
    stages = test["stage"].astype(str).to_numpy()
    for stage in sorted(set(stages.tolist())):
        rows = stages == stage
        if rows.sum() < MIN_STAGE_SNAPSHOTS or len(set(won[rows].tolist())) < 2:
            continue
        by_stage[stage] = {
            "n": int(rows.sum()),
            "win_rate": float(won[rows].mean()),
            "results": {name: _json(scores(won[rows], p[rows])) for name, p in methods.items()},
        }
    return {
        "kind": kind,
        "cutoff": cutoff.isoformat(),
        "train_snapshots": len(train_rows),
        "fit_snapshots": len(fit_rows(train_rows, random_state)),
        "test_snapshots": len(test_rows),
        "test_deals": int(pd.Series(test["opportunity_id"]).nunique()),
        "test_win_rate": float(won.mean()) if len(won) else None,
        "results": {name: _json(scores(won, p)) for name, p in methods.items()},
        "reliability": {name: _reliability(won, p) for name, p in methods.items()},
        "by_stage": by_stage,
    }


def _reliability(won: np.ndarray, probability: np.ndarray) -> list[dict[str, float | int | None]]:
    """The reliability table's rows as JSON allows them (an empty bin's rates are ``None``)."""
    table = reliability_table(won, probability)
    return [
        {name: None if isinstance(v, float) and np.isnan(v) else _plain(v) for name, v in row.items()}  # type: ignore[misc]
        for row in table.to_dict(orient="records")
    ]


def _json(metrics: Mapping[str, float]) -> dict[str, float | None]:
    """Metrics as JSON allows them (an undefined metric, e.g. AUC of one class, is ``None``)."""
    return {name: None if np.isnan(value) else float(value) for name, value in metrics.items()}


# scoring -------------------------------------------------------------------------------------------------
def health(win_probability: float, stage_win_rate: float, severities: list[str]) -> str:
    """What a deal's chance and risks add up to (module docstring): the model's calibrated chance against
    the historical win rate of its stage first, the playbook's risks second (the rule is :func:`healths`)."""
    return healths(np.array([win_probability]), np.array([stage_win_rate]), np.array(["high" in severities]))[
        0
    ]


def healths(win: np.ndarray, stage_rate: np.ndarray, has_high: np.ndarray) -> list[str]:
    """The health of every deal at once (``has_high``: a high-severity risk fired): ``at_risk`` below half
    the stage's historical win rate; ``watch`` below four fifths of it or with a high-severity risk."""
    known = ~(np.isnan(win) | np.isnan(stage_rate))
    at_risk = known & (win < 0.5 * np.nan_to_num(stage_rate))
    watch = (known & (win < 0.8 * np.nan_to_num(stage_rate))) | has_high
    labels: list[str] = np.where(at_risk, "at_risk", np.where(watch, "watch", "good")).tolist()
    return labels


def factor_words(factors: pd.DataFrame, rows: int) -> list[dict[str, list[dict[str, Any]]]]:
    """Per row position (``factors["row"]`` holds positions 0..rows-1): the factors for and against, each
    ``{feature, label, value, weight}``, strongest first (:meth:`WinModel.factors` output)."""
    words: list[dict[str, list[dict[str, Any]]]] = [{"for": [], "against": []} for _ in range(rows)]
    columns = ["row", "direction", "feature", "label", "contribution", "value"]
    for row, direction, feature, label, weight, value in factors[columns].itertuples(index=False, name=None):
        entry = {
            "feature": str(feature),
            "label": str(label),
            "value": _plain(value),
            "weight": float(weight),
        }
        words[int(row)][str(direction)].append(entry)
    return words


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, (int, float, str)) else str(value)


__all__ = [
    "BASELINES",
    "GRADIENT_BOOSTING",
    "MAX_FIT_SNAPSHOTS",
    "MIN_CLOSED_DEALS",
    "MIN_PER_OUTCOME",
    "SNAPSHOT_EVERY_DAYS",
    "STAGE_WIN_RATES",
    "TrainingSet",
    "WinPredictor",
    "evaluate_in_time_order",
    "factor_words",
    "fit_predictor",
    "health",
    "healths",
    "thin_history",
    "training_set",
]
