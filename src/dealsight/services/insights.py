"""Reading deal intelligence within a scope: one deal's insight, the open deals with their risks, the win
model versions.

Insights are written by a scoring run (:mod:`dealsight.services.scoring`); here they are only read. A deal
outside the caller's scope is *not found*, exactly as for the deal itself. A deal not scored yet has no
insight (``None``): pages and the API say so rather than invent one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.domain.access import Scope
from dealsight.services.records import ListQuery, Page, normalise_query, not_found, opportunity_visible
from dealsight.store.insights import (
    StoredModel,
    active_model,
    model_by_id,
    model_versions,
    score_history_of,
    stored_risk_actions,
)
from dealsight.store.records import DealStatus, status_filter
from dealsight.store.schema import deal_insights, opportunities, users

SEVERITIES = ("high", "medium", "low")
HEALTHS = ("good", "watch", "at_risk")


@dataclass(frozen=True)
class Risk:
    """A rule of the playbook that fired: the risk in plain words and the next action."""

    rule_id: str
    severity: str
    risk: str
    action: str


def _risk(stored: Mapping[str, Any], actions: Mapping[str, str]) -> Risk:
    """A stored risk; one without its own action takes its rule's (stored once per scoring run)."""
    action = stored.get("action") or actions.get(stored["rule_id"], "")
    return Risk(rule_id=stored["rule_id"], severity=stored["severity"], risk=stored["risk"], action=action)


@dataclass(frozen=True)
class Factor:
    """Something that moved the win probability: ``weight`` in log-odds (positive: for the deal)."""

    feature: str
    label: str
    value: Any
    weight: float


@dataclass(frozen=True)
class ModelRef:
    id: int
    kind: str
    trained_at: datetime
    trained_as_of: datetime


@dataclass(frozen=True)
class DealInsight:
    """The latest insight of one deal: the model's win probability beside the baselines and the deal's own
    probability (the user's or the CRM's, never overwritten), health, risks with actions, factors for and
    against, the indicators they came from, and how the probability moved over scoring runs."""

    opportunity_id: int
    scored_at: datetime
    model: ModelRef | None
    win_probability: float | None
    no_decision_probability: float | None
    stage_win_rate: float | None
    crm_probability: float | None
    naive_bayes_probability: float | None
    manual_probability: float | None
    health: str
    risks: tuple[Risk, ...]
    factors_for: tuple[Factor, ...]
    factors_against: tuple[Factor, ...]
    indicators: Mapping[str, Any]
    trend: tuple[tuple[datetime, float | None], ...]


def _factors(items: object) -> tuple[Factor, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(
        Factor(str(f["feature"]), str(f.get("label") or f["feature"]), f.get("value"), float(f["weight"]))
        for f in items
    )


def _model_ref(model: StoredModel | None) -> ModelRef | None:
    if model is None:
        return None
    return ModelRef(model.id, model.kind, model.trained_at, model.trained_as_of)


def deal_insight(engine: Engine, scope: Scope, opportunity_id: int) -> DealInsight | None:
    """The latest insight of a visible deal (``None`` when it has not been scored);
    :class:`NotFoundError` when the deal does not exist or is outside ``scope``."""
    o, i = opportunities, deal_insights
    query = (
        sa.select(o.c.id, o.c.probability, i)
        .select_from(o.outerjoin(i, i.c.opportunity_id == o.c.id))
        .where(o.c.id == opportunity_id, opportunity_visible(scope, one=True))
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
        if row is None:
            raise not_found("opportunity", opportunity_id)
        if row["scored_at"] is None:
            return None
        model = None if row["model_id"] is None else model_by_id(conn, row["model_id"])
        trend = tuple(score_history_of(conn, opportunity_id))
        actions = stored_risk_actions(conn) if row["risks"] else {}
    factors = row["factors"] or {}
    return DealInsight(
        opportunity_id=opportunity_id,
        scored_at=row["scored_at"],
        model=_model_ref(model),
        win_probability=row["win_probability"],
        no_decision_probability=row["no_decision_probability"],
        stage_win_rate=row["stage_win_rate"],
        crm_probability=row["crm_probability"],
        naive_bayes_probability=row["naive_bayes_probability"],
        manual_probability=row["probability"],
        health=row["health"],
        risks=tuple(_risk(risk, actions) for risk in row["risks"] or ()),
        factors_for=_factors(factors.get("for")),
        factors_against=_factors(factors.get("against")),
        indicators=dict(row["indicators"] or {}),
        trend=trend,
    )


@dataclass(frozen=True)
class RiskQuery(ListQuery):
    """Filters of :func:`deals_at_risk`: ``owner_id``; ``severity`` (at least this severe: ``high`` only
    high, ``medium`` high and medium); ``health``. Sorted by win probability, lowest first."""

    owner_id: int | None = None
    severity: str | None = None
    health: str | None = None


@dataclass(frozen=True)
class DealRisks:
    """An open deal with the risks of its latest insight."""

    opportunity_id: int
    name: str
    owner_id: int | None
    owner_name: str | None
    stage: str
    amount: float | None
    currency: str
    win_probability: float | None
    health: str
    risks: tuple[Risk, ...]


def deals_at_risk(engine: Engine, scope: Scope, query: RiskQuery | None = None) -> Page[DealRisks]:
    """The scored open deals in ``scope`` whose most severe risk is at least ``query.severity`` (any risk
    without it), lowest win probability first; each with its risks of that severity or above."""
    query = normalise_query(query or RiskQuery())
    o, i, u = opportunities, deal_insights, users
    wanted = SEVERITIES[: SEVERITIES.index(query.severity) + 1] if query.severity else SEVERITIES
    where = [opportunity_visible(scope), i.c.risk_count > 0, i.c.top_severity.in_(wanted)]
    open_stages = status_filter(DealStatus.OPEN)
    if open_stages is not None:
        where.append(open_stages)
    if query.owner_id is not None:
        where.append(o.c.owner_id == query.owner_id)
    if query.health is not None:
        where.append(i.c.health == query.health)
    base = o.join(i, i.c.opportunity_id == o.c.id)
    page = (
        sa.select(
            o.c.id,
            o.c.name,
            o.c.owner_id,
            u.c.name.label("owner_name"),
            o.c.stage,
            o.c.amount,
            o.c.currency,
            i.c.win_probability,
            i.c.health,
            i.c.risks,
        )
        .select_from(base.outerjoin(u, u.c.id == o.c.owner_id))
        .where(*where)
        .order_by(i.c.win_probability.is_(None), i.c.win_probability, o.c.id)
        .limit(query.limit)
        .offset(query.offset)
    )
    with engine.connect() as conn:
        rows = conn.execute(page).mappings().all()
        total = conn.execute(sa.select(sa.func.count()).select_from(base).where(*where)).scalar_one()
        actions = stored_risk_actions(conn) if rows else {}
    items = tuple(
        DealRisks(
            opportunity_id=row["id"],
            name=row["name"],
            owner_id=row["owner_id"],
            owner_name=row["owner_name"],
            stage=row["stage"],
            amount=None if row["amount"] is None else float(row["amount"]),
            currency=row["currency"],
            win_probability=row["win_probability"],
            health=row["health"],
            risks=tuple(_risk(r, actions) for r in row["risks"] or () if r["severity"] in wanted),
        )
        for row in rows
    )
    return Page(items, int(total), query.limit, query.offset)


def current_model(engine: Engine) -> StoredModel | None:
    """The active win model, without its fitted object."""
    with engine.connect() as conn:
        return active_model(conn, with_artifact=False)


def win_model_versions(engine: Engine, limit: int = 20) -> list[StoredModel]:
    """The newest win model versions first (their evaluations included)."""
    with engine.connect() as conn:
        return model_versions(conn, limit)


__all__ = [
    "HEALTHS",
    "SEVERITIES",
    "DealInsight",
    "DealRisks",
    "Factor",
    "ModelRef",
    "Risk",
    "RiskQuery",
    "current_model",
    "deal_insight",
    "deals_at_risk",
    "win_model_versions",
]
