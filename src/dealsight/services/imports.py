"""Importing files: one transaction per file or bundle, a dry run that rolls back, a log of real runs.

``progress(label, done, total)`` is called as bytes are read, for entry points that show a progress bar.
Without a preset or mapping file, a file's headers are matched to field names (``external_id``,
``name``, ``stage``, ... in any case, spaces or underscores).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.config import get_settings
from dealsight.domain.clock import utc_now
from dealsight.domain.names import name_key
from dealsight.errors import MappingError
from dealsight.ingest.entities import ENTITIES
from dealsight.ingest.importer import EntityReport, FileImporter
from dealsight.ingest.mapping import FileMapping, StageSpec, load_bundle, load_mapping, load_preset
from dealsight.ingest.readers import open_table
from dealsight.store import schema
from dealsight.store.lookups import References

Progress = Callable[[str, int, int], None]


@dataclass
class ImportResult:
    reports: list[EntityReport] = field(default_factory=list)
    dry_run: bool = False

    @property
    def warnings(self) -> list[str]:
        return [w for r in self.reports for w in r.warnings]


class _DryRun(Exception):
    pass


def header_mapping(entity: str, header: list[str]) -> dict[str, str]:
    """Columns whose header is a field name of ``entity`` (case, spaces and underscores ignored)."""
    fields = ENTITIES[entity].fields
    return {name_key(h).replace(" ", "_"): h for h in header if h and name_key(h).replace(" ", "_") in fields}


def resolve_mapping(entity: str, preset: str | None, mapping: Path | None) -> FileMapping | None:
    if preset and mapping:
        raise MappingError("give either --preset or --mapping, not both")
    if preset:
        return load_preset(preset, entity)
    if mapping:
        loaded = load_mapping(mapping)
        if loaded.entity != entity:
            raise MappingError(f"{mapping} maps {loaded.entity}, not {entity}")
        return loaded
    return None


def import_file(
    engine: Engine,
    entity: str,
    path: Path,
    *,
    preset: str | None = None,
    mapping: Path | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import one file of ``entity``; nothing is written unless every row is valid."""
    if entity not in ENTITIES:
        raise MappingError(f"cannot import {entity!r}; choose one of {', '.join(ENTITIES)}")
    chosen = resolve_mapping(entity, preset, mapping)
    return _run(
        engine,
        [(chosen or FileMapping(entity=entity, source="headers"), path, sheet, chosen is None)],
        [],
        dry_run,
        progress,
    )


def import_bundle(
    engine: Engine,
    bundle_path: Path,
    *,
    data_dir: Path | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import every file of a bundle mapping in order, all in one transaction."""
    bundle = load_bundle(bundle_path)
    base = data_dir or bundle_path.parent
    jobs = [(item, base / str(item.file), item.sheet, False) for item in bundle.imports]
    return _run(engine, jobs, bundle.stages, dry_run, progress)


def _run(
    engine: Engine,
    jobs: list[tuple[FileMapping, Path, str | None, bool]],
    stages: list[StageSpec],
    dry_run: bool,
    progress: Progress | None,
) -> ImportResult:
    from dealsight.services.accounts import import_duplicate_warning
    from dealsight.store.accounts import max_account_id

    result = ImportResult(dry_run=dry_run)
    started = utc_now()
    try:
        with engine.begin() as conn:
            refs = References(conn)
            accounts_before = max_account_id(conn)
            for stage in stages:
                refs.define_stage(stage.name, stage.share, stage.outcome)
            for mapping, path, sheet, by_header in jobs:
                result.reports.append(_one(conn, refs, mapping, path, sheet, by_header, progress))
            duplicates = import_duplicate_warning(conn, accounts_before)
            if duplicates and result.reports:  # accounts the import created that look like others
                result.reports[-1].warnings.append(duplicates)
            if dry_run:
                raise _DryRun
            _log(conn, result, jobs, started)
    except _DryRun:
        pass
    return result


def _one(
    conn: sa.Connection,
    refs: References,
    mapping: FileMapping,
    path: Path,
    sheet: str | None,
    by_header: bool,
    progress: Progress | None,
) -> EntityReport:
    table = open_table(path, sheet)
    try:
        if by_header:
            mapping = mapping.model_copy(update={"columns": header_mapping(mapping.entity, table.header)})
        report_progress = (lambda done: progress(path.name, done, table.size)) if progress else None
        importer = FileImporter(
            conn, refs, mapping, table, batch_size=get_settings().import_batch_size, progress=report_progress
        )
        return importer.run()
    finally:
        table.close()


def _log(
    conn: sa.Connection,
    result: ImportResult,
    jobs: list[tuple[FileMapping, Path, str | None, bool]],
    started: datetime,
) -> None:
    finished = utc_now()
    conn.execute(
        schema.import_runs.insert(),
        [
            {
                "entity": report.entity,
                "file": str(path),
                "started_at": started,
                "finished_at": finished,
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "warnings": report.warnings,
            }
            for report, (_, path, _, _) in zip(result.reports, jobs, strict=True)
        ],
    )
