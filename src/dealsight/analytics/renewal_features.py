"""Renewals and what was known before each was decided: the features of renewal risk.

Pure computation on frames (see :mod:`dealsight.store.renewal_frames` for their columns). Two steps:

1. :func:`renewal_events`: every renewal of every subscription, decided (renewed or not) or upcoming, as
   of a day. The rules (docs/renewals.md, "What a renewal is"):

   - A renewal is decided at most once a year: a subscription billed monthly or quarterly that renews
     automatically is renewed silently each term; its decision points are its anniversaries
     (``term_start`` + 12, 24, ... months). Annual and longer terms renew at each term's end.
   - A subscription that does not renew automatically has one renewal, at its ``renewal_date``: lost when
     it churned, renewed when it is still active after that date (its next term is a new subscription),
     upcoming otherwise.
   - One that renews automatically: every anniversary before it ended was renewed; when it churned, the
     anniversary it did not reach was lost, decided when it ended (the term end, else the renewal date);
     while active, the first anniversary on or after the day is upcoming. Counting the lost year at its
     anniversary, like the renewed ones, keeps the two outcomes' looks at the same distance from their
     renewal dates (counted at the churn day, a monthly plan's losses fell anywhere in the year and the
     model learnt the artefact).
   - A lost renewal is decided on the day the customer said so when a churn event of that subscription
     is dated earlier (a notice months ahead), else on the renewal day. Trials are not renewals.

2. :func:`renewal_features`: per renewal and an as-of moment before its decision (``at``), the signals in
   the order of their weight: **delivered value** (how recent the latest confirmed value, confirmed value
   in 12 months against the ARR, confirmation by an executive), the **RIQ** (impact, recovery effort, age
   of the answer), **executive sponsor engagement** (activities with the account's executives), then
   **usage** (volume and trend), **support tickets** (volume, escalations, satisfaction) and the ARR.
   Days to the renewal and the account's tenure are not features: how far a look sits from its renewal
   date, and so how old the subscription is at the look, is a choice of the learning sample, and differs
   between the outcomes when losses fall anywhere in a year (a monthly plan churns any month, it renews
   once a year here). On RavenStack's history the model scored AUC 0.85 with days to the renewal, 0.71
   with tenure and 0.52 with neither: the first two were the sample, not the customers. Only rows dated
   strictly before ``at`` are read: nothing known at or after the as-of moment (and churn reasons, which
   are outcomes, never) enters a feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from dealsight.domain.customer_value import (
    BillingFrequency,
    RecoveryEffort,
    RiqImpact,
    SubscriptionStatus,
    add_months,
    term_months,
)

YEAR_MONTHS = 12
VALUE_FEATURES = ("days_since_value", "value_ratio_12m", "executive_values_12m", "days_since_executive_value")
RIQ_FEATURES = ("riq_impact", "riq_recovery", "riq_age_days")
SPONSOR_FEATURES = ("executive_activities_180d", "days_since_executive_activity")
USAGE_FEATURES = ("usage_per_day_90d", "usage_trend", "features_used_90d")
SUPPORT_FEATURES = ("tickets_180d", "escalations_180d", "satisfaction_180d")
CONTRACT_FEATURES = ("arr",)
FEATURES = (
    *VALUE_FEATURES, *RIQ_FEATURES, *SPONSOR_FEATURES, *USAGE_FEATURES, *SUPPORT_FEATURES,
    *CONTRACT_FEATURES,
)  # fmt: skip
GROUPS: dict[str, tuple[str, ...]] = {
    "value": VALUE_FEATURES,
    "riq": RIQ_FEATURES,
    "sponsor": SPONSOR_FEATURES,
    "usage": USAGE_FEATURES,
    "support": SUPPORT_FEATURES,
    "contract": CONTRACT_FEATURES,
}
IMPACT_LEVEL = {RiqImpact.NONE: 0, RiqImpact.MINOR: 1, RiqImpact.MAJOR: 2, RiqImpact.CRITICAL: 3}
RECOVERY_LEVEL = {
    RecoveryEffort.DAYS: 0,
    RecoveryEffort.WEEKS: 1,
    RecoveryEffort.MONTHS: 2,
    RecoveryEffort.CANNOT: 3,
}
EVENT_COLUMNS = ("subscription_id", "account_id", "renewal_date", "decided_on", "arr", "currency", "renewed")


@dataclass(frozen=True)
class RenewalEvidence:
    """What renewal risk reads, one frame each (columns in :mod:`dealsight.store.renewal_frames`)."""

    subscriptions: pd.DataFrame
    churn_events: pd.DataFrame
    values: pd.DataFrame
    riq_answers: pd.DataFrame
    executive_activities: pd.DataFrame
    usage: pd.DataFrame
    tickets: pd.DataFrame


def _day(value: object) -> date | None:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(str(value)).date()


def _flag(value: object) -> bool:
    return False if value is None or pd.isna(value) else bool(value)  # type: ignore[call-overload]


def _renewals_of(
    start: date, ends: date, renewal: date, frequency: str, auto: bool, churned: bool, as_of: date
) -> list[tuple[date, bool | None]]:
    """The renewal days of one subscription and how each went (None: upcoming on ``as_of``)."""
    if not auto:
        return [(renewal, False if churned else (True if renewal < as_of else None))]
    step = max(term_months(BillingFrequency(frequency)), YEAR_MONTHS)
    found: list[tuple[date, bool | None]] = []
    k = 1
    while True:
        anniversary = add_months(start, k * step)
        if churned and anniversary >= ends:  # the year it did not complete: decided when it ended
            return [*found, (anniversary, False)]
        if not churned and anniversary >= as_of:
            return [*found, (anniversary, None)]
        found.append((anniversary, True))
        k += 1


def _flags(column: pd.Series) -> np.ndarray:
    """A column of optional booleans as booleans (missing: False)."""
    return np.asarray(column.astype(object).where(column.notna(), False).astype(bool))


def _notices(churn_events: pd.DataFrame) -> dict[int, pd.Timestamp]:
    """The earliest churn-event day of each subscription that has one."""
    if not len(churn_events):
        return {}
    linked = churn_events.dropna(subset=["subscription_id"])
    days = pd.to_datetime(linked["churned_on"], errors="coerce")
    earliest = days.groupby(linked["subscription_id"].astype(np.int64).to_numpy()).min().dropna()
    return {int(str(k)): v for k, v in earliest.items()}


def renewal_events(subscriptions: pd.DataFrame, churn_events: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Every renewal decided or upcoming on ``as_of`` (:data:`EVENT_COLUMNS`; ``renewed`` True, False or
    None for upcoming), by the rules of the module docstring, in the order of the subscriptions.

    Subscriptions that do not renew automatically (one renewal each) are handled column-wise; those that
    do are walked one by one (their anniversaries): 190,000 subscriptions take a fraction of a second."""
    subs = subscriptions.reset_index(drop=True)
    start, renewal = _stamp(subs["term_start"]), _stamp(subs["renewal_date"])
    valid = (~_flags(subs["is_trial"])) & start.notna().to_numpy() & renewal.notna().to_numpy()
    auto = _flags(subs["auto_renew"])
    churned = (subs["status"].astype(str) == SubscriptionStatus.CHURNED.value).to_numpy()
    notice = _notices(churn_events)
    one = np.flatnonzero(valid & ~auto)
    day = renewal.iloc[one].reset_index(drop=True)
    lost = churned[one]
    before = (day < pd.Timestamp(as_of)).to_numpy()
    renewed = np.array(
        [False if gone else (True if early else None) for gone, early in zip(lost, before, strict=True)],
        dtype=object,
    )
    told = pd.to_datetime(subs["id"].iloc[one].reset_index(drop=True).map(notice).astype(object))
    earlier = lost & told.notna().to_numpy() & (told < day).to_numpy()
    decided = day.mask(pd.Series(earlier), told)
    parts = [
        pd.DataFrame(
            {
                "row": one, "subscription_id": subs["id"].iloc[one].to_numpy(),
                "account_id": subs["account_id"].iloc[one].to_numpy(),
                "renewal_date": day.dt.date.to_numpy(),
                "decided_on": decided.dt.date.to_numpy(), "arr": subs["arr"].iloc[one].to_numpy(),
                "currency": subs["currency"].iloc[one].to_numpy(), "renewed": renewed,
            }
        )
    ]  # fmt: skip
    walked: list[tuple[object, ...]] = []
    rows = [int(i) for i in np.flatnonzero(valid & auto)]
    picked = subs.iloc[rows]
    columns = ("id", "account_id", "arr", "currency", "term_start", "term_end", "billing_frequency",
               "renewal_date")  # fmt: skip
    for row, sub, account, arr, currency, start_at, end_at, frequency, renewal_at in zip(
        rows, *(picked[c].tolist() for c in columns), strict=True
    ):
        start_day, renewal_day = _day(start_at), _day(renewal_at)
        assert start_day is not None and renewal_day is not None  # valid rows only
        ends = _day(end_at) or renewal_day
        told_on = _day(notice.get(int(sub)))
        gone = bool(churned[row])
        for on, outcome in _renewals_of(start_day, ends, renewal_day, str(frequency), True, gone, as_of):
            decided_on = min(told_on or ends, ends) if outcome is False else on
            walked.append((row, int(sub), account, on, decided_on, arr, currency, outcome))
    if walked:
        parts.append(pd.DataFrame(walked, columns=["row", *EVENT_COLUMNS]))
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    frame = (
        frame.sort_values(["row", "renewal_date"], kind="stable").drop(columns="row").reset_index(drop=True)
    )
    frame["subscription_id"] = frame["subscription_id"].astype(np.int64)
    frame["account_id"] = frame["account_id"].astype(np.int64)
    frame["arr"] = frame["arr"].astype(float)
    frame["renewed"] = frame["renewed"].astype(object)
    return frame


# -- features ---------------------------------------------------------------------------------------------


def _stamp(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column, errors="coerce")


def _joined(
    keys: pd.DataFrame, evidence: pd.DataFrame, on: str, when: str, columns: tuple[str, ...]
) -> pd.DataFrame:
    """Evidence rows of each key's account (or subscription) dated strictly before the key's ``at``, with
    ``age`` (days before ``at``) and the key's ``row``."""
    if not len(evidence) or not len(keys):
        return pd.DataFrame(columns=["row", "age", *columns])
    left = keys[["row", on, "at"]]
    right = evidence[[on, when, *columns]].rename(columns={when: "_when"})
    right = right.assign(_when=_stamp(right["_when"])).dropna(subset=["_when"])
    merged = left.merge(right, on=on, how="inner", sort=False)
    merged = merged[merged["_when"] < merged["at"]]
    age = (merged["at"] - merged["_when"]).dt.total_seconds() / 86400.0
    return merged.assign(age=age.to_numpy())[["row", "age", *columns]]


def _per_row(n: int, grouped: pd.Series, fill: float = np.nan) -> np.ndarray:
    out = np.full(n, fill, dtype=np.float64)
    if len(grouped):
        out[grouped.index.to_numpy(dtype=np.int64)] = grouped.to_numpy(dtype=np.float64)
    return out


def renewal_features(renewals: pd.DataFrame, evidence: RenewalEvidence) -> pd.DataFrame:
    """The :data:`FEATURES` of each renewal (rows of ``renewals``: ``account_id``, ``subscription_id``,
    ``renewal_date``, ``arr`` and ``at``, the moment of the as-of), in the same order. Missing means
    unknown (no value ever confirmed, no RIQ answer, no usage recorded)."""
    n = len(renewals)
    keys = pd.DataFrame(
        {
            "row": np.arange(n),
            "account_id": renewals["account_id"].to_numpy(),
            "subscription_id": renewals["subscription_id"].to_numpy(),
            "at": _stamp(renewals["at"]).to_numpy(),
        }
    )
    out: dict[str, np.ndarray] = {}
    arr = renewals["arr"].to_numpy(dtype=np.float64)

    values = _joined(
        keys, evidence.values, "account_id", "confirmed_on", ("monetary_value", "confirmer_level")
    )
    out["days_since_value"] = _per_row(n, values.groupby("row")["age"].min())
    recent = values[values["age"] <= 365]
    value_12m = _per_row(n, recent.groupby("row")["monetary_value"].sum(), 0.0)
    executive = values[values["confirmer_level"].astype(str) == "executive"]
    out["executive_values_12m"] = _per_row(n, executive[executive["age"] <= 365].groupby("row").size(), 0.0)
    out["days_since_executive_value"] = _per_row(n, executive.groupby("row")["age"].min())

    riq = _joined(keys, evidence.riq_answers, "account_id", "answered_on", ("impact", "recovery"))
    latest = riq.sort_values(["row", "age"]).drop_duplicates("row").set_index("row")
    impact = latest["impact"].map({k.value: v for k, v in IMPACT_LEVEL.items()})
    recovery = latest["recovery"].map({k.value: v for k, v in RECOVERY_LEVEL.items()})
    out["riq_impact"] = _per_row(n, impact.astype(float))
    out["riq_recovery"] = _per_row(n, recovery.astype(float))
    out["riq_age_days"] = _per_row(n, latest["age"])

    meetings = _joined(keys, evidence.executive_activities, "account_id", "occurred_at", ())
    out["executive_activities_180d"] = _per_row(
        n, meetings[meetings["age"] <= 180].groupby("row").size(), 0.0
    )
    out["days_since_executive_activity"] = _per_row(n, meetings.groupby("row")["age"].min())

    usage = _joined(keys, evidence.usage, "subscription_id", "used_on", ("usage_count", "features"))
    last = usage[usage["age"] <= 90]
    before = usage[(usage["age"] > 90) & (usage["age"] <= 180)]
    used = _per_row(n, last.groupby("row")["usage_count"].sum(), 0.0)
    used_before = _per_row(n, before.groupby("row")["usage_count"].sum(), 0.0)
    recorded = _per_row(n, usage.groupby("row").size(), 0.0) > 0
    out["usage_per_day_90d"] = np.where(recorded, used / 90.0, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        trend = (used - used_before) / (used + used_before)
    out["usage_trend"] = np.where(recorded & (used + used_before > 0), trend, np.nan)
    out["features_used_90d"] = np.where(
        recorded, _per_row(n, last.groupby("row")["features"].max(), 0.0), np.nan
    )

    tickets = _joined(keys, evidence.tickets, "account_id", "opened_at", ("escalated", "satisfaction"))
    tickets = tickets[tickets["age"] <= 180]
    out["tickets_180d"] = _per_row(n, tickets.groupby("row").size(), 0.0)
    escalated = tickets["escalated"].astype(object).where(tickets["escalated"].notna(), False).astype(bool)
    out["escalations_180d"] = _per_row(n, tickets[escalated.to_numpy()].groupby("row").size(), 0.0)
    rated = tickets.dropna(subset=["satisfaction"])
    out["satisfaction_180d"] = _per_row(n, rated.groupby("row")["satisfaction"].mean())

    out["arr"] = arr
    terms = _joined(keys, evidence.subscriptions, "account_id", "term_start", ("term_end", "arr", "is_trial"))
    if len(terms):  # the account's ARR in force at the as-of moment: what the value is set against
        ends = _stamp(terms["term_end"]).to_numpy()
        at = keys["at"].to_numpy()[terms["row"].to_numpy(dtype=np.int64)]
        live = (pd.isna(ends) | (ends >= at)) & ~terms["is_trial"].fillna(False).astype(bool).to_numpy()
        account_arr = _per_row(n, terms[live].groupby("row")["arr"].sum(), 0.0)
        denominator = np.where(account_arr > 0, account_arr, arr)
    else:
        denominator = arr
    with np.errstate(divide="ignore", invalid="ignore"):
        out["value_ratio_12m"] = np.where(denominator > 0, value_12m / denominator, np.nan)
    return pd.DataFrame({name: out[name] for name in FEATURES}, index=renewals.index)


__all__ = [
    "CONTRACT_FEATURES",
    "EVENT_COLUMNS",
    "FEATURES",
    "GROUPS",
    "IMPACT_LEVEL",
    "RECOVERY_LEVEL",
    "RIQ_FEATURES",
    "SPONSOR_FEATURES",
    "SUPPORT_FEATURES",
    "USAGE_FEATURES",
    "VALUE_FEATURES",
    "RenewalEvidence",
    "renewal_events",
    "renewal_features",
]
