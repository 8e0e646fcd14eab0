"""Why a renewal is at risk, in plain words, and what usually helps: rules on the renewal features.

Like the deal risks of the playbook, reasons explain and suggest; the probability decides. Each rule reads
one group of signals, and rules come in the order of weight of the glossary: delivered value first, then
the RIQ, executive sponsor engagement, and only then usage and support. A renewal's reasons are sorted by
that order (:data:`WEIGHT`), so its *top* reason is the strongest kind of evidence that is missing. Rules
with ``kind == "for"`` are strengths (shown beside the risks, never counted as one).

:func:`renewal_reasons` is vectorised (one boolean mask per rule): 100,000 renewals take well under a
second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

REASON_COLUMNS = ("row", "kind", "group", "severity", "weight", "reason", "next_action")
Texts = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class ReasonRule:
    key: str
    kind: str  # "against" (a risk) or "for" (a strength)
    group: str  # value, riq, sponsor, usage, support
    severity: str  # high, medium, low
    weight: int  # the order of weight: lower comes first
    applies: Callable[[pd.DataFrame], np.ndarray]
    reason: Texts
    next_action: str


def _col(X: pd.DataFrame, name: str) -> np.ndarray:
    return X[name].to_numpy(dtype=np.float64, na_value=np.nan)


def _whole(values: pd.Series) -> pd.Series:
    """Numbers as whole-number text ("" when missing)."""
    return pd.Series([("" if pd.isna(v) else str(round(float(v)))) for v in values], index=values.index)


def _months(days: pd.Series) -> pd.Series:
    return _whole(days / 30.44)


_IMPACT_WORDS = {0: "no impact", 1: "minor impact", 2: "major impact", 3: "critical impact"}
_RECOVERY_WORDS = {0: "days", 1: "weeks", 2: "months", 3: "could not recover"}

RULES: tuple[ReasonRule, ...] = (
    ReasonRule(
        "no_value_ever", "against", "value", "high", 10,
        lambda X: np.isnan(_col(X, "days_since_value")),
        lambda X: pd.Series("no value confirmed by the customer yet", index=X.index),
        "Agree one measurable outcome with the sponsor, measure its baseline, and confirm its value in money",
    ),
    ReasonRule(
        "value_stale", "against", "value", "high", 11,
        lambda X: _col(X, "days_since_value") > 270,
        lambda X: "no confirmed value in " + _months(X["days_since_value"]) + " months",
        "Ask the RIQ, then confirm a recent outcome and its value with the sponsor",
    ),
    ReasonRule(
        "value_below_price", "against", "value", "medium", 12,
        lambda X: (_col(X, "value_ratio_12m") < 1.0) & (_col(X, "days_since_value") <= 270),
        lambda X: "value confirmed in 12 months is "
        + _whole(X["value_ratio_12m"] * 100)
        + "% of the ARR",
        "Quantify the outcomes in money with the customer before the renewal talk",
    ),
    ReasonRule(
        "no_executive_confirmation", "against", "value", "medium", 13,
        lambda X: (_col(X, "executive_values_12m") < 1) & ~np.isnan(_col(X, "days_since_value")),
        lambda X: pd.Series("no executive confirmed value in 12 months", index=X.index),
        "Take the confirmed outcomes to the executive sponsor and have them confirm the value",
    ),
    ReasonRule(
        "riq_not_asked", "against", "riq", "high", 20,
        lambda X: np.isnan(_col(X, "riq_impact")) | (_col(X, "riq_age_days") > 365),
        lambda X: pd.Series(
            np.where(
                np.isnan(_col(X, "riq_impact")),
                "the RIQ was never asked",
                ("the RIQ answer is " + _months(X["riq_age_days"]) + " months old").to_numpy(dtype=object),
            ),
            index=X.index,
        ),
        "Ask the RIQ: if we turned the service off now, what would it do to your business, and how would "
        "you recover?",
    ),
    ReasonRule(
        "riq_low_impact", "against", "riq", "high", 21,
        lambda X: _col(X, "riq_impact") <= 1,
        lambda X: "RIQ answered '" + X["riq_impact"].map(_IMPACT_WORDS).astype(str) + "'",
        "Find a sponsor-level outcome the service supports and confirm it; re-ask the RIQ after it",
    ),
    ReasonRule(
        "riq_easy_recovery", "against", "riq", "medium", 22,
        lambda X: (_col(X, "riq_recovery") == 0) & (_col(X, "riq_impact") >= 2),
        lambda X: pd.Series("the customer says they could recover in days", index=X.index),
        "Show what switching would really cost (data, process, training) and deepen the integration",
    ),
    ReasonRule(
        "no_executive_contact", "against", "sponsor", "medium", 30,
        lambda X: _col(X, "executive_activities_180d") < 1,
        lambda X: pd.Series("no contact with an executive of the account in 6 months", index=X.index),
        "Meet the executive sponsor to review the outcomes against their goals",
    ),
    ReasonRule(
        "usage_falling", "against", "usage", "low", 40,
        lambda X: _col(X, "usage_trend") < -0.3,
        lambda X: "usage fell "
        + _whole(200 * -X["usage_trend"] / (1 - X["usage_trend"]))
        + "% over the last 90 days",
        "Ask the users why, and check the adoption of what they bought",
    ),
    ReasonRule(
        "no_usage", "against", "usage", "low", 41,
        lambda X: _col(X, "usage_per_day_90d") == 0,
        lambda X: pd.Series("no usage recorded in 90 days", index=X.index),
        "Find out whether the service was replaced or never rolled out",
    ),
    ReasonRule(
        "escalations", "against", "support", "low", 50,
        lambda X: _col(X, "escalations_180d") >= 2,
        lambda X: _whole(X["escalations_180d"]) + " escalated tickets in 6 months",
        "Review the escalations with the customer and agree what changes",
    ),
    ReasonRule(
        "poor_support_rating", "against", "support", "low", 51,
        lambda X: _col(X, "satisfaction_180d") < 3,
        lambda X: "support satisfaction " + X["satisfaction_180d"].round(1).astype(str) + " of 5",
        "Have support's lead call the account about the tickets rated poorly",
    ),
    ReasonRule(
        "executive_value", "for", "value", "high", 10,
        lambda X: _col(X, "days_since_executive_value") <= 180,
        lambda X: "an executive confirmed value " + _months(X["days_since_executive_value"]) + " months ago",
        "Use the confirmed value in the renewal proposal",
    ),
    ReasonRule(
        "value_above_price", "for", "value", "medium", 12,
        lambda X: _col(X, "value_ratio_12m") >= 1.0,
        lambda X: "value confirmed in 12 months is "
        + X["value_ratio_12m"].round(1).astype(str)
        + "x the ARR",
        "Propose expansion where the value came from",
    ),
    ReasonRule(
        "riq_high_impact", "for", "riq", "high", 21,
        lambda X: (_col(X, "riq_impact") >= 2) & (_col(X, "riq_age_days") <= 365),
        lambda X: "RIQ answered '" + X["riq_impact"].map(_IMPACT_WORDS).astype(str) + "'",
        "Keep the sponsor close: re-ask the RIQ before each renewal",
    ),
)  # fmt: skip
WEIGHT = {rule.key: rule.weight for rule in RULES}


def renewal_reasons(X: pd.DataFrame, *, rules: tuple[ReasonRule, ...] = RULES) -> pd.DataFrame:
    """Reasons (risks and strengths) of every row of the features ``X`` (:data:`REASON_COLUMNS`; ``row``
    is the row's position), sorted by row, kind ("against" first) and weight."""
    parts = []
    for rule in rules:
        mask = np.asarray(rule.applies(X), dtype=bool)
        if not mask.any():
            continue
        chosen = X[mask]
        parts.append(
            pd.DataFrame(
                {
                    "row": np.flatnonzero(mask),
                    "kind": rule.kind,
                    "group": rule.group,
                    "severity": rule.severity,
                    "weight": rule.weight,
                    "reason": rule.reason(chosen).to_numpy(dtype=object),
                    "next_action": rule.next_action,
                    "key": rule.key,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=[*REASON_COLUMNS, "key"])
    reasons = pd.concat(parts, ignore_index=True)
    reasons["_against"] = reasons["kind"] != "against"
    reasons = reasons.sort_values(["row", "_against", "weight"], kind="stable").drop(columns="_against")
    return reasons.reset_index(drop=True)


def top_reasons(reasons: pd.DataFrame, k: int = 3, kind: str = "against") -> pd.DataFrame:
    """The first ``k`` reasons of each row of one kind (risks by default), in the order of weight."""
    chosen = reasons[reasons["kind"] == kind]
    return chosen.groupby("row", sort=False).head(k)


__all__ = ["REASON_COLUMNS", "RULES", "WEIGHT", "ReasonRule", "renewal_reasons", "top_reasons"]
