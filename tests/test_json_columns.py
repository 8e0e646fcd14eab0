"""Column-wise JSON (services.json_columns) reads back exactly as row-by-row ``json.dumps`` would."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from dealsight.services.json_columns import DECIMALS, grouped_json_lists, records_json, value_tokens


def _expected(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, DECIMALS)
    return value


def test_records_read_back_as_the_rows_they_came_from() -> None:
    rng = np.random.default_rng(3)
    n = 500
    frame = pd.DataFrame(
        {
            "amount": rng.normal(50_000, 20_000, n),
            "days": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 400, n).astype(float)),
            "count": rng.integers(-3, 30, n),
            "flag": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
            "stage": pd.Categorical(rng.choice(["Proposal", "Négociation", 'say "hi"\nthen'], n)),
            "text": rng.choice(["a,b", "}{", "\\", "", "ünï"], n).astype(object),
            "big": rng.choice([1e20, -1e-7, math.inf, 0.1 + 0.2], n),
        }
    )
    lines = records_json(frame)
    assert len(lines) == n
    for line, row in zip(lines, frame.itertuples(index=False), strict=True):
        decoded = json.loads(line)
        assert list(decoded) == list(frame.columns)
        for name, value in zip(frame.columns, row, strict=True):
            got, want = decoded[name], _expected(value)
            if isinstance(want, float):
                assert got == pytest.approx(want, rel=1e-12, abs=0), (name, value, got)
            else:
                assert got == want, (name, value, got)


def test_an_empty_frame_and_a_frame_without_columns() -> None:
    assert records_json(pd.DataFrame({"a": []})) == []
    assert records_json(pd.DataFrame(index=range(2))) == ["{}", "{}"]


def test_value_tokens_encode_each_value_with_its_key() -> None:
    tokens = value_tokens(pd.Series([1.23456789, np.nan, 1.23456789]), before='"x":', after="}")
    assert tokens.tolist() == ['"x":1.2346}', '"x":null}', '"x":1.2346}']
    assert tokens[0] is tokens[2]  # a distinct value is encoded once and shared


def test_grouped_lists_keep_groups_in_order_and_give_empty_groups_an_empty_list() -> None:
    items = np.asarray(['"a"', '"b"', '"c"', '"d"'], dtype=object)
    assert grouped_json_lists(items, np.array([0, 0, 2, 4]), 5) == ['["a","b"]', "[]", '["c"]', "[]", '["d"]']
    assert grouped_json_lists(np.asarray([], dtype=object), np.array([], dtype=np.int64), 2) == ["[]", "[]"]
    tokens = np.asarray([["1", "}"], ["2", "}"]], dtype=object)
    assert grouped_json_lists(tokens, np.array([1, 1]), 2) == ["[]", "[1},2}]"]


def test_grouped_lists_with_closers_join_two_groups_into_one_text() -> None:
    items = np.asarray(["1", "2", "3"], dtype=object)
    closers = np.tile(np.asarray(['],"b":[', ']}\n{"a":['], dtype=object), 2)
    texts = grouped_json_lists(items, np.array([0, 1, 3]), 4, opener='{"a":[', closers=closers)
    assert [json.loads(t) for t in texts] == [{"a": [1], "b": [2]}, {"a": [], "b": [3]}]


def test_a_categorical_encodes_only_the_categories_it_uses() -> None:
    values = pd.Series(pd.Categorical(["c", None, "c", "a"], categories=["a", "b", "c"]))
    assert value_tokens(values, before="<", after=">").tolist() == ['<"c">', "<null>", '<"c">', '<"a">']
    assert value_tokens(pd.Series(pd.Categorical([], categories=["a"]))).tolist() == []
