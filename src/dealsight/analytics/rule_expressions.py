"""The expression language of playbook rules: parsed under a whitelist, evaluated over a whole frame at once.

A rule's ``when`` is a small expression over a deal's indicators, for example
``stage_age_days > typical_stage_days_p75 and stage_age_ratio >= 2``. Decisions:

* **Parsed with :mod:`ast`, never evaluated by Python.** :func:`compile_expression` walks the tree and
  accepts only numbers, text in quotes, ``true``/``false``, known names, ``+ - * /``, unary minus,
  comparisons (``< <= > >= == !=``, chained as in Python), ``and``/``or``/``not``, ``in``/``not in`` a
  list of literals and the functions of :data:`FUNCTIONS`. Anything else (attributes, subscripts, other
  calls, lambdas, comprehensions, ``is``, ``**``...) is refused with what to write instead. The tree is
  turned into our own nodes; nothing of the text is ever executed.
* **Vectorised** (:mod:`.rule_nodes`). A node evaluates to a whole column: numbers as float64 arrays
  (NaN = unknown), text columns factorised once (codes + labels, so comparing 1,000,000 stage names with
  ``'Proposal'`` compares a handful of labels), conditions as a pair of boolean arrays.
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
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dealsight.analytics.rule_nodes import (
    Arithmetic,
    Comparison,
    Constant,
    Function,
    Logic,
    Membership,
    Name,
    Negative,
    Node,
    Not,
    Order,
)
from dealsight.analytics.rule_values import Kind, Scope, Value, as_truth, broadcast
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
_ARITHMETIC: Mapping[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_OPERATOR_HINTS: Mapping[type[ast.operator], str] = {
    ast.BitAnd: "'&' is not allowed; write 'and'",
    ast.BitOr: "'|' is not allowed; write 'or'",
    ast.Pow: "'**' is not allowed",
    ast.Mod: "'%' is not allowed",
    ast.FloorDiv: "'//' is not allowed; write '/'",
}
_ORDERS: Mapping[type[ast.cmpop], Order] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}


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
        symbol = _ARITHMETIC[type(tree.op)]
        if symbol == "/" and isinstance(right, Constant) and right.value == 0:
            raise ValidationError(f"division by zero: '{text}'")
        return Arithmetic(text, symbol, left, right)

    def compare(self, tree: ast.Compare, text: str, depth: int) -> Node:
        chained = len(tree.ops) > 1
        if any(isinstance(op, ast.In | ast.NotIn) for op in tree.ops):
            if chained:
                raise ValidationError(f"'in' cannot be chained with other comparisons: '{text}'")
            negated = isinstance(tree.ops[0], ast.NotIn)
            return self.membership(self.node(tree.left, depth + 1), tree.comparators[0], negated, text, depth)
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

    def membership(self, operand: Node, values_tree: ast.expr, negated: bool, text: str, depth: int) -> Node:
        if not isinstance(values_tree, ast.List | ast.Tuple):
            example = "stage in ['Proposal', 'Negotiation']"
            raise ValidationError(f"'in' needs a list of values, e.g. {example}: '{text}'")
        values: list[float | str] = []
        for element in values_tree.elts:
            constant = self.node(element, depth + 1)
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
