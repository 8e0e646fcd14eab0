"""Reading what renewal risk needs from the store, as frames (:class:`~dealsight.analytics.renewal_features.
RenewalEvidence`): subscriptions and confirmed values (:mod:`dealsight.store.customer_value`), churn events,
RIQ answers, activities with the accounts' executives, feature usage (summed per subscription and day in
the database) and support tickets.

``accounts`` is a ``SELECT`` of account ids (a scope) or ``None`` for every account: renewal risk learns
from the whole organisation's renewals and shows each person only the ones they may see (the services
decide). Frames follow :mod:`dealsight.store.frames`: days as ``datetime.date``, moments as ``datetime``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from dealsight.analytics.renewal_features import RenewalEvidence
from dealsight.store import schema
from dealsight.store.customer_value import subscription_frame, value_frame

_ac, _a, _c = schema.activity_contacts, schema.activities, schema.contacts


def _read(conn: sa.Connection, query: sa.Select[Any], columns: list[str]) -> pd.DataFrame:
    """The rows of ``query`` through the driver's own cursor, fetched at once: plain tuples, which pandas
    takes apart quickly (SQLAlchemy's rows cost several times more at hundreds of thousands of rows)."""
    compiled = query.compile(dialect=conn.dialect)
    params: Any = compiled.params
    if compiled.positiontup is not None:  # positional drivers (SQLite's qmark)
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return pd.DataFrame(rows, columns=columns)


def _within(query: sa.Select[Any], column: sa.ColumnElement[Any], accounts: sa.Select[Any] | None) -> Any:
    return query if accounts is None else query.where(column.in_(accounts))


def churn_event_frame(conn: sa.Connection, accounts: sa.Select[Any] | None = None) -> pd.DataFrame:
    """``account_id``, ``subscription_id`` (or None), ``churned_on`` of each churn event."""
    t = schema.churn_events
    query = sa.select(t.c.account_id, t.c.subscription_id, t.c.churned_on).order_by(t.c.id)
    return _read(
        conn, _within(query, t.c.account_id, accounts), ["account_id", "subscription_id", "churned_on"]
    )


def riq_frame(conn: sa.Connection, accounts: sa.Select[Any] | None = None) -> pd.DataFrame:
    """``account_id``, ``impact``, ``recovery``, ``answered_on`` of each RIQ answer."""
    t = schema.riq_answers
    query = sa.select(t.c.account_id, t.c.impact, t.c.recovery, t.c.answered_on).order_by(t.c.id)
    return _read(
        conn, _within(query, t.c.account_id, accounts), ["account_id", "impact", "recovery", "answered_on"]
    )


def executive_activity_frame(conn: sa.Connection, accounts: sa.Select[Any] | None = None) -> pd.DataFrame:
    """``account_id`` (the executive's account), ``occurred_at`` of each activity with an executive of an
    account (on a deal or not), once per activity and account."""
    query = (
        sa.select(_c.c.account_id, _a.c.occurred_at)
        .select_from(_ac.join(_a, _a.c.id == _ac.c.activity_id).join(_c, _c.c.id == _ac.c.contact_id))
        .where(_c.c.is_executive.is_(True), _c.c.account_id.is_not(None))
        .group_by(_c.c.account_id, _a.c.id, _a.c.occurred_at)
    )
    return _read(conn, _within(query, _c.c.account_id, accounts), ["account_id", "occurred_at"])


def usage_frame(conn: sa.Connection, accounts: sa.Select[Any] | None = None) -> pd.DataFrame:
    """``subscription_id``, ``account_id``, ``used_on``, ``usage_count`` (summed over features) and
    ``features`` (how many features were used) per subscription and day."""
    t = schema.feature_usage
    query = sa.select(
        t.c.subscription_id,
        t.c.account_id,
        t.c.used_on,
        sa.func.sum(t.c.usage_count),
        sa.func.count(sa.distinct(t.c.feature)),
    ).group_by(t.c.subscription_id, t.c.account_id, t.c.used_on)
    frame = _read(
        conn,
        _within(query, t.c.account_id, accounts),
        ["subscription_id", "account_id", "used_on", "usage_count", "features"],
    )
    frame["usage_count"] = pd.to_numeric(frame["usage_count"]).astype(float)
    return frame


def ticket_frame(conn: sa.Connection, accounts: sa.Select[Any] | None = None) -> pd.DataFrame:
    """``account_id``, ``opened_at``, ``escalated``, ``satisfaction`` of each support ticket."""
    t = schema.support_tickets
    query = sa.select(t.c.account_id, t.c.opened_at, t.c.escalated, t.c.satisfaction).order_by(t.c.id)
    frame = _read(
        conn,
        _within(query, t.c.account_id, accounts),
        ["account_id", "opened_at", "escalated", "satisfaction"],
    )
    frame["satisfaction"] = pd.to_numeric(frame["satisfaction"]).astype(float)
    return frame


def renewal_evidence(conn: sa.Connection, accounts: sa.Select[Any] | None = None) -> RenewalEvidence:
    """Everything renewal risk reads, for the accounts selected (``None``: every account)."""
    subscriptions = subscription_frame(conn, accounts)
    s = schema.subscriptions
    query = _within(sa.select(s.c.id, s.c.product), s.c.account_id, accounts)
    products = {row[0]: row[1] for row in conn.execute(query)}
    subscriptions["product"] = subscriptions["id"].map(products)
    return RenewalEvidence(
        subscriptions=subscriptions,
        churn_events=churn_event_frame(conn, accounts),
        values=value_frame(conn, accounts),
        riq_answers=riq_frame(conn, accounts),
        executive_activities=executive_activity_frame(conn, accounts),
        usage=usage_frame(conn, accounts),
        tickets=ticket_frame(conn, accounts),
    )


__all__ = [
    "churn_event_frame",
    "executive_activity_frame",
    "renewal_evidence",
    "riq_frame",
    "ticket_frame",
    "usage_frame",
]
