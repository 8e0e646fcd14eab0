"""What every record use case shares: pages, list queries, input cleaning and the row-level scope filters.

- :class:`Page` is one page of a list: its items, how many records match in all, and the limit and offset
  that cut it. A limit is 1..500 (default 50), an offset 0 or more.
- A list query is a frozen dataclass of filters plus ``sort``, ``limit`` and ``offset``
  (:class:`ListQuery`). :func:`query_from_params` builds one from text parameters (a query string);
  services call :func:`normalise_query`, which accepts typed values or their text, so the API and the
  pages can hand over what they received. Bad values are one :class:`ValidationError` naming each field.
- ``sort`` is a field name from the list's whitelist, ``-name`` for descending, several separated by
  commas; ties are always broken by ``id`` (ascending), so paging is stable. Unknown values (a NULL amount)
  sort last in both directions, on SQLite and PostgreSQL alike.
- Write input is a mapping of field -> value cleaned by a :data:`Cleaner` per field (:func:`clean_fields`);
  an unknown field, a wrong type, a bad enum value or a negative amount is a problem naming the field, and
  all problems of one request are raised together.
- The scope filters (:func:`opportunity_visible`, :func:`account_visible`, :func:`contact_visible`,
  :func:`activity_visible`) are SQL conditions: a record outside a principal's scope is filtered out in the
  query itself, and a read by id of such a record is a :class:`NotFoundError` (see docs/access.md).
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from typing import Any, Generic, TypeVar, get_type_hints

import sqlalchemy as sa

from dealsight.domain.access import Scope
from dealsight.errors import FieldProblem, NotFoundError, PermissionDeniedError, ValidationError
from dealsight.store.schema import accounts, activities, contacts, opportunities, users

T = TypeVar("T")
Q = TypeVar("Q", bound="ListQuery")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
READ_ONLY = "executives have read-only access"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: ``items`` in order, ``total`` records matching the filters in all."""

    items: tuple[T, ...]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        """The offset of the next page, ``None`` on the last one."""
        following = self.offset + len(self.items)
        return following if following < self.total and self.items else None


@dataclass(frozen=True)
class ListQuery:
    """Paging and sorting shared by every list query (subclasses add their filters)."""

    sort: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


# problems ------------------------------------------------------------------------------------------------
class Problem(Exception):
    """Raised by a cleaner: what is wrong with one value (the caller knows the field)."""


def invalid(problems: list[FieldProblem]) -> ValidationError:
    """One :class:`ValidationError` for all ``problems``; the message names each field."""
    return ValidationError("; ".join(f"{p.field}: {p.message}" for p in problems), problems)


def not_found(kind: str, record_id: object) -> NotFoundError:
    """The error for a record that does not exist *or* is outside the caller's scope (same words)."""
    return NotFoundError(f"no {kind} with id {record_id}")


def require_write(scope: Scope) -> None:
    """Raise :class:`PermissionDeniedError` unless the scope may change records (executives read only)."""
    if not scope.can_write:
        raise PermissionDeniedError(READ_ONLY)


# converting values -----------------------------------------------------------------------------------------
def _allowed(enum: type[Enum]) -> str:
    return ", ".join(str(member.value) for member in enum)


def to_int(value: object) -> int:
    if isinstance(value, bool):
        raise Problem(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
        return int(value.strip())
    raise Problem(f"expected a whole number, got {value!r}")


def to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes", "false", "0", "no"}:
        return value.strip().lower() in {"true", "1", "yes"}
    raise Problem(f"expected true or false, got {value!r}")


def to_date(value: object) -> date:
    if isinstance(value, datetime):
        raise Problem(f"expected a date (YYYY-MM-DD), got a date and time {value.isoformat()!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Problem(f"expected a date (YYYY-MM-DD), got {value!r}")


def to_datetime(value: object) -> datetime:
    """A naive UTC timestamp; an ISO text with an offset is converted to UTC, a date means its midnight."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise Problem(f"expected a date and time (YYYY-MM-DDTHH:MM:SS), got {value!r}") from None
    else:
        raise Problem(f"expected a date and time (YYYY-MM-DDTHH:MM:SS), got {value!r}")
    if moment.tzinfo is not None:
        moment = (moment - moment.utcoffset()).replace(tzinfo=None)  # type: ignore[operator]
    return moment.replace(microsecond=0)


def to_enum(enum: type[StrEnum], value: object) -> StrEnum:
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum(value.strip().lower())
        except ValueError:
            pass
    raise Problem(f"{value!r} is not one of {_allowed(enum)}")


def to_text(value: object, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise Problem(f"expected text, got {value!r}")
    text = value.strip()
    if max_length is not None and len(text) > max_length:
        raise Problem(f"at most {max_length} characters (got {len(text)})")
    return text


def _convert(value: object, kind: Any) -> object:
    """``value`` (typed or text) as ``kind``: int, bool, str, date, datetime or a StrEnum."""
    if kind is bool:
        return to_bool(value)
    if kind is int:
        return to_int(value)
    if kind is datetime:
        return to_datetime(value)
    if kind is date:
        return to_date(value)
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return to_enum(kind, value)
    return to_text(value)


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); ``X`` -> (X, False)."""
    if isinstance(annotation, types.UnionType):
        parts = [a for a in annotation.__args__ if a is not type(None)]
        return parts[0], len(parts) < len(annotation.__args__)
    return annotation, False


# list queries ----------------------------------------------------------------------------------------------
def query_from_params(cls: type[Q], params: Mapping[str, object]) -> Q:
    """A list query from text parameters (``{"limit": "20", "status": "won"}``); unknown names and bad
    values are one :class:`ValidationError` naming each parameter. Empty text means "not given"."""
    names = {f.name for f in dataclasses.fields(cls)}
    problems = [FieldProblem(name, "unknown parameter") for name in params if name not in names]
    given: dict[str, Any] = {name: value for name, value in params.items() if name in names and value != ""}
    if problems:
        raise invalid(problems)
    return normalise_query(cls(**given))


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The field types of a query class (resolved once per class)."""
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def normalise_query(query: Q) -> Q:
    """``query`` with every value converted to its field's type, paging checked (limit 1..500,
    offset >= 0); a :class:`ValidationError` names each bad field. ``sort`` is checked by :func:`order_by`."""
    hints = _hints(type(query))
    problems: list[FieldProblem] = []
    converted: dict[str, Any] = {}
    for item in dataclasses.fields(query):
        value = getattr(query, item.name)
        kind, optional = _unwrap(hints[item.name])
        if value is None:
            if not optional:
                problems.append(FieldProblem(item.name, "a value is required"))
            continue
        try:
            converted[item.name] = _convert(value, kind)
        except Problem as problem:
            problems.append(FieldProblem(item.name, str(problem)))
    limit, offset = converted.get("limit"), converted.get("offset")
    if isinstance(limit, int) and not 1 <= limit <= MAX_LIMIT:
        problems.append(FieldProblem("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}"))
    if isinstance(offset, int) and offset < 0:
        problems.append(FieldProblem("offset", f"must be 0 or more, got {offset}"))
    if problems:
        raise invalid(problems)
    return dataclasses.replace(query, **converted)


SortKey = sa.ColumnElement[Any] | tuple[sa.ColumnElement[Any], bool]
"""A sortable expression, or (expression, reversed): ``days_in_stage`` sorts by its start day reversed."""


def order_by(
    sort: str | None, sortable: Mapping[str, SortKey], default: str, tiebreak: sa.ColumnElement[Any]
) -> list[sa.ColumnElement[Any]]:
    """ORDER BY terms for ``sort`` (``"amount"``, ``"-amount"``, ``"stage,-amount"``) from the whitelist
    ``sortable``; NULLs last in both directions; ``tiebreak`` (the id) last. Unknown fields name ``sort``."""
    terms: list[sa.ColumnElement[Any]] = []
    for part in (sort or default).split(","):
        name = part.strip()
        descending = name.startswith("-")
        name = name.lstrip("-").strip()
        if name not in sortable:
            allowed = ", ".join(sorted(sortable))
            raise invalid([FieldProblem("sort", f"cannot sort by {name!r}; sort by one of {allowed}")])
        key = sortable[name]
        expression, flipped = key if isinstance(key, tuple) else (key, False)
        term = expression.desc() if descending != flipped else expression.asc()
        # NULLS LAST only where NULLs can be: PostgreSQL cannot walk an index (the primary key) backwards
        # for ``id DESC NULLS LAST`` and would sort the whole table instead
        nullable = not isinstance(expression, sa.Column) or expression.nullable
        terms.append(term.nulls_last() if nullable else term)
    return [*terms, tiebreak.asc()]


# cleaning write input --------------------------------------------------------------------------------------
Cleaner = Callable[[object], object]
"""Cleans one input value (``None`` is passed through by :func:`clean_fields` unless required)."""


def text(max_length: int | None = None) -> Cleaner:
    """Text trimmed of surrounding spaces; empty text means no value (``None``)."""

    def clean(value: object) -> object:
        return to_text(value, max_length) or None

    return clean


def money(value: object) -> Decimal:
    """A non-negative amount with at most two decimals (numbers or their text; never true/false)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise Problem(f"expected an amount, got {value!r}")
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise Problem(f"expected an amount, got {value!r}") from None
    if not amount.is_finite():
        raise Problem(f"expected an amount, got {value!r}")
    if amount < 0:
        raise Problem(f"must not be negative, got {value}")
    if amount >= Decimal(10) ** 16:
        raise Problem(f"too large: {value}")
    return amount.quantize(Decimal("0.01"))


def share(low: float, high: float) -> Cleaner:
    """A share between ``low`` and ``high`` (0..1 for a discount: 0.15 is 15%)."""

    def clean(value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise Problem(f"expected a number between {low:g} and {high:g}, got {value!r}")
        try:
            number = float(value)
        except ValueError:
            raise Problem(f"expected a number between {low:g} and {high:g}, got {value!r}") from None
        if math.isnan(number) or not low <= number <= high:
            raise Problem(f"must be between {low:g} and {high:g} (a share: 0.15 is 15%), got {value}")
        return number

    return clean


def whole(low: int = 0) -> Cleaner:
    def clean(value: object) -> object:
        number = to_int(value)
        if number < low:
            raise Problem(f"must be {low} or more, got {number}")
        return number

    return clean


def identifier(value: object) -> int:
    """A record id (a whole number; the caller checks that the record exists)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Problem(f"expected an id (a whole number), got {value!r}")
    return value


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise Problem(f"expected true or false, got {value!r}")
    return value


def day(value: object) -> date:
    return to_date(value)


def moment(value: object) -> datetime:
    return to_datetime(value)


def enum_of(enum: type[StrEnum]) -> Cleaner:
    def clean(value: object) -> object:
        return to_enum(enum, value)

    return clean


def text_list(max_length: int = 200) -> Cleaner:
    def clean(value: object) -> object:
        if not isinstance(value, list | tuple):
            raise Problem(f"expected a list of names, got {value!r}")
        cleaned = [to_text(item, max_length) for item in value]
        return [item for item in dict.fromkeys(cleaned) if item]

    return clean


def id_list(value: object) -> list[int]:
    if not isinstance(value, list | tuple):
        raise Problem(f"expected a list of ids, got {value!r}")
    return list(dict.fromkeys(identifier(item) for item in value))


def clean_fields(
    data: Mapping[str, object],
    cleaners: Mapping[str, Cleaner],
    kind: str,
    required: Iterable[str] = (),
) -> tuple[dict[str, object], list[FieldProblem]]:
    """Each value of ``data`` cleaned by its field's cleaner, and the problems found (unknown fields,
    wrong types, bad values). ``None`` (or empty text) clears a field, except the ``required`` ones."""
    must = set(required)
    cleaned: dict[str, object] = {}
    problems: list[FieldProblem] = []
    for name, value in data.items():
        cleaner = cleaners.get(name)
        if cleaner is None:
            problems.append(FieldProblem(name, f"unknown field: not a field of {kind} you can set"))
            continue
        try:
            result = None if value is None else cleaner(value)
        except Problem as problem:
            problems.append(FieldProblem(name, str(problem)))
            continue
        if result is None and name in must:
            problems.append(FieldProblem(name, "a value is required"))
        else:
            cleaned[name] = result
    return cleaned, problems


def changed(old: Mapping[str, object], new: Mapping[str, object]) -> dict[str, tuple[object, object]]:
    """``{field: (old, new)}`` for each field of ``new`` whose value differs from ``old``."""
    return {
        name: (old.get(name), value) for name, value in new.items() if _same(old.get(name)) != _same(value)
    }


def _same(value: object) -> object:
    """A form in which equal values compare equal (an amount 5 and 5.00, a list and a tuple, a float and
    the same Decimal, an enum and its value)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | float) and not isinstance(value, bool):
        return Decimal(str(value)).normalize()
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


# row-level scope -------------------------------------------------------------------------------------------
# Each filter comes in two shapes. For lists (``one=False``) the set of visible records is built once through
# the owner index and each row is tested against it. For a few records read by key (``one=True``: a record by
# id, the deals of one account) the test is correlated through that key instead, and the owner is checked on
# each row (``owner_id + 0`` keeps SQLite, which has no statistics, from choosing the owner index when the key
# is far more selective).
def owned_by(column: sa.ColumnElement[Any], scope: Scope, *, by_index: bool = True) -> sa.ColumnElement[bool]:
    """``column`` (an owner or user id) is covered by ``scope``."""
    if scope.owner_ids is None:
        return sa.true()
    tested = column if by_index else column + 0
    return tested.in_(sorted(scope.owner_ids))


def opportunity_visible(
    scope: Scope, table: sa.FromClause = opportunities, *, one: bool = False
) -> sa.ColumnElement[bool]:
    """An opportunity is visible when its owner is covered."""
    return owned_by(table.c.owner_id, scope, by_index=not one)


def account_visible(
    scope: Scope, table: sa.FromClause = accounts, *, one: bool = False
) -> sa.ColumnElement[bool]:
    """An account is visible when its owner is covered or it has at least one visible opportunity."""
    if scope.owner_ids is None:
        return sa.true()
    o = opportunities.alias("visible_deal")
    if one:
        has_deal: sa.ColumnElement[bool] = sa.exists().where(
            o.c.account_id == table.c.id, opportunity_visible(scope, o, one=True)
        )
    else:
        has_deal = table.c.id.in_(sa.select(o.c.account_id).where(opportunity_visible(scope, o)))
    return sa.or_(owned_by(table.c.owner_id, scope, by_index=not one), has_deal)


def contact_visible(
    scope: Scope, table: sa.FromClause = contacts, *, one: bool = False
) -> sa.ColumnElement[bool]:
    """A contact is visible when its account is visible (contacts without an account: full sight only)."""
    if scope.owner_ids is None:
        return sa.true()
    a = accounts.alias("contact_account")
    if one:
        return sa.exists().where(a.c.id == table.c.account_id, account_visible(scope, a, one=True))
    return table.c.account_id.in_(sa.select(a.c.id).where(account_visible(scope, a)))


def activity_visible(
    scope: Scope, table: sa.FromClause = activities, *, one: bool = False
) -> sa.ColumnElement[bool]:
    """An activity is visible when its user is covered or it belongs to a visible opportunity."""
    if scope.owner_ids is None:
        return sa.true()
    o = opportunities.alias("activity_deal")
    if one:
        on_deal: sa.ColumnElement[bool] = sa.exists().where(
            o.c.id == table.c.opportunity_id, opportunity_visible(scope, o, one=True)
        )
    else:
        on_deal = table.c.opportunity_id.in_(sa.select(o.c.id).where(opportunity_visible(scope, o)))
    return sa.or_(owned_by(table.c.user_id, scope, by_index=not one), on_deal)


def assignable(conn: sa.Connection, scope: Scope, user_id: int, field: str) -> FieldProblem | None:
    """A problem unless ``user_id`` is an active user the scope may give records to."""
    row = conn.execute(sa.select(users.c.id, users.c.active).where(users.c.id == user_id)).first()
    if row is None or not scope.covers(user_id):
        return FieldProblem(field, f"user {user_id} is not someone you can assign records to")
    if not row.active:
        return FieldProblem(field, f"user {user_id} is deactivated")
    return None


def plain(value: object) -> object:
    """``value`` as JSON-ready data: dataclasses as dicts, enums as values, dates in ISO form, Decimals as
    text (money stays exact), tuples as lists. For entry points that render records."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value
