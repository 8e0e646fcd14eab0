"""Risk and action texts: ``str.format``-style templates over a deal's indicators.

``"stalled: {stage_age_days:.0f} days in {stage}, typical is {typical_stage_days:.0f}"`` reads three
indicators of the deal. Decisions:

* Fields are checked when the playbook is read: each names an indicator (or a definition), with an optional
  format spec that must work for a number or a text (``:.0f``, ``:,.0f``, ``:.0%``, ``:+.0%``); no
  positional fields, attributes, indexes, conversions (``!r``) or nested fields.
* An unknown value reads ``unknown`` (the spec is not applied). A number without a spec reads as a whole
  number when it is one (``48``, not ``48.0``), else with at most two decimals. A spec a value cannot take
  (``:.0f`` on a text) falls back to the plain value rather than failing a whole assessment. A condition
  (a definition such as ``large_deal``) reads ``yes``/``no``.
* **Rendered for many rows at once, formatted once per distinct text.** The rows a rule fires on are
  grouped by the combination of their field values (factorised codes), each combination is formatted once
  in Python; each row keeps a code into those texts (:class:`Rendered`), so a risk over 300,000 deals
  formats a few thousand strings and copies none.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from dealsight.analytics.rule_expressions import suggestion
from dealsight.analytics.rule_values import Categories, Number, Scope, Truth, Value
from dealsight.errors import ValidationError

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Field:
    """One ``{name:spec}`` of a template."""

    name: str
    spec: str


@dataclass(frozen=True)
class Template:
    """A checked template: literal pieces and fields, in order."""

    text: str
    pieces: tuple[str | Field, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.pieces if isinstance(p, Field))

    def __str__(self) -> str:
        return self.text

    @property
    def constant(self) -> str | None:
        """The text when the template reads no indicator (the same for every deal), else None."""
        if any(isinstance(p, Field) for p in self.pieces):
            return None
        return "".join(p for p in self.pieces if isinstance(p, str))

    def render(self, scope: Scope, rows: npt.NDArray[np.intp]) -> Rendered:
        """The text for each of ``rows`` (positions in the scope's frame), as codes into distinct texts."""
        fields = [p for p in self.pieces if isinstance(p, Field)]
        if not fields:
            constant = "".join(p for p in self.pieces if isinstance(p, str))
            return Rendered(np.zeros(len(rows), dtype=np.intp), [constant])
        codes: list[npt.NDArray[np.intp]] = []
        shown: list[list[str]] = []
        key = np.zeros(len(rows), dtype=np.int64)
        for f in fields:
            field_codes, texts = _field_texts(scope.value(f.name), rows, f.spec)
            codes.append(field_codes)
            shown.append([*texts, UNKNOWN])  # code -1 reads the last: unknown
            key = key * (len(texts) + 1) + (field_codes + 1)
            key = pd.factorize(key)[0].astype(np.int64)  # renumber what occurs: the key stays small
        groups = key.astype(np.intp)
        first = np.empty(int(groups.max()) + 1 if len(groups) else 0, dtype=np.intp)
        first[groups[::-1]] = np.arange(len(groups) - 1, -1, -1)
        pattern = "".join(
            p.replace("{", "{{").replace("}", "}}") if isinstance(p, str) else "{}" for p in self.pieces
        )
        columns = [
            [texts[c] for c in field_codes[first].tolist()]
            for field_codes, texts in zip(codes, shown, strict=True)
        ]
        texts = [pattern.format(*values) for values in zip(*columns, strict=True)]
        return Rendered(groups, texts)


@dataclass(frozen=True)
class Rendered:
    """Texts for many rows: per row a code into ``texts`` (each distinct text once)."""

    codes: npt.NDArray[np.intp]
    texts: list[str]

    def to_list(self) -> list[str]:
        return [self.texts[c] for c in self.codes.tolist()]


def _at(values: object, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.generic]:
    """A value's entries at ``rows`` (a scalar repeated)."""
    array = np.asarray(values)
    return array[rows] if array.ndim else np.broadcast_to(array, rows.shape)


def _field_texts(
    value: Value, rows: npt.NDArray[np.intp], spec: str
) -> tuple[npt.NDArray[np.intp], list[str]]:
    """Per row a code into the returned texts (-1: unknown); each distinct value is formatted once."""
    if isinstance(value, Number):
        numbers = _at(value.values, rows).astype(np.float64)
        numbers = np.where(np.isfinite(numbers), numbers, np.nan)
        places = _shown_places(spec)
        if places is not None:  # values that read the same are formatted once
            numbers = np.round(numbers, places)
        codes, uniques = pd.factorize(numbers, use_na_sentinel=True)
        return np.asarray(codes, dtype=np.intp), [format_number(float(u), spec) for u in uniques]
    if isinstance(value, Categories):
        codes, used = pd.factorize(value.codes[rows])
        texts = [format_text(value.labels[c], spec) if c >= 0 else UNKNOWN for c in used]
        return np.asarray(codes, dtype=np.intp), texts
    if isinstance(value, Truth):
        true, false = _at(value.true, rows), _at(value.false, rows)
        return np.where(true, 1, np.where(false, 0, -1)).astype(np.intp), ["no", "yes"]
    return np.zeros(len(rows), dtype=np.intp), [format_text(value.value, spec)]


_FIXED_SPEC = re.compile(r"^[^.]*\.(\d+)([f%])$")


def _shown_places(spec: str) -> int | None:
    """The decimal places a fixed-point spec shows (``.0f``: 0, ``,.1f``: 1, ``.0%``: 2 of the fraction),
    or None when the spec does not fix them."""
    match = _FIXED_SPEC.match(spec)
    if match is None:
        return None
    return int(match.group(1)) + (2 if match.group(2) == "%" else 0)


def format_number(value: float, spec: str) -> str:
    if value != value:  # NaN
        return UNKNOWN
    if spec:
        try:
            return format(value, spec)
        except (ValueError, TypeError):
            if value.is_integer():
                try:
                    return format(int(value), spec)
                except (ValueError, TypeError):
                    pass
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("0", "-0") else f"{value:.2g}"


def format_text(value: object, spec: str) -> str:
    if isinstance(value, float | np.floating):
        return format_number(float(value), spec)
    if spec:
        try:
            return format(value, spec)
        except (ValueError, TypeError):
            pass
    return str(value)


def compile_template(text: str, names: Collection[str]) -> Template:
    """Check ``text`` against the names it may read; raise ValidationError saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("expected a non-empty text")
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValidationError(
            f"braces do not match ({exc}); write {{{{ and }}}} for a literal brace"
        ) from None
    pieces: list[str | Field] = []
    for literal, name, spec, conversion in parsed:
        if literal:
            pieces.append(literal)
        if name is None:
            continue
        if conversion:
            raise ValidationError(f"'{{{name}!{conversion}}}': conversions (!r, !s) are not supported")
        if not name or name.isdigit():
            raise ValidationError("'{}' needs the name of an indicator inside the braces, e.g. {stage}")
        if not name.isidentifier():
            raise ValidationError(f"'{{{name}}}': only an indicator's name may go inside the braces")
        if name not in names:
            hint = suggestion(name, names)
            raise ValidationError(f"unknown indicator '{{{name}}}'{hint}")
        spec = spec or ""
        if "{" in spec:
            raise ValidationError(f"'{{{name}:{spec}}}': nested fields are not supported")
        if spec and not _spec_works(spec):
            raise ValidationError(f"'{{{name}:{spec}}}': '{spec}' is not a valid format")
        pieces.append(Field(name, spec))
    return Template(text, tuple(pieces))


def _spec_works(spec: str) -> bool:
    for sample in (1.5, 1, "text"):
        try:
            format(sample, spec)
        except (ValueError, TypeError):
            continue
        return True
    return False


__all__ = ["UNKNOWN", "Field", "Rendered", "Template", "compile_template", "format_number", "format_text"]
