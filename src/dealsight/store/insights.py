"""Storing deal intelligence: win model versions, the latest insight of each open deal, score history.

Everything runs on the caller's connection and inside the caller's transaction (a scoring run replaces
the insights and appends the history in one transaction: a failed run leaves the previous insights).
Insights are written with the importers' bulk path (:func:`dealsight.store.bulk.insert_many`: ``COPY`` on
PostgreSQL, one prepared INSERT on SQLite).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealsight.errors import StorageError
from dealsight.store.bulk import analyze, chunks, insert_many
from dealsight.store.schema import deal_insights, deal_score_history, risk_actions, win_models

MODEL_SUMMARY_COLUMNS = tuple(c.name for c in win_models.c if c.name != "artifact")
INSIGHT_COLUMNS = tuple(c.name for c in deal_insights.c)


@dataclass(frozen=True)
class StoredModel:
    """A win model version as stored (``artifact`` only when asked for)."""

    id: int
    trained_at: datetime
    trained_as_of: datetime
    kind: str
    active: bool
    outcomes: list[str]
    features: list[str]
    closed_deals: int
    snapshots: int
    note: str | None
    evaluation: dict[str, Any] | None
    library_versions: dict[str, str]
    artifact: bytes | None = None


def save_model(conn: Connection, values: Mapping[str, Any], *, activate: bool = True) -> int:
    """Store a model version (``values`` by column name; ``id`` and ``active`` are set here) and, by
    default, make it the active one. Returns its id."""
    row = {name: value for name, value in values.items() if name not in ("id", "active")}
    inserted = conn.execute(win_models.insert().values(**row, active=False)).inserted_primary_key
    assert inserted is not None
    model_id = int(inserted[0])
    if activate:
        activate_model(conn, model_id)
    return model_id


def activate_model(conn: Connection, model_id: int) -> None:
    """Make ``model_id`` the only active model."""
    conn.execute(
        win_models.update().where(win_models.c.active, win_models.c.id != model_id).values(active=False)
    )
    conn.execute(win_models.update().where(win_models.c.id == model_id).values(active=True))


def _model(row: sa.RowMapping) -> StoredModel:
    return StoredModel(
        id=row["id"],
        trained_at=row["trained_at"],
        trained_as_of=row["trained_as_of"],
        kind=row["kind"],
        active=bool(row["active"]),
        outcomes=list(row["outcomes"]),
        features=list(row["features"]),
        closed_deals=row["closed_deals"],
        snapshots=row["snapshots"],
        note=row["note"],
        evaluation=row["evaluation"],
        library_versions=dict(row["library_versions"]),
        artifact=row.get("artifact"),
    )


def active_model(conn: Connection, *, with_artifact: bool = True) -> StoredModel | None:
    """The model scoring uses, if any."""
    columns = [win_models.c[name] for name in MODEL_SUMMARY_COLUMNS]
    if with_artifact:
        columns.append(win_models.c.artifact)
    row = conn.execute(sa.select(*columns).where(win_models.c.active)).mappings().first()
    return None if row is None else _model(row)


def model_by_id(conn: Connection, model_id: int) -> StoredModel | None:
    """One model version, without its fitted object."""
    columns = [win_models.c[name] for name in MODEL_SUMMARY_COLUMNS]
    row = conn.execute(sa.select(*columns).where(win_models.c.id == model_id)).mappings().first()
    return None if row is None else _model(row)


def model_versions(conn: Connection, limit: int = 50) -> list[StoredModel]:
    """The newest model versions first, without their fitted objects."""
    columns = [win_models.c[name] for name in MODEL_SUMMARY_COLUMNS]
    query = sa.select(*columns).order_by(win_models.c.trained_at.desc(), win_models.c.id.desc()).limit(limit)
    return [_model(row) for row in conn.execute(query).mappings()]


def replace_insights(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Replace every stored insight by ``rows`` (each a mapping of :data:`INSIGHT_COLUMNS`): a scoring run
    covers every open deal, so deals no longer open lose their insight."""
    conn.execute(deal_insights.delete())
    try:
        insert_many(conn, deal_insights, list(rows))
        analyze(conn, deal_insights)  # the pipeline lists join and sort by them
    except (sa.exc.IntegrityError, psycopg.errors.IntegrityError) as error:
        raise StorageError(
            "the scored deals changed while scoring (a deal no longer exists); score again"
        ) from error


def replace_risk_actions(conn: Connection, actions: Mapping[str, str]) -> None:
    """Replace the stored next action of each rule (``rule_id -> action``) by ``actions``."""
    conn.execute(risk_actions.delete())
    if actions:
        conn.execute(risk_actions.insert(), [{"rule_id": r, "action": a} for r, a in actions.items()])


def stored_risk_actions(conn: Connection) -> dict[str, str]:
    """The next action of each rule whose stored risks leave it out, by rule id."""
    return {row[0]: row[1] for row in conn.execute(sa.select(risk_actions.c.rule_id, risk_actions.c.action))}


def append_score_history(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Add one history row per scored deal (opportunity_id, scored_at, model_id, win_probability,
    risk_count); a second run at the same instant replaces the first's rows."""
    if not rows:
        return
    instants = sorted({row["scored_at"] for row in rows})
    conn.execute(deal_score_history.delete().where(deal_score_history.c.scored_at.in_(instants)))
    insert_many(conn, deal_score_history, list(rows))


def insights_of(conn: Connection, opportunity_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The stored insight of each of these deals that has one, by deal id."""
    found: dict[int, dict[str, Any]] = {}
    for part in chunks(sorted(set(opportunity_ids))):
        query = sa.select(deal_insights).where(deal_insights.c.opportunity_id.in_(list(part)))
        for row in conn.execute(query).mappings():
            found[row["opportunity_id"]] = dict(row)
    return found


def score_history_of(conn: Connection, opportunity_id: int) -> list[tuple[datetime, float | None]]:
    """(scored_at, win probability) of every scoring run that covered this deal, oldest first."""
    h = deal_score_history
    query = (
        sa.select(h.c.scored_at, h.c.win_probability)
        .where(h.c.opportunity_id == opportunity_id)
        .order_by(h.c.scored_at)
    )
    return [(row[0], row[1]) for row in conn.execute(query)]


__all__ = [
    "INSIGHT_COLUMNS",
    "StoredModel",
    "activate_model",
    "active_model",
    "append_score_history",
    "insights_of",
    "model_by_id",
    "model_versions",
    "replace_insights",
    "replace_risk_actions",
    "save_model",
    "score_history_of",
    "stored_risk_actions",
]
