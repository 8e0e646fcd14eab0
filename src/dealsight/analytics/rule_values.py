"""Values of playbook expressions over a whole indicator frame, and the scope names are read from.

Four kinds of value, each covering every row at once (a literal is a scalar that broadcasts):

* :class:`Number`: float64, NaN where unknown (numbers and 0/1 flags of the frame);
* :class:`Categories`: a text column factorised once: ``codes`` per row (-1 where unknown or blank) into
  ``labels`` (as shown in risk texts) and ``folded`` (case-folded, what comparisons use);
* :class:`Text`: a text literal;
* :class:`Truth`: a condition as two boolean arrays, ``true`` and ``false``; where both are false the
  condition is unknown (three-valued logic).

A :class:`Scope` reads each column of the frame once, however many rules use it, and evaluates each
definition of the playbook once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from dealsight.errors import ValidationError

Kind = Literal["number", "text", "truth", "any"]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Numbers = FloatArray | float
Bools = BoolArray | bool


@dataclass(frozen=True, slots=True)
class Number:
    values: Numbers


@dataclass(frozen=True, slots=True)
class Truth:
    true: Bools
    false: Bools


@dataclass(frozen=True, slots=True)
class Text:
    value: str
    folded: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "folded", fold(self.value))


@dataclass(frozen=True, slots=True)
class Categories:
    codes: npt.NDArray[np.intp]
    labels: tuple[object, ...]
    folded: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """True when no row has a value."""
        return not bool((self.codes >= 0).any())

    def among(self, wanted: set[str]) -> Truth:
        """Where the text is one of ``wanted`` (folded texts); unknown where the text is."""
        hits = np.array([label in wanted for label in self.folded] + [False], dtype=bool)
        true = hits[self.codes]  # code -1 reads the appended False
        return Truth(true, (self.codes >= 0) & ~true)


Value = Number | Truth | Text | Categories


def fold(text: object) -> str:
    """A text as comparisons see it: stripped and case-folded."""
    return str(text).strip().casefold()


def broadcast(values: Bools, size: int) -> BoolArray:
    """A boolean per row (a scalar repeated)."""
    array = np.asarray(values, dtype=bool)
    return array if array.shape == (size,) else np.broadcast_to(array, (size,)).copy()


def as_number(value: Value, text: str) -> Numbers:
    """The value as numbers; a condition counts 1 (true) or 0 (false); a text column must be empty or hold
    numbers only (an object column of floats)."""
    if isinstance(value, Number):
        return value.values
    if isinstance(value, Truth):
        true, false = np.asarray(value.true), np.asarray(value.false)
        return np.where(true, 1.0, np.where(false, 0.0, np.nan))
    if isinstance(value, Categories):
        numbers = [_label_number(label) for label in value.labels]
        if value.empty or all(n is not None for n in numbers):
            table = np.array([np.nan if n is None else n for n in numbers] + [np.nan], dtype=np.float64)
            return table[value.codes]
        raise ValidationError(f"'{text}' holds text, not numbers; compare it with ==, != or in")
    raise ValidationError(f"'{text}' is a text, not a number")


def _label_number(label: object) -> float | None:
    if isinstance(label, bool | int | float | np.number) and not isinstance(label, np.datetime64):
        return float(label)
    return None


def as_truth(value: Value, text: str) -> Truth:
    """The value as a condition: a number is true when non-zero, unknown when NaN."""
    if isinstance(value, Truth):
        return value
    if isinstance(value, Number):
        numbers = value.values
        with np.errstate(invalid="ignore"):
            return Truth(np.not_equal(numbers, 0.0) & ~np.isnan(numbers), np.equal(numbers, 0.0))
    if isinstance(value, Categories) and value.empty:
        return Truth(False, False)
    example = f"{text} == 'something'"
    raise ValidationError(f"'{text}' is a text, not a condition; compare it, e.g. {example}")


def is_missing(value: Value) -> Bools:
    """Where the value is unknown."""
    if isinstance(value, Number):
        return np.asarray(np.isnan(value.values), dtype=bool)
    if isinstance(value, Categories):
        return value.codes < 0
    if isinstance(value, Truth):
        return np.asarray(~(np.asarray(value.true) | np.asarray(value.false)), dtype=bool)
    return value.folded == ""


def column_value(column: pd.Series) -> Value:
    """A frame column as numbers (numeric and boolean dtypes) or as categories (anything else)."""
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        return Number(column.to_numpy(dtype=np.float64, na_value=np.nan))
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    labels = tuple(uniques)
    folded = tuple(fold(label) for label in labels)
    blank = [i for i, f in enumerate(folded) if not f]
    codes = np.asarray(codes, dtype=np.intp)
    if blank:
        codes = np.where(np.isin(codes, blank), -1, codes)
    return Categories(codes, labels, folded)


def unknown_column(size: int) -> Categories:
    """What a column absent from the frame reads as: unknown on every row."""
    return Categories(np.full(size, -1, dtype=np.intp), (), ())


class Definition(Protocol):
    """What a scope evaluates a defined name with (a compiled expression)."""

    def evaluate(self, scope: Scope) -> Value: ...


class Scope:
    """What names stand for over one frame: its columns (each read once) and the playbook's definitions
    (each evaluated once). A column the frame lacks is unknown everywhere."""

    def __init__(self, frame: pd.DataFrame, definitions: dict[str, Definition] | None = None) -> None:
        self.frame = frame
        self.size = len(frame)
        self._definitions = definitions or {}
        self._values: dict[str, Value] = {}

    def value(self, name: str) -> Value:
        if name not in self._values:
            if name in self._definitions:
                try:
                    value = self._definitions[name].evaluate(self)
                except ValidationError as exc:
                    raise ValidationError(f"in definition '{name}': {exc.message}") from None
            elif name in self.frame.columns:
                value = column_value(self.frame[name])
            else:
                value = unknown_column(self.size)
            self._values[name] = value
        return self._values[name]

    def among(self, name: str, texts: tuple[str, ...]) -> BoolArray:
        """Where the text column ``name`` is one of ``texts`` (without regard to case)."""
        value = self.value(name)
        if not isinstance(value, Categories):
            return np.zeros(self.size, dtype=bool)
        return broadcast(value.among({fold(t) for t in texts}).true, self.size)


__all__ = [
    "Categories",
    "Kind",
    "Number",
    "Scope",
    "Text",
    "Truth",
    "Value",
    "as_number",
    "as_truth",
    "broadcast",
    "column_value",
    "fold",
    "is_missing",
]
