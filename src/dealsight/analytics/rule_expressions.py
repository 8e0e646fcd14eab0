"""The expression language of playbook rules: parsed under a whitelist, evaluated over a whole frame at once.

A rule's ``when`` is a small expression over a deal's indicators, for example
``stage_age_days > typical_stage_days_p75 and stage_age_ratio >= 2``. Decisions:

* **Parsed with :mod:`ast`, never evaluated by Python.** :func:`compile_expression` walks the tree and
  accepts only numbers, text in quotes, ``true``/``false``, known names, ``+ - * /``, unary minus,
  comparisons (``< <= > >= == !=``, chained as in Python), ``and``/``or``/``not``, ``in``/``not in`` a
  list of literals and the functions of :data:`FUNCTIONS`. Anything else (attributes, subscripts, other
  calls, lambdas, comprehensions, ``is``, ``**``...) is refused with what to write instead. The tree is
  turned into our own nodes; nothing of the text is ever executed.
* **Vectorised.** A node evaluates to a whole column: numbers as float64 arrays (NaN = unknown), text
  columns factorised once (codes + labels, so comparing 1,000,000 stage names with ``'Proposal'`` compares
  a handful of labels), conditions as a pair of boolean arrays.
* **Unknown is not false (three-valued logic, as in SQL).** A comparison with an unknown value is unknown;
  ``not`` of unknown is unknown; ``false and unknown`` is false, ``true or unknown`` is true. A rule fires
  only where its condition is *known* to be true, so a missing indicator never raises a risk by itself and
  ``not sponsor_engaged`` does not fire on deals where engagement is not known. ``missing(x)`` and
  ``known(x)`` ask about unknown values explicitly.
* **Text compares without regard to case** (``'commit'`` equals ``'Commit'``); an empty or blank text is
  unknown. Text can be tested with ``==``, ``!=`` and ``in``, never ordered. A flag (0/1) or a number used
  as a condition is true when non-zero. Division by zero is unknown. ``min``/``max`` take the known
  arguments (unknown only when all are), like SQL's ``LEAST``/``GREATEST``.
* **Kinds are checked twice.** What the text alone shows (``'a' + 1``, ``stage_age_days in ['x', 2]``) is
  refused when the playbook is read; what depends on the frame (a text column used as a number) is refused
  when it is evaluated, naming the expression. A column absent from the frame is unknown everywhere.

Errors are :class:`~dealsight.errors.ValidationError` with a plain message; :mod:`.playbook` adds the file
and the rule.
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from dealsight.analytics.rule_values import (
    Categories,
    Kind,
    Number,
    Scope,
    Text,
    Truth,
    Value,
    as_number,
    as_truth,
    broadcast,
    is_missing,
)
from dealsight.errors import ValidationError

FUNCTIONS: Mapping[str, tuple[int, int | None]] = {
    "missing": (1, 1),
    "known": (1, 1),
    "abs": (1, 1),
    "min": (2, None),
    "max": (2, None),
}
"""Callable functions and their number of arguments (least, most; ``None``: any number)."""

BOOLEANS: Mapping[str, bool] = {"true": True, "false": False}
MAX_LENGTH = 2000
MAX_DEPTH = 60

_NOT_ALLOWED: Mapping[type[ast.AST], str] = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "indexing ('[...]') is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.IfExp: "'x if c else y' is not allowed; combine conditions with and/or",
    ast.NamedExpr: "':=' is not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.Dict: "a mapping ('{...}') is not allowed",
    ast.Set: "a set ('{...}') is not allowed; write a list after 'in': x in ['a', 'b']",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Await: "'await' is not allowed",
}
_ARITHMETIC: Mapping[type[ast.operator], tuple[str, Callable[[object, object], object]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
}
_OPERATOR_HINTS: Mapping[type[ast.operator], str] = {
    ast.BitAnd: "'&' is not allowed; write 'and'",
    ast.BitOr: "'|' is not allowed; write 'or'",
    ast.Pow: "'**' is not allowed",
    ast.Mod: "'%' is not allowed",
    ast.FloorDiv: "'//' is not allowed; write '/'",
}
Order = Literal["<", "<=", ">", ">=", "==", "!="]
_ORDERS: Mapping[type[ast.cmpop], Order] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}
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

    @property
    def kind(self) -> Kind:  # type: ignore[override]
        if isinstance(self.value, bool):
            return "truth"
        return "text" if isinstance(self.value, str) else "number"

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
            if self.symbol == "+":
                return Number(np.add(a, b))
            if self.symbol == "-":
                return Number(np.subtract(a, b))
            if self.symbol == "*":
                return Number(np.multiply(a, b))
            return Number(np.where(np.equal(b, 0.0), np.nan, np.divide(a, b)))


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
            wanted = {str(v).strip().casefold() for v in self.values}
            if isinstance(value, Categories):
                hits = np.array([label in wanted for label in value.folded] + [False], dtype=bool)
                true = hits[value.codes]
                truth = Truth(true, (value.codes >= 0) & ~true)
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

    @property
    def kind(self) -> Kind:  # type: ignore[override]
        return "truth" if self.function in ("missing", "known") else "number"

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
        hits = np.array([label == b.folded for label in a.folded] + [False], dtype=bool)
        true = hits[a.codes]
        return Truth(true, (a.codes >= 0) & ~true)
    assert isinstance(b, Categories)
    vocabulary: dict[str, int] = {}
    left = np.array([vocabulary.setdefault(f, len(vocabulary)) for f in a.folded] + [-1], dtype=np.intp)
    right = np.array([vocabulary.setdefault(f, len(vocabulary)) for f in b.folded] + [-1], dtype=np.intp)
    x, y = left[a.codes], right[b.codes]
    known = (x >= 0) & (y >= 0)
    return Truth(known & (x == y), known & (x != y))


@dataclass(frozen=True)
class Expression:
    """A compiled expression: its text, its checked tree and the names it reads."""

    text: str
    root: Node

    @property
    def kind(self) -> Kind:
        return self.root.kind

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.root.names())

    def evaluate(self, scope: Scope) -> Value:
        return self.root.evaluate(scope)

    def holds(self, scope: Scope) -> npt.NDArray[np.bool_]:
        """Where the expression is known to be true (one boolean per row of the scope)."""
        truth = as_truth(self.evaluate(scope), self.text)
        return broadcast(truth.true, scope.size)


def suggestion(name: str, candidates: Collection[str]) -> str:
    """'; did you mean X?' when a candidate is close to ``name``, else ''."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def compile_expression(text: str, names: Mapping[str, Kind]) -> Expression:
    """Parse and check ``text``; ``names`` maps each name it may read to its kind (``any`` for a column of
    the frame, whose kind shows only on evaluation). Raises ValidationError saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("expected an expression (text), for example: stage_age_days > 30")
    source = " ".join(text.strip().splitlines())
    if len(source) > MAX_LENGTH:
        raise ValidationError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset and exc.offset <= len(source) else " at the end"
        raise ValidationError(f"not a valid expression{where}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ValidationError("the expression is too complex") from None
    root = _Compiler(source, names).node(tree.body, 0)
    if root.kind == "text":
        raise ValidationError(f"{source} is a text, not a condition")
    return Expression(source, root)


class _Compiler:
    def __init__(self, source: str, names: Mapping[str, Kind]) -> None:
        self.source = source
        self.names = names

    def fragment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or self.source

    def node(self, tree: ast.expr, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise ValidationError("the expression is nested too deeply")
        text = self.fragment(tree)
        if type(tree) in _NOT_ALLOWED:
            raise ValidationError(f"{_NOT_ALLOWED[type(tree)]}: '{text}'")
        if isinstance(tree, ast.Constant):
            return self.constant(tree, text)
        if isinstance(tree, ast.Name):
            return self.name(tree.id)
        if isinstance(tree, ast.UnaryOp):
            return self.unary(tree, text, depth)
        if isinstance(tree, ast.BinOp):
            return self.arithmetic(tree, text, depth)
        if isinstance(tree, ast.BoolOp):
            operands = tuple(self.condition(v, depth + 1) for v in tree.values)
            return Logic(text, isinstance(tree.op, ast.And), operands)
        if isinstance(tree, ast.Compare):
            return self.compare(tree, text, depth)
        if isinstance(tree, ast.Call):
            return self.call(tree, text, depth)
        if isinstance(tree, ast.List | ast.Tuple):
            raise ValidationError(f"a list is only allowed after 'in': '{text}'")
        raise ValidationError(f"'{text}' is not allowed in a rule")

    def constant(self, tree: ast.Constant, text: str) -> Node:
        value = tree.value
        if isinstance(value, bool | int | float | str) and not isinstance(value, complex):
            if isinstance(value, float) and not np.isfinite(value):
                raise ValidationError(f"'{text}' is not a finite number")
            return Constant(text, value)
        if value is None:
            raise ValidationError("None is not allowed; test for an unknown value with missing(x)")
        raise ValidationError(f"'{text}' is not allowed: use numbers, text in quotes, true or false")

    def name(self, name: str) -> Node:
        if name in BOOLEANS:
            return Constant(name, BOOLEANS[name])
        if name in self.names:
            return Name(name, self.names[name])
        if name in FUNCTIONS:
            raise ValidationError(f"{name} is a function: write {name}(...)")
        if name in ("None", "none", "null"):
            raise ValidationError(f"{name} is not allowed; test for an unknown value with missing(x)")
        hint = suggestion(name, [*self.names, *BOOLEANS])
        if not hint:
            hint = f"; text values go in quotes, e.g. '{name}'"
        raise ValidationError(f"unknown indicator '{name}'{hint}")

    def condition(self, tree: ast.expr, depth: int) -> Node:
        node = self.node(tree, depth)
        if node.kind == "text":
            raise ValidationError(f"{node.text} is a text, not a condition")
        return node

    def number(self, tree: ast.expr, depth: int) -> Node:
        node = self.node(tree, depth)
        if node.kind == "text":
            raise ValidationError(f"{node.text} is a text, not a number")
        return node

    def unary(self, tree: ast.UnaryOp, text: str, depth: int) -> Node:
        if isinstance(tree.op, ast.Not):
            return Not(text, self.condition(tree.operand, depth + 1))
        operand = self.number(tree.operand, depth + 1)
        if isinstance(tree.op, ast.UAdd):
            return operand
        if isinstance(tree.op, ast.USub):
            if isinstance(operand, Constant) and not isinstance(operand.value, bool | str):
                return Constant(text, -operand.value)
            return Negative(text, operand)
        raise ValidationError(f"'~' is not allowed; write 'not': '{text}'")

    def arithmetic(self, tree: ast.BinOp, text: str, depth: int) -> Node:
        if type(tree.op) not in _ARITHMETIC:
            hint = _OPERATOR_HINTS.get(type(tree.op), "this operator is not allowed")
            raise ValidationError(f"{hint}: '{text}' (arithmetic is + - * /)")
        left, right = self.number(tree.left, depth + 1), self.number(tree.right, depth + 1)
        symbol = _ARITHMETIC[type(tree.op)][0]
        if symbol == "/" and isinstance(right, Constant) and right.value == 0:
            raise ValidationError(f"division by zero: '{text}'")
        return Arithmetic(text, symbol, left, right)

    def compare(self, tree: ast.Compare, text: str, depth: int) -> Node:
        chained = len(tree.ops) > 1
        if any(isinstance(op, ast.In | ast.NotIn) for op in tree.ops):
            if chained:
                raise ValidationError(f"'in' cannot be chained with other comparisons: '{text}'")
            negated = isinstance(tree.ops[0], ast.NotIn)
            return self.membership(self.node(tree.left, depth + 1), tree.comparators[0], negated, text)
        parts: list[Node] = []
        left = self.node(tree.left, depth + 1)
        for op, right_tree in zip(tree.ops, tree.comparators, strict=True):
            if isinstance(op, ast.Is | ast.IsNot):
                raise ValidationError(f"'is' is not allowed; write == or missing(x): '{text}'")
            right = self.node(right_tree, depth + 1)
            order = _ORDERS[type(op)]
            part = f"{left.text} {order} {right.text}" if chained else text
            kinds = {left.kind, right.kind}
            if "text" in kinds and order not in ("==", "!="):
                raise ValidationError(f"text cannot be ordered, only tested with ==, != or in: '{part}'")
            if "text" in kinds and kinds & {"number", "truth"}:
                raise ValidationError(f"'{part}' compares text with a number")
            parts.append(Comparison(part, order, left, right))
            left = right
        return parts[0] if len(parts) == 1 else Logic(text, True, tuple(parts))

    def membership(self, operand: Node, values_tree: ast.expr, negated: bool, text: str) -> Node:
        if not isinstance(values_tree, ast.List | ast.Tuple):
            example = "stage in ['Proposal', 'Negotiation']"
            raise ValidationError(f"'in' needs a list of values, e.g. {example}: '{text}'")
        values: list[float | str] = []
        for element in values_tree.elts:
            constant = self.node(element, MAX_DEPTH)
            if not isinstance(constant, Constant) or isinstance(constant.value, bool):
                raise ValidationError(f"the list after 'in' may hold only numbers or texts: '{text}'")
            values.append(constant.value)
        if len({isinstance(v, str) for v in values}) > 1:
            raise ValidationError(f"the list after 'in' mixes numbers and texts: '{text}'")
        textual = bool(values) and isinstance(values[0], str)
        numeric_operand = operand.kind in ("number", "truth")
        if (operand.kind == "text" and values and not textual) or (numeric_operand and textual):
            raise ValidationError(f"'{text}' compares text with a number")
        return Membership(text, operand, tuple(values), negated)

    def call(self, tree: ast.Call, text: str, depth: int) -> Node:
        if not isinstance(tree.func, ast.Name):
            raise ValidationError(f"only the functions {', '.join(FUNCTIONS)} can be called: '{text}'")
        function = tree.func.id
        if function not in FUNCTIONS:
            raise ValidationError(f"unknown function '{function}'; functions are {', '.join(FUNCTIONS)}")
        if tree.keywords:
            raise ValidationError(f"{function}() takes no named arguments: '{text}'")
        least, most = FUNCTIONS[function]
        if len(tree.args) < least or (most is not None and len(tree.args) > most):
            wanted = f"{least}" if least == most else f"at least {least}"
            raise ValidationError(f"{function}() takes {wanted} argument(s): '{text}'")
        if function in ("missing", "known"):
            arguments = tuple(self.node(a, depth + 1) for a in tree.args)
        else:
            arguments = tuple(self.number(a, depth + 1) for a in tree.args)
        return Function(text, function, arguments)


def column_kinds(columns: Collection[str]) -> dict[str, Kind]:
    """Names of frame columns, whose kinds show only on evaluation."""
    return dict.fromkeys(columns, "any")


__all__ = [
    "BOOLEANS",
    "FUNCTIONS",
    "Expression",
    "Node",
    "column_kinds",
    "compile_expression",
    "suggestion",
]
