"""Training the win model and scoring the open pipeline: the use cases behind ``dealsight train`` and
``dealsight score`` (the analytics are in :mod:`dealsight.analytics.win_training`).

- **Training** reads every deal, takes snapshots of the closed ones, evaluates the model against the
  baselines in time order, refits it on every closed deal and stores it as a new version (with its
  evaluation, the library versions it was made with and the fitted object), which becomes the active
  one. Too little history gives the fallback of historical stage win rates, stored the same way with a
  note saying why.
- **Scoring** computes, for every open deal as of now, its leading indicators, the model's win
  probability beside the baselines, the top factors for and against, the risks of the team's playbook
  (``DEALSIGHT_PLAYBOOK``, else the shipped default) and the health they add up to; it replaces the stored
  insights and appends to the score history in one transaction. It first retrains when there is no model,
  when the active one was trained on history older than ``DEALSIGHT_RETRAIN_DAYS`` (periodic retraining:
  schedule ``dealsight score`` daily with cron or a systemd timer), or when it was made with other library
  versions than those installed (a stored model is only ever loaded by the versions that made it).
- The deal's own ``probability`` (the user's or the CRM's) is never written: insights live in their own
  tables.
- Scoring is organisation-wide (one model, every open deal); reading insights is scoped
  (:mod:`dealsight.services.insights`).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import sklearn
from sqlalchemy.engine import Engine

from dealsight import __version__
from dealsight.analytics.deal_data import DealData
from dealsight.analytics.indicators import INDICATOR_NAMES, INDICATORS, MODEL_FEATURES, deal_indicators
from dealsight.analytics.playbook import Playbook, assess
from dealsight.analytics.win_training import (
    WinPredictor,
    evaluate_in_time_order,
    fit_predictor,
    healths,
    training_set,
)
from dealsight.config import get_settings
from dealsight.domain.clock import utc_now
from dealsight.errors import InsufficientDataError
from dealsight.services.json_columns import (
    ROW_END,
    grouped_json_lists,
    json_value,
    records_json,
    value_tokens,
)
from dealsight.services.playbooks import load_playbook
from dealsight.store.database import transaction
from dealsight.store.deal_frames import load_deal_data
from dealsight.store.insights import (
    StoredModel,
    active_model,
    append_score_history,
    replace_insights,
    replace_risk_actions,
    save_model,
)

Progress = Callable[[str], None]
"""Called with a short description of each step of a long run (for a progress display)."""
SHOWN_INDICATORS = (
    "stage",
    "stage_age_days",
    "typical_stage_days",
    "stage_age_ratio",
    "close_date_pushes",
    "days_pushed",
    "close_date_passed",
    "days_since_activity",
    "activities_30d",
    "activity_trend",
    "sponsor_recorded",
    "sponsor_engaged",
    "executives_engaged",
    "contacts",
    "key_players_known",
    "supporter_share",
    "questions_answered_share",
    "essential_unanswered",
    "essential_no",
    "engaged_before_preference",
    "competitors",
    "competitor_preferred",
    "problem_recorded",
    "impact_recorded",
    "compelling_event_recorded",
    "amount_percentile",
)
"""The indicators stored with each insight (what the deal page shows)."""
MIN_CLOSED_FOR_ANY_MODEL = 20


def library_versions() -> dict[str, str]:
    """The versions a stored model depends on: it is reloaded only by exactly these."""
    return {"dealsight": __version__, "scikit-learn": sklearn.__version__, "lightgbm": lightgbm.__version__}


@dataclass(frozen=True)
class TrainingReport:
    model_id: int
    kind: str
    closed_deals: int
    snapshots: int
    note: str | None
    evaluation: dict[str, Any] | None
    seconds: float


@dataclass(frozen=True)
class ScoringReport:
    scored_at: datetime
    deals: int
    model_id: int
    model_kind: str
    healths: dict[str, int]
    risks: int
    trained: TrainingReport | None
    seconds: float


def _step(progress: Progress | None, text: str) -> None:
    if progress is not None:
        progress(text)


def _load(engine: Engine, progress: Progress | None) -> DealData:
    _step(progress, "reading deals, history, activities and answers")
    with engine.connect() as conn:
        return load_deal_data(conn)


def train_win_model(
    engine: Engine,
    *,
    as_of: datetime | None = None,
    progress: Progress | None = None,
    data: DealData | None = None,
) -> TrainingReport:
    """Learn the win model from the deals closed by ``as_of`` (default now), evaluate it in time order,
    store it and make it the active model. :class:`InsufficientDataError` when fewer than
    :data:`MIN_CLOSED_FOR_ANY_MODEL` deals have closed (not even stage win rates can be learned)."""
    started = time.perf_counter()
    as_of = as_of or utc_now()
    data = data if data is not None else _load(engine, progress)
    _step(progress, "computing indicators at snapshots of closed deals")
    training = training_set(data, pd.Timestamp(as_of))
    if training.closed_deals < MIN_CLOSED_FOR_ANY_MODEL:
        raise InsufficientDataError(
            f"only {training.closed_deals} deals had closed by {as_of:%Y-%m-%d}; a win model needs at least "
            f"{MIN_CLOSED_FOR_ANY_MODEL} (and {200} for the learned model): import closed deals first"
        )
    _step(progress, "evaluating the model against the baselines in time order")
    evaluation = evaluate_in_time_order(training)
    _step(progress, f"learning from {training.closed_deals:,} closed deals")
    predictor = fit_predictor(training)
    with transaction(engine) as conn:
        model_id = save_model(
            conn,
            {
                "trained_at": utc_now(),
                "trained_as_of": as_of,
                "kind": predictor.kind,
                "outcomes": predictor.outcomes,
                "features": predictor.features,
                "closed_deals": training.closed_deals,
                "snapshots": training.snapshots,
                "note": predictor.note,
                "evaluation": evaluation,
                "library_versions": library_versions(),
                "artifact": pickle.dumps(predictor, protocol=pickle.HIGHEST_PROTOCOL),
            },
        )
    return TrainingReport(
        model_id=model_id,
        kind=predictor.kind,
        closed_deals=training.closed_deals,
        snapshots=training.snapshots,
        note=predictor.note,
        evaluation=evaluation,
        seconds=time.perf_counter() - started,
    )


def _stale(model: StoredModel | None, now: datetime, retrain_days: int) -> bool:
    if model is None or model.artifact is None or model.library_versions != library_versions():
        return True
    return now - model.trained_as_of >= timedelta(days=retrain_days)


def _predictor(model: StoredModel) -> WinPredictor:
    assert model.artifact is not None
    predictor = pickle.loads(model.artifact)
    if not isinstance(predictor, WinPredictor):
        raise InsufficientDataError(f"model {model.id} is not a win model; run `dealsight train`")
    return predictor


def open_pairs(data: DealData, at: datetime) -> pd.DataFrame:
    """(opportunity_id, as_of) of every deal open now, all as of ``at``."""
    deals = data.opportunities
    is_open = deals["outcome"].isna() & deals["closed_date"].isna()
    ids = deals.loc[is_open, "id"].to_numpy()
    return pd.DataFrame({"opportunity_id": ids, "as_of": pd.Timestamp(at)})


def score_open_deals(
    engine: Engine,
    *,
    retrain: bool | None = None,
    playbook: Path | None = None,
    progress: Progress | None = None,
) -> ScoringReport:
    """Score every open deal as of now and store the insights (module docstring). ``retrain``: True
    always retrains first, False never (the active model must exist), None as the settings say."""
    started = time.perf_counter()
    now = utc_now().replace(microsecond=0)
    settings = get_settings()
    book = load_playbook(
        playbook or (Path(settings.playbook) if settings.playbook else None),
        [*INDICATOR_NAMES, "win_probability"],
    )
    data = _load(engine, progress)
    with engine.connect() as conn:
        model = active_model(conn)
    trained = None
    if retrain or (retrain is None and _stale(model, now, settings.retrain_days)) or model is None:
        trained = train_win_model(engine, as_of=now, progress=progress, data=data)
        with engine.connect() as conn:
            model = active_model(conn)
    assert model is not None
    predictor = _predictor(model)
    pairs = open_pairs(data, now)
    _step(progress, f"scoring {len(pairs):,} open deals")
    rows = insight_rows(predictor, book, data, pairs, model.id, now)
    _step(progress, "storing the insights")
    with transaction(engine) as conn:
        replace_insights(conn, rows)
        replace_risk_actions(conn, constant_actions(book))
        append_score_history(
            conn,
            [
                {
                    "opportunity_id": row["opportunity_id"],
                    "scored_at": now,
                    "model_id": model.id,
                    "win_probability": row["win_probability"],
                    "risk_count": row["risk_count"],
                }
                for row in rows
            ],
        )
    healths = {name: 0 for name in ("good", "watch", "at_risk")}
    for row in rows:
        healths[row["health"]] += 1
    return ScoringReport(
        scored_at=now,
        deals=len(rows),
        model_id=model.id,
        model_kind=model.kind,
        healths=healths,
        risks=sum(row["risk_count"] for row in rows),
        trained=trained,
        seconds=time.perf_counter() - started,
    )


def insight_rows(
    predictor: WinPredictor,
    book: Playbook,
    data: DealData,
    pairs: pd.DataFrame,
    model_id: int | None,
    at: datetime,
) -> list[dict[str, Any]]:
    """One stored insight per pair (``deal_insights`` columns). Built column-wise: risks, factors and
    indicators are encoded to JSON text for all deals at once (:mod:`dealsight.services.json_columns`),
    since a scoring run covers every open deal of the organisation."""
    if pairs.empty:
        return []
    indicators = deal_indicators(data, pairs).reset_index(drop=True)
    predicted = predictor.predictions(indicators).reset_index(drop=True)
    indicators["win_probability"] = predicted["win_probability"].to_numpy()
    deals = indicators["opportunity_id"].to_numpy()
    risks = _risks_by_position(assess(book, indicators), deals, constant_actions(book))
    factors = _factors_json(predictor.factor_frame(indicators), indicators)
    shown = _indicators_json(indicators)
    win = predicted["win_probability"].to_numpy(dtype=np.float64)
    stage_rate = predicted["stage_win_rate"].to_numpy(dtype=np.float64)
    health_of = healths(win, stage_rate, risks.has_high)
    columns = [
        _nullable(predicted[source])
        for source in (
            "win_probability",
            "no_decision_probability",
            "stage_win_rate",
            "crm_probability",
            "naive_bayes_probability",
        )
    ]
    return [
        {
            "opportunity_id": deal,
            "scored_at": at,
            "model_id": model_id,
            "win_probability": p_win,
            "no_decision_probability": p_no_decision,
            "stage_win_rate": p_stage,
            "crm_probability": p_crm,
            "naive_bayes_probability": p_bayes,
            "health": health,
            "risk_count": risk_count,
            "top_severity": top_severity,
            "top_risk": top_risk,
            "risks": risk_json,
            "factors": factor_json,
            "indicators": indicator_json,
        }
        for (
            deal,
            p_win,
            p_no_decision,
            p_stage,
            p_crm,
            p_bayes,
            health,
            risk_count,
            top_severity,
            top_risk,
            risk_json,
            factor_json,
            indicator_json,
        ) in zip(
            deals.astype(np.int64).tolist(),
            *columns,
            health_of,
            risks.counts.astype(np.int64).tolist(),
            risks.top_severity,
            risks.top_risk,
            risks.json,
            factors,
            shown,
            strict=True,
        )
    ]


def _nullable(values: pd.Series) -> list[float | None]:
    """Floats as Python floats, NaN as None (what the store takes)."""
    return [None if v != v else v for v in values.to_numpy(dtype=np.float64).tolist()]


@dataclass(frozen=True)
class _Risks:
    counts: np.ndarray
    has_high: np.ndarray
    top_severity: list[str | None]
    top_risk: list[str | None]
    json: list[str]


def constant_actions(book: Playbook) -> dict[str, str]:
    """The next action of each rule whose action reads no indicator: stored once per scoring run
    (``risk_actions``) instead of with each of the rule's risks."""
    actions = {rule.id: rule.action_template.constant for rule in book.rules}
    return {rule_id: action for rule_id, action in actions.items() if action is not None}


def _risks_by_position(risks: pd.DataFrame, deals: np.ndarray, constant: Mapping[str, str]) -> _Risks:
    """The playbook's risks grouped by the deal's position, severity first (as :func:`assess` orders them),
    each ``{rule_id, severity, risk, action}`` as JSON text; the action is left out for the rules in
    ``constant`` (their action is the same for every deal, stored once)."""
    count = len(deals)
    position = pd.Series(np.arange(count), index=deals).reindex(risks["opportunity_id"]).to_numpy()
    order = np.argsort(position, kind="stable")
    position = position[order]
    parts = risks.iloc[order].reset_index(drop=True)
    # per risk: its rule and severity (one token per rule), its text, its action unless constant
    rule = parts["rule_id"].cat.codes.to_numpy()
    severity_of = np.zeros(len(parts["rule_id"].cat.categories), dtype=np.int64)
    severity_of[rule] = parts["severity"].cat.codes.to_numpy()  # a rule has one severity
    severities = parts["severity"].cat.categories
    opening = np.asarray(
        [
            '{"rule_id":' + json_value(str(r)) + ',"severity":' + json_value(str(severities[c])) + ',"risk":'
            for r, c in zip(parts["rule_id"].cat.categories, severity_of.tolist(), strict=True)
        ],
        dtype=object,
    )
    action = value_tokens(parts["action"], before=',"action":', after="}")
    action[parts["rule_id"].isin(list(constant)).to_numpy()] = "}"
    tokens = np.column_stack([opening[rule], value_tokens(parts["risk"]), action])
    lengths = np.bincount(position, minlength=count) if len(position) else np.zeros(count, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    has_high = np.zeros(count, dtype=bool)
    if len(position):
        has_high[position[(parts["severity"] == "high").to_numpy()]] = True
    top = lengths > 0
    top_severity = np.full(count, None, dtype=object)
    top_risk = np.full(count, None, dtype=object)
    top_severity[top] = parts["severity"].iloc[starts[top]].astype(str).to_numpy(dtype=object)
    top_risk[top] = parts["risk"].iloc[starts[top]].astype(str).to_numpy(dtype=object)
    return _Risks(
        counts=lengths,
        has_high=has_high,
        top_severity=top_severity.tolist(),
        top_risk=top_risk.tolist(),
        json=grouped_json_lists(tokens, position, count),
    )


def _factors_json(frame: pd.DataFrame, indicators: pd.DataFrame) -> list[str]:
    """Per row position: ``{"for": [...], "against": [...]}`` as JSON text, strongest first, each factor
    ``{feature, label, value, weight}`` with the row's value of the feature (flags as true/false)."""
    count = len(indicators)
    if frame.empty:
        return ['{"for":[],"against":[]}'] * count
    # WinModel.factors gives rows in order, "for" before "against", then by rank
    rows = frame["row"].to_numpy().astype(np.int64)
    feature = frame["feature"].astype("category")
    code = feature.cat.codes.to_numpy()
    label = frame["label"].astype(str) if frame["label"].dtype != "category" else frame["label"]
    opening = np.empty(len(feature.cat.categories), dtype=object)
    value = np.empty(len(frame), dtype=object)
    for j, name in enumerate(feature.cat.categories):
        at = np.flatnonzero(code == j)
        if not len(at):
            continue
        column = indicators[name].iloc[rows[at]]
        value[at] = value_tokens(column.astype("boolean") if name in FLAGS else column)
        shown_as = json_value(str(label.iloc[at[0]]))
        opening[j] = '{"feature":' + json_value(str(name)) + ',"label":' + shown_as + ',"value":'
    weight = value_tokens(frame["contribution"].astype(float), before=',"weight":', after="}")
    against = (frame["direction"].astype(str) == "against").to_numpy()
    # one text per deal: {"for":[...],"against":[...]} (groups alternate: a deal's "for", its "against")
    closers = np.tile(np.asarray(['],"against":[', "]}" + ROW_END + '{"for":['], dtype=object), count)
    return grouped_json_lists(
        np.column_stack([opening[code], value, weight]),
        rows * 2 + against,
        count * 2,
        opener='{"for":[',
        closers=closers,
    )


def _indicators_json(indicators: pd.DataFrame) -> list[str]:
    """The indicators the deal page shows (:data:`SHOWN_INDICATORS`), per row as JSON text (flags as
    true/false, floats rounded)."""
    shown = indicators[[name for name in SHOWN_INDICATORS if name in indicators]].copy()
    for name in shown.columns:
        if name in FLAGS:
            shown[name] = shown[name].astype("boolean")
    return records_json(shown)


FLAGS = frozenset(indicator.name for indicator in INDICATORS if indicator.kind == "flag")


__all__ = [
    "MODEL_FEATURES",
    "ScoringReport",
    "TrainingReport",
    "constant_actions",
    "insight_rows",
    "library_versions",
    "open_pairs",
    "score_open_deals",
    "train_win_model",
]
