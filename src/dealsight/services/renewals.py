"""Renewal risk as a use case: the upcoming renewals a person may see, each with its chance of renewal,
ARR at risk, reasons and next actions; and the time-ordered evaluation of the model on the team's history.

Decisions (docs/renewals.md):

- **Learnt from the whole organisation, shown by scope.** The model learns from every renewal decided
  before the as-of day (like the win model from every closed deal); a person sees the renewals of the
  accounts they may see (:func:`~dealsight.services.records.account_visible`: reps their accounts and
  those with their deals, managers their team's, executives and admins all).
- **As of a day.** Features of an upcoming renewal read only what is dated on or before the as-of day;
  the model learns only from renewals decided before it, each looked at 30, 90 and 180 days before its
  decision. Any past day can be replayed.
- **Fitted on demand, cached.** Nothing is stored: a fit takes about a second on the demo. The fitted model
  is kept in memory per database, as-of day and a fingerprint of the customer-value tables (row counts,
  largest ids, latest change), so a page or API call after the first costs only the scoring; any new or
  changed row makes a new fit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.analytics.evaluation import Evaluation, evaluate_methods
from dealsight.analytics.renewal_evaluation import decided_before, renewal_methods, renewal_snapshots
from dealsight.analytics.renewal_features import FEATURES, RenewalEvidence, renewal_events, renewal_features
from dealsight.analytics.renewal_reasons import renewal_reasons
from dealsight.analytics.renewal_risk import RENEWED, RenewalModel, arr_at_risk
from dealsight.domain.access import Scope
from dealsight.domain.clock import utc_now
from dealsight.errors import FieldProblem, InsufficientDataError
from dealsight.services.records import ListQuery, account_visible, invalid, normalise_query
from dealsight.store import schema
from dealsight.store.renewal_frames import renewal_evidence

DEFAULT_WITHIN_DAYS = 180
REASONS_SHOWN = 3
_IN_LIMIT = 5000
STRENGTHS_SHOWN = 2
_CACHE: dict[tuple[Any, ...], RenewalModel] = {}
_CACHE_SIZE = 8
_LOCK = threading.Lock()
_FINGERPRINT_TABLES = (
    schema.subscriptions, schema.churn_events, schema.value_evidence, schema.riq_answers,
    schema.feature_usage, schema.support_tickets, schema.activities,
)  # fmt: skip


@dataclass(frozen=True)
class RenewalReason:
    group: str
    """value, riq, sponsor, usage or support"""
    severity: str
    reason: str
    next_action: str


@dataclass(frozen=True)
class RenewalRisk:
    """One upcoming renewal as of a day."""

    subscription_id: int
    account_id: int
    account_name: str
    owner_id: int | None
    owner_name: str | None
    product: str | None
    renewal_date: date
    days_to_renewal: int
    arr: float
    currency: str
    renewal_probability: float
    arr_at_risk: float
    reasons: tuple[RenewalReason, ...]
    strengths: tuple[RenewalReason, ...]
    signals: dict[str, float | None]


@dataclass(frozen=True)
class RenewalModelInfo:
    method: str
    """``learned`` (gradient-boosted, calibrated) or ``scorecard`` (too little history)"""
    note: str
    decided_renewals: int
    renewal_rate: float | None


@dataclass(frozen=True)
class RenewalOutlook:
    """The upcoming renewals a scope sees within a window, largest ARR at risk first."""

    as_of: date
    within_days: int
    renewals: tuple[RenewalRisk, ...]
    model: RenewalModelInfo

    @property
    def arr(self) -> float:
        return float(sum(r.arr for r in self.renewals))

    @property
    def arr_at_risk(self) -> float:
        return float(sum(r.arr_at_risk for r in self.renewals))


def visible_accounts(conn: Connection, scope: Scope) -> set[int] | None:
    """The ids of the accounts the scope sees (None: every account)."""
    if scope.sees_all:
        return None
    return set(conn.execute(sa.select(schema.accounts.c.id).where(account_visible(scope))).scalars())


def _fingerprint(conn: Connection) -> tuple[Any, ...]:
    parts: list[Any] = []
    for table in _FINGERPRINT_TABLES:
        columns = [sa.func.count(), sa.func.max(table.c.id)]
        if "updated_at" in table.c:
            columns.append(sa.func.max(table.c.updated_at))
        parts.extend(conn.execute(sa.select(*columns)).one())
    return tuple(str(p) for p in parts)


def _at(day: date) -> pd.Timestamp:
    """The as-of moment of a day: its end (whatever is dated on the day is known)."""
    return pd.Timestamp(day + timedelta(days=1))


def fit_renewal_model(
    events: pd.DataFrame, evidence: RenewalEvidence, as_of: date, seed: int = 0
) -> RenewalModel:
    """The renewal model learnt from the renewals decided before ``as_of`` (the scorecard when too few)."""
    rows, X = renewal_snapshots(decided_before(events, as_of), evidence)
    time = pd.to_datetime(rows["decided_on"]).to_numpy() if len(rows) else None
    return RenewalModel(random_state=seed).fit(
        X, rows["outcome"].to_numpy(), time=time, groups=rows["subscription_id"].to_numpy()
    )


def cached_renewal_model(
    engine: Engine, conn: Connection, events: pd.DataFrame, evidence: RenewalEvidence, as_of: date
) -> RenewalModel:
    """The model learnt from the renewals decided before ``as_of``, fitted once per database, day and
    data version (see the module docstring)."""
    key = (str(engine.url), as_of, _fingerprint(conn))
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    model = fit_renewal_model(events, evidence, as_of)
    with _LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = model
    return model


def _reasons(table: pd.DataFrame, kind: str, limit: int) -> dict[int, tuple[RenewalReason, ...]]:
    chosen = table[table["kind"] == kind].groupby("row", sort=False).head(limit)
    result: dict[int, list[RenewalReason]] = {}
    columns = ("row", "group", "severity", "reason", "next_action")
    for row, group, severity, reason, action in zip(*(chosen[c].tolist() for c in columns), strict=True):
        result.setdefault(int(row), []).append(RenewalReason(group, severity, str(reason), action))
    return {k: tuple(v) for k, v in result.items()}


def _restricted(query: sa.Select[Any], column: sa.ColumnElement[Any], ids: list[int]) -> sa.Select[Any]:
    """``query`` for ``ids`` only; past :data:`_IN_LIMIT` ids every row is read (a long ``IN`` list costs
    more than that) and the caller picks."""
    return query.where(column.in_(ids)) if len(ids) <= _IN_LIMIT else query


def _names(conn: Connection, account_ids: list[int]) -> dict[int, tuple[str, int | None, str | None]]:
    a, u = schema.accounts, schema.users
    query = sa.select(a.c.id, a.c.name, a.c.owner_id, u.c.name).select_from(
        a.outerjoin(u, u.c.id == a.c.owner_id)
    )
    if not account_ids:
        return {}
    return {row[0]: (row[1], row[2], row[3]) for row in conn.execute(_restricted(query, a.c.id, account_ids))}


def _products(conn: Connection, subscription_ids: list[int]) -> dict[int, str | None]:
    s = schema.subscriptions
    query = sa.select(s.c.id, s.c.product)
    if not subscription_ids:
        return {}
    return {int(row[0]): row[1] for row in conn.execute(_restricted(query, s.c.id, subscription_ids))}


def upcoming_renewals(
    engine: Engine, scope: Scope, *, as_of: date | None = None, within_days: int = DEFAULT_WITHIN_DAYS
) -> RenewalOutlook:
    """The renewals due from ``as_of`` (default today) to ``as_of + within_days`` of the accounts the
    scope sees, each with its chance of renewal, ARR at risk, reasons and strengths; largest ARR at risk
    first."""
    as_of = as_of or utc_now().date()
    with engine.connect() as conn:
        evidence = renewal_evidence(conn)
        events = renewal_events(evidence.subscriptions, evidence.churn_events, as_of)
        model = cached_renewal_model(engine, conn, events, evidence, as_of)
        allowed = visible_accounts(conn, scope)
        due = pd.to_datetime(events["renewal_date"])
        upcoming = events[
            events["renewed"].isna()
            & (due >= pd.Timestamp(as_of))
            & (due <= pd.Timestamp(as_of + timedelta(days=within_days)))
        ]
        if allowed is not None:
            upcoming = upcoming[upcoming["account_id"].isin(allowed)]
        upcoming = upcoming.reset_index(drop=True).assign(at=_at(as_of))
        names = _names(conn, sorted({int(a) for a in upcoming["account_id"]}))
        products = _products(conn, [int(s) for s in upcoming["subscription_id"]])
    X = renewal_features(upcoming, evidence)
    probability = model.renewal_probability(X) if len(X) else np.empty(0)
    at_risk = arr_at_risk(upcoming["arr"], probability)
    reasons = renewal_reasons(X)
    against, strengths = (
        _reasons(reasons, "against", REASONS_SHOWN),
        _reasons(reasons, "for", STRENGTHS_SHOWN),
    )
    items = []
    rounded = X.round(4).astype(object)
    records: list[dict[str, float | None]] = rounded.where(rounded.notna(), None).to_dict("records")  # type: ignore[assignment]
    columns = ("subscription_id", "account_id", "renewal_date", "arr", "currency")
    for i, (sub, account, due_on, arr, currency) in enumerate(
        zip(*(upcoming[c] for c in columns), strict=True)
    ):
        name, owner_id, owner_name = names.get(int(account), (str(account), None, None))
        day = pd.Timestamp(due_on).date()
        signals = records[i]
        items.append(
            RenewalRisk(
                subscription_id=int(sub),
                account_id=int(account),
                account_name=name,
                owner_id=owner_id,
                owner_name=owner_name,
                product=products.get(int(sub)),
                renewal_date=day,
                days_to_renewal=(day - as_of).days,
                arr=float(arr),
                currency=str(currency or "USD"),
                renewal_probability=float(probability[i]),
                arr_at_risk=float(at_risk[i]),
                reasons=against.get(i, ()),
                strengths=strengths.get(i, ()),
                signals=signals,
            )
        )
    items.sort(key=lambda r: (-r.arr_at_risk, r.renewal_date, r.subscription_id))
    decided = decided_before(events, as_of)
    rate = float(decided["renewed"].astype(bool).mean()) if len(decided) else None
    info = RenewalModelInfo(model.method_, model.note_, len(decided), rate)
    return RenewalOutlook(as_of, within_days, tuple(items), info)


RENEWAL_SORT = {
    "arr_at_risk": lambda r: (-r.arr_at_risk, r.renewal_date, r.subscription_id),
    "renewal_date": lambda r: (r.renewal_date, -r.arr_at_risk, r.subscription_id),
    "renewal_probability": lambda r: (r.renewal_probability, r.renewal_date, r.subscription_id),
    "arr": lambda r: (-r.arr, r.renewal_date, r.subscription_id),
    "account_name": lambda r: (r.account_name.casefold(), r.renewal_date, r.subscription_id),
}
"""Orders of :func:`renewal_page`, each fixed for ties (the default, ``arr_at_risk``, largest first)."""
MAX_WITHIN_DAYS = 3660


@dataclass(frozen=True)
class RenewalQuery(ListQuery):
    """Filters of :func:`renewal_page`: the window (``within_days`` from ``as_of``, default today), one
    account, one owner (the account's), a chance of renewal at most ``max_probability``."""

    as_of: date | None = None
    within_days: int = DEFAULT_WITHIN_DAYS
    account_id: int | None = None
    owner_id: int | None = None
    max_probability: float | None = None


@dataclass(frozen=True)
class RenewalPage:
    """One page of the upcoming renewals, with the figures of every renewal matching the filters."""

    items: tuple[RenewalRisk, ...]
    total: int
    limit: int
    offset: int
    as_of: date
    within_days: int
    arr: float
    arr_at_risk: float
    model: RenewalModelInfo


def renewal_page(engine: Engine, scope: Scope, query: RenewalQuery | None = None) -> RenewalPage:
    """The upcoming renewals the scope sees, filtered, sorted (:data:`RENEWAL_SORT`) and paged. ``as_of``
    after today is invalid (renewal risk knows only the past), as are ``within_days`` outside 1 to
    :data:`MAX_WITHIN_DAYS` and an unknown sort."""
    query = query or RenewalQuery()
    today = utc_now().date()
    problems = []
    if query.as_of is not None and query.as_of > today:
        problems.append(FieldProblem("as_of", f"must be on or before today ({today})"))
    if not 1 <= query.within_days <= MAX_WITHIN_DAYS:
        problems.append(FieldProblem("within_days", f"expected 1 to {MAX_WITHIN_DAYS} days"))
    sort = query.sort or "arr_at_risk"
    if sort not in RENEWAL_SORT:
        problems.append(FieldProblem("sort", f"expected one of {', '.join(RENEWAL_SORT)}"))
    probability = query.max_probability
    if probability is not None and not 0 <= probability <= 1:
        problems.append(FieldProblem("max_probability", "expected a chance between 0 and 1"))
    if problems:
        raise invalid(problems)
    query = replace(normalise_query(replace(query, max_probability=None)), max_probability=probability)
    outlook = upcoming_renewals(engine, scope, as_of=query.as_of, within_days=query.within_days)
    chosen = [
        r
        for r in outlook.renewals
        if (query.account_id is None or r.account_id == query.account_id)
        and (query.owner_id is None or r.owner_id == query.owner_id)
        and (query.max_probability is None or r.renewal_probability <= query.max_probability)
    ]
    chosen.sort(key=RENEWAL_SORT[sort])
    return RenewalPage(
        items=tuple(chosen[query.offset : query.offset + query.limit]),
        total=len(chosen),
        limit=query.limit,
        offset=query.offset,
        as_of=outlook.as_of,
        within_days=outlook.within_days,
        arr=float(sum(r.arr for r in chosen)),
        arr_at_risk=float(sum(r.arr_at_risk for r in chosen)),
        model=outlook.model,
    )


def evaluate_renewal_model(
    engine: Engine, *, as_of: date | None = None, test_share: float = 0.2, seed: int = 0
) -> Evaluation:
    """The renewal model beside usage-only, usage-and-support, logistic regression and the base rate, in
    time order: every method learns from the renewals decided before a cut-off and is tested on the
    newest ``test_share`` (their snapshots 30, 90 and 180 days before each decision); renewals of one
    subscription never sit on both sides."""
    as_of = as_of or utc_now().date()
    with engine.connect() as conn:
        evidence = renewal_evidence(conn)
    events = renewal_events(evidence.subscriptions, evidence.churn_events, as_of)
    rows, X = renewal_snapshots(decided_before(events, as_of), evidence)
    if not len(rows):
        raise InsufficientDataError(
            "no renewal has been decided yet: import subscriptions and churn events (or run the demo)"
        )
    evaluation = evaluate_methods(
        X[list(FEATURES)],
        rows["outcome"].to_numpy(),
        renewal_methods(seed),
        positive=RENEWED,
        time=pd.to_datetime(rows["decided_on"]).to_numpy(),
        groups=rows["subscription_id"].to_numpy(),
        test_share=test_share,
        random_state=seed,
    )
    return replace(evaluation, split=evaluation.split.replace("deals", "renewal snapshots"))


__all__ = [
    "DEFAULT_WITHIN_DAYS",
    "RenewalModelInfo",
    "RenewalOutlook",
    "RenewalPage",
    "RenewalQuery",
    "RenewalReason",
    "RenewalRisk",
    "cached_renewal_model",
    "evaluate_renewal_model",
    "fit_renewal_model",
    "renewal_page",
    "upcoming_renewals",
    "visible_accounts",
]
