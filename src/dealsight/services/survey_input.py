"""One respondent's answers as the API and the page send them, checked by the survey's rules.

:func:`clean_response` turns a mapping such as ``{"respondent": "R-17", "function": null, "points":
{"price": 40, "service": 60}, "ratings": {"us": {"price": 7}}}`` into a
:class:`~dealsight.domain.surveys.Response`, or raises one :class:`~dealsight.errors.ValidationError`
naming every field at fault: ``points.<need>``, ``points`` (the sum), ``ratings.<vendor>.<need>``, an
unknown need or vendor by its name, ``respondent``, ``respondent_type``, ``function``, ``contact_id``,
``account_id``, ``segment``, ``industry``. A need left out of ``points`` gets 0; a rating left out (or
null, or empty) means "not rated". Whether linked records exist is the service's check.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from dealsight.domain.surveys import (
    RESPONDENT_LENGTH,
    Function,
    RespondentType,
    Response,
    as_number,
    label_key,
    points_problems,
    rating_problem,
    respondent_problems,
)
from dealsight.errors import FieldProblem
from dealsight.services.records import invalid
from dealsight.store.surveys import StoredSurvey

SEGMENT_LENGTH, INDUSTRY_LENGTH = 40, 120


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    return as_number(value)


def _given(value: object) -> str:
    """A value as the client wrote it: ``12``, ``7.5``, ``'lots'``."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = as_number(value)
        return format(number.normalize(), "f") if number is not None else repr(value)
    return repr(value)


def _text(data: Mapping[str, object], name: str, longest: int, problems: list[FieldProblem]) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value.strip()) > longest:
        problems.append(FieldProblem(name, f"expected text of at most {longest} characters"))
        return None
    return value.strip() or None


def _points(survey: StoredSurvey, given: object, problems: list[FieldProblem]) -> dict[str, Decimal]:
    if not isinstance(given, Mapping):
        problems.append(FieldProblem("points", 'expected the points of each need, such as {"price": 40}'))
        return {}
    spelled = {label_key(need): need for need in survey.needs}
    points = dict.fromkeys(survey.needs, Decimal(0))
    ok = True
    for need, value in given.items():
        known = spelled.get(label_key(str(need)))
        number = _number(value) if value is not None else Decimal(0)
        if known is None:
            problems.append(
                FieldProblem(f"points.{need}", f"not one of the survey's needs ({', '.join(survey.needs)})")
            )
            ok = False
        elif number is None:
            problems.append(
                FieldProblem(f"points.{known}", f"expected a number from 0 to 100, got {_given(value)}")
            )
            ok = False
        else:
            points[known] = number
    if ok:
        for problem in points_problems(points):
            if problem.need is None:  # the sum: the expectation says what they add up to
                problems.append(FieldProblem("points", f"expected {problem.expected}"))
            else:
                message = f"expected {problem.expected}, got {problem.value}"
                problems.append(FieldProblem(f"points.{problem.need}", message))
    return points


def _ratings(
    survey: StoredSurvey, given: object, problems: list[FieldProblem]
) -> dict[tuple[str, str], Decimal]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        problems.append(
            FieldProblem("ratings", 'expected ratings by vendor and need, such as {"us": {"price": 7}}')
        )
        return {}
    vendors = {label_key(vendor): vendor for vendor in survey.vendors}
    needs = {label_key(need): need for need in survey.needs}
    ratings: dict[tuple[str, str], Decimal] = {}
    for vendor_given, by_need in given.items():
        vendor = vendors.get(label_key(str(vendor_given)))
        if vendor is None:
            known = ", ".join(survey.vendors)
            problems.append(
                FieldProblem(f"ratings.{vendor_given}", f"not one of the survey's vendors ({known})")
            )
            continue
        if not isinstance(by_need, Mapping):
            problems.append(
                FieldProblem(f"ratings.{vendor}", 'expected ratings by need, such as {"price": 7}')
            )
            continue
        for need_given, value in by_need.items():
            need = needs.get(label_key(str(need_given)))
            field = f"ratings.{vendor}.{need or need_given}"
            if need is None:
                problems.append(
                    FieldProblem(field, f"not one of the survey's needs ({', '.join(survey.needs)})")
                )
                continue
            if value is None or value == "":
                continue
            number = _number(value)
            problem = rating_problem(vendor, need, number) if number is not None else None
            if number is None or problem is not None:
                problems.append(FieldProblem(field, f"expected a rating from 0 to 10, got {_given(value)}"))
                continue
            ratings[(vendor, need)] = number
    return ratings


def _who(data: Mapping[str, object], problems: list[FieldProblem]) -> tuple[RespondentType, Function | None]:
    function: Function | None = None
    if data.get("function") not in (None, ""):
        try:
            function = Function(str(data["function"]).strip().lower())
        except ValueError:
            problems.append(
                FieldProblem("function", f"expected one of {', '.join(f.value for f in Function)}")
            )
    kind = RespondentType.INTERNAL if data.get("function") not in (None, "") else RespondentType.CUSTOMER
    if data.get("respondent_type") not in (None, ""):
        try:
            kind = RespondentType(str(data["respondent_type"]).strip().lower())
        except ValueError:
            problems.append(FieldProblem("respondent_type", "expected customer or internal"))
    if function is not None or data.get("function") in (None, ""):
        problems += [FieldProblem(field, text) for field, text in respondent_problems(kind, function)]
    return kind, function


def _identifier(data: Mapping[str, object], name: str, problems: list[FieldProblem]) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.append(FieldProblem(name, f"expected an id (a whole number from 1), got {value!r}"))
        return None
    return value


def clean_response(survey: StoredSurvey, data: Mapping[str, object]) -> Response:
    """One respondent's answers to ``survey`` from ``data`` (module docstring), or a ValidationError naming
    every field at fault. Links are checked by :func:`add_response`."""
    problems: list[FieldProblem] = []
    respondent = _text(data, "respondent", RESPONDENT_LENGTH, problems)
    if respondent is None and not any(p.field == "respondent" for p in problems):
        problems.append(FieldProblem("respondent", "who answered: an id or name, once per survey"))
    kind, function = _who(data, problems)
    points = _points(survey, data.get("points"), problems)
    ratings = _ratings(survey, data.get("ratings"), problems)
    contact_id, account_id = (
        _identifier(data, "contact_id", problems),
        _identifier(data, "account_id", problems),
    )
    segment = _text(data, "segment", SEGMENT_LENGTH, problems)
    industry = _text(data, "industry", INDUSTRY_LENGTH, problems)
    if kind is RespondentType.INTERNAL and any(
        v is not None for v in (contact_id, account_id, segment, industry)
    ):
        problems.append(
            FieldProblem(
                "respondent_type", "an internal respondent has no contact, account, segment or industry"
            )
        )
    if problems:
        raise invalid(problems)
    assert respondent is not None
    return Response(
        respondent,
        kind,
        function,
        points,
        ratings,
        contact_id,
        account_id,
        segment.lower() if segment else None,
        industry.lower() if industry else None,
    )


def answers_text(response: Response) -> tuple[str, str]:
    """A respondent's points and ratings as audit text: ``brand 10, price 50`` and ``us price 7, ...``."""
    return (
        ", ".join(f"{need} {float(value):g}" for need, value in response.points.items()),
        ", ".join(f"{vendor} {need} {float(value):g}" for (vendor, need), value in response.ratings.items()),
    )


__all__ = ["INDUSTRY_LENGTH", "SEGMENT_LENGTH", "answers_text", "clean_response"]
