"""JSON text for many rows at once: how a scoring run encodes a million deals' risks, factors and
indicators in seconds.

Encoding row by row (``json.dumps`` per deal, or pandas' records encoder and its line splitting) costs
10-15 s per million deals for each of the three. The values repeat: a flag has three values, a count a
few hundred, a rounded share a few thousand, a risk's action one per rule. So each column is factorised,
each *distinct* value is encoded once (with its key and separator baked in), every row takes its token by
code (a reference, not a copy), and all tokens are joined into one text that is split at the row ends
(``\\n``, which JSON text never holds raw: the encoder escapes it inside strings).

Floats are rounded to :data:`DECIMALS` places first (what a page shows, and what keeps the distinct values
few); NaN, None and pandas' NA become ``null``; numpy scalars become their JSON kind.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring

import numpy as np
import pandas as pd

DECIMALS = 4
"""Places floats are rounded to in stored JSON."""
ROW_END = "\n"


def json_value(value: object) -> str:
    """One value as JSON text (NaN, None and NA as null; numpy scalars as their Python kind)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "null"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    if isinstance(value, (bool, int, float, str)):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(str(value), ensure_ascii=False)


def _encoded(uniques: pd.Index | np.ndarray | pd.api.extensions.ExtensionArray) -> list[str]:
    """Each distinct value as JSON text: floats and integers by numpy's shortest round-trip formatting,
    strings by the json module's C escaper, anything else one by one."""
    values = np.asarray(uniques)
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        text = values.astype(str).astype(object)
        text[~finite] = "null"
        return list(text)
    if values.dtype.kind in "iu":
        return list(values.astype(str))
    if values.dtype.kind == "b":
        return ["true" if v else "false" for v in values]
    if all(type(v) is str for v in values):
        return [encode_basestring(v) for v in values]
    return [json_value(v) for v in values]


def value_tokens(values: pd.Series, *, before: str = "", after: str = "") -> np.ndarray:
    """Each value as ``before + JSON + after`` (an object array of ``len(values)``); each distinct value is
    encoded once. Floats are rounded to :data:`DECIMALS` places."""
    series = values.reset_index(drop=True)
    if isinstance(series.dtype, pd.CategoricalDtype):  # already factorised: encode the categories used
        codes, uniques = _used_categories(series)
    else:
        if pd.api.types.is_float_dtype(series.dtype):
            series = series.round(DECIMALS)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    encoded = [before + text + after for text in _encoded(uniques)]
    encoded.append(before + "null" + after)  # code -1: missing
    tokens: np.ndarray = np.asarray(encoded, dtype=object)[np.asarray(codes)]
    return tokens


def _used_categories(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """A categorical's codes renumbered to the categories that occur, and those categories (several
    columns may share one large vocabulary, as a playbook's risk and action texts do)."""
    codes = series.cat.codes.to_numpy().astype(np.int64)
    categories = series.cat.categories
    known = codes >= 0
    used = np.flatnonzero(np.bincount(codes[known], minlength=len(categories)))
    renumbered = np.full(len(categories), -1, dtype=np.int64)
    renumbered[used] = np.arange(len(used))
    return np.where(known, renumbered[codes], -1), categories[used]


def joined_rows(tokens: np.ndarray) -> list[str]:
    """The rows of a 2-D token array, each joined into one string (the last token of a row must end with
    :data:`ROW_END`, and no other token may hold it)."""
    if tokens.shape[0] == 0:
        return []
    return "".join(tokens.ravel().tolist()).split(ROW_END)[:-1]


def records_json(frame: pd.DataFrame) -> list[str]:
    """Each row of ``frame`` as a JSON object keyed by the column names, in column order."""
    columns = list(frame.columns)
    if not columns:
        return ["{}"] * len(frame)
    tokens = np.empty((len(frame), len(columns)), dtype=object)
    last = len(columns) - 1
    for j, name in enumerate(columns):
        before = ("{" if j == 0 else ",") + encode_basestring(str(name)) + ":"
        after = "}" + ROW_END if j == last else ""
        tokens[:, j] = value_tokens(frame[name], before=before, after=after)
    return joined_rows(tokens)


_SEPARATORS = np.asarray([",", ""], dtype=object)


def grouped_json_lists(
    items: np.ndarray,
    groups: np.ndarray,
    count: int,
    *,
    opener: str = "[",
    closers: np.ndarray | None = None,
) -> list[str]:
    """Per group ``0..count-1``: a JSON array of its items. ``items`` holds one JSON text per item, or a
    row of tokens per item that together make its JSON text (2-D); item ``i`` belongs to group
    ``groups[i]``, ``groups`` sorted ascending; a group without items gets ``[]``.

    ``opener`` and ``closers`` put groups together into one text each: by default each group's text is
    ``[...]``; with ``closers`` (one per group, the last holding :data:`ROW_END` where a text ends) the
    first text starts with ``opener`` and each group's items are followed by its closer."""
    tokens = np.asarray(items, dtype=object)
    if tokens.ndim == 1:
        tokens = tokens[:, None]
    groups = np.asarray(groups, dtype=np.int64)
    total, width = tokens.shape
    first = np.ones(total, dtype=bool)
    first[1:] = groups[1:] != groups[:-1]
    # per item: its separator, then its tokens; each group's closer after its items (so an item's tokens
    # sit after the closers of the groups before its own)
    step = width + 1
    out = np.empty(step * total + count, dtype=object)
    at = step * np.arange(total) + groups
    out[at] = _SEPARATORS[first.astype(np.int64)]
    for j in range(width):
        out[at + 1 + j] = tokens[:, j]
    ends = np.searchsorted(groups, np.arange(count), side="right")
    out[step * ends + np.arange(count)] = "]" + ROW_END + "[" if closers is None else closers
    text = opener + "".join(out.tolist())
    return text.split(ROW_END)[: count if closers is None else -1]


__all__ = ["DECIMALS", "grouped_json_lists", "joined_rows", "json_value", "records_json", "value_tokens"]
