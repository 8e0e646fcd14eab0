"""The checked tree of a rule expression, evaluated over a whole frame at once.

:mod:`.rule_expressions` builds these nodes from Python's :mod:`ast` after checking every construct; here
each node evaluates to a value covering every row (:mod:`.rule_values`). Decisions:

* Conditions follow Kleene's three-valued logic: a comparison with an unknown side is neither true nor
  false; ``and``/``or``/``not`` keep what is known (``false and unknown`` is false).
* Comparisons of numbers are computed twice, as "true where" and "false where", each false wherever a side
  is NaN: no separate mask of unknowns is carried.
* Text is compared on the factorised labels (a handful), then taken back per row by code.
* ``/`` by zero is unknown; ``min``/``max`` skip unknown arguments (``numpy.fmin``/``fmax``).
* Errors only the frame can show (a text column used as a number) are ValidationErrors naming the
  expression's piece.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from dealsight.analytics.rule_values import (
    Categories,
    Kind,
    Number,
    Numbers,
    Scope,
    Text,
    Truth,
    Value,
    as_number,
    as_truth,
    fold,
    is_missing,
)
from dealsight.errors import ValidationError

Order = Literal["<", "<=", ">", ">=", "==", "!="]
_UFUNCS: Mapping[str, Callable[..., Numbers]] = {"+": np.add, "-": np.subtract, "*": np.multiply}
_TRUE_WHERE: Mapping[Order, tuple[Callable[..., object], Callable[..., object]]] = {
    # (where the comparison is true, where it is false): both false wherever a side is NaN
    "<": (np.less, np.greater_equal),
    "<=": (np.less_equal, np.greater),
    ">": (np.greater, np.less_equal),
    ">=": (np.greater_equal, np.less),
    "==": (np.equal, lambda a, b: np.less(a, b) | np.greater(a, b)),
    "!=": (lambda a, b: np.less(a, b) | np.greater(a, b), np.equal),
}


class Node:
    """A checked piece of an expression: its source text (for messages) and its kind as far as the text
    alone tells (``any`` for a name of the frame)."""

    text: str
    kind: Kind

    def evaluate(self, scope: Scope) -> Value:
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        return ()

    def names(self) -> Iterator[str]:
        for child in self.children():
            yield from child.names()


@dataclass(frozen=True, eq=False)
class Constant(Node):
    text: str
    value: float | str | bool

    def __post_init__(self) -> None:
        kind = (
            "truth" if isinstance(self.value, bool) else "text" if isinstance(self.value, str) else "number"
        )
        object.__setattr__(self, "kind", kind)

    def evaluate(self, scope: Scope) -> Value:
        if isinstance(self.value, bool):
            return Truth(self.value, not self.value)
        if isinstance(self.value, str):
            return Text(self.value)
        return Number(float(self.value))


@dataclass(frozen=True, eq=False)
class Name(Node):
    text: str
    kind: Kind

    def evaluate(self, scope: Scope) -> Value:
        return scope.value(self.text)

    def names(self) -> Iterator[str]:
        yield self.text


@dataclass(frozen=True, eq=False)
class Negative(Node):
    text: str
    operand: Node
    kind: Kind = "number"

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def evaluate(self, scope: Scope) -> Value:
        return Number(-as_number(self.operand.evaluate(scope), self.operand.text))


@dataclass(frozen=True, eq=False)
class Arithmetic(Node):
    text: str
    symbol: str
    left: Node
    right: Node
    kind: Kind = "number"

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def evaluate(self, scope: Scope) -> Value:
        a = as_number(self.left.evaluate(scope), self.left.text)
        b = as_number(self.right.evaluate(scope), self.right.text)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.symbol == "/":
                return Number(np.where(np.equal(b, 0.0), np.nan, np.divide(a, b)))
            return Number(_UFUNCS[self.symbol](a, b))


@dataclass(frozen=True, eq=False)
class Not(Node):
    text: str
    operand: Node
    kind: Kind = "truth"

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def evaluate(self, scope: Scope) -> Value:
        truth = as_truth(self.operand.evaluate(scope), self.operand.text)
        return Truth(truth.false, truth.true)


@dataclass(frozen=True, eq=False)
class Logic(Node):
    """``and`` / ``or`` of two or more conditions, with Kleene's rules for unknown."""

    text: str
    conjunction: bool
    operands: tuple[Node, ...]
    kind: Kind = "truth"

    def children(self) -> tuple[Node, ...]:
        return self.operands

    def evaluate(self, scope: Scope) -> Value:
        first, *rest = (as_truth(o.evaluate(scope), o.text) for o in self.operands)
        true, false = first.true, first.false
        for truth in rest:
            if self.conjunction:
                true, false = np.logical_and(true, truth.true), np.logical_or(false, truth.false)
            else:
                true, false = np.logical_or(true, truth.true), np.logical_and(false, truth.false)
        return Truth(true, false)


@dataclass(frozen=True, eq=False)
class Comparison(Node):
    text: str
    order: Order
    left: Node
    right: Node
    kind: Kind = "truth"

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def evaluate(self, scope: Scope) -> Value:
        a, b = self.left.evaluate(scope), self.right.evaluate(scope)
        textual = [isinstance(v, Text | Categories) for v in (a, b)]
        if any(isinstance(v, Text) or (isinstance(v, Categories) and not v.empty) for v in (a, b)):
            if self.order not in ("==", "!="):
                raise ValidationError(f"'{self.text}': text cannot be ordered, only tested with ==, != or in")
            if not all(textual):
                raise ValidationError(f"'{self.text}' compares text with a number")
            equal = _text_equal(a, b)
            return equal if self.order == "==" else Truth(equal.false, equal.true)
        x, y = as_number(a, self.left.text), as_number(b, self.right.text)
        holds, fails = _TRUE_WHERE[self.order]
        with np.errstate(invalid="ignore"):
            return Truth(holds(x, y), fails(x, y))  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class Membership(Node):
    """``x in [a, b]`` (``negated``: ``not in``) against literal numbers or texts."""

    text: str
    operand: Node
    values: tuple[float | str, ...]
    negated: bool
    kind: Kind = "truth"

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def evaluate(self, scope: Scope) -> Value:
        value = self.operand.evaluate(scope)
        if self.values and isinstance(self.values[0], str):
            wanted = {fold(v) for v in self.values}
            if isinstance(value, Categories):
                truth = value.among(wanted)
            elif isinstance(value, Text):
                hit = value.folded in wanted
                truth = Truth(hit, not hit)
            else:
                raise ValidationError(f"'{self.text}': {self.operand.text} is a number, the list holds text")
        else:
            if isinstance(value, Text) or (isinstance(value, Categories) and not value.empty):
                raise ValidationError(f"'{self.text}': {self.operand.text} is text, the list holds numbers")
            numbers = as_number(value, self.operand.text)
            true = np.isin(numbers, np.asarray(self.values, dtype=np.float64))
            truth = Truth(true, ~true & ~np.isnan(numbers))
        return Truth(truth.false, truth.true) if self.negated else truth


@dataclass(frozen=True, eq=False)
class Function(Node):
    text: str
    function: str
    arguments: tuple[Node, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", "truth" if self.function in ("missing", "known") else "number")

    def children(self) -> tuple[Node, ...]:
        return self.arguments

    def evaluate(self, scope: Scope) -> Value:
        values = [a.evaluate(scope) for a in self.arguments]
        if self.function in ("missing", "known"):
            unknown = is_missing(values[0])
            unknown_not = np.logical_not(unknown)
            return Truth(unknown, unknown_not) if self.function == "missing" else Truth(unknown_not, unknown)
        numbers = [as_number(v, a.text) for v, a in zip(values, self.arguments, strict=True)]
        if self.function == "abs":
            return Number(np.abs(numbers[0]))
        combine = np.fmin if self.function == "min" else np.fmax
        result = numbers[0]
        for number in numbers[1:]:
            result = combine(result, number)
        return Number(result)


def _text_equal(a: Value, b: Value) -> Truth:
    """Equality of two texts (columns or literals), without regard to case."""
    if isinstance(a, Text) and isinstance(b, Text):
        return Truth(a.folded == b.folded, a.folded != b.folded)
    if isinstance(a, Text):
        a, b = b, a
    assert isinstance(a, Categories)
    if isinstance(b, Text):
        return a.among({b.folded})
    assert isinstance(b, Categories)
    vocabulary: dict[str, int] = {}
    left = np.array([vocabulary.setdefault(f, len(vocabulary)) for f in a.folded] + [-1], dtype=np.intp)
    right = np.array([vocabulary.setdefault(f, len(vocabulary)) for f in b.folded] + [-1], dtype=np.intp)
    x, y = left[a.codes], right[b.codes]
    known = (x >= 0) & (y >= 0)
    return Truth(known & (x == y), known & (x != y))


__all__ = [
    "Arithmetic",
    "Comparison",
    "Constant",
    "Function",
    "Logic",
    "Membership",
    "Name",
    "Negative",
    "Node",
    "Not",
    "Order",
]
