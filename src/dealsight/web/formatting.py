"""How values read on a page: money, shares, dates, enum labels. Registered as Jinja filters.

Money is shown whole (``$1,250,000``) with the currency's symbol for USD, EUR and GBP and its code
otherwise; shares (a discount of 0.15) as percentages; stored times are UTC and say so. ``None`` is an
en dash everywhere, so an empty field is visibly empty rather than blank.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from pathlib import Path

import jinja2
from fastapi.templating import Jinja2Templates

EMPTY = "–"
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
LABELS = {
    "best_case": "Best case",
    "no_decision": "No decision",
    "mid_market": "Mid-market",
    "smb": "SMB",
    "close_date": "Close date",
    "forecast_category": "Forecast category",
    "economic_buyer": "Economic buyer",
    "decision_maker": "Decision maker",
    "technical_buyer": "Technical buyer",
}


def money(value: object, currency: str | None = "USD") -> str:
    if value is None or value == "":
        return EMPTY
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    code = (currency or "USD").upper()
    whole = (
        f"{amount:,.0f}" if amount == amount.to_integral_value() or abs(amount) >= 1000 else f"{amount:,.2f}"
    )
    symbol = SYMBOLS.get(code)
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("-")
    return f"{sign}{symbol}{whole}" if symbol else f"{sign}{code} {whole}"


def short_money(value: object, currency: str | None = "USD") -> str:
    """``$1.3M``, ``$450k``: for tight places (the chart's axis, summary tiles)."""
    if value is None:
        return EMPTY
    amount = float(Decimal(str(value)))
    code = (currency or "USD").upper()
    symbol = SYMBOLS.get(code, code + " ")
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(amount) >= limit:
            return f"{symbol}{amount / limit:,.1f}{suffix}".replace(".0" + suffix, suffix)
    return f"{symbol}{amount:,.0f}"


def percent(value: object) -> str:
    if value is None:
        return EMPTY
    share = float(str(value))
    return "<1%" if 0 < share < 0.005 else f"{share * 100:.0f}%"


def day(value: object) -> str:
    """``23 Nov 2026``."""
    if value is None:
        return EMPTY
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.day} {value:%b %Y}"
    return str(value)


def moment(value: object) -> str:
    """``23 Nov 2026, 21:33 UTC`` (stored times are UTC)."""
    if value is None:
        return EMPTY
    if isinstance(value, datetime):
        return f"{value.day} {value:%b %Y, %H:%M} UTC"
    return day(value)


def iso(value: object) -> str:
    """The machine-readable form for ``<time datetime=...>``."""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, date):
        return value.isoformat()
    return ""


def label(value: object) -> str:
    """An enum value or field name as words: ``best_case`` -> ``Best case``."""
    if value is None or value == "":
        return EMPTY
    text = str(value.value) if isinstance(value, Enum) else str(value)
    if text in LABELS:
        return LABELS[text]
    words = text.replace("_", " ")
    return words[:1].upper() + words[1:]


def field_label(value: object) -> str:
    """An audited field as words: ``qualification:key_players`` -> ``Qualification: key players``
    (``...:note`` -> ``Qualification note: ...``; ``roadmap:tco`` the same way), ``team_id`` -> ``Team``,
    else :func:`label`."""
    if value is None:
        return EMPTY
    text = str(value)
    if text.startswith(("qualification:", "roadmap:")):
        parts = text.split(":")
        kind = parts[0].capitalize() + (" note" if parts[-1] == "note" and len(parts) > 2 else "")
        words = parts[1].replace("_", " ")
        return f"{kind}: {words.replace('-', ' ') if parts[0] == 'roadmap' else words}"
    if text.endswith("_id"):
        text = text[:-3]
    return label(text)


def yes_no(value: object) -> str:
    if value is None:
        return "Unknown"
    return "Yes" if value else "No"


def or_dash(value: object) -> object:
    return EMPTY if value is None or value == "" else value


def number(value: object) -> str:
    if value is None:
        return EMPTY
    return f"{int(str(value)):,}"


def history_value(value: str | None, field: object) -> str:
    """A history value (stored as text) as a page shows it: amounts as money, close dates as days."""
    if value is None or value == "":
        return EMPTY
    kind = str(field.value) if isinstance(field, Enum) else str(field)
    try:
        if kind == "amount":
            return money(Decimal(value))
        if kind == "close_date":
            return day(date.fromisoformat(value))
    except (ArithmeticError, ValueError):
        pass
    return label(value) if kind == "forecast_category" else value


def factor_value(value: object) -> str:
    """An indicator's value as it reads beside a factor: whole numbers without decimals, shares of 0-1
    left as they are (the label says what they are), flags as yes / no, missing as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() or abs(value) >= 10 else f"{value:.2f}"
    return label(value) if isinstance(value, str) else str(value)


@cache
def templates(directory: Path) -> Jinja2Templates:
    """The pages' templates: autoescaped, strict about undefined names, with the filters above (one
    environment per directory, so each template is compiled once per process)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=money,
        short_money=short_money,
        percent=percent,
        day=day,
        moment=moment,
        iso=iso,
        label=label,
        yes_no=yes_no,
        or_dash=or_dash,
        number=number,
        history_value=history_value,
        field_label=field_label,
        factor_value=factor_value,
    )
    return Jinja2Templates(env=env)


__all__ = ["day", "label", "moment", "money", "percent", "short_money", "templates"]
