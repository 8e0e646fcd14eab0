"""Needs surveys: who reads and enters them, a survey's definition, one respondent's answers, the analysis.

Access (docs/needs.md): surveys are company-level, not owned by anyone, so **every signed-in role reads
every survey and its analysis** (the analysis shows aggregates only, never one respondent's answers).
**Admins and managers** create surveys and enter answers (a manager runs the survey with their team);
reps and executives may not (403). A survey that does not exist is *not found* (404).

Input is checked by the rules of :mod:`dealsight.domain.surveys`, every problem named by its field:
``points.<need>`` (0 to 100), ``points`` (they must add up to 100: the message says what they add up
to), ``ratings.<vendor>.<need>`` (0 to 10), an unknown need or vendor by its name, ``function`` (an
internal respondent's), ``contact_id`` / ``account_id`` (records that exist). A respondent who already
answered the survey is a :class:`ConflictError`. Every write is recorded in the audit log (entity
``survey`` or ``survey_respondent``) in the write's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.analytics.needs import ALL_CUSTOMERS, BREAKDOWNS, NeedsAnalysis, analyse_needs, customers_in
from dealsight.analytics.survey_answers import DEFAULT_RESAMPLES, answers_from_frames
from dealsight.domain.access import Principal
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import UserRole
from dealsight.domain.surveys import DEFAULT_NEEDS, OUR_VENDOR, SURVEY_NAME_LENGTH, Response, define_survey
from dealsight.errors import ConflictError, FieldProblem, NotFoundError, PermissionDeniedError
from dealsight.services.records import DEFAULT_LIMIT, MAX_LIMIT, Page, invalid, not_found
from dealsight.services.survey_input import answers_text, clean_response
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.schema import surveys
from dealsight.store.surveys import (
    StoredRespondent,
    StoredSurvey,
    account_exists,
    account_profiles,
    answer_frames,
    contact_account,
    count_surveys,
    customer_groups,
    insert_respondents,
    insert_survey,
    read_surveys,
    respondent_id,
    stored_respondents,
    survey_by_id,
    survey_by_name,
    touch_survey,
    write_answers,
)

SURVEY = "survey"
RESPONDENT = "survey_respondent"
ENTERS = frozenset({UserRole.ADMIN, UserRole.MANAGER})
REFUSED = "only admins and managers create surveys and enter answers"
MIN_RESAMPLES, MAX_RESAMPLES = 100, 10_000


@dataclass(frozen=True)
class SurveyAnalysis:
    """The analysis of one survey for a selection of its customers (``segment`` / ``industry``: all when
    None), the weighted needs broken down ``by`` segment or industry."""

    survey: StoredSurvey
    segment: str | None
    industry: str | None
    by: str
    analysis: NeedsAnalysis


def may_enter(principal: Principal) -> bool:
    """May ``principal`` create surveys and enter answers?"""
    return principal.role in ENTERS


def _require_enter(principal: Principal) -> None:
    if not may_enter(principal):
        raise PermissionDeniedError(REFUSED)


# reading (every signed-in role: the entry points check the sign-in) -----------------------------------------
def list_surveys(engine: Engine, *, limit: int = DEFAULT_LIMIT, offset: int = 0) -> Page[StoredSurvey]:
    """One page of the surveys, newest first (every role reads every survey)."""
    problems = []
    if not 1 <= limit <= MAX_LIMIT:
        problems.append(FieldProblem("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}"))
    if offset < 0:
        problems.append(FieldProblem("offset", f"must be 0 or more, got {offset}"))
    if problems:
        raise invalid(problems)
    with engine.connect() as conn:
        return Page(tuple(read_surveys(conn, limit=limit, offset=offset)), count_surveys(conn), limit, offset)


def get_survey(engine: Engine, survey_id: int) -> StoredSurvey:
    with engine.connect() as conn:
        found = survey_by_id(conn, survey_id)
    if found is None:
        raise not_found(SURVEY, survey_id)
    return found


def find_survey(engine: Engine, name: str | None = None) -> StoredSurvey:
    """The survey named ``name`` (any case; an id works too), or the newest when ``name`` is None."""
    with engine.connect() as conn:
        if name is None:
            newest = read_surveys(conn, limit=1)
            if not newest:
                raise NotFoundError("no survey yet: import one with `dealsight import survey FILE`")
            return newest[0]
        found = survey_by_name(conn, name)
        if found is None and name.strip().isdecimal():
            found = survey_by_id(conn, int(name))
        if found is None:
            names = [s.name for s in read_surveys(conn, limit=20)]
            known = f"; surveys are {', '.join(names)}" if names else "; there is no survey yet"
            raise NotFoundError(f"no survey named {name!r}{known}")
        return found


def survey_analysis(
    engine: Engine,
    survey_id: int,
    *,
    segment: str | None = None,
    industry: str | None = None,
    by: str = "segment",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> SurveyAnalysis:
    """The needs analysis of a survey (:func:`~dealsight.analytics.needs.analyse_needs`) for the customers
    of ``segment`` and ``industry`` (all when None) and every internal respondent."""
    problems = []
    if by not in BREAKDOWNS:
        problems.append(FieldProblem("by", f"expected one of {', '.join(BREAKDOWNS)}, got {by!r}"))
    if not MIN_RESAMPLES <= resamples <= MAX_RESAMPLES:
        problems.append(
            FieldProblem("resamples", f"must be between {MIN_RESAMPLES} and {MAX_RESAMPLES}, got {resamples}")
        )
    if problems:
        raise invalid(problems)
    with engine.connect() as conn:
        survey = survey_by_id(conn, survey_id)
        if survey is None:
            raise not_found(SURVEY, survey_id)
        people, points, ratings = answer_frames(conn, survey_id)
    answers = answers_from_frames(survey.needs, survey.vendors, survey.us, people, points, ratings)
    selected = customers_in(answers, segment=segment or None, industry=industry or None)
    chosen = [f"{name} {value}" for name, value in (("segment", segment), ("industry", industry)) if value]
    label = "customers of " + " and ".join(chosen) if chosen else ALL_CUSTOMERS
    analysis = analyse_needs(selected, by=by, resamples=resamples, seed=seed, label=label)
    return SurveyAnalysis(survey, segment or None, industry or None, by, analysis)


# creating a survey -----------------------------------------------------------------------------------------
def _names(
    data: Mapping[str, object], name: str, default: tuple[str, ...]
) -> tuple[list[str], list[FieldProblem]]:
    value = data.get(name)
    if value is None:
        return list(default), []
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        return [], [FieldProblem(name, "expected a list of names")]
    return [str(item) for item in value], []


def create_survey(
    engine: Engine, principal: Principal, data: Mapping[str, object], via: str = "api"
) -> StoredSurvey:
    """A new survey (admins and managers): ``name``, ``conducted_on`` (default today), ``needs`` (default
    brand, product, quality, price, service), ``us`` (our name, default ``us``) and ``competitors``."""
    _require_enter(principal)
    problems: list[FieldProblem] = []
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > SURVEY_NAME_LENGTH:
        problems.append(
            FieldProblem("name", f"a survey needs a name of 1 to {SURVEY_NAME_LENGTH} characters")
        )
    day = data.get("conducted_on") or utc_now().date()
    if not isinstance(day, date):
        try:
            day = date.fromisoformat(str(day))
        except ValueError:
            problems.append(FieldProblem("conducted_on", f"expected a day such as 2026-09-30, got {day!r}"))
    needs, found = _names(data, "needs", DEFAULT_NEEDS)
    competitors, found2 = _names(data, "competitors", ())
    problems += found + found2
    us = data.get("us") or OUR_VENDOR
    if not isinstance(us, str):
        problems.append(FieldProblem("us", "expected our own name as text"))
        us = OUR_VENDOR
    definition = define_survey(needs, [us, *competitors], us)
    for problem in definition.problems:
        field = "needs" if "need" in problem else "competitors"
        problems.append(FieldProblem(field, problem))
    if problems:
        raise invalid(problems)
    assert isinstance(name, str) and isinstance(day, date)
    with transaction(engine) as conn:
        if survey_by_name(conn, name) is not None:
            raise ConflictError(f"a survey named {name.strip()!r} exists already; name this one differently")
        values: dict[str, Any] = {
            "name": name.strip(),
            "conducted_on": day,
            "needs": definition.needs,
            "vendors": definition.vendors,
            "us": definition.us,
        }
        survey_id = insert_survey(conn, **values)
        changes = {key: (None, ", ".join(v) if isinstance(v, tuple) else v) for key, v in values.items()}
        record_changes(
            conn,
            actor=principal,
            via=via,
            entity=SURVEY,
            entity_id=survey_id,
            action="create",
            changes=changes,
        )
        created = survey_by_id(conn, survey_id)
    assert created is not None
    return created


# entering one respondent's answers -------------------------------------------------------------------------
def add_response(
    engine: Engine, principal: Principal, survey_id: int, data: Mapping[str, object], via: str = "api"
) -> StoredRespondent:
    """Store one respondent's answers to the survey (admins and managers; module docstring). A customer
    linked to a contact takes the contact's account, and a linked account's segment and industry where
    none is given."""
    _require_enter(principal)
    with transaction(engine) as conn:
        survey = survey_by_id(conn, survey_id)
        if survey is None:
            raise not_found(SURVEY, survey_id)
        response = clean_response(survey, data)
        problems = []
        account_id = response.account_id
        if response.contact_id is not None:
            exists, contact_account_id = contact_account(conn, response.contact_id)
            if not exists:
                problems.append(FieldProblem("contact_id", f"no contact with id {response.contact_id}"))
            account_id = account_id or contact_account_id
        if response.account_id is not None and not account_exists(conn, response.account_id):
            problems.append(FieldProblem("account_id", f"no account with id {response.account_id}"))
        if problems:
            raise invalid(problems)
        profile = account_profiles(conn, [account_id]).get(account_id) if account_id else None
        response = Response(
            response.respondent,
            response.respondent_type,
            response.function,
            response.points,
            response.ratings,
            response.contact_id,
            account_id,
            response.segment or (profile.segment if profile else None),
            response.industry or (profile.industry if profile else None),
        )
        if respondent_id(conn, survey_id, response.respondent) is not None:
            raise ConflictError(
                f"{response.respondent!r} has answered the survey {survey.name!r} already; a respondent "
                "answers once (re-import the survey file to replace answers)"
            )
        (new_id,) = insert_respondents(conn, survey_id, [response])
        write_answers(conn, {new_id: response})
        touch_survey(conn, survey_id, utc_now())
        (stored,) = stored_respondents(conn, survey_id, [new_id])
        points, ratings = answers_text(response)
        changes = {name: (None, value) for name, value in stored.values().items()}
        changes |= {"survey_id": (None, survey_id), "points": (None, points), "ratings": (None, ratings)}
        record_changes(
            conn,
            actor=principal,
            via=via,
            entity=RESPONDENT,
            entity_id=new_id,
            action="create",
            changes=changes,
        )
    return stored


def survey_groups(engine: Engine, survey_id: int) -> tuple[list[str], list[str]]:
    """The segments and industries of a survey's customers (for a page's choices)."""
    with engine.connect() as conn:
        return customer_groups(conn, survey_id)


def survey_names(engine: Engine) -> list[tuple[int, str]]:
    """Every survey's id and name, newest first (for a page's choice of survey)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(surveys.c.id, surveys.c.name).order_by(
                surveys.c.conducted_on.desc(), surveys.c.id.desc()
            )
        )
        return [(int(i), str(n)) for i, n in rows]


__all__ = [
    "ENTERS",
    "RESPONDENT",
    "SURVEY",
    "StoredRespondent",
    "StoredSurvey",
    "SurveyAnalysis",
    "add_response",
    "create_survey",
    "find_survey",
    "get_survey",
    "list_surveys",
    "may_enter",
    "survey_analysis",
    "survey_groups",
    "survey_names",
]
