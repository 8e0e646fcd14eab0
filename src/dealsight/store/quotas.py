"""Storing quotas: reading them with their owner's name, and the writes the quota service and the quota
import make. Everything runs on the caller's connection (and transaction); access rules are the
service's (:mod:`dealsight.services.quotas`).

A quota is the target of exactly one rep (``user_id``) or one team (``team_id``) for one period, from
``period_start`` to ``period_end``, both days included. :func:`quotas_for_period` is what the forecast
reads: the quotas of exactly one period, every owner, no access filter (the caller filters).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.store.schema import quotas, teams, users

QUOTA_FIELDS = ("period_start", "period_end", "user_id", "team_id", "amount", "currency")
"""The columns of a quota a writer sets (``id`` and the timestamps are the store's)."""


@dataclass(frozen=True)
class Quota:
    """A quota as stored, with its owner's name (``user_name`` for a rep's, ``team_name`` for a team's)."""

    id: int
    period_start: date
    period_end: date
    user_id: int | None
    user_name: str | None
    team_id: int | None
    team_name: str | None
    amount: Decimal
    currency: str
    created_at: datetime
    updated_at: datetime

    @property
    def level(self) -> str:
        """``rep`` or ``team``: whose target this is."""
        return "rep" if self.user_id is not None else "team"


def quota_select() -> sa.Select[Any]:
    """Every column of :class:`Quota`, owners' names joined (filter and order it further)."""
    return sa.select(
        quotas.c.id,
        quotas.c.period_start,
        quotas.c.period_end,
        quotas.c.user_id,
        users.c.name.label("user_name"),
        quotas.c.team_id,
        teams.c.name.label("team_name"),
        quotas.c.amount,
        quotas.c.currency,
        quotas.c.created_at,
        quotas.c.updated_at,
    ).select_from(
        quotas.outerjoin(users, users.c.id == quotas.c.user_id).outerjoin(
            teams, teams.c.id == quotas.c.team_id
        )
    )


def read_quotas(conn: Connection, query: sa.Select[Any]) -> list[Quota]:
    """The quotas ``query`` (built on :func:`quota_select`) finds, as :class:`Quota`."""
    return [Quota(**row) for row in conn.execute(query).mappings()]


def quota_by_id(conn: Connection, quota_id: int) -> Quota | None:
    found = read_quotas(conn, quota_select().where(quotas.c.id == quota_id))
    return found[0] if found else None


def quota_of(
    conn: Connection, *, user_id: int | None, team_id: int | None, period_start: date, period_end: date
) -> int | None:
    """The id of the quota of this owner (one of ``user_id`` / ``team_id``) and period, if there is one."""
    owner = quotas.c.user_id == user_id if user_id is not None else quotas.c.team_id == team_id
    query = sa.select(quotas.c.id).where(
        owner, quotas.c.period_start == period_start, quotas.c.period_end == period_end
    )
    found = conn.execute(query).scalar_one_or_none()
    return None if found is None else int(found)


def insert_quota(conn: Connection, values: Mapping[str, Any]) -> int:
    """Store a new quota (``values`` by column name, see :data:`QUOTA_FIELDS`); returns its id."""
    row = {name: values[name] for name in QUOTA_FIELDS if name in values}
    return int(conn.execute(quotas.insert().values(**row).returning(quotas.c.id)).scalar_one())


def update_quota_row(conn: Connection, quota_id: int, values: Mapping[str, Any], now: datetime) -> None:
    """Write ``values`` (some of :data:`QUOTA_FIELDS`) to quota ``quota_id``, with ``updated_at``."""
    conn.execute(quotas.update().where(quotas.c.id == quota_id).values(**values, updated_at=now))


def delete_quota_row(conn: Connection, quota_id: int) -> None:
    conn.execute(quotas.delete().where(quotas.c.id == quota_id))


def quotas_for_period(
    conn_or_engine: Connection | Engine, period_start: date, period_end: date
) -> list[Quota]:
    """Every quota whose period is exactly ``period_start`` .. ``period_end`` (both included), reps' and
    teams', ordered by id. A quota of another period (a month inside a quarter, a year around it) is not
    summed or pro-rated into it: a target belongs to the period it was set for. No access filter: the
    caller (the forecast service) shows each to whoever may see its owner."""
    query = (
        quota_select()
        .where(quotas.c.period_start == period_start, quotas.c.period_end == period_end)
        .order_by(quotas.c.id)
    )
    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            return read_quotas(conn, query)
    return read_quotas(conn_or_engine, query)


def owners_by_key(conn: Connection) -> tuple[dict[str, int], dict[str, int]]:
    """Users by e-mail (lower case) and teams by name (lower case): how an import names a quota's owner."""
    by_email = {
        str(email).lower(): int(uid)
        for uid, email in conn.execute(sa.select(users.c.id, users.c.email).where(users.c.email.is_not(None)))
    }
    by_team = {str(name).lower(): int(tid) for tid, name in conn.execute(sa.select(teams.c.id, teams.c.name))}
    return by_email, by_team


def existing_quotas(
    conn: Connection, keys: Sequence[tuple[int | None, int | None, date, date]]
) -> dict[tuple[int | None, int | None, date, date], tuple[int, Decimal, str]]:
    """The stored quotas of the given (user_id, team_id, period_start, period_end) keys: id, amount and
    currency by key (keys without a stored quota are left out)."""
    wanted = set(keys)
    if not wanted:
        return {}
    starts = sorted({key[2] for key in wanted})
    query = sa.select(
        quotas.c.id,
        quotas.c.user_id,
        quotas.c.team_id,
        quotas.c.period_start,
        quotas.c.period_end,
        quotas.c.amount,
        quotas.c.currency,
    ).where(quotas.c.period_start.in_(starts))
    found: dict[tuple[int | None, int | None, date, date], tuple[int, Decimal, str]] = {}
    for row in conn.execute(query):
        key = (row.user_id, row.team_id, row.period_start, row.period_end)
        if key in wanted:
            found[key] = (int(row.id), Decimal(row.amount), str(row.currency))
    return found


__all__ = [
    "QUOTA_FIELDS",
    "Quota",
    "delete_quota_row",
    "existing_quotas",
    "insert_quota",
    "owners_by_key",
    "quota_by_id",
    "quota_of",
    "quota_select",
    "quotas_for_period",
    "read_quotas",
    "update_quota_row",
]
