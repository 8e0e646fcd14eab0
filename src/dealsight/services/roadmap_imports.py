"""``dealsight import roadmap FILE``: buying process roadmaps from a YAML, CSV or XLSX file, all or nothing.

The file's layouts are :mod:`dealsight.ingest.roadmaps`' (docs/roadmaps.md). Each roadmap in the file
replaces the stored roadmap of its product, or is created: questions are matched by key, so a question
kept keeps the deals' records of having it answered; a question no longer in the file is deleted with
those records, and a warning says how many. A roadmap the same as the one stored is left as it is.
Every problem names the file, the row and the column, and nothing is written unless the whole file is
valid. The import is one transaction, recorded in ``import_runs`` and audited (entity ``roadmap``, actor
the system, via cli).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from dealsight.domain.clock import utc_now
from dealsight.domain.roadmaps import Roadmap
from dealsight.ingest.importer import EntityReport
from dealsight.ingest.roadmaps import read_roadmap_file
from dealsight.services.roadmaps import ROADMAP, write_roadmap
from dealsight.store.database import transaction
from dealsight.store.schema import import_runs


@dataclass
class RoadmapImport:
    report: EntityReport
    roadmaps: list[Roadmap] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _DryRun(Exception):
    """Rolls a dry run's transaction back."""


def import_roadmaps(
    engine: Engine, path: Path, *, sheet: str | None = None, dry_run: bool = False
) -> RoadmapImport:
    """Import the roadmaps of ``path`` (module docstring); ``dry_run`` checks everything, writes nothing."""
    parsed = read_roadmap_file(path, sheet)
    result = RoadmapImport(EntityReport("roadmaps", path.name), warnings=list(parsed.warnings))
    report = result.report
    report.rows = len(parsed.roadmaps)
    started = utc_now()
    try:
        with transaction(engine) as conn:
            for roadmap in parsed.roadmaps:
                saved = write_roadmap(conn, None, "cli", roadmap)
                result.roadmaps.append(saved.roadmap)
                if saved.created:
                    report.created += 1
                elif saved.changed:
                    report.updated += 1
                else:
                    report.unchanged += 1
                if saved.removed_questions:
                    result.warnings.append(
                        f"{saved.roadmap.product}: {saved.removed_questions} question"
                        f"{'s' if saved.removed_questions != 1 else ''} no longer in the file deleted, with "
                        f"{saved.removed_answers} deal record{'s' if saved.removed_answers != 1 else ''} of "
                        "having them answered"
                    )
            if dry_run:
                raise _DryRun
            counts = {"rows": report.rows, "created": report.created, "updated": report.updated}
            run = {"entity": ROADMAP, "file": str(path), "started_at": started, "finished_at": utc_now()}
            conn.execute(
                import_runs.insert().values(
                    **run, **counts, unchanged=report.unchanged, warnings=result.warnings
                )
            )
    except _DryRun:
        pass
    return result


__all__ = ["RoadmapImport", "import_roadmaps"]
