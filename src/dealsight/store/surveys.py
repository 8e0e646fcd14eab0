"""Storing needs surveys: definitions, respondents and their answers, and the frames the analysis reads.

Everything runs on the caller's connection (and transaction); access rules and validation are the
services' (:mod:`dealsight.services.surveys`). A respondent's answers are written and replaced together:
:func:`write_answers` deletes a respondent's points and ratings and inserts the new ones. Writes of many
respondents go in batches (one multi-row insert per table), so a survey of 50,000 respondents imports in
a handful of statements per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealsight.domain.names import name_key
from dealsight.domain.surveys import Function, RespondentType, Response, Survey, label_key
from dealsight.store.bulk import chunks, one_of
from dealsight.store.schema import (
    accounts,
    contacts,
    survey_points,
    survey_ratings,
    survey_respondents,
    surveys,
)

RESPONDENT_FIELDS = ("respondent_type", "function", "contact_id", "account_id", "segment", "industry")
"""The columns of a respondent that an import compares and a write sets (beside its name)."""


@dataclass(frozen=True)
class StoredSurvey:
    """A survey as stored, with how many customers and internal people answered it."""

    id: int
    name: str
    conducted_on: date
    needs: tuple[str, ...]
    vendors: tuple[str, ...]
    us: str
    customers: int
    internal: int
    created_at: datetime
    updated_at: datetime

    @property
    def competitors(self) -> tuple[str, ...]:
        return tuple(vendor for vendor in self.vendors if vendor != self.us)

    @property
    def respondents(self) -> int:
        return self.customers + self.internal

    def definition(self) -> Survey:
        return Survey(self.id, self.name, self.conducted_on, self.needs, self.vendors, self.us)


@dataclass(frozen=True)
class StoredRespondent:
    """One respondent as stored: who they are and their answers."""

    id: int
    survey_id: int
    respondent: str
    respondent_type: RespondentType
    function: Function | None
    contact_id: int | None
    account_id: int | None
    segment: str | None
    industry: str | None
    points: dict[str, float]
    ratings: dict[str, dict[str, float]]
    """vendor -> need -> rating (only what was rated)."""
    created_at: datetime
    updated_at: datetime

    def values(self) -> dict[str, Any]:
        """Who the respondent is, as :func:`respondent_values` writes it."""
        return {
            "respondent": self.respondent,
            "respondent_type": self.respondent_type.value,
            "function": self.function.value if self.function else None,
            "contact_id": self.contact_id,
            "account_id": self.account_id,
            "segment": self.segment,
            "industry": self.industry,
        }


# surveys ---------------------------------------------------------------------------------------------------
def _counts() -> sa.Subquery:
    r = survey_respondents
    customer = sa.case((r.c.respondent_type == RespondentType.CUSTOMER.value, 1), else_=0)
    return (
        sa.select(
            r.c.survey_id,
            sa.func.sum(customer).label("customers"),
            sa.func.count().label("everyone"),
        )
        .group_by(r.c.survey_id)
        .subquery()
    )


def read_surveys(
    conn: Connection, *where: sa.ColumnElement[bool], limit: int | None = None, offset: int = 0
) -> list[StoredSurvey]:
    """Surveys (filtered by ``where``), newest first (by day, then id)."""
    counts = _counts()
    query = (
        sa.select(surveys, counts.c.customers, counts.c.everyone)
        .select_from(surveys.outerjoin(counts, counts.c.survey_id == surveys.c.id))
        .where(*where)
        .order_by(surveys.c.conducted_on.desc(), surveys.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    found = []
    for row in conn.execute(query).mappings():
        customers, everyone = int(row["customers"] or 0), int(row["everyone"] or 0)
        found.append(
            StoredSurvey(
                int(row["id"]),
                row["name"],
                row["conducted_on"],
                tuple(row["needs"]),
                tuple(row["vendors"]),
                row["us"],
                customers,
                everyone - customers,
                row["created_at"],
                row["updated_at"],
            )
        )
    return found


def count_surveys(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(surveys)).scalar_one())


def survey_by_id(conn: Connection, survey_id: int) -> StoredSurvey | None:
    found = read_surveys(conn, surveys.c.id == survey_id)
    return found[0] if found else None


def survey_by_name(conn: Connection, name: str) -> StoredSurvey | None:
    """The survey named ``name`` (any case)."""
    found = read_surveys(conn, sa.func.lower(surveys.c.name) == name.strip().lower())
    return found[0] if found else None


def insert_survey(
    conn: Connection, *, name: str, conducted_on: date, needs: Sequence[str], vendors: Sequence[str], us: str
) -> int:
    values = {
        "name": name,
        "conducted_on": conducted_on,
        "needs": list(needs),
        "vendors": list(vendors),
        "us": us,
    }
    return int(conn.execute(surveys.insert().values(**values).returning(surveys.c.id)).scalar_one())


def touch_survey(conn: Connection, survey_id: int, now: datetime) -> None:
    conn.execute(surveys.update().where(surveys.c.id == survey_id).values(updated_at=now))


# respondents -----------------------------------------------------------------------------------------------
def respondent_values(survey_id: int, response: Response) -> dict[str, Any]:
    """The ``survey_respondents`` row of ``response``."""
    return {
        "survey_id": survey_id,
        "respondent": response.respondent,
        "respondent_key": label_key(response.respondent),
        "respondent_type": response.respondent_type.value,
        "function": response.function.value if response.function else None,
        "contact_id": response.contact_id,
        "account_id": response.account_id,
        "segment": response.segment,
        "industry": response.industry,
    }


def respondent_id(conn: Connection, survey_id: int, respondent: str) -> int | None:
    """The id of ``respondent`` (any case) in the survey, if they answered it."""
    query = sa.select(survey_respondents.c.id).where(
        survey_respondents.c.survey_id == survey_id,
        survey_respondents.c.respondent_key == label_key(respondent),
    )
    found = conn.execute(query).scalar_one_or_none()
    return None if found is None else int(found)


def stored_respondents(
    conn: Connection, survey_id: int, ids: Iterable[int] | None = None
) -> list[StoredRespondent]:
    """The survey's respondents (or those of ``ids``) with their answers, in the order they were stored."""
    r = survey_respondents
    query = sa.select(r).where(r.c.survey_id == survey_id).order_by(r.c.id)
    wanted = None if ids is None else sorted(set(ids))
    rows = []
    if wanted is None:
        rows = list(conn.execute(query).mappings())
    else:
        for part in chunks(wanted):
            rows += list(conn.execute(query.where(one_of(conn, r.c.id, part))).mappings())
    points: dict[int, dict[str, float]] = {int(row["id"]): {} for row in rows}
    ratings: dict[int, dict[str, dict[str, float]]] = {int(row["id"]): {} for row in rows}
    for part in chunks(list(points)):
        for rid, need, value in conn.execute(
            sa.select(survey_points).where(one_of(conn, survey_points.c.respondent_id, part))
        ):
            points[rid][need] = float(value)
        for rid, vendor, need, value in conn.execute(
            sa.select(survey_ratings).where(one_of(conn, survey_ratings.c.respondent_id, part))
        ):
            ratings[rid].setdefault(vendor, {})[need] = float(value)
    return [
        StoredRespondent(
            int(row["id"]),
            int(row["survey_id"]),
            row["respondent"],
            RespondentType(row["respondent_type"]),
            Function(row["function"]) if row["function"] else None,
            row["contact_id"],
            row["account_id"],
            row["segment"],
            row["industry"],
            points[int(row["id"])],
            ratings[int(row["id"])],
            row["created_at"],
            row["updated_at"],
        )
        for row in rows
    ]


def insert_respondents(conn: Connection, survey_id: int, responses: Sequence[Response]) -> list[int]:
    """Store new respondents (without their answers: :func:`write_answers`); their ids, in order."""
    ids: list[int] = []
    r = survey_respondents
    for part in chunks(list(responses)):
        rows = [respondent_values(survey_id, response) for response in part]
        statement = r.insert().returning(r.c.id, sort_by_parameter_order=True)
        ids += [int(found) for found in conn.execute(statement, rows).scalars()]
    return ids


def update_respondent(conn: Connection, respondent_id: int, values: Mapping[str, Any], now: datetime) -> None:
    conn.execute(
        survey_respondents.update()
        .where(survey_respondents.c.id == respondent_id)
        .values(**values, updated_at=now)
    )


def write_answers(conn: Connection, answers: Mapping[int, Response], *, replace: bool = False) -> None:
    """Store each respondent's (by id) points and ratings; ``replace`` deletes their stored ones first."""
    ids = list(answers)
    if replace:
        for part in chunks(ids):
            for table in (survey_points, survey_ratings):
                conn.execute(table.delete().where(one_of(conn, table.c.respondent_id, part)))
    points = [
        {"respondent_id": rid, "need": need, "points": float(value)}
        for rid, response in answers.items()
        for need, value in response.points.items()
    ]
    ratings = [
        {"respondent_id": rid, "vendor": vendor, "need": need, "rating": float(value)}
        for rid, response in answers.items()
        for (vendor, need), value in response.ratings.items()
    ]
    for table, rows in ((survey_points, points), (survey_ratings, ratings)):
        for part in chunks(rows, 10_000):
            conn.execute(table.insert(), list(part))


def same_answers(stored: StoredRespondent, response: Response) -> bool:
    """Would writing ``response`` leave ``stored`` as it is (who they are and every answer)?"""
    given = respondent_values(stored.survey_id, response)
    before = stored.values()
    if any(before[name] != given[name] for name in ("respondent", *RESPONDENT_FIELDS)):
        return False
    ratings = {(v, n): value for v, by_need in stored.ratings.items() for n, value in by_need.items()}
    return stored.points == {need: float(value) for need, value in response.points.items()} and ratings == {
        key: float(value) for key, value in response.ratings.items()
    }


# what the analysis reads -----------------------------------------------------------------------------------
def answer_frames(conn: Connection, survey_id: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The survey's respondents (``id``, ``function``, ``segment``, ``industry``), points
    (``respondent_id``, ``need``, ``points``) and ratings (``respondent_id``, ``vendor``, ``need``,
    ``rating``), as :func:`~dealsight.analytics.survey_answers.answers_from_frames` reads them."""
    r = survey_respondents
    mine = sa.select(r.c.id).where(r.c.survey_id == survey_id)
    people = pd.DataFrame(
        conn.execute(
            sa.select(r.c.id, r.c.function, r.c.segment, r.c.industry).where(r.c.survey_id == survey_id)
        ).all(),
        columns=["id", "function", "segment", "industry"],
    )
    points = pd.DataFrame(
        conn.execute(
            sa.select(survey_points.c.respondent_id, survey_points.c.need, survey_points.c.points).where(
                survey_points.c.respondent_id.in_(mine)
            )
        ).all(),
        columns=["respondent_id", "need", "points"],
    )
    ratings = pd.DataFrame(
        conn.execute(
            sa.select(
                survey_ratings.c.respondent_id,
                survey_ratings.c.vendor,
                survey_ratings.c.need,
                survey_ratings.c.rating,
            ).where(survey_ratings.c.respondent_id.in_(mine))
        ).all(),
        columns=["respondent_id", "vendor", "need", "rating"],
    )
    return people, points, ratings


def customer_groups(conn: Connection, survey_id: int) -> tuple[list[str], list[str]]:
    """The segments and the industries of the survey's customers (known ones, sorted)."""
    r = survey_respondents
    found: list[list[str]] = []
    for column in (r.c.segment, r.c.industry):
        query = sa.select(column).where(r.c.survey_id == survey_id, column.is_not(None)).distinct()
        found.append(sorted(str(value) for value in conn.execute(query).scalars()))
    return found[0], found[1]


# linking respondents to contacts and accounts --------------------------------------------------------------
@dataclass(frozen=True)
class AccountProfile:
    account_id: int
    segment: str | None
    industry: str | None


def contacts_by_email(conn: Connection, emails: Iterable[str]) -> dict[str, tuple[int, int | None]]:
    """Contact id and account id by e-mail (lower case), for the e-mails given."""
    wanted = sorted({email.lower() for email in emails})
    found: dict[str, tuple[int, int | None]] = {}
    for part in chunks(wanted):
        query = (
            sa.select(contacts.c.id, contacts.c.email, contacts.c.account_id)
            .where(sa.func.lower(contacts.c.email).in_(list(part)))
            .order_by(contacts.c.id)
        )
        for cid, email, account_id in conn.execute(query):
            found.setdefault(str(email).lower(), (int(cid), account_id))
    return found


def accounts_by_name(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Account id by the given names' :func:`~dealsight.domain.names.name_key` (merged accounts left out)."""
    keys = sorted({name_key(name) for name in names})
    found: dict[str, int] = {}
    for part in chunks(keys):
        query = (
            sa.select(accounts.c.id, accounts.c.name_key)
            .where(accounts.c.name_key.in_(list(part)), accounts.c.merged_into_id.is_(None))
            .order_by(accounts.c.id)
        )
        for aid, key in conn.execute(query):
            found.setdefault(str(key), int(aid))
    return found


def account_profiles(conn: Connection, ids: Iterable[int]) -> dict[int, AccountProfile]:
    """Segment and industry of the given accounts."""
    found: dict[int, AccountProfile] = {}
    for part in chunks(sorted(set(ids))):
        query = sa.select(accounts.c.id, accounts.c.segment, accounts.c.industry).where(
            accounts.c.id.in_(list(part))
        )
        for aid, segment, industry in conn.execute(query):
            found[int(aid)] = AccountProfile(
                int(aid), segment.lower() if segment else None, industry.lower() if industry else None
            )
    return found


def contact_account(conn: Connection, contact_id: int) -> tuple[bool, int | None]:
    """Whether the contact exists, and its account."""
    row = conn.execute(sa.select(contacts.c.account_id).where(contacts.c.id == contact_id)).first()
    return (row is not None, None if row is None else row[0])


def account_exists(conn: Connection, account_id: int) -> bool:
    return conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id)).first() is not None


__all__ = [
    "RESPONDENT_FIELDS",
    "AccountProfile",
    "StoredRespondent",
    "StoredSurvey",
    "account_exists",
    "account_profiles",
    "accounts_by_name",
    "answer_frames",
    "contact_account",
    "contacts_by_email",
    "count_surveys",
    "customer_groups",
    "insert_respondents",
    "insert_survey",
    "read_surveys",
    "respondent_id",
    "respondent_values",
    "same_answers",
    "stored_respondents",
    "survey_by_id",
    "survey_by_name",
    "touch_survey",
    "update_respondent",
    "write_answers",
]
