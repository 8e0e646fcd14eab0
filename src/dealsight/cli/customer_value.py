"""``dealsight value``: booked vs delivered, for the whole customer base or one account.

The command line sees every account (as the other analytics commands do: whoever holds the database file
sees everything); the API and the pages apply each user's view. Results go to stdout: Rich tables, or one
JSON object with ``--json`` (docs/customer-value.md).
"""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.table import Table

from dealsight.analytics.booked_value import BookedValue
from dealsight.cli.console import DatabaseOption, open_store, out
from dealsight.cli.velocity import AsOfOption, JsonOption, parse_day
from dealsight.services.booked_value import (
    AccountValue,
    account_booked_value,
    named_account,
    portfolio_booked_value,
)
from dealsight.services.pipeline_analytics import FULL_SIGHT


def _money(amount: float) -> str:
    return f"{amount:,.0f}"


def _ratio(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.2f}x"


def _summary(result: BookedValue, title: str, *, portfolio: bool = True) -> Table:
    currency = "/".join(result.currencies) or "USD"
    table = Table(title=f"{title}, as of {result.as_of} ({currency})", title_justify="left")
    table.add_column("")
    table.add_column("", justify="right")
    last = result.last_confirmed_on.isoformat() if result.last_confirmed_on else "never"
    rows = [
        ("ARR booked", _money(result.arr_booked)),
        ("value confirmed, last 12 months", _money(result.value_12m)),
        ("value confirmed, all time", _money(result.value_all_time)),
        ("value / ARR (12 months)", _ratio(result.ratio_12m)),
        ("last value confirmed", last),
        ("accounts with ARR booked", f"{result.accounts_booked:,}"),
        ("... with no value confirmed in 12 months", f"{result.accounts_without_value:,}"),
        ("... their ARR", _money(result.arr_without_value)),
    ]
    for row in rows if portfolio else rows[:5]:
        table.add_row(*row)
    return table


def _trend(result: BookedValue) -> Table:
    table = Table(
        title="By quarter: ARR at its end, value confirmed in it and in 12 months", title_justify="left"
    )
    for column in ("quarter", "ARR booked", "in quarter", "12 months", "value/ARR"):
        table.add_column(column, justify="left" if column == "quarter" else "right")
    for q in result.trend:
        label = q.quarter if q.end != result.as_of else f"{q.quarter} (to {q.end})"
        table.add_row(
            label, _money(q.arr_booked), _money(q.value_confirmed), _money(q.value_12m), _ratio(q.ratio_12m)
        )
    return table


def _accounts(accounts: tuple[AccountValue, ...], total: int) -> Table:
    title = f"Accounts with the least confirmed value behind their ARR ({len(accounts)} of {total:,})"
    table = Table(title=title, title_justify="left")
    for column in ("id", "account", "ARR booked", "value 12m", "value/ARR", "last value"):
        table.add_column(column, justify="right" if column not in ("account", "last value") else "left")
    for a in accounts:
        last = a.last_confirmed_on.isoformat() if a.last_confirmed_on else "never"
        table.add_row(
            str(a.account_id),
            a.account_name,
            _money(a.arr_booked),
            _money(a.value_12m),
            _ratio(a.ratio_12m),
            last,
        )
    return table


def value_command(
    account: str | None = typer.Option(
        None, "--account", help="One account: its id, external id (A-2e4581) or name."
    ),
    as_of: str | None = AsOfOption,
    quarters: int = typer.Option(8, "--quarters", min=1, max=40, help="Quarters of trend."),
    limit: int = typer.Option(10, "--limit", min=0, max=500, help="Accounts listed (portfolio)."),
    as_json: bool = JsonOption,
    database: str | None = DatabaseOption,
) -> None:
    """Booked vs delivered: ARR booked beside the value customers confirmed (12 months and all time),
    their ratio and the trend by quarter; for the portfolio, the accounts with the least value first."""
    engine = open_store(database)
    day = parse_day(as_of, "--as-of")
    if account is not None:
        account_id, name = named_account(engine, account)
        result = account_booked_value(engine, FULL_SIGHT, account_id, as_of=day, quarters=quarters)
        if as_json:
            print(json.dumps({"account_id": account_id, "account_name": name, **asdict(result)}, default=str))
            return
        out.print(_summary(result, f"{name} (account {account_id})", portfolio=False))
        out.print(_trend(result))
        return
    portfolio = portfolio_booked_value(engine, FULL_SIGHT, as_of=day, quarters=quarters, limit=limit)
    if as_json:
        print(json.dumps(asdict(portfolio), default=str))
        return
    out.print(_summary(portfolio.summary, "Booked vs delivered, every account"))
    out.print(_trend(portfolio.summary))
    if portfolio.accounts:
        out.print(_accounts(portfolio.accounts, portfolio.accounts_total))


__all__ = ["value_command"]
