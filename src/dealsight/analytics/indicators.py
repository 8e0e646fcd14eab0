"""Leading indicators of deals, as of any instant, from what was known then.

``deal_indicators(data, pairs)`` computes one row of indicators per pair (opportunity_id, as_of), each pair
at its own instant, in one vectorised pass: scoring takes every open deal with ``as_of`` = now; training
takes pairs at snapshots along each closed deal's life (:func:`snapshot_pairs`). The columns are the
contract of :data:`INDICATORS` (names, kinds, plain-words labels) that risk rules and the win model use.

What "as of" means
------------------
Everything with a timestamp is **replayed** per pair: stage, amount, expected close date and forecast
category (their history, :mod:`dealsight.analytics.deal_state`), stage ages and the typical ages they are
compared with (:mod:`dealsight.analytics.typical_stage_age`), activities and who attended them
(:mod:`dealsight.analytics.activity_signals`), qualification answers
(:mod:`dealsight.analytics.qualification_signals`), the amounts of recent deals
(:mod:`dealsight.analytics.amount_percentile`). Nothing after a pair's as_of influences its row: a test
changes every fact after as_of (history, activities, answers, the outcome) and checks that no indicator
moves.

What "as of" cannot mean (a limitation, stated honestly)
--------------------------------------------------------
The store keeps no history of some fields, so they are taken **as the CRM holds them now**, whatever the
pair's instant: the business problem, its impact, compelling event, decision criteria, unique business
value, executive sponsor, buyer phase, engagement before the buyer's preference, competitors and the
preferred one, the deal's contacts with their roles, influence and stances, and the segment, product,
source and owner. For open deals scored today that is exactly right. For training snapshots it means a
snapshot early in a deal sees what the rep wrote down later: a team whose CRM fills such a field only at
the close (or overwrites it then) should drop it from the model. :class:`Indicator` says which indicators
are replayed (``replayed``). ``buyer_phase`` is kept out of :data:`MODEL_FEATURES` for that reason: it is
a moving state that is overwritten as the deal progresses and after it closes (adoption and value exist
only after a purchase), so taken as now it describes how the deal ended, not where the buyer stood.

Kinds: numbers are float64 with NaN when unknown; flags are 0.0/1.0 with NaN when unknown; categories and
text are objects with ``None``; ids keep their values (``owner_id`` as nullable integers when the input
has them). The result has one row per pair, in the pairs' order and with the pairs' index. A pair before
its deal's start still gets a row: the deal as first recorded, with a negative ``deal_age_days``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from dealsight.analytics.activity_signals import ActivityTimelines, activity_signals, stakeholder_coverage
from dealsight.analytics.amount_percentile import amount_percentile
from dealsight.analytics.deal_data import FRAME_COLUMNS, DealData
from dealsight.analytics.deal_snapshots import snapshot_pairs
from dealsight.analytics.deal_state import DealHistory, StageTable, deal_state
from dealsight.analytics.deal_timelines import (
    NAT,
    NS_PER_DAY,
    DealCodes,
    IntArray,
    days_between,
    instants_ns,
    mapped,
)
from dealsight.analytics.qualification_signals import QualificationTimelines, qualification_signals
from dealsight.analytics.typical_stage_age import ended_spells, month_start_ns, typical_stage_days
from dealsight.domain.enums import ImpactLevel
from dealsight.errors import FieldProblem, NotFoundError, ValidationError

Kind = Literal["number", "flag", "category", "text", "id"]


@dataclass(frozen=True)
class Indicator:
    """One column of :func:`deal_indicators`: its name, kind, plain-words label (to word a risk factor:
    "days in the current stage"), whether a model may learn from it, and whether it is replayed from
    timestamps (``False``: taken as the CRM holds it now, see the module docstring)."""

    name: str
    kind: Kind
    label: str
    group: str
    model_feature: bool = True
    replayed: bool = True


def _at(name: str, kind: Kind, label: str, *, feature: bool = True) -> Indicator:
    """An indicator replayed from timestamps as of the pair's instant."""
    return Indicator(name, kind, label, "", model_feature=feature)


def _now(name: str, kind: Kind, label: str, *, feature: bool = True) -> Indicator:
    """An indicator taken from a field as the CRM holds it now (no history)."""
    return Indicator(name, kind, label, "", model_feature=feature, replayed=False)


def _group(group: str, *items: Indicator) -> tuple[Indicator, ...]:
    return tuple(replace(item, group=group) for item in items)


INDICATORS: tuple[Indicator, ...] = (
    *_group(
        "context",
        _at("opportunity_id", "id", "deal", feature=False),
        _at("as_of", "id", "as of", feature=False),
        _now("owner_id", "id", "owner", feature=False),
        _at("stage", "category", "stage"),
        _at("stage_position", "number", "position of the stage in the sales process"),
        _now("segment", "category", "customer segment"),
        _now("product", "category", "product"),
        _now("source", "category", "lead source"),
        _at("forecast_category", "category", "forecast category"),
        _at("amount", "number", "amount"),
        _at("amount_percentile", "number", "size against the deals created in the past year"),
        _at("deal_age_days", "number", "days since the deal was created"),
        _at("crm_stage_probability", "number", "the CRM's probability for the stage", feature=False),
    ),
    *_group(
        "stage age",
        _at("stage_age_days", "number", "days in the current stage"),
        _at("typical_stage_days", "number", "typical days in this stage"),
        _at("typical_stage_days_p75", "number", "days within which three deals in four leave this stage"),
        _at("stage_age_ratio", "number", "time in the stage against the typical"),
    ),
    *_group(
        "slips",
        _at("close_date_pushes", "number", "times the close date was pushed out"),
        _at("days_pushed", "number", "days the close date was pushed out in total"),
        _at("close_date_passed", "flag", "the expected close date has passed"),
        _at("days_to_expected_close", "number", "days to the expected close date"),
        _at("amount_changes", "number", "times the amount changed"),
        _at("amount_change_share", "number", "change of the amount since the deal was created"),
    ),
    *_group(
        "activity",
        _at("days_since_activity", "number", "days since the last activity"),
        _at("activities_30d", "number", "activities in the last 30 days"),
        _at("activities_prior_60d", "number", "activities in the 60 days before those"),
        _at("activity_trend", "number", "activity trend (negative when it fades)"),
    ),
    *_group(
        "stakeholders",
        _now("sponsor_recorded", "flag", "an executive sponsor is recorded"),
        _at("sponsor_engaged", "flag", "the executive sponsor took part in the last 60 days"),
        _at("executives_engaged", "number", "executives who took part in the deal's activities"),
        _now("contacts", "number", "contacts on the deal"),
        _now("key_players_known", "number", "key players known (economic buyer, decision maker)"),
        _now("supporter_share", "number", "share of supporters among contacts with a known stance"),
        _now("opponents", "number", "contacts opposed to us"),
    ),
    *_group(
        "qualification",
        _at("questions_due", "number", "qualification questions due by this stage"),
        _at("questions_answered_share", "number", "share of due questions answered"),
        _at("essential_unanswered", "number", "essential questions not answered"),
        _at("essential_no", "number", "essential questions answered no"),
    ),
    *_group(
        "buyer",
        _now("buyer_phase", "category", "buyer's phase", feature=False),
        _now("engaged_before_preference", "category", "engaged before the buyer formed a preference"),
        _now("problem_impact", "category", "impact of the customer's problem"),
        _now("high_impact", "flag", "high-impact purchase for the buyer"),
        _now("late_on_high_impact", "flag", "engaged late on a high-impact purchase"),
    ),
    *_group(
        "competition",
        _now("competitors", "number", "competitors in the deal"),
        _now("competitor_preferred", "flag", "the buyer prefers a competitor"),
        _now("preferred_competitor", "text", "the competitor the buyer prefers", feature=False),
    ),
    *_group(
        "customer problem",
        _now("problem_recorded", "flag", "the customer's business problem is recorded"),
        _now("impact_recorded", "flag", "the problem's impact is recorded"),
        _now("compelling_event_recorded", "flag", "a compelling event is recorded"),
        _now("decision_criteria_recorded", "flag", "the decision criteria are recorded"),
        _now("ubv_recorded", "flag", "our unique business value is recorded"),
    ),
)
INDICATOR_NAMES: tuple[str, ...] = tuple(i.name for i in INDICATORS)
MODEL_FEATURES: tuple[str, ...] = tuple(
    i.name for i in INDICATORS if i.model_feature and i.kind not in ("id", "text")
)
"""Indicators a model may learn from: not ids, as_of, owner, text, the CRM's stage probability (the
baseline a model is compared with) nor ``buyer_phase`` (see the module docstring)."""
HIGH_IMPACT = (ImpactLevel.HIGH.value, ImpactLevel.CRITICAL.value)
LOW_IMPACT = (ImpactLevel.LOW.value, ImpactLevel.MEDIUM.value)


def deal_indicators(data: DealData, pairs: pd.DataFrame) -> pd.DataFrame:
    """One row of :data:`INDICATORS` per pair (``opportunity_id``, ``as_of``), in the pairs' order.

    Raises :class:`ValidationError` when a pair has no as_of, :class:`NotFoundError` when a pair's deal is
    not among ``data.opportunities``.
    """
    current, codes = _current(data.opportunities)
    code, as_of_ns = _pairs(pairs, codes)
    stages = StageTable.of(data.stages)
    history = DealHistory.of(current, data.history, codes)
    state = deal_state(history, stages, code, as_of_ns)

    columns: dict[str, object] = {
        "opportunity_id": codes.ids[code],
        "as_of": as_of_ns.view("datetime64[ns]"),
        "owner_id": current["owner_id"].array[code],  # nullable integers stay nullable integers
        "stage": state["stage"].to_numpy(dtype=object),
        "stage_position": state["stage_position"].to_numpy(),
        "forecast_category": _categories(state["forecast_category"].to_numpy(dtype=object)),
        "amount": state["amount"].to_numpy(),
    }
    columns.update(_context(current, history, state, code, as_of_ns, stages))
    columns.update(_slips(state, as_of_ns))
    sponsor_of = pd.to_numeric(current["executive_sponsor_id"], errors="coerce").to_numpy(np.float64)
    activity = ActivityTimelines.of(data.activities, data.activity_contacts, codes, sponsor_of)
    columns.update(activity_signals(activity, code, as_of_ns))
    columns.update(
        {name: values[code] for name, values in stakeholder_coverage(data.deal_contacts, codes).items()}
    )
    set_of = pd.to_numeric(current["question_set_id"], errors="coerce").to_numpy(np.float64)
    qualification = QualificationTimelines.of(data.questions, data.answers, stages, codes, set_of)
    columns.update(qualification_signals(qualification, code, as_of_ns, state["reached_position"].to_numpy()))
    columns.update({name: values[code] for name, values in _as_now(current).items()})
    return pd.DataFrame(
        {
            # object columns with None stay objects (pandas would infer its string dtype with NaN)
            i.name: pd.Series(columns[i.name], index=pairs.index, dtype=object)
            if i.kind in ("category", "text")
            else columns[i.name]
            for i in INDICATORS
        },
        index=pairs.index,
    )


def _current(opportunities: pd.DataFrame) -> tuple[pd.DataFrame, DealCodes]:
    """Opportunities in id order (the order of their codes), amounts as floats."""
    ids = pd.to_numeric(opportunities["id"], errors="coerce")
    if ids.isna().any() or ids.duplicated().any():
        raise ValidationError(
            "Each opportunity needs one distinct id: an id is missing or repeated.",
            [FieldProblem("id", "missing or repeated")],
        )
    current = opportunities
    if not ids.is_monotonic_increasing:
        current = opportunities.iloc[np.argsort(ids.to_numpy(), kind="stable")]
    current = current.reset_index(drop=True)
    current["amount"] = pd.to_numeric(current["amount"], errors="coerce").astype(np.float64)
    return current, DealCodes(np.sort(ids.to_numpy(dtype=np.int64)))


def _pairs(pairs: pd.DataFrame, codes: DealCodes) -> tuple[IntArray, IntArray]:
    missing = [c for c in ("opportunity_id", "as_of") if c not in pairs.columns]
    if missing:
        raise ValidationError(
            "Pairs need opportunity_id and as_of.", [FieldProblem(c, "missing column") for c in missing]
        )
    as_of_ns = instants_ns(pairs["as_of"])
    if bool((as_of_ns == NAT).any()):
        raise ValidationError("Every pair needs an as_of instant.", [FieldProblem("as_of", "missing")])
    code = codes.code(pairs["opportunity_id"].to_numpy())
    if bool((code < 0).any()):
        unknown = pairs["opportunity_id"].to_numpy()[code < 0][:5].tolist()
        raise NotFoundError(f"No such opportunities in the deal data: {unknown}")
    return code, as_of_ns


def _categories(values: np.ndarray) -> np.ndarray:
    """Objects with None for every kind of missing value."""
    result = np.asarray(values, dtype=object).copy()
    result[pd.isna(result)] = None
    return result


def _context(
    current: pd.DataFrame,
    history: DealHistory,
    state: pd.DataFrame,
    code: IntArray,
    as_of_ns: IntArray,
    stages: StageTable,
) -> dict[str, object]:
    stage = state["stage"].to_numpy(dtype=object)
    segment_by_code = _categories(current["segment"].to_numpy(dtype=object))
    spells = ended_spells(history.stage.timeline, history.stage.old, history.start_ns, segment_by_code)
    typical = typical_stage_days(spells, month_start_ns(np.unique(as_of_ns)))
    segment = segment_by_code[code]
    median, p75 = typical.lookup(as_of_ns, segment, stage)
    stage_age = days_between(as_of_ns, state["stage_entered_ns"].to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(median > 0, stage_age / median, np.nan)
    probability = mapped(stage, stages.probability)
    return {
        "segment": segment,
        "product": _categories(current["product"].to_numpy(dtype=object)[code]),
        "source": _categories(current["source"].to_numpy(dtype=object)[code]),
        "amount_percentile": amount_percentile(
            history.first_amount, history.start_ns, state["amount"].to_numpy(), as_of_ns
        ),
        "deal_age_days": days_between(as_of_ns, history.start_ns[code]),
        "crm_stage_probability": probability,
        "stage_age_days": stage_age,
        "typical_stage_days": median,
        "typical_stage_days_p75": p75,
        "stage_age_ratio": ratio,
    }


def _slips(state: pd.DataFrame, as_of_ns: IntArray) -> dict[str, np.ndarray]:
    close = state["expected_close_ns"].to_numpy()
    known = close != NAT
    as_of_day = as_of_ns - np.mod(as_of_ns, NS_PER_DAY)
    first, amount = state["first_amount"].to_numpy(), state["amount"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        change_share = np.where(first > 0, amount / first - 1.0, np.nan)
    return {
        "close_date_pushes": state["close_date_pushes"].to_numpy(),
        "days_pushed": state["days_pushed"].to_numpy(),
        "close_date_passed": np.where(known, (close < as_of_day).astype(np.float64), np.nan),
        "days_to_expected_close": np.where(known, (close - as_of_day) / NS_PER_DAY, np.nan),
        "amount_changes": state["amount_changes"].to_numpy(),
        "amount_change_share": change_share,
    }


def _recorded(values: pd.Series) -> np.ndarray:
    """1.0 where a field holds something (not missing, not empty text), else 0.0."""
    present = values.notna().to_numpy() & values.ne("").to_numpy()
    return present.astype(np.float64)


def _listed(value: object) -> int:
    """Entries of a list field's value (a list, or JSON text of one); 0 when empty or missing."""
    if isinstance(value, list | tuple):
        return len(value)
    if isinstance(value, str) and value.strip():
        parsed = json.loads(value)
        return len(parsed) if isinstance(parsed, list) else 1
    return 0


def _count_listed(values: pd.Series) -> np.ndarray:
    """Entries of each value of a list field (one ``len`` per value: lists have no columnar form)."""
    items = values.to_numpy(dtype=object)
    sizes = (len(v) if type(v) is list else _listed(v) for v in items)
    return np.fromiter(sizes, dtype=np.float64, count=len(items))


def _as_now(current: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per deal code, the indicators taken from fields the store keeps without history."""
    impact = current["problem_impact"].astype(object).to_numpy()
    high = np.where(np.isin(impact, HIGH_IMPACT), 1.0, np.where(np.isin(impact, LOW_IMPACT), 0.0, np.nan))
    engaged = current["engaged_before_preference"].astype("boolean")
    early = engaged.to_numpy(dtype=np.float64, na_value=np.nan)
    late_high = np.where(early == 1.0, 0.0, np.where(high == 0.0, 0.0, np.where(early == 0.0, high, np.nan)))
    return {
        "buyer_phase": _categories(current["buyer_phase"].to_numpy(dtype=object)),
        "engaged_before_preference": np.where(
            early == 1.0, "yes", np.where(early == 0.0, "no", "unknown")
        ).astype(object),
        "problem_impact": _categories(impact),
        "high_impact": high,
        "late_on_high_impact": late_high,
        "sponsor_recorded": current["executive_sponsor_id"].notna().to_numpy().astype(np.float64),
        "competitors": _count_listed(current["competitors"]),
        "competitor_preferred": _recorded(current["preferred_competitor"]),
        "preferred_competitor": _categories(current["preferred_competitor"].to_numpy(dtype=object)),
        "problem_recorded": _recorded(current["business_problem"]),
        "impact_recorded": _recorded(current["problem_impact"]),
        "compelling_event_recorded": _recorded(current["compelling_event"]),
        "decision_criteria_recorded": _recorded(current["decision_criteria"]),
        "ubv_recorded": _recorded(current["unique_business_value"]),
    }


__all__ = [
    "FRAME_COLUMNS",
    "INDICATORS",
    "INDICATOR_NAMES",
    "MODEL_FEATURES",
    "DealData",
    "Indicator",
    "deal_indicators",
    "snapshot_pairs",
]
