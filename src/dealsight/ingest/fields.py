"""Parsing of cell text into typed values, each parser naming what it expected when it fails.

Parsers take the stripped cell text (never empty: empty cells are ``None`` before they get here) and
return the value or raise :class:`BadValue` whose message is the "expected ..." part of a row problem.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
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


_DIRECTIVES = {
    # the same patterns as the standard library's strptime, so a format reads exactly what it reads there
    "Y": r"\d\d\d\d",
    "m": r"1[0-2]|0[1-9]|[1-9]",
    "d": r"3[01]|[12]\d|0[1-9]|[1-9]| [1-9]",
    "H": r"2[0-3]|[0-1]\d|\d",
    "I": r"1[0-2]|0[1-9]|[1-9]",
    "M": r"[0-5]\d|\d",
    "S": r"6[0-1]|[0-5]\d|\d",
    "p": r"am|pm",
}
_DIRECTIVE = re.compile(r"%(.)")


def _format_pattern(fmt: str, tag: str) -> str | None:
    """The regular expression strptime uses for ``fmt``, groups named ``<directive><tag>``; ``None`` when
    the format uses a directive other than ``%Y %m %d %H %I %M %S %p`` (or one twice)."""
    directives = _DIRECTIVE.findall(fmt)
    if any(d not in _DIRECTIVES for d in directives) or len(set(directives)) != len(directives):
        return None
    pattern = ""
    for index, literal in enumerate(_DIRECTIVE.split(fmt)):
        if index % 2:
            pattern += f"(?P<{literal}{tag}>{_DIRECTIVES[literal]})"
        else:  # as in strptime: runs of white space match any white space, the rest literally
            pattern += r"\s+".join(re.escape(part) for part in re.split(r"\s+", literal))
    return pattern


class DateFormats:
    """Reads text in the first of ``formats`` (strptime formats, tried in order) that fits it.

    ``datetime.strptime`` keeps only five compiled formats in its cache: trying a dozen formats in turn
    recompiled each of them for every cell, which made dates the slowest part of an import. Here formats
    made of the common directives (``%Y %m %d %H %I %M %S %p``, C locale) become strptime's own patterns,
    joined into one alternation tried in one pass; the first alternative that matches the whole text is the
    first format that fits, as before. Dates out of range (2/30/2024) go on to the next format, as strptime
    does; any other directive makes every format go through strptime.
    """

    def __init__(self, formats: Sequence[str]) -> None:
        self.formats = tuple(formats)
        patterns = [_format_pattern(fmt, str(i)) for i, fmt in enumerate(self.formats)]
        self.fast = all(p is not None for p in patterns)
        if self.fast:
            self.single = [re.compile(str(p), re.IGNORECASE).fullmatch for p in patterns]
            alternatives = [f"(?P<f{i}>{p})" for i, p in enumerate(patterns)]
            alternatives.append("(?P<absent>(?!))")  # never matches: read for directives a format lacks
            joined = re.compile("|".join(alternatives), re.IGNORECASE)
            self.joined = joined.fullmatch
            numbers = joined.groupindex
            absent = numbers["absent"]
            self.groups = [
                tuple(numbers.get(f"{d}{i}", absent) for d in "YmdHIMSp") for i in range(len(self.formats))
            ]

    def read(self, text: str) -> datetime | None:
        if not self.fast:
            for fmt in self.formats:
                try:
                    return datetime.strptime(text, fmt)
                except ValueError:
                    continue
            return None
        found = self.joined(text)
        if found is None:
            return None
        index = int(str(found.lastgroup)[1:])
        try:
            return self._build(found.group(*self.groups[index]))
        except ValueError:  # out of range for this format (2/30/2024): try the next ones in turn
            pass
        for later in range(index + 1, len(self.single)):
            one = self.single[later](text)
            if one is not None:
                with contextlib.suppress(ValueError):
                    named = one.groupdict()
                    return self._build(tuple(named.get(f"{d}{later}") for d in "YmdHIMSp"))
        return None

    @staticmethod
    def _build(parts: tuple[str | None, ...]) -> datetime:
        year, month, day, hour24, hour12, minute, second, noon = parts
        hour = int(hour24 or 0)
        if hour12 is not None:  # strptime's rule: 12 AM is 0:00, and %I without %p is AM
            hour = int(hour12) % 12 + (12 if noon is not None and noon.lower() == "pm" else 0)
        return datetime(
            int(year or 1900),
            int(month or 1),
            int(day or 1),
            hour,
            int(minute or 0),
            int(second or 0),
        )

    def parse(self, text: str) -> datetime:
        """ISO 8601 first, then the formats in order; :class:`BadValue` when none fits."""
        cleaned = text.strip().removesuffix("Z")
        try:
            return datetime.fromisoformat(cleaned).replace(tzinfo=None)
        except ValueError:
            pass
        value = self.read(cleaned)
        if value is None:
            raise BadValue(f"a date such as 2024-03-31 (formats tried: {', '.join(self.formats[:4])}, ...)")
        return value


@lru_cache(maxsize=64)
def date_formats(formats: tuple[str, ...] = DEFAULT_DATE_FORMATS) -> DateFormats:
    return DateFormats(formats)


def parse_datetime(text: str, formats: Sequence[str] = DEFAULT_DATE_FORMATS) -> datetime:
    return date_formats(tuple(formats)).parse(text)


def parse_date(text: str, formats: Sequence[str] = DEFAULT_DATE_FORMATS) -> date:
    return parse_datetime(text, formats).date()


def datetime_parser(formats: Sequence[str] = DEFAULT_DATE_FORMATS) -> Callable[[str], datetime]:
    """:func:`parse_datetime` for one column: formats compiled once, recent cells remembered.

    Export columns repeat the same dates over and over; the cache (bounded) skips parsing them again.
    """
    return lru_cache(maxsize=8192)(date_formats(tuple(formats)).parse)


def date_parser(formats: Sequence[str] = DEFAULT_DATE_FORMATS) -> Callable[[str], date]:
    """:func:`parse_date` for one column, like :func:`datetime_parser`."""
    reader = date_formats(tuple(formats))
    return lru_cache(maxsize=8192)(lambda text: reader.parse(text).date())


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
