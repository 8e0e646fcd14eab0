"""The survey rules of the domain (shared by the import, the API and the page): a 100-point allocation,
ratings from 0 to 10, a survey's needs and vendors; property tests and the messages they give."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from dealsight.domain.surveys import (
    Function,
    RespondentType,
    as_number,
    define_survey,
    points_problems,
    rating_problem,
    respondent_problems,
)

points = st.decimals(min_value=-50, max_value=150, places=2, allow_nan=False, allow_infinity=False)


@given(st.dictionaries(st.sampled_from(["brand", "price", "service", "quality"]), points, min_size=1))
def test_an_allocation_is_valid_exactly_when_it_is_100_points_of_0_to_100(
    given_points: dict[str, Decimal],
) -> None:
    problems = points_problems(given_points)
    valid = all(0 <= p <= 100 for p in given_points.values()) and sum(given_points.values()) == 100
    assert (not problems) == valid
    if not valid and all(0 <= p <= 100 for p in given_points.values()):
        (problem,) = problems
        assert problem.need is None and f"they add up to {problem.value})" in problem.expected
        assert Decimal(problem.value) == sum(given_points.values())


@given(st.decimals(min_value=-5, max_value=15, places=1, allow_nan=False, allow_infinity=False))
def test_a_rating_is_valid_from_0_to_10(value: Decimal) -> None:
    problem = rating_problem("us", "price", value)
    assert (problem is None) == (0 <= value <= 10)
    if problem is not None:
        assert (problem.vendor, problem.need, problem.expected) == ("us", "price", "a rating from 0 to 10")


def test_numbers_as_a_spreadsheet_writes_them() -> None:
    assert as_number("7,5") == Decimal("7.5") and as_number(" 40 ") == Decimal(40)
    assert as_number("1.234,5") is None and as_number("lots") is None and as_number("nan") is None
    assert as_number(True) is None
    assert points_problems({"price": Decimal("33.333"), "service": Decimal("66.667")})[0].expected == (
        "points with at most two decimals"
    )


def test_a_survey_definition() -> None:
    good = define_survey([" Price ", "service"], ["Northwind", "Acme"], "northwind")
    assert (good.needs, good.vendors, good.us, good.problems) == (
        ("Price", "service"),
        ("Northwind", "Acme"),
        "Northwind",
        [],
    )
    bad = define_survey(["price", "PRICE", "a: b"], ["Acme"], "us")
    assert "the need 'PRICE' is named twice" in bad.problems
    assert "a need name cannot contain ':' ('a: b')" in bad.problems
    assert "a survey has 2 to 20 needs, not 1" in bad.problems
    assert "our own vendor 'us' is not among the vendors (Acme)" in bad.problems


def test_who_answered() -> None:
    assert respondent_problems(RespondentType.CUSTOMER, None) == []
    assert respondent_problems(RespondentType.INTERNAL, Function.SALES) == []
    assert respondent_problems(RespondentType.INTERNAL, None)[0][0] == "function"
    assert "has no function" in respondent_problems(RespondentType.CUSTOMER, Function.SALES)[0][1]
