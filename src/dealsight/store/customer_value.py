"""Reading customer value from the store: subscriptions by their external id (for imports), and the
subscriptions and confirmed values of a set of accounts as frames (for the booked vs delivered view and,
later, renewal risk).

Frames follow :mod:`dealsight.store.frames`: money as floats, days as ``datetime.date``. ``accounts`` is a
``SELECT`` of account ids (the caller's scope, built by the services) or ``None`` for every account.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import sqlalchemy as sa

from dealsight.store import schema
from dealsight.store.bulk import chunks, one_of

SUBSCRIPTION_COLUMNS = (
    "id", "account_id", "arr", "mrr", "currency", "term_start", "term_end", "billing_frequency",
    "auto_renew", "renewal_date", "is_trial", "status",
)  # fmt: skip
VALUE_COLUMNS = (
    "id",
    "account_id",
    "metric",
    "monetary_value",
    "currency",
    "confirmed_on",
    "confirmer_level",
)
CUSTOMER_VALUE_TABLES = (
    schema.subscriptions,
    schema.churn_events,
    schema.value_evidence,
    schema.riq_answers,
    schema.feature_usage,
    schema.support_tickets,
)
"""Tables whose rows belong to an account (``account_id``): they move with a merged account."""


def subscriptions_by_external_id(conn: sa.Connection, refs: Iterable[str]) -> dict[str, tuple[int, int]]:
    """``external_id -> (subscription id, account id)`` of the subscriptions named in ``refs``."""
    table = schema.subscriptions
    found: dict[str, tuple[int, int]] = {}
    for part in chunks(sorted(set(refs))):
        query = sa.select(table.c.external_id, table.c.id, table.c.account_id).where(
            one_of(conn, table.c.external_id, part)
        )
        found.update({row.external_id: (row.id, row.account_id) for row in conn.execute(query)})
    return found


def _frame(
    conn: sa.Connection, table: sa.Table, columns: Iterable[str], accounts: sa.Select[Any] | None
) -> pd.DataFrame:
    names = list(columns)
    query = sa.select(*(table.c[name] for name in names)).order_by(table.c.id)
    if accounts is not None:
        query = query.where(table.c.account_id.in_(accounts))
    return pd.DataFrame([tuple(row) for row in conn.execute(query)], columns=names)


def subscription_frame(conn: sa.Connection, accounts: sa.Select[Any] | None = None) -> pd.DataFrame:
    """Subscriptions (:data:`SUBSCRIPTION_COLUMNS`) of the accounts selected; ``arr``, ``mrr`` as floats."""
    frame = _frame(conn, schema.subscriptions, SUBSCRIPTION_COLUMNS, accounts)
    for name in ("arr", "mrr"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return frame


def value_frame(conn: sa.Connection, accounts: sa.Select[Any] | None = None) -> pd.DataFrame:
    """Confirmed values (:data:`VALUE_COLUMNS`) of the accounts selected, ``monetary_value`` as floats."""
    frame = _frame(conn, schema.value_evidence, VALUE_COLUMNS, accounts)
    frame["monetary_value"] = pd.to_numeric(frame["monetary_value"], errors="coerce").astype(float)
    return frame


__all__ = [
    "CUSTOMER_VALUE_TABLES",
    "SUBSCRIPTION_COLUMNS",
    "VALUE_COLUMNS",
    "subscription_frame",
    "subscriptions_by_external_id",
    "value_frame",
]
