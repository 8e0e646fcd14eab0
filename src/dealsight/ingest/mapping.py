"""Mapping files: which column of a user's file holds which dealsight field.

A mapping is YAML. For one file::

    entity: opportunities          # accounts, contacts, users, products, opportunities, activities, history
    columns:                       # dealsight field: column header in the file
      external_id: Opportunity ID
      name: Opportunity Name
      stage: Stage
    values:                        # optional: rewrite cell values per field before parsing
      industry: {technolgy: technology}
    defaults: {currency: EUR}      # optional: a value for fields with no column or an empty cell
    date_formats: ["%d/%m/%Y"]     # optional: tried before the built-in formats
    stages:                        # optional: the sales process, in order
      - {name: Prospecting, probability: 10}
      - {name: Closed Won, outcome: won}

A bundle imports several files in order, in one transaction::

    stages: [...]
    imports:
      - {file: accounts.csv, entity: accounts, columns: {...}}
      - {file: sales_pipeline.csv, entity: opportunities, columns: {...}}

Presets are mappings shipped in ``ingest/presets/`` and named by file stem (``salesforce_opportunities``);
a family of presets for one source shares a prefix (``ravenstack_accounts``, ``ravenstack_subscriptions``),
and the prefix alone names the family's preset of the entity being imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dealsight.domain.enums import Outcome
from dealsight.errors import MappingError
from dealsight.ingest.entities import ENTITIES

PRESETS = Path(__file__).parent / "presets"
EntityName = Literal[
    "accounts", "contacts", "users", "products", "opportunities", "activities", "history",
    "subscriptions", "churn_events", "value_evidence", "riq_answers", "feature_usage", "support_tickets",
]  # fmt: skip


class StageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    probability: float | None = Field(default=None, ge=0, le=100)
    outcome: Outcome | None = None

    @property
    def share(self) -> float | None:
        if self.probability is None:
            return None
        return self.probability / 100 if self.probability > 1 else self.probability


class FileMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: EntityName
    file: str | None = None
    sheet: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    defaults: dict[str, str] = Field(default_factory=dict)
    date_formats: list[str] = Field(default_factory=list)
    stages: list[StageSpec] = Field(default_factory=list)
    optional_columns: bool = False
    """Presets list every column an export may have: the ones a file lacks are left out."""
    source: str = "mapping"

    def check_fields(self) -> None:
        known = ENTITIES[self.entity].fields
        for section in ("columns", "values", "defaults"):
            for name in getattr(self, section):
                if name not in known:
                    raise MappingError(
                        f"{self.source}: {section}.{name} is not a field of {self.entity}; "
                        f"fields are {', '.join(sorted(known))}"
                    )


class Bundle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    imports: list[FileMapping]
    stages: list[StageSpec] = Field(default_factory=list)
    source: str = "mapping"


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"{path}: no such mapping file") from None
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML ({exc})") from None


def _problem(path: Path, exc: ValidationError) -> MappingError:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return MappingError(f"{path}: {where}: {first['msg']}")


def load_mapping(path: Path) -> FileMapping:
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise MappingError(f"{path}: expected a mapping with 'entity' and 'columns'")
    if "imports" in data:
        raise MappingError(f"{path} is a bundle of several files; use `dealsight import bundle {path}`")
    try:
        mapping = FileMapping.model_validate({**data, "source": str(path)})
    except ValidationError as exc:
        raise _problem(path, exc) from None
    mapping.check_fields()
    return mapping


def load_bundle(path: Path) -> Bundle:
    data = _read_yaml(path)
    if not isinstance(data, dict) or "imports" not in data:
        raise MappingError(f"{path}: a bundle needs a list 'imports' of files with their entity and columns")
    try:
        bundle = Bundle.model_validate(
            {**data, "source": str(path), "imports": [{**i, "source": str(path)} for i in data["imports"]]}
        )
    except (ValidationError, TypeError) as exc:
        if isinstance(exc, ValidationError):
            raise _problem(path, exc) from None
        raise MappingError(f"{path}: each entry of 'imports' must be a mapping") from None
    for item in bundle.imports:
        if not item.file:
            raise MappingError(f"{path}: every entry of 'imports' needs a 'file'")
        item.check_fields()
    return bundle


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS.glob("*.yaml"))


def load_preset(name: str, entity: str | None = None) -> FileMapping:
    """The preset ``name``; for an entity, ``NAME_ENTITY`` too (``--preset ravenstack`` for subscriptions
    is ``ravenstack_subscriptions``)."""
    path = PRESETS / f"{name}.yaml"
    if not path.exists() and entity is not None:
        path = PRESETS / f"{name}_{entity}.yaml"
    if not path.exists():
        raise MappingError(f"no preset named {name!r}; presets are {', '.join(preset_names())}")
    mapping = load_mapping(path)
    if entity is not None and mapping.entity != entity:
        raise MappingError(f"preset {name!r} imports {mapping.entity}, not {entity}")
    return mapping
