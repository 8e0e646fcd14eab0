"""Frames into features: outcome labels, the numeric matrix a model learns from, and any CSV as a data set.

Three pieces, shared by the win model, its baselines and ``dealsight evaluate``:

* :class:`Outcomes`: the outcome labels of closed deals, checked once (the positive label is present, there
  is more than one outcome, no label is missing). Outcomes are kept apart as the data has them: "won",
  "lost" and "no_decision" are three classes, not won against the rest.
* :class:`FeatureLayout`: which columns are features and how each becomes a number. Numeric and boolean
  columns are used as they are (missing stays NaN); object, string and ``category`` columns are
  categorical: the values seen in ``fit`` are remembered, each becomes its position among them, and a value
  not seen in ``fit`` becomes missing (NaN), exactly like a missing value. Date and time columns are
  refused: a date is turned into a number (days since, days until) by whoever knows what it means.
* :func:`prepare_table`: any table of closed opportunities read as text (a CSV export) into features,
  outcomes, optional times and groups. Every column but the target and the date is a feature, numeric when
  every value parses as a number, categorical otherwise. Left out, and said so: columns asked to be left
  out (leaky ones), empty and constant columns, and columns that identify rows (nearly every value unique:
  text, or whole numbers under a name such as "Opportunity Number" or "Deal ID"). The first identifying
  column becomes the groups, so rows of one opportunity never sit on both sides of a split.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dealsight.errors import FieldProblem, InsufficientDataError, ValidationError

IDENTIFIER_SHARE = 0.95
"""A column whose distinct values number at least this share of its non-empty cells identifies rows."""
IDENTIFIER_WORDS = frozenset({"id", "identifier", "number", "num", "no", "nr", "key", "code", "ref", "uuid"})
"""Words in a column name that mark a nearly unique whole-number column as an identifier (not an amount)."""


@dataclass(frozen=True)
class Outcomes:
    """Outcome labels checked against the positive label: ``classes`` sorted, ``codes`` index them."""

    classes: np.ndarray
    codes: np.ndarray
    positive_index: int

    @classmethod
    def of(cls, y: Any, positive: Any) -> Outcomes:
        labels = pd.Series(np.asarray(y, dtype=object))
        missing = int(labels.isna().sum())
        if missing:
            raise ValidationError(
                f"the outcome is missing in {missing:,} rows; leave open deals out",
                [FieldProblem("y", "missing outcome")],
            )
        codes, uniques = pd.factorize(labels, sort=True)
        classes = np.asarray(uniques, dtype=object)
        matches = np.flatnonzero(classes == positive)
        if not len(matches):
            shown = ", ".join(repr(c) for c in classes[:10])
            raise ValidationError(
                f"the positive outcome {positive!r} does not occur; the outcomes are {shown}",
                [FieldProblem("positive", f"{positive!r} not among the outcomes")],
            )
        if len(classes) < 2:
            raise InsufficientDataError(
                f"all {len(labels):,} deals have the outcome {positive!r}; learning needs deals with "
                "other outcomes too"
            )
        return cls(classes, codes.astype(np.int64), int(matches[0]))

    @property
    def positive(self) -> Any:
        return self.classes[self.positive_index]

    @property
    def is_positive(self) -> np.ndarray:
        return np.asarray(self.codes == self.positive_index)

    def counts(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=len(self.classes))


@dataclass(frozen=True)
class FeatureLayout:
    """The feature columns in order, and for each categorical column the values seen when learning."""

    names: tuple[str, ...]
    categories: dict[str, pd.Index] = field(default_factory=dict)

    @classmethod
    def learn(cls, frame: pd.DataFrame) -> FeatureLayout:
        names = tuple(str(name) for name in frame.columns)
        if len(set(names)) != len(names):
            raise ValidationError("feature column names must be unique", [FieldProblem("X", "repeated name")])
        if not names:
            raise ValidationError("there are no feature columns", [FieldProblem("X", "no columns")])
        categories: dict[str, pd.Index] = {}
        for name, column in zip(names, frame.columns, strict=True):
            series = frame[column]
            if _is_numeric(series):
                continue
            if _is_categorical(series):
                categories[name] = _seen_values(series)
                continue
            raise ValidationError(
                f"feature {name!r} has type {series.dtype}; give dates and durations as numbers "
                "(e.g. days since) and everything else as numbers or text",
                [FieldProblem(name, f"unsupported type {series.dtype}")],
            )
        return cls(names, categories)

    @property
    def categorical_positions(self) -> list[int]:
        return [i for i, name in enumerate(self.names) if name in self.categories]

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The features as float64 (rows x features, column-major): categorical values become their
        position among the values seen when learning, unseen and missing values NaN."""
        absent = [name for name in self.names if name not in frame.columns]
        if absent:
            raise ValidationError(
                f"missing feature columns: {', '.join(absent)}", [FieldProblem(n, "missing") for n in absent]
            )
        out = np.empty((len(frame), len(self.names)), dtype=np.float64, order="F")
        for j, name in enumerate(self.names):
            series = frame[name]
            seen = self.categories.get(name)
            if seen is not None:
                codes = category_positions(series, seen)
                out[:, j] = np.where(codes >= 0, codes, np.nan)
                continue
            try:
                out[:, j] = series.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                raise ValidationError(
                    f"feature {name!r} was numeric when the model learnt, but holds text now",
                    [FieldProblem(name, "expected numbers")],
                ) from None
        return out


def category_positions(series: pd.Series, seen: pd.Index) -> np.ndarray:
    """Each value's position among ``seen`` (-1 when missing or not among them)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        positions = np.append(seen.get_indexer(series.cat.categories), -1)
        return np.asarray(positions[series.cat.codes.to_numpy()], dtype=np.int64)
    return np.asarray(seen.get_indexer(pd.Index(series)), dtype=np.int64)


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype))


def _is_categorical(series: pd.Series) -> bool:
    dtype = series.dtype
    return bool(
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _seen_values(series: pd.Series) -> pd.Index:
    """The distinct non-missing values of a categorical column, in a stable order (sorted when they sort)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = np.unique(series.cat.codes.to_numpy())
        seen: pd.Index = pd.Index(np.asarray(series.cat.categories)[codes[codes >= 0]], dtype=object)
        return seen
    values: list[Any] = list(pd.unique(series.dropna()))
    try:
        values.sort()
    except TypeError:
        values.sort(key=str)
    ordered: pd.Index = pd.Index(values, dtype=object)
    return ordered


# ---------------------------------------------------------------------------------------------------------
# any CSV of closed opportunities


@dataclass(frozen=True)
class PreparedTable:
    """A table made ready to learn from: ``features`` (numeric float64 or ``category`` columns), the outcome
    per row, the time per row when a date column was given, the groups (an identifying column) when there is
    one; ``left_out`` says which columns were not used and why, ``rows_left_out`` which rows and why."""

    features: pd.DataFrame
    outcomes: np.ndarray
    positive: str
    time: np.ndarray | None
    groups: np.ndarray | None
    group_column: str | None
    left_out: dict[str, str]
    rows_left_out: dict[str, int]


def prepare_table(
    frame: pd.DataFrame,
    *,
    target: str,
    positive: str,
    date: str | None = None,
    drop: Sequence[str] = (),
    keep: Sequence[str] = (),
    source: str = "the table",
) -> PreparedTable:
    """Features, outcomes, times and groups from ``frame`` (cells as text, missing as NaN).

    ``drop`` names columns to leave out (leaky: measured at or after the close); ``keep`` names columns that
    must stay features even if they look like identifiers (a stage column used by a baseline). Errors name
    ``source`` and the column: an unknown column, a positive value the target never takes, a date column
    without readable dates.
    """
    for option, names in (("target", [target]), ("date", [date] if date else []), ("drop", drop)):
        for name in names:
            _require_column(frame, name, option, source)
    for name in keep:
        _require_column(frame, name, "stage", source)
    rows_left_out: dict[str, int] = {}
    outcome = frame[target].astype(object).where(frame[target].notna(), None)
    outcome = outcome.map(lambda v: v.strip() if isinstance(v, str) else v).replace("", None)
    present = outcome.notna().to_numpy().copy()
    if (~present).any():
        rows_left_out[f"no value in '{target}'"] = int((~present).sum())
    values = set(outcome[present])
    if positive not in values:
        hint = [v for v in values if isinstance(v, str) and v.lower() == positive.lower()]
        shown = ", ".join(repr(v) for v in sorted(values, key=str)[:10])
        raise ValidationError(
            f"{source}: the target column '{target}' never has the value {positive!r}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + f"; its values are {shown}",
            [FieldProblem(target, f"no value {positive!r}")],
        )
    if len(values) < 2:
        raise InsufficientDataError(
            f"{source}: every row of the target column '{target}' is {positive!r}; "
            "an evaluation needs won and lost deals"
        )
    time = None
    if date:
        parsed = _parse_dates(frame[date], date, source)
        dated = parsed.notna().to_numpy()
        if (present & ~dated).any():
            rows_left_out[f"no readable date in '{date}'"] = int((present & ~dated).sum())
        present &= dated
        time = parsed.to_numpy()[present]
    used = frame.loc[present]
    left_out = {name: "left out as asked (leaky)" for name in drop}  # the CLI's words: "not used: ..."
    features: dict[str, pd.Series] = {}
    groups = None
    group_column = None
    for name in frame.columns:
        if name in (target, date) or name in left_out:
            continue
        column, reason = _feature(used[name], name, must_keep=name in keep)
        if reason is not None:
            left_out[name] = reason
            if reason.startswith("identifies rows") and groups is None:
                groups, group_column = used[name].to_numpy(dtype=object), name
            continue
        features[name] = column
    if not features:
        raise ValidationError(
            f"{source}: no feature columns are left once the target, date and left-out columns are set aside",
            [FieldProblem("drop", "nothing left to learn from")],
        )
    return PreparedTable(
        features=pd.DataFrame(features, index=pd.RangeIndex(len(used))),
        outcomes=outcome.to_numpy(dtype=object)[present],
        positive=positive,
        time=time,
        groups=groups,
        group_column=group_column,
        left_out=left_out,
        rows_left_out=rows_left_out,
    )


def _require_column(frame: pd.DataFrame, name: str, option: str, source: str) -> None:
    if name in frame.columns:
        return
    shown = ", ".join(f"'{c}'" for c in list(frame.columns)[:25])
    raise ValidationError(
        f"{source}: no column '{name}' (given as the {option} column); the columns are {shown}",
        [FieldProblem(option, f"no column {name!r}")],
    )


def _parse_dates(column: pd.Series, name: str, source: str) -> pd.Series:
    text = column.astype(object).where(column.notna(), None)
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    if parsed.notna().sum() < text.notna().sum():
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    if text.notna().any() and not parsed.notna().any():
        example = text.dropna().iloc[0]
        raise ValidationError(
            f"{source}: the date column '{name}' holds no readable dates (e.g. {example!r}); "
            "expected dates such as 2024-03-31",
            [FieldProblem(name, "no readable dates")],
        )
    return parsed


def _feature(column: pd.Series, name: str, *, must_keep: bool) -> tuple[pd.Series, str | None]:
    """The column as a feature (float64 or category), or the reason it is left out."""
    text = column.astype(object).where(column.notna(), None)
    text = text.map(lambda v: v.strip() if isinstance(v, str) else v).replace("", None)
    filled = text.dropna()
    if filled.empty:
        return column, "empty"
    distinct = filled.nunique()
    if distinct == 1 and not must_keep:
        return column, "constant (one value)"
    numbers = pd.to_numeric(filled, errors="coerce")
    numeric = bool(numbers.notna().all())
    nearly_unique = len(filled) >= 20 and distinct >= IDENTIFIER_SHARE * len(filled)
    if nearly_unique and not must_keep:
        whole = numeric and bool((numbers == np.round(numbers)).all())
        if not numeric or (whole and _names_an_identifier(name)):
            return column, f"identifies rows ({distinct:,} distinct values in {len(filled):,} rows)"
    if numeric:
        return pd.to_numeric(text, errors="coerce").astype(np.float64), None
    return text.astype("category"), None


def _names_an_identifier(name: str) -> bool:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    words = {word.lower() for word in re.split(r"[^A-Za-z]+", spaced) if word}
    return bool(words & IDENTIFIER_WORDS)


__all__ = ["FeatureLayout", "Outcomes", "PreparedTable", "category_positions", "prepare_table"]
