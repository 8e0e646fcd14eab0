"""Turning a file's rows into typed field values, following a mapping.

For each row: take each mapped column's cell, rewrite it through the mapping's value map, fall back to
the default, parse it by the field's kind. Problems name the file, row, column and what was expected.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from dealsight.errors import MappingError, RowProblem
from dealsight.ingest import fields
from dealsight.ingest.entities import ENUM_ALIASES, EntitySpec
from dealsight.ingest.mapping import FileMapping

_LIST_SPLIT = re.compile(r"\s*[;,|]\s*")


class RowParser:
    def __init__(self, mapping: FileMapping, spec: EntitySpec, header: list[str], file_label: str) -> None:
        self.spec = spec
        self.file = file_label
        self.columns = dict(mapping.columns)
        self.defaults = dict(mapping.defaults)
        self.values = {f: {k.casefold(): v for k, v in vmap.items()} for f, vmap in mapping.values.items()}
        self.rewritten: Counter[tuple[str, str, str]] = Counter()
        if mapping.optional_columns:
            self.columns = {f: c for f, c in self.columns.items() if c in header or f in spec.required}
        missing = [c for c in self.columns.values() if c not in header]
        if missing:
            raise MappingError(
                f"{file_label}: no column {missing[0]!r} (mapped by {mapping.source}); "
                f"the file's columns are {', '.join(h for h in header if h)}"
            )
        for required in spec.required:
            if (
                required not in self.columns
                and required not in self.defaults
                and not self._derivable(required)
            ):
                how = (
                    "give --preset NAME (see `dealsight import presets`) or --mapping FILE.yaml "
                    "(see docs/importing.md), or name a column after the field"
                    if mapping.source == "headers"
                    else f"map a column to it in the mapping (columns: {{{required}: ...}})"
                )
                raise MappingError(f"{file_label}: nothing gives the {spec.name} field {required!r}; {how}")
        formats = tuple(mapping.date_formats) + fields.DEFAULT_DATE_FORMATS
        self.parsers = {f: self._parser(f, formats) for f in {*self.columns, *self.defaults}}
        self.required = frozenset(f for f in spec.required if f in self.columns and not self._derivable(f))
        # what parse() does for each field, worked out once: (field, column, parser, value map, default)
        self.plan = [
            (f, self.columns.get(f), parser, self.values.get(f), self.defaults.get(f))
            for f, parser in self.parsers.items()
        ]

    def _derivable(self, field: str) -> bool:
        if field == "name" and {"first_name", "last_name"} & set(self.columns):
            return True
        return field == "external_id" and self.spec.name_keyed

    def _parser(self, field: str, formats: tuple[str, ...]) -> Callable[[str], Any]:
        kind = self.spec.fields[field]
        if isinstance(kind, type) and issubclass(kind, StrEnum):
            return fields.enum_parser(kind, ENUM_ALIASES.get(kind))
        simple: dict[str, Callable[[str], Any]] = {
            "date": fields.date_parser(formats),
            "datetime": fields.datetime_parser(formats),
            "decimal": fields.parse_decimal,
            "int": fields.parse_int,
            "share": fields.parse_share,
            "bool": fields.parse_bool,
            "list": lambda text: [item for item in _LIST_SPLIT.split(text) if item],
        }
        if kind in simple:
            return simple[str(kind)]
        return fields.text_parser(self.spec.max_length(field) if kind == "text" else 300)

    def parse(self, number: int, raw: dict[str, str]) -> tuple[dict[str, Any], list[RowProblem]]:
        values: dict[str, Any] = {}
        problems: list[RowProblem] = []
        for field, column, parser, value_map, default in self.plan:
            text = raw.get(column) if column is not None else None
            if text is not None and value_map is not None:
                replaced = value_map.get(text.casefold())
                if replaced is not None:
                    self.rewritten[(field, text, replaced)] += 1
                    text = replaced or None
            if text is None:
                if default is None:
                    if field in self.required:
                        problems.append(RowProblem(self.file, number, str(column), "", "a value (required)"))
                    continue
                text = default
            try:
                values[field] = parser(text)
            except fields.BadValue as exc:
                problems.append(
                    RowProblem(self.file, number, column or f"(default for {field})", text, str(exc))
                )
        return values, problems

    def rewrite_notes(self) -> list[str]:
        return [
            f"{count} row{'s' if count != 1 else ''}: {field} {old!r} read as {new!r} (value map)"
            for (field, old, new), count in sorted(self.rewritten.items())
        ]
