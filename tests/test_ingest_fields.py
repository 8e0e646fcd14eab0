"""Cell parsers: what they accept and what they say they expected."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from dealsight.domain.enums import ForecastCategory
from dealsight.ingest.entities import ENUM_ALIASES
from dealsight.ingest.fields import (
    BadValue,
    enum_parser,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    parse_share,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1250.50", "1250.50"), ("$1,250.50", "1250.50"), ("1.250,50", "1250.50"), ("EUR 99", "99"),
     ("(15)", "-15"), ("1,5", "1.5"), ("12,000", "12000")],
)  # fmt: skip
def test_parse_decimal(text: str, value: str) -> None:
    assert parse_decimal(text) == Decimal(value)


@pytest.mark.parametrize("text", ["abc", "1e400", "12..5", "NaN"])
def test_parse_decimal_rejects(text: str) -> None:
    with pytest.raises(BadValue, match=r"expected|number|finite"):
        parse_decimal(text)


def test_dates_in_common_export_formats() -> None:
    assert parse_date("2017-03-01") == date(2017, 3, 1)
    assert parse_date("03/31/2024") == date(2024, 3, 31)
    assert parse_date("31.03.2024") == date(2024, 3, 31)
    assert parse_datetime("2024-03-31T10:15:00Z") == datetime(2024, 3, 31, 10, 15)
    assert parse_datetime("3/31/2024 10:15 PM") == datetime(2024, 3, 31, 22, 15)
    assert parse_date("31/12/2024", ("%d/%m/%Y",)) == date(2024, 12, 31)
    with pytest.raises(BadValue, match="a date such as 2024-03-31"):
        parse_date("next tuesday")


def test_int_share_bool() -> None:
    assert parse_int("2,822") == 2822
    with pytest.raises(BadValue, match="whole number"):
        parse_int("2.5")
    assert parse_share("15%") == pytest.approx(0.15)
    assert parse_share("0.15") == pytest.approx(0.15)
    assert parse_share("75") == pytest.approx(0.75)
    with pytest.raises(BadValue):
        parse_share("250%")
    assert parse_bool("Yes") is True and parse_bool("0") is False
    with pytest.raises(BadValue, match="yes or no"):
        parse_bool("maybe")


def test_enum_with_aliases() -> None:
    parse = enum_parser(ForecastCategory, ENUM_ALIASES[ForecastCategory])  # type: ignore[arg-type]
    assert parse("Best Case") is ForecastCategory.BEST_CASE
    assert parse("best_case") is ForecastCategory.BEST_CASE
    assert parse("Commit") is ForecastCategory.COMMIT
    assert parse("Omitted") is ForecastCategory.OMITTED
    with pytest.raises(BadValue, match="one of pipeline, best_case, commit"):
        parse("sure thing")
