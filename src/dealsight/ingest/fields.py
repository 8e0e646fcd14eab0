"""Parsing of cell text into typed values, each parser naming what it expected when it fails.

Parsers take the stripped cell text (never empty: empty cells are ``None`` before they get here) and
return the value or raise :class:`BadValue` whose message is the "expected ..." part of a row problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)

DEFAULT_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M",
)
_MONEY_JUNK = re.compile(r"[\s$€£¥₹]|[A-Z]{3}$|^[A-Z]{3}")
_TRUE = frozenset({"yes", "y", "true", "t", "1", "x", "checked"})
_FALSE = frozenset({"no", "n", "false", "f", "0", "unchecked"})


class BadValue(ValueError):
    """A cell that cannot be read as the expected type; the message says what was expected."""


def parse_datetime(text: str, formats: Sequence[str] = DEFAULT_DATE_FORMATS) -> datetime:
    cleaned = text.strip().removesuffix("Z")
    try:
        return datetime.fromisoformat(cleaned).replace(tzinfo=None)
    except ValueError:
        pass
    for fmt in formats:
        try:
            return datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
    raise BadValue(f"a date such as 2024-03-31 (formats tried: {', '.join(formats[:4])}, ...)")


def parse_date(text: str, formats: Sequence[str] = DEFAULT_DATE_FORMATS) -> date:
    return parse_datetime(text, formats).date()


def parse_decimal(text: str) -> Decimal:
    cleaned = _MONEY_JUNK.sub("", text.strip().upper())
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    cleaned = cleaned.strip("()")
    if cleaned.count(",") and cleaned.count("."):
        # 1,234.50 or 1.234,50: the last separator is the decimal point
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif cleaned.count(",") == 1 and len(cleaned.split(",")[1]) != 3:
        cleaned = cleaned.replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise BadValue("a number such as 1250.50") from None
    if not value.is_finite() or abs(value) >= Decimal("1e16"):
        raise BadValue("a finite amount below 10^16")
    return -value if negative else value


def parse_int(text: str) -> int:
    try:
        number = parse_decimal(text)
    except BadValue:
        raise BadValue("a whole number such as 250") from None
    if number != number.to_integral_value() or abs(number) > 2**31 - 1:
        raise BadValue("a whole number such as 250")
    return int(number)


def parse_share(text: str) -> float:
    """A share in 0..1, given as 0.15, 15% or 15 (numbers above 1 are read as percentages)."""
    cleaned = text.strip().removesuffix("%")
    try:
        value = float(parse_decimal(cleaned))
    except BadValue:
        raise BadValue("a percentage such as 15% or a share such as 0.15") from None
    share = value / 100 if (text.strip().endswith("%") or abs(value) > 1) else value
    if not -1 <= share <= 1:
        raise BadValue("a percentage between -100% and 100%")
    return share


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadValue("yes or no (also true/false, 1/0)")


def enum_parser(enum: type[E], aliases: dict[str, E] | None = None) -> Callable[[str], E]:
    """A parser accepting an enum's values in any case and spacing, and the given aliases."""
    table: dict[str, E] = {_enum_key(member.value): member for member in enum}
    table.update({_enum_key(member.name): member for member in enum})
    table.update({_enum_key(alias): member for alias, member in (aliases or {}).items()})
    expected = "one of " + ", ".join(member.value for member in enum)

    def parse(text: str) -> E:
        try:
            return table[_enum_key(text)]
        except KeyError:
            raise BadValue(expected) from None

    return parse


def text_parser(max_length: int | None) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if max_length is not None and len(text) > max_length:
            raise BadValue(f"at most {max_length} characters")
        return text

    return parse


def _enum_key(text: str) -> str:
    return re.sub(r"[\s_\-/]+", "", text.strip().lower())
