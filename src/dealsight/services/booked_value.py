"""Booked vs delivered for an account and for the portfolio a scope sees (the computation is
:mod:`dealsight.analytics.booked_value`; this module reads the frames and applies access).

- :func:`account_booked_value`: one visible account (else *not found*).
- :func:`portfolio_booked_value`: every account the scope sees (merged accounts left out), with the
  accounts whose booked ARR has the least confirmed value behind it listed first: those without any value
  in the last 12 months by ARR, then the rest by ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.analytics.booked_value import DEFAULT_QUARTERS, BookedValue, booked_vs_delivered, by_account
from dealsight.domain.access import Scope
from dealsight.domain.clock import utc_now
from dealsight.services.accounts import resolve_account
from dealsight.services.records import account_visible
from dealsight.services.subscriptions import require_account
from dealsight.store.customer_value import subscription_frame, value_frame
from dealsight.store.schema import accounts

DEFAULT_ACCOUNTS = 20


@dataclass(frozen=True)
class AccountValue:
    """One account of the portfolio: booked ARR beside the value it confirmed."""

    account_id: int
    account_name: str
    arr_booked: float
    value_12m: float
    value_all_time: float
    ratio_12m: float | None
    last_confirmed_on: date | None


@dataclass(frozen=True)
class PortfolioValue:
    """Booked vs delivered of the accounts a scope sees, and the accounts with the least value first."""

    summary: BookedValue
    accounts: tuple[AccountValue, ...]
    accounts_total: int
    """Accounts with ARR booked (``accounts`` shows the first of them)."""


def account_booked_value(
    engine: Engine,
    scope: Scope,
    account_id: int,
    *,
    as_of: date | None = None,
    quarters: int = DEFAULT_QUARTERS,
) -> BookedValue:
    """Booked vs delivered of one visible account as of ``as_of`` (today by default)."""
    selected = sa.select(accounts.c.id).where(accounts.c.id == account_id)
    with engine.connect() as conn:
        require_account(conn, scope, account_id)
        subscriptions, values = subscription_frame(conn, selected), value_frame(conn, selected)
    return booked_vs_delivered(subscriptions, values, as_of or utc_now().date(), quarters=quarters)


def named_account(engine: Engine, ref: str) -> tuple[int, str]:
    """The id and name of the account ``ref`` names (id, external id or name; see
    :func:`dealsight.services.accounts.resolve_account`), for entry points without a scope (the CLI)."""
    with engine.connect() as conn:
        row = resolve_account(conn, ref)
    return int(row.id), str(row.name)


def _least_value_first(frame: pd.DataFrame) -> pd.DataFrame:
    booked = frame[frame["arr_booked"] > 0].copy()
    booked["_has_value"] = booked["value_12m"] > 0
    return booked.sort_values(["_has_value", "ratio_12m", "arr_booked", "account_id"],
                              ascending=[True, True, False, True])  # fmt: skip


def _optional_float(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _account_value(row: dict[Any, Any], names: dict[int, str]) -> AccountValue:
    account_id = int(row["account_id"])
    last = row["last_confirmed_on"]
    return AccountValue(
        account_id=account_id,
        account_name=names.get(account_id, str(account_id)),
        arr_booked=float(row["arr_booked"]),
        value_12m=float(row["value_12m"]),
        value_all_time=float(row["value_all_time"]),
        ratio_12m=_optional_float(row["ratio_12m"]),
        last_confirmed_on=last if isinstance(last, date) and not pd.isna(last) else None,
    )


def portfolio_booked_value(
    engine: Engine,
    scope: Scope,
    *,
    as_of: date | None = None,
    quarters: int = DEFAULT_QUARTERS,
    limit: int = DEFAULT_ACCOUNTS,
) -> PortfolioValue:
    """Booked vs delivered of every account ``scope`` sees, as of ``as_of`` (today by default)."""
    day = as_of or utc_now().date()
    selected = sa.select(accounts.c.id).where(account_visible(scope), accounts.c.merged_into_id.is_(None))
    with engine.connect() as conn:
        subscriptions, values = subscription_frame(conn, selected), value_frame(conn, selected)
        summary = booked_vs_delivered(subscriptions, values, day, quarters=quarters)
        ranked = _least_value_first(by_account(subscriptions, values, day))
        shown = ranked.head(max(limit, 0))
        query = sa.select(accounts.c.id, accounts.c.name).where(
            accounts.c.id.in_(shown["account_id"].tolist())
        )
        names = {row.id: row.name for row in conn.execute(query)}
    rows = tuple(_account_value(row, names) for row in shown.to_dict("records"))
    return PortfolioValue(summary, rows, len(ranked))


__all__ = [
    "AccountValue",
    "PortfolioValue",
    "account_booked_value",
    "named_account",
    "portfolio_booked_value",
]
