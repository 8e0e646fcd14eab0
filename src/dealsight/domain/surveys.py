"""Needs and competitor perception surveys: the model and its rules, standard library only.

A **survey** asks a set of **needs** (by default brand, product, quality, price and service, or the team's
own list) about a set of **vendors**: us and the competitors we name. Each **respondent** is either a
**customer** (linked to a dealsight contact or account when known, with the account's segment and
industry) or an **internal** person answering for their **function** (marketing, sales, service,
leadership): what they believe customers would answer. Each respondent

- allocates exactly 100 **points** across the needs (how much each matters; a need left out gets 0), and
- rates each vendor from 0 to 10 on each need (a rating left out means "does not know": it is not a 0).

The rules here are shared by every way in (the CSV import, the API, the page); each caller says where a
problem is in its own terms (a file's row and column, a request's field). See docs/needs.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

DEFAULT_NEEDS = ("brand", "product", "quality", "price", "service")
"""The needs a survey asks when the team names none."""
OUR_VENDOR = "us"
"""What the import calls our own vendor unless told otherwise (a rating column headed ``us: service``)."""
POINTS_TOTAL = Decimal(100)
RATING_LOW, RATING_HIGH = Decimal(0), Decimal(10)
MAX_NEEDS = 20
MAX_VENDORS = 20
NAME_LENGTH = 60
"""The longest need or vendor name."""
SURVEY_NAME_LENGTH = 200
RESPONDENT_LENGTH = 200
SEPARATOR = ":"
"""Between the parts of a column header (``points: service``, ``Acme: service``): never in a name."""


class RespondentType(StrEnum):
    """Who answered: a customer, or one of our own people answering as they believe customers would."""

    CUSTOMER = "customer"
    INTERNAL = "internal"


class Function(StrEnum):
    """The function an internal respondent works in."""

    MARKETING = "marketing"
    SALES = "sales"
    SERVICE = "service"
    LEADERSHIP = "leadership"


@dataclass(frozen=True)
class Survey:
    """A survey's definition: what it asks about whom. ``us`` is one of ``vendors``."""

    id: int
    name: str
    conducted_on: date
    needs: tuple[str, ...]
    vendors: tuple[str, ...]
    us: str

    @property
    def competitors(self) -> tuple[str, ...]:
        return tuple(vendor for vendor in self.vendors if vendor != self.us)


@dataclass(frozen=True)
class Response:
    """One respondent's answers: ``points`` by need, ``ratings`` by (vendor, need) for those rated."""

    respondent: str
    respondent_type: RespondentType
    function: Function | None
    points: Mapping[str, Decimal]
    ratings: Mapping[tuple[str, str], Decimal]
    contact_id: int | None = None
    account_id: int | None = None
    segment: str | None = None
    industry: str | None = None


@dataclass(frozen=True)
class AnswerProblem:
    """One answer that breaks a rule: which ``need`` (None: the allocation as a whole), which ``vendor``
    (None: a points answer), the ``value`` given and what was ``expected``."""

    need: str | None
    vendor: str | None
    value: str
    expected: str


@dataclass
class Definition:
    """A survey's needs and vendors as given, with the problems found in them."""

    needs: tuple[str, ...] = ()
    vendors: tuple[str, ...] = ()
    us: str = OUR_VENDOR
    problems: list[str] = field(default_factory=list)


# names -----------------------------------------------------------------------------------------------------
def label_key(name: str) -> str:
    """How needs and vendors are matched: case and surrounding spaces ignored, inner spaces collapsed."""
    return " ".join(name.split()).casefold()


def clean_name(name: str) -> str:
    return " ".join(name.split())


def name_problem(name: str, what: str) -> str | None:
    """Why ``name`` cannot name a need or vendor (``what``), or None."""
    cleaned = clean_name(name)
    if not cleaned:
        return f"a {what} needs a name"
    if len(cleaned) > NAME_LENGTH:
        return f"a {what} name has at most {NAME_LENGTH} characters ({cleaned[:20]!r}... has {len(cleaned)})"
    if SEPARATOR in cleaned:
        return f"a {what} name cannot contain {SEPARATOR!r} ({cleaned!r})"
    return None


def define_survey(needs: Iterable[str], vendors: Iterable[str], us: str) -> Definition:
    """Check a survey's needs and vendors: names valid and distinct (any case), 2 to :data:`MAX_NEEDS`
    needs, 1 to :data:`MAX_VENDORS` vendors, ``us`` among them (matched in any case; the vendors' own
    spelling is kept)."""
    definition = Definition()
    for values, what, most in ((needs, "need", MAX_NEEDS), (vendors, "vendor", MAX_VENDORS)):
        seen: dict[str, str] = {}
        for raw in values:
            problem = name_problem(raw, what)
            if problem:
                definition.problems.append(problem)
                continue
            key = label_key(raw)
            if key in seen:
                definition.problems.append(f"the {what} {clean_name(raw)!r} is named twice")
                continue
            seen[key] = clean_name(raw)
        names = tuple(seen.values())
        least = 2 if what == "need" else 1
        if not least <= len(names) <= most:
            definition.problems.append(f"a survey has {least} to {most} {what}s, not {len(names)}")
        if what == "need":
            definition.needs = names
        else:
            definition.vendors = names
    ours = [vendor for vendor in definition.vendors if label_key(vendor) == label_key(us)]
    if ours:
        definition.us = ours[0]
    elif definition.vendors:
        shown = ", ".join(definition.vendors)
        definition.problems.append(f"our own vendor {clean_name(us)!r} is not among the vendors ({shown})")
    return definition


# answers ---------------------------------------------------------------------------------------------------
def as_number(text: str | float | int | Decimal) -> Decimal | None:
    """A finite number from text or a number (``"12"``, ``"7.5"``, ``7,5`` with a decimal comma), or None."""
    if isinstance(text, bool):
        return None
    if isinstance(text, str):
        cleaned = text.strip().replace(",", ".")
        if cleaned.count(".") > 1:
            return None
        text = cleaned
    try:
        value = Decimal(str(text)) if not isinstance(text, Decimal) else text
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def points_problems(points: Mapping[str, Decimal]) -> list[AnswerProblem]:
    """The problems of one respondent's allocation: each need's points 0 to 100 with at most two decimals,
    and the points adding up to exactly 100 (the message says what they add up to)."""
    problems = []
    for need, value in points.items():
        if value < 0 or value > POINTS_TOTAL:
            problems.append(AnswerProblem(need, None, _shown(value), "points from 0 to 100"))
        elif value != value.quantize(Decimal("0.01")):
            problems.append(AnswerProblem(need, None, _shown(value), "points with at most two decimals"))
    if not problems:
        total = sum(points.values(), Decimal(0))
        if total != POINTS_TOTAL:
            expected = f"points adding up to 100 across the needs (they add up to {_shown(total)})"
            problems.append(AnswerProblem(None, None, _shown(total), expected))
    return problems


def rating_problem(vendor: str, need: str, value: Decimal) -> AnswerProblem | None:
    """A rating outside 0 to 10 (decimals allowed: 7.5), or None."""
    if RATING_LOW <= value <= RATING_HIGH:
        return None
    return AnswerProblem(need, vendor, _shown(value), "a rating from 0 to 10")


def respondent_problems(respondent_type: RespondentType, function: Function | None) -> list[tuple[str, str]]:
    """(field, problem) of who answered: an internal respondent names their function, a customer none."""
    if respondent_type is RespondentType.INTERNAL and function is None:
        functions = ", ".join(f.value for f in Function)
        return [("function", f"an internal respondent names their function: {functions}")]
    if respondent_type is RespondentType.CUSTOMER and function is not None:
        return [("function", "a customer has no function; leave it empty (or answer as internal)")]
    return []


def _shown(value: Decimal) -> str:
    """A number as a person writes it: ``95``, ``7.5``."""
    return format(value.normalize(), "f")


__all__ = [
    "DEFAULT_NEEDS",
    "MAX_NEEDS",
    "MAX_VENDORS",
    "NAME_LENGTH",
    "OUR_VENDOR",
    "POINTS_TOTAL",
    "RESPONDENT_LENGTH",
    "SEPARATOR",
    "SURVEY_NAME_LENGTH",
    "AnswerProblem",
    "Definition",
    "Function",
    "RespondentType",
    "Response",
    "Survey",
    "as_number",
    "clean_name",
    "define_survey",
    "label_key",
    "name_problem",
    "points_problems",
    "rating_problem",
    "respondent_problems",
]
