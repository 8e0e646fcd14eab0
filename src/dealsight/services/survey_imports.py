"""``dealsight import survey FILE``: a needs survey's answers from a CSV or XLSX file, all or nothing.

The file's layout is :mod:`dealsight.ingest.surveys`' (docs/needs.md): one row per respondent. The survey
is named ``name`` (default: the file's name without its extension):

- a **new** survey takes its needs and vendors from the file's header (``needs`` / ``vendors``, when
  given, must be exactly the file's), ``us`` as our own vendor and ``conducted_on`` as its day (default
  today);
- an **existing** survey of that name keeps its definition: the file must ask its needs about its
  vendors (any other is an unknown need or vendor), and a respondent it already has is updated (their
  answers replaced), so importing the same file twice changes nothing the second time.

Customers are linked by ``email`` to a dealsight contact (and its account) and else by ``account`` to an
account by name; a customer without a segment or industry of their own takes the linked account's. Links
not found are counted in a warning, never an error. The whole file is one transaction: any invalid row
and nothing is written. The import is recorded in ``import_runs`` and, in the audit log, as the survey's
creation (when new) and one ``respondents`` change saying what was imported (actor the system, via cli).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from dealsight.domain.clock import utc_now
from dealsight.domain.names import name_key
from dealsight.domain.surveys import OUR_VENDOR, SURVEY_NAME_LENGTH, Response, label_key
from dealsight.errors import ImportError_
from dealsight.ingest.importer import EntityReport
from dealsight.ingest.surveys import FileResponse, SurveyFile, read_survey_file
from dealsight.services.surveys import RESPONDENT, SURVEY
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.schema import import_runs
from dealsight.store.surveys import (
    StoredSurvey,
    account_profiles,
    accounts_by_name,
    contacts_by_email,
    insert_respondents,
    insert_survey,
    respondent_values,
    same_answers,
    stored_respondents,
    survey_by_id,
    survey_by_name,
    touch_survey,
    update_respondent,
    write_answers,
)


@dataclass
class SurveyImport:
    """What an import did: the report (rows, created / updated / unchanged respondents), the survey and
    whether the import created it."""

    report: EntityReport
    survey: StoredSurvey | None = None
    created_survey: bool = False
    warnings: list[str] = field(default_factory=list)


class _DryRun(Exception):
    """Rolls a dry run's transaction back."""


def _existing(conn: Connection, name: str, conducted_on: date | None, us: str | None) -> StoredSurvey | None:
    survey = survey_by_name(conn, name)
    if survey is None:
        return None
    if conducted_on is not None and conducted_on != survey.conducted_on:
        raise ImportError_(
            f"the survey {survey.name!r} was conducted on {survey.conducted_on}, not {conducted_on}; leave "
            "the date out to add to it, or import under another name"
        )
    if us is not None and label_key(us) != label_key(survey.us):
        raise ImportError_(f"the survey {survey.name!r} calls us {survey.us!r}, not {us!r}")
    return survey


def _linked(conn: Connection, rows: Sequence[FileResponse], warnings: list[str]) -> list[Response]:
    """The responses with their contact, account, segment and industry filled in where known."""
    emails = contacts_by_email(conn, [r.email for r in rows if r.email])
    names = accounts_by_name(conn, [r.account for r in rows if r.account and not r.email])
    unknown_emails = sorted({r.email for r in rows if r.email and r.email not in emails})
    unknown_accounts = sorted(
        {r.account for r in rows if r.account and not r.email and name_key(r.account) not in names}
    )
    links: list[tuple[int | None, int | None]] = []
    for row in rows:
        contact_id, account_id = emails.get(row.email or "", (None, None))
        if account_id is None and row.account:
            account_id = names.get(name_key(row.account))
        links.append((contact_id, account_id))
    profiles = account_profiles(conn, [a for _, a in links if a is not None])
    linked = []
    for row, (contact_id, account_id) in zip(rows, links, strict=True):
        r, profile = row.response, profiles.get(account_id) if account_id is not None else None
        linked.append(
            Response(
                r.respondent,
                r.respondent_type,
                r.function,
                r.points,
                r.ratings,
                contact_id,
                account_id,
                r.segment or (profile.segment if profile else None),
                r.industry or (profile.industry if profile else None),
            )
        )
    if unknown_emails:
        shown = ", ".join(unknown_emails[:3]) + (" ..." if len(unknown_emails) > 3 else "")
        warnings.append(f"{len(unknown_emails)} e-mails match no contact in dealsight ({shown}): not linked")
    if unknown_accounts:
        shown = ", ".join(unknown_accounts[:3]) + (" ..." if len(unknown_accounts) > 3 else "")
        warnings.append(f"{len(unknown_accounts)} account names match no account ({shown}): not linked")
    return linked


def _write(conn: Connection, survey_id: int, responses: list[Response], report: EntityReport) -> None:
    stored = {label_key(s.respondent): s for s in stored_respondents(conn, survey_id)}
    new = [r for r in responses if label_key(r.respondent) not in stored]
    changed = {}
    now = utc_now()
    for response in responses:
        before = stored.get(label_key(response.respondent))
        if before is None:
            continue
        if same_answers(before, response):
            report.unchanged += 1
            continue
        values = respondent_values(survey_id, response)
        update_respondent(conn, before.id, {k: v for k, v in values.items() if k != "survey_id"}, now)
        changed[before.id] = response
    ids = insert_respondents(conn, survey_id, new)
    write_answers(conn, dict(zip(ids, new, strict=True)))
    write_answers(conn, changed, replace=True)
    report.created, report.updated = len(new), len(changed)


def import_survey(
    engine: Engine,
    path: Path,
    *,
    name: str | None = None,
    conducted_on: date | None = None,
    us: str | None = None,
    needs: Sequence[str] | None = None,
    vendors: Sequence[str] | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
) -> SurveyImport:
    """Import the answers of ``path`` into the survey ``name`` (module docstring) in one transaction;
    ``dry_run`` checks everything and writes nothing."""
    survey_name = (name or path.stem).strip()
    if not survey_name or len(survey_name) > SURVEY_NAME_LENGTH:
        raise ImportError_(
            f"a survey needs a name of 1 to {SURVEY_NAME_LENGTH} characters, not {survey_name!r}"
        )
    result = SurveyImport(EntityReport("survey respondents", path.name))
    started = utc_now()
    try:
        with transaction(engine) as conn:
            existing = _existing(conn, survey_name, conducted_on, us)
            if existing is not None:
                needs, vendors, us = existing.needs, existing.vendors, existing.us
            parsed: SurveyFile = read_survey_file(
                path, sheet=sheet, needs=needs, vendors=vendors, us=us or OUR_VENDOR
            )
            result.warnings += parsed.warnings
            responses = _linked(conn, parsed.responses, result.warnings)
            if existing is None:
                definition = parsed.definition
                day = conducted_on or started.date()
                values: dict[str, object] = {"name": survey_name, "conducted_on": day}
                survey_id = insert_survey(
                    conn,
                    name=survey_name,
                    conducted_on=day,
                    needs=definition.needs,
                    vendors=definition.vendors,
                    us=definition.us,
                )
                changes = {
                    **{key: (None, value) for key, value in values.items()},
                    "needs": (None, ", ".join(definition.needs)),
                    "vendors": (None, ", ".join(definition.vendors)),
                    "us": (None, definition.us),
                }
                record_changes(
                    conn,
                    actor=None,
                    via="cli",
                    entity=SURVEY,
                    entity_id=survey_id,
                    action="create",
                    changes=changes,
                )
                result.created_survey = True
            else:
                survey_id = existing.id
            result.report.rows = len(responses)
            _write(conn, survey_id, responses, result.report)
            report = result.report
            if report.created or report.updated:
                touch_survey(conn, survey_id, utc_now())
                text = (
                    f"{path.name}: {report.created} created, {report.updated} updated, "
                    f"{report.unchanged} unchanged"
                )
                record_changes(
                    conn,
                    actor=None,
                    via="cli",
                    entity=SURVEY,
                    entity_id=survey_id,
                    action="update",
                    changes={"respondents": (None, text)},
                )
            result.survey = survey_by_id(conn, survey_id)
            if dry_run:
                raise _DryRun
            counts = {"rows": report.rows, "created": report.created, "updated": report.updated}
            run = {"entity": RESPONDENT, "file": str(path), "started_at": started, "finished_at": utc_now()}
            conn.execute(
                import_runs.insert().values(
                    **run, **counts, unchanged=report.unchanged, warnings=result.warnings
                )
            )
    except _DryRun:
        pass
    return result


__all__ = ["SurveyImport", "import_survey"]
