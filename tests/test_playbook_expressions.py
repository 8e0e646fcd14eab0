"""The rule expression language: each operator, unknown values (three-valued logic), text, functions,
the refusal of everything else, and a property test against a row-by-row reference interpreter."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealsight.analytics.rule_expressions import column_kinds, compile_expression
from dealsight.analytics.rule_values import Scope, as_number, as_truth, broadcast
from dealsight.errors import ValidationError

NAN = float("nan")
KNOWN = column_kinds(
    ["amount", "stage", "stage_age_days", "typical_stage_days", "sponsor_recorded", "x", "y"]
)


def truth(text: str, **columns: list[object]) -> list[bool | None]:
    """Per row: True, False or None (unknown)."""
    frame = pd.DataFrame(columns)
    expression = compile_expression(text, column_kinds(frame.columns))
    result = as_truth(expression.evaluate(Scope(frame)), text)
    true, false = broadcast(result.true, len(frame)), broadcast(result.false, len(frame))
    return [True if t else False if f else None for t, f in zip(true, false, strict=True)]


def numbers(text: str, **columns: list[object]) -> list[float]:
    frame = pd.DataFrame(columns)
    expression = compile_expression(text, column_kinds(frame.columns))
    values = np.broadcast_to(as_number(expression.evaluate(Scope(frame)), text), (len(frame),))
    return [float(v) for v in values]


def same(a: list[float], b: list[float]) -> bool:
    return all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def refusal(text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        compile_expression(text, KNOWN)
    return caught.value.message


# --- arithmetic ---------------------------------------------------------------------------------------


def test_arithmetic_follows_precedence_and_unknown_propagates() -> None:
    got = numbers("x + y * 2 - x / 4", x=[8.0, NAN, 1.0], y=[1.0, 1.0, NAN])
    assert same(got, [8.0, NAN, NAN])


def test_division_by_zero_is_unknown_not_infinite() -> None:
    assert same(numbers("x / y", x=[1.0, 0.0, 6.0], y=[0.0, 0.0, 3.0]), [NAN, NAN, 2.0])


def test_unary_minus_and_plus() -> None:
    assert same(numbers("-x + +y", x=[2.0, NAN], y=[5.0, 1.0]), [3.0, NAN])


def test_division_by_a_literal_zero_is_refused_when_read() -> None:
    assert "division by zero" in refusal("amount / 0")


# --- comparisons and unknown --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x < 2", [True, False, False, None]),
        ("x <= 2", [True, True, False, None]),
        ("x > 2", [False, False, True, None]),
        ("x >= 2", [False, True, True, None]),
        ("x == 2", [False, True, False, None]),
        ("x != 2", [True, False, True, None]),
    ],
)
def test_each_comparison_and_unknown_is_neither_true_nor_false(
    text: str, expected: list[bool | None]
) -> None:
    assert truth(text, x=[1.0, 2.0, 3.0, NAN]) == expected


def test_chained_comparisons_read_as_in_python() -> None:
    assert truth("1 < x <= 3", x=[1.0, 2.0, 3.0, 4.0, NAN]) == [False, True, True, False, None]
    assert truth("0 <= x < y < 10", x=[1.0, 1.0, 5.0], y=[2.0, 20.0, 4.0]) == [True, False, False]


def test_kleene_logic_for_and_or_not() -> None:
    x = [1.0, 1.0, 1.0, 0.0, 0.0, NAN]
    y = [1.0, 0.0, NAN, 0.0, NAN, NAN]
    assert truth("x and y", x=x, y=y) == [True, False, None, False, False, None]
    assert truth("x or y", x=x, y=y) == [True, True, True, False, None, None]
    assert truth("not x", x=x, y=y) == [False, False, False, True, True, None]


def test_a_number_as_a_condition_is_true_when_not_zero() -> None:
    assert truth("x", x=[2.0, 0.0, -1.0, NAN]) == [True, False, True, None]


def test_true_and_false_literals_and_flags_compared_with_them() -> None:
    assert truth("x == true", x=[1.0, 0.0, NAN]) == [True, False, None]
    assert truth("x == false or false", x=[1.0, 0.0, NAN]) == [False, True, None]
    assert truth("true", x=[1.0, 2.0]) == [True, True]


def test_conditions_add_up_as_ones_and_zeros() -> None:
    assert same(numbers("(x > 1) + (y > 1)", x=[2.0, 2.0, NAN], y=[2.0, 0.0, 0.0]), [2.0, 1.0, NAN])


# --- text -------------------------------------------------------------------------------------------


def test_text_equality_ignores_case_and_blank_is_unknown() -> None:
    stage = ["Proposal", "proposal", "Negotiation", None, "  "]
    assert truth("stage == 'PROPOSAL'", stage=stage) == [True, True, False, None, None]
    assert truth("stage != 'proposal'", stage=stage) == [False, False, True, None, None]


def test_in_and_not_in_on_text_and_numbers() -> None:
    stage = ["Proposal", "Negotiation", "Qualify", None]
    assert truth("stage in ['proposal', 'Negotiation']", stage=stage) == [True, True, False, None]
    assert truth("stage not in ('Proposal',)", stage=stage) == [False, True, True, None]
    assert truth("x in [1, 2.5]", x=[1.0, 2.5, 3.0, NAN]) == [True, True, False, None]
    assert truth("x not in [1]", x=[1.0, 2.5, 3.0, NAN]) == [False, True, True, None]
    assert truth("x in [-1, +2.5]", x=[-1.0, 2.5, 1.0, NAN]) == [True, True, False, None]


def test_two_text_columns_compare_row_by_row() -> None:
    got = truth("a == b", a=["Acme", "Acme", None], b=["ACME", "Globex", "Acme"])
    assert got == [True, False, None]


def test_a_column_the_frame_lacks_is_unknown_everywhere() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    expression = compile_expression("absent > 1 or missing(absent)", column_kinds(["x", "absent"]))
    result = as_truth(expression.evaluate(Scope(frame)), "")
    assert broadcast(result.true, 2).tolist() == [True, True]
    unknown = compile_expression("absent > 1", column_kinds(["x", "absent"]))
    assert not unknown.holds(Scope(frame)).any()


# --- functions ----------------------------------------------------------------------------------------


def test_missing_and_known_are_never_unknown() -> None:
    assert truth("missing(x)", x=[1.0, NAN]) == [False, True]
    assert truth("known(x)", x=[1.0, NAN]) == [True, False]
    assert truth("missing(stage)", stage=["a", None, ""]) == [False, True, True]
    assert truth("missing(x > 1)", x=[2.0, NAN]) == [False, True]


def test_abs_min_max() -> None:
    assert same(numbers("abs(x)", x=[-2.0, 3.0, NAN]), [2.0, 3.0, NAN])
    # min and max take the known arguments, like SQL's LEAST and GREATEST
    assert same(numbers("max(x, y, 0)", x=[-2.0, 3.0, NAN], y=[-5.0, NAN, NAN]), [0.0, 3.0, 0.0])
    assert same(numbers("min(x, y)", x=[-2.0, 3.0, NAN], y=[-5.0, NAN, NAN]), [-5.0, 3.0, NAN])


def test_whitespace_and_line_breaks_are_allowed() -> None:
    assert truth("x > 1\n  and x < 3", x=[2.0, 4.0]) == [True, False]


# --- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("stage.__class__", "attribute access"),
        ("stage[0] == 'P'", "indexing"),
        ("(lambda: 1)() > 0", "only the functions"),
        ("lambda: 1", "lambda is not allowed"),
        ("[x for x in [1]]", "comprehensions"),
        ("any(x > 1 for x in [1])", "unknown function 'any'"),
        ("open('/etc/passwd')", "unknown function 'open'; functions are missing, known, abs, min, max"),
        ("__import__('os')", "unknown function '__import__'"),
        ("amount if stage else 1", "'x if c else y' is not allowed"),
        ("amount ** 2 > 1", "'**' is not allowed"),
        ("amount % 2 == 1", "'%' is not allowed"),
        ("amount // 2 > 1", "'//' is not allowed"),
        ("x & y", "write 'and'"),
        ("~x", "write 'not'"),
        ("amount is None", "'is' is not allowed"),
        ("(x := 1)", "':=' is not allowed"),
        ("f'{amount}' == 'a'", "f-strings"),
        ("{1: 2}", "a mapping"),
        ("amount in {1, 2}", "'in' needs a list"),
        ("amount in stage", "'in' needs a list"),
        ("[1, 2]", "a list is only allowed after 'in'"),
        ("amount > None", "None is not allowed"),
        ("missing > 1", "missing is a function"),
        ("min(amount) > 1", "min() takes at least 2 argument(s)"),
        ("missing(amount, stage)", "missing() takes 1 argument(s)"),
        ("abs(x=amount) > 1", "no named arguments"),
        ("amount >", "not a valid expression at the end"),
        ("amount > 1; import os", "not a valid expression at column 11"),
        ("'a' + 1 > 0", "'a' is a text, not a number"),
        ("stage and 'a'", "'a' is a text, not a condition"),
        ("stage < 'b'", "text cannot be ordered"),
        ("amount == 1 == 'a'", "compares text with a number"),
        ("'x'", "is a text, not a condition"),
        ("amount in [1, 'a']", "mixes numbers and texts"),
        ("amount in [true]", "only numbers or texts"),
        ("1 < amount in [1]", "cannot be chained"),
        ("amount > 1e999", "not a finite number"),
        ("amount > 1j", "is not allowed: use numbers"),
        ("stage == b'x'", "is not allowed: use numbers"),
        ("not " * 80 + "amount", "nested too deeply"),
        ("amount > 1 and " * 200 + "amount > 1", "longer than 2000 characters"),
        ("", "expected an expression"),
        ("__builtins__ == 1", "unknown indicator '__builtins__'"),
    ],
)
def test_refused_constructs_say_what_is_wrong(text: str, problem: str) -> None:
    assert problem in refusal(text)


def test_an_unknown_indicator_gets_a_suggestion() -> None:
    assert (
        refusal("stage_age_day > 30") == "unknown indicator 'stage_age_day'; did you mean 'stage_age_days'?"
    )


def test_an_unquoted_text_is_pointed_at_the_quotes() -> None:
    assert (
        refusal("stage == Proposal")
        == "unknown indicator 'Proposal'; text values go in quotes, e.g. 'Proposal'"
    )


@pytest.mark.parametrize(
    ("text", "columns", "problem"),
    [
        ("stage > 3", {"stage": ["a"]}, "'stage > 3': text cannot be ordered"),
        ("stage + 1 > 3", {"stage": ["a"]}, "'stage' holds text, not numbers"),
        ("stage and x > 1", {"stage": ["a"], "x": [1.0]}, "'stage' is a text, not a condition"),
        ("x == 'a'", {"x": [1.0]}, "compares text with a number"),
        ("x in ['a']", {"x": [1.0]}, "x is a number, the list holds text"),
        ("stage in [1]", {"stage": ["a"]}, "stage is text, the list holds numbers"),
    ],
)
def test_kinds_only_the_frame_shows_are_refused_on_evaluation(
    text: str, columns: dict[str, list[object]], problem: str
) -> None:
    frame = pd.DataFrame(columns)
    expression = compile_expression(text, column_kinds(frame.columns))
    with pytest.raises(ValidationError) as caught:
        expression.holds(Scope(frame))
    assert problem in caught.value.message


def test_an_empty_text_column_reads_as_unknown_numbers() -> None:
    assert truth("x > 1", x=pd.Series([None, None], dtype=object)) == [None, None]  # type: ignore[arg-type]


def test_nullable_dtypes_read_like_numpy_ones() -> None:
    x = pd.array([1, None, 3], dtype="Int64")
    flag = pd.array([True, None, False], dtype="boolean")
    stage = pd.array(["Proposal", None, "x"], dtype="string")
    got = truth("x >= 1 and flag and stage == 'proposal'", x=x, flag=flag, stage=stage)  # type: ignore[arg-type]
    assert got == [True, None, False]


# --- property: vectorised evaluation agrees with a row-by-row reference --------------------------------

Ref = Callable[[dict[str, object]], object]
VALUES = st.sampled_from([NAN, -2.0, -1.0, 0.0, 0.5, 1.0, 3.0])
TEXTS = st.sampled_from([None, "x", "X", "y", ""])


def _num(value: object) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)  # type: ignore[arg-type]


def _leaf() -> st.SearchStrategy[tuple[str, Ref]]:
    names = st.sampled_from(["a", "b"]).map(lambda n: (n, lambda row, n=n: _num(row[n])))
    literals = st.sampled_from([-3, -2, -1, 1, 2, 3]).map(lambda i: (f"({i})", lambda row, i=i: float(i)))
    return st.one_of(names, literals)


def _arith(children: st.SearchStrategy[tuple[str, Ref]]) -> st.SearchStrategy[tuple[str, Ref]]:
    def combine(op: str, left: tuple[str, Ref], right: tuple[str, Ref]) -> tuple[str, Ref]:
        def ref(row: dict[str, object]) -> float | None:
            x, y = left[1](row), right[1](row)
            if op in ("min", "max"):
                known = [v for v in (x, y) if v is not None]
                return (min if op == "min" else max)(known) if known else None  # type: ignore[type-var]
            if x is None or y is None:
                return None
            if op == "/":
                return None if y == 0 else x / y  # type: ignore[operator]
            return {"+": x + y, "-": x - y, "*": x * y}[op]  # type: ignore[operator]

        text = f"{op}({left[0]}, {right[0]})" if op in ("min", "max") else f"({left[0]} {op} {right[0]})"
        return text, ref

    return st.builds(combine, st.sampled_from(["+", "-", "*", "/", "min", "max"]), children, children)


NUMBERS = st.recursive(_leaf(), _arith, max_leaves=4)


def _comparison() -> st.SearchStrategy[tuple[str, Ref]]:
    ops: dict[str, Callable[[float, float], bool]] = {
        "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y,
        ">": lambda x, y: x > y,
        ">=": lambda x, y: x >= y,
        "==": lambda x, y: x == y,
        "!=": lambda x, y: x != y,
    }

    def compare(op: str, left: tuple[str, Ref], right: tuple[str, Ref]) -> tuple[str, Ref]:
        def ref(row: dict[str, object]) -> bool | None:
            x, y = left[1](row), right[1](row)
            return None if x is None or y is None else ops[op](x, y)  # type: ignore[arg-type]

        return f"{left[0]} {op} {right[0]}", ref

    def text_test(kind: str) -> tuple[str, Ref]:
        def ref(row: dict[str, object]) -> bool | None:
            s = row["s"]
            if s is None or not str(s).strip():
                return None if kind != "missing" else True
            folded = str(s).casefold()
            if kind == "missing":
                return False
            return folded == "x" if kind == "eq" else folded in ("x", "y")

        text = {"eq": "s == 'x'", "in": "s in ['X', 'y']", "missing": "missing(s)"}[kind]
        return text, ref

    def missing(value: tuple[str, Ref]) -> tuple[str, Ref]:
        return f"missing({value[0]})", lambda row: value[1](row) is None

    return st.one_of(
        st.builds(compare, st.sampled_from(list(ops)), NUMBERS, NUMBERS),
        st.sampled_from(["eq", "in", "missing"]).map(text_test),
        NUMBERS.map(missing),
    )


def _logic(children: st.SearchStrategy[tuple[str, Ref]]) -> st.SearchStrategy[tuple[str, Ref]]:
    def both(op: str, left: tuple[str, Ref], right: tuple[str, Ref]) -> tuple[str, Ref]:
        def ref(row: dict[str, object]) -> bool | None:
            x, y = left[1](row), right[1](row)
            if op == "and":
                return False if x is False or y is False else (True if x and y else None)
            return True if x is True or y is True else (False if x is False and y is False else None)

        return f"({left[0]} {op} {right[0]})", ref

    def negate(value: tuple[str, Ref]) -> tuple[str, Ref]:
        return f"not ({value[0]})", lambda row: None if value[1](row) is None else not value[1](row)

    return st.one_of(
        st.builds(both, st.sampled_from(["and", "or"]), children, children), children.map(negate)
    )


CONDITIONS = st.recursive(_comparison(), _logic, max_leaves=5)


@settings(max_examples=150, deadline=None)
@given(
    condition=CONDITIONS,
    rows=st.lists(st.tuples(VALUES, VALUES, TEXTS), min_size=1, max_size=12),
)
def test_vectorised_evaluation_agrees_with_a_row_by_row_reference(
    condition: tuple[str, Ref], rows: list[tuple[float, float, str | None]]
) -> None:
    text, reference = condition
    frame = {
        "a": [r[0] for r in rows],
        "b": [r[1] for r in rows],
        "s": pd.Series([r[2] for r in rows], dtype=object),
    }
    got = truth(text, **frame)  # type: ignore[arg-type]
    expected = [reference({"a": r[0], "b": r[1], "s": r[2]}) for r in rows]
    assert got == expected, text
