"""Reading buying process roadmaps from a YAML or CSV file, every problem named by file, row and column.

**YAML** (docs/roadmaps.md has a whole example): one roadmap (``product`` and ``stages``) or several under
``roadmaps:``; each stage by name (awareness, interest, preference, decision, adoption, value) with its
``concerns``, its ``tools`` and its ``questions``, each question a text or fields ``question`` (required),
``key``, ``concern``, ``answer`` and ``tools``. A problem names the line of the value at fault (the row)
and its place in the roadmap (the column): ``roadmaps.yaml, row 14, column
'roadmaps[1].stages.decision.questions[2].tools'``.

**CSV / XLSX**: one row per question, columns ``product``, ``stage``, ``question``, and optionally
``key``, ``concern``, ``answer``, ``tools`` (separated by ``;``). A row without a question adds its
``concern`` and ``tools`` to the stage itself. Rows of one product make its roadmap, in file order.

Nothing is returned unless every roadmap is valid (:class:`~dealsight.errors.RowError`, up to
:data:`~dealsight.ingest.importer.MAX_PROBLEMS` problems at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dealsight.domain.roadmaps import STAGES, Roadmap, roadmap_from_data, stage_of
from dealsight.errors import ImportError_, RowError, RowProblem
from dealsight.ingest.importer import MAX_PROBLEMS
from dealsight.ingest.readers import open_table

CSV_COLUMNS = ("product", "stage", "question", "key", "concern", "answer", "tools")
REQUIRED = ("product", "stage")
TOOLS_SEPARATOR = ";"
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class RoadmapFile:
    roadmaps: list[Roadmap]
    warnings: list[str]


def _fail(problems: list[RowProblem]) -> RowError:
    return RowError(problems[:MAX_PROBLEMS], max(0, len(problems) - MAX_PROBLEMS))


# YAML ------------------------------------------------------------------------------------------------------
def _plain(node: yaml.Node, path: str, lines: dict[str, int]) -> Any:
    """The plain value of a composed YAML node, recording the line of each place (1-based)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        found: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            found[key] = _plain(value_node, f"{path}.{key}" if path else str(key), lines)
        return found
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, f"{path}[{index}]", lines) for index, item in enumerate(node.value, start=1)]
    return yaml.safe_load(yaml.serialize(node))


def _line(lines: dict[str, int], path: str) -> int:
    while path:
        if path in lines:
            return lines[path]
        path = path.rsplit(".", 1)[0] if "." in path else path.rsplit("[", 1)[0] if "[" in path else ""
    return lines.get("", 1)


def read_yaml(path: Path) -> RoadmapFile:
    label = path.name
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", row {mark.line + 1}" if mark is not None else ""
        raise ImportError_(f"{label}{where}: not valid YAML ({getattr(error, 'problem', error)})") from None
    except UnicodeDecodeError:
        raise ImportError_(f"{label}: cannot decode the text; save it as UTF-8") from None
    if node is None:
        raise ImportError_(f"{label}: the file is empty; expected roadmaps (docs/roadmaps.md)")
    lines: dict[str, int] = {}
    data = _plain(node, "", lines)
    if isinstance(data, dict) and "roadmaps" in data:
        unknown = [k for k in data if k not in ("roadmaps", "version")]
        items, prefix = data["roadmaps"], "roadmaps"
        if unknown or not isinstance(items, list):
            raise _fail([RowProblem(label, 1, "roadmaps", str(unknown or items)[:40], "a list of roadmaps")])
    else:
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k != "version"}
        items, prefix = [data], ""
    problems: list[RowProblem] = []
    found: list[Roadmap] = []
    for index, item in enumerate(items, start=1):
        place = f"{prefix}[{index}]" if prefix else ""
        roadmap, located = roadmap_from_data(item)
        for where, what in located:
            full = ".".join(p for p in (place, where) if p)
            expected = what.removeprefix("expected ")
            problems.append(
                RowProblem(label, _line(lines, full), full or "roadmap", _shown(item, where), expected)
            )
        if roadmap is not None:
            found.append(roadmap)
    return _checked(label, found, problems, lambda roadmap: 1)


def _shown(data: Any, where: str) -> str:
    """The value at ``where`` in ``data`` as text (for a problem's "got ...")."""
    value = data
    for part in [p for p in where.replace("[", ".[").split(".") if p]:
        if part.startswith("[") and isinstance(value, list):
            index = int(part.strip("[]")) - 1
            value = value[index] if 0 <= index < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            value = None
    return "" if value is None else value if isinstance(value, str) else yaml.safe_dump(value).strip()[:80]


def _checked(label: str, found: list[Roadmap], problems: list[RowProblem], row_of: Any) -> RoadmapFile:
    seen: dict[str, Roadmap] = {}
    for roadmap in found:
        key = roadmap.product.lower()
        if key in seen:
            problems.append(
                RowProblem(label, row_of(roadmap), "product", roadmap.product, "each product once")
            )
        seen[key] = roadmap
    if problems:
        raise _fail(problems)
    if not found:
        raise ImportError_(f"{label}: no roadmap in the file (docs/roadmaps.md)")
    return RoadmapFile(found, [])


# CSV -------------------------------------------------------------------------------------------------------
def _rows(path: Path, sheet: str | None) -> Iterator[tuple[int, dict[str, str]]]:
    table = open_table(path, sheet)
    try:
        columns = {name.strip().lower(): name for name in table.header if name}
        missing = [c for c in (*REQUIRED, "question") if c not in columns]
        if missing:
            raise ImportError_(
                f"{path.name}, row 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"(columns are {', '.join(CSV_COLUMNS)})"
            )
        for number, row in table.rows:
            yield number, {c: row.get(columns[c], "") for c in CSV_COLUMNS if c in columns}
    finally:
        table.close()


def read_table(path: Path, sheet: str | None = None) -> RoadmapFile:
    label = path.name
    problems: list[RowProblem] = []
    data: dict[str, dict[str, Any]] = {}
    places: dict[str, dict[str, int]] = {}
    first_row: dict[str, int] = {}
    for number, row in _rows(path, sheet):
        product, stage_text = row.get("product", ""), row.get("stage", "")
        if not product:
            problems.append(RowProblem(label, number, "product", "", "the product's name"))
            continue
        stage = stage_of(stage_text)
        if stage is None:
            stages = ", ".join(s.value for s in STAGES)
            problems.append(RowProblem(label, number, "stage", stage_text, f"a buyer stage: {stages}"))
            continue
        key = " ".join(product.split()).lower()
        roadmap = data.setdefault(key, {"product": " ".join(product.split()), "stages": {}})
        first_row.setdefault(key, number)
        where = places.setdefault(key, {"": number})
        target = roadmap["stages"].setdefault(stage.value, {})
        tools = [t.strip() for t in row.get("tools", "").split(TOOLS_SEPARATOR) if t.strip()]
        if not row.get("question"):
            for name, value in (
                ("concerns", [row["concern"]] if row.get("concern") else []),
                ("tools", tools),
            ):
                items = target.setdefault(name, [])
                for text in value:
                    items.append(text)
                    where[f"stages.{stage.value}.{name}[{len(items)}]"] = number
            continue
        question: dict[str, Any] = {n: row[n] for n in ("key", "question", "concern", "answer") if row.get(n)}
        if tools:
            question["tools"] = tools
        questions = target.setdefault("questions", [])
        questions.append(question)
        where[f"stages.{stage.value}.questions[{len(questions)}]"] = number
    found: list[Roadmap] = []
    for key, roadmap_data in data.items():
        built, located = roadmap_from_data(roadmap_data)
        for place, what in located:
            row_number = _line(places[key], place)
            column = place.rsplit(".", 1)[-1].split("[", 1)[0]
            column = column if column in CSV_COLUMNS else "concern" if column == "concerns" else "question"
            shown = _shown(roadmap_data, place)
            problems.append(RowProblem(label, row_number, column, shown, what.removeprefix("expected ")))
        if built is not None:
            found.append(built)
    return _checked(label, found, problems, lambda r: first_row[r.product.lower()])


def read_roadmap_file(path: Path, sheet: str | None = None) -> RoadmapFile:
    """The roadmaps of a YAML, CSV or XLSX file (module docstring)."""
    if not path.exists():
        raise ImportError_(f"{path}: no such file")
    if path.suffix.lower() in YAML_SUFFIXES:
        return read_yaml(path)
    return read_table(path, sheet)


__all__ = ["CSV_COLUMNS", "RoadmapFile", "read_roadmap_file", "read_table", "read_yaml"]
