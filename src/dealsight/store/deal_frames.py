"""Reading everything deal indicators need from the store: :class:`~dealsight.analytics.deal_data.DealData`.

``load_deal_data(conn)`` reads every deal (or those of some owners, or some ids) with its history,
activities and who attended them, contacts, qualification answers, the questions and the sales process:
nine statements, whatever the number of deals.

Decisions (it must read a million deals with ~8 history rows and ~8 activities each):

- **Columnar, not per row.** On PostgreSQL the server writes each statement's rows as CSV
  (``COPY (query) TO STDOUT``) and pandas' C parser reads them into columns. On SQLite the rows are fetched
  from the driver's cursor as plain tuples and taken apart one column at a time in C. Types are converted
  per column (dates and times with ``pandas.to_datetime``, flags and numbers with ``astype``), never per
  row in Python. Money is cast to a float in SQL (analytics works in floats, as
  :mod:`dealsight.store.frames` does).
- **Dates** (created, expected close, closed) arrive as ``datetime64`` at midnight, times as naive UTC
  ``datetime64``: what the indicators compute on, without a conversion per value.
- **Joins in SQL**: the account's ``segment`` and the owner's ``team_id`` come with the deal, the contact
  attributes with each attendee and each deal contact (the role in the deal, else the contact's own role).
- **The question set** of a deal is the set of its owner's team, else of the nearest team above it, else
  the set for all teams (:func:`dealsight.store.records.question_set_of`), resolved once per team.
- **Filters** by deal ids or owner ids are one parameter whatever their number: ``= ANY(array)`` on
  PostgreSQL, ``IN (SELECT value FROM json_each(?))`` on SQLite; related tables are filtered through the
  chosen deals.
- History is read in the order of its unique index (deal, field, time) and activities in theirs (deal,
  time): the order the indicators' timelines need, so they need no sort of their own.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from dealsight.analytics.deal_data import FRAME_COLUMNS, DealData
from dealsight.store import schema

_o, _h, _a, _ac = (
    schema.opportunities,
    schema.opportunity_history,
    schema.activities,
    schema.activity_contacts,
)
_c, _oc, _u, _acc = schema.contacts, schema.opportunity_contacts, schema.users, schema.accounts
_q, _ans, _s, _t, _qs = (
    schema.qualification_questions,
    schema.qualification_answers,
    schema.stages,
    schema.teams,
    schema.question_sets,
)


def load_deal_data(
    conn: sa.Connection,
    opportunity_ids: Iterable[int] | None = None,
    owner_ids: Iterable[int] | None = None,
) -> DealData:
    """Every deal (or only those with the given ids and/or owners) and what indicators need about it."""
    chosen = _chosen_deals(conn, opportunity_ids, owner_ids)
    opportunities = _opportunities(conn, chosen)
    return DealData(
        opportunities=opportunities,
        history=_history(conn, chosen),
        activities=_activities(conn, chosen),
        activity_contacts=_attendees(conn, chosen),
        deal_contacts=_deal_contacts(conn, chosen),
        questions=_questions(conn),
        answers=_answers(conn, chosen),
        stages=_stages(conn),
    )


# reading ---------------------------------------------------------------------------------------------
def _read(conn: sa.Connection, statement: sa.Select[Any], columns: Sequence[str]) -> pd.DataFrame:
    """The rows of ``statement`` as columns of objects with ``None`` (callers convert numbers, dates and
    flags, which arrive as the driver's objects or as text)."""
    if conn.dialect.name == "postgresql":
        return _read_copy(conn, statement, columns)
    result = conn.execute(statement)
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    if not rows:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    # one column at a time, in C (``zip(*rows)`` is several times slower on a million rows); objects with
    # None, as the driver gave them (pandas would infer its string dtype, None becoming NaN)
    return pd.DataFrame(
        {
            name: pd.Series(
                np.fromiter(map(itemgetter(i), rows), dtype=object, count=len(rows)), dtype=object
            )
            for i, name in enumerate(columns)
        }
    )


_NULL = "\\N"


def _read_copy(conn: sa.Connection, statement: sa.Select[Any], columns: Sequence[str]) -> pd.DataFrame:
    """PostgreSQL: the server writes the rows as CSV (``COPY (query) TO STDOUT``) and pandas' C parser reads
    them into columns: no Python object per row and value until the columns are converted. NULL is written
    as ``\\N`` so that it stays apart from empty text (a text that is exactly ``\\N`` reads
    as missing); everything is read as text."""
    compiled = statement.compile(dialect=conn.dialect)
    driver = conn.connection.driver_connection
    assert driver is not None
    buffer = io.BytesIO()
    copy_sql = f"COPY ({compiled.string}) TO STDOUT (FORMAT CSV, NULL '{_NULL}')"
    with driver.cursor() as cursor, cursor.copy(copy_sql, compiled.params) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    names = list(columns)
    if buffer.getbuffer().nbytes == 0:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    frame = pd.read_csv(
        buffer, header=None, names=names, dtype=object, na_values=[_NULL], keep_default_na=False
    )
    return pd.DataFrame({name: frame[name].astype(object).where(frame[name].notna(), None) for name in names})


def _times(values: pd.Series) -> pd.Series:
    """Dates or times (driver objects or ISO text) as naive ``datetime64[ns]``."""
    if values.empty:
        return pd.Series(values, dtype="datetime64[ns]")
    present = values.dropna()
    if len(present) and isinstance(present.iloc[0], str):  # ISO text (SQLite; PostgreSQL's COPY)
        return pd.to_datetime(values, format="ISO8601").astype("datetime64[ns]")
    return pd.to_datetime(values).astype("datetime64[ns]")


def _integers(values: pd.Series) -> pd.Series:
    """Ids that are never missing (driver integers or text) as int64."""
    return pd.to_numeric(values).astype(np.int64)


def _ids(values: pd.Series) -> pd.Series:
    """Ids of optional links as nullable integers."""
    return pd.to_numeric(values).astype("Int64")


def _flags(values: pd.Series) -> pd.Series:
    """Booleans (PostgreSQL: objects, or ``t``/``f`` text from COPY; SQLite: 0/1) as nullable booleans."""
    present = values.dropna()
    if len(present) and isinstance(present.iloc[0], str):
        return values.map({"t": True, "f": False}).astype("boolean")
    return pd.to_numeric(values).astype("boolean")


def _one_of(conn: sa.Connection, column: sa.ColumnElement[Any], values: list[int]) -> sa.ColumnElement[bool]:
    """``column`` is one of ``values``, as one parameter (see the module docstring)."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.literal(values, postgresql.ARRAY(sa.Integer)))
    listed = sa.select(sa.column("value", sa.Integer)).select_from(
        sa.func.json_each(sa.literal(json.dumps(values), sa.String)).table_valued("value")
    )
    return column.in_(listed)


def _chosen_deals(
    conn: sa.Connection, opportunity_ids: Iterable[int] | None, owner_ids: Iterable[int] | None
) -> sa.ColumnElement[bool] | None:
    """A condition on ``opportunities`` choosing the deals asked for (``None``: every deal)."""
    terms = []
    if opportunity_ids is not None:
        terms.append(_one_of(conn, _o.c.id, [int(i) for i in opportunity_ids]))
    if owner_ids is not None:
        terms.append(_one_of(conn, _o.c.owner_id, [int(i) for i in owner_ids]))
    return sa.and_(*terms) if terms else None


def _of_chosen(
    column: sa.ColumnElement[Any], chosen: sa.ColumnElement[bool] | None
) -> sa.ColumnElement[bool]:
    if chosen is None:
        return column.is_not(None)
    return column.in_(sa.select(_o.c.id).where(chosen))


# the frames ------------------------------------------------------------------------------------------
def _opportunities(conn: sa.Connection, chosen: sa.ColumnElement[bool] | None) -> pd.DataFrame:
    names = [n for n in FRAME_COLUMNS["opportunities"] if n not in ("known_since", "segment", "team_id",
                                                                     "question_set_id")]  # fmt: skip
    selected = [sa.cast(_o.c.amount, sa.Float) if n == "amount" else _o.c[n] for n in names]
    statement = (
        sa.select(*selected, _o.c.created_at, _acc.c.segment, _u.c.team_id)
        .select_from(_o.outerjoin(_acc, _acc.c.id == _o.c.account_id).outerjoin(_u, _u.c.id == _o.c.owner_id))
        .order_by(_o.c.id)
    )
    if chosen is not None:
        statement = statement.where(chosen)
    frame = _read(conn, statement, [*names, "known_since", "segment", "team_id"])
    frame["id"] = _integers(frame["id"])
    for name in ("owner_id", "account_id", "executive_sponsor_id", "team_id"):
        frame[name] = _ids(frame[name])
    frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce").astype(np.float64)
    frame["probability"] = pd.to_numeric(frame["probability"], errors="coerce").astype(np.float64)
    for name in ("expected_close_date", "created_date", "closed_date", "known_since"):
        frame[name] = _times(frame[name])
    listed = [json.loads(v) if isinstance(v, str) else v for v in frame["competitors"].to_numpy(dtype=object)]
    frame["competitors"] = pd.Series(listed, index=frame.index, dtype=object)  # SQLite keeps JSON as text
    frame["engaged_before_preference"] = _flags(frame["engaged_before_preference"])
    team_sets, for_all = _question_sets(conn)
    question_set = frame["team_id"].map(team_sets).astype("Int64")
    frame["question_set_id"] = question_set if for_all is None else question_set.fillna(for_all)
    return frame


def _question_sets(conn: sa.Connection) -> tuple[dict[int, int], int | None]:
    """The question set id of each team that has one (its own or its nearest parent's), and the set for
    all teams (which applies to the other teams and to deals without a team)."""
    by_team: dict[int | None, int] = {}
    for set_id, team_id in conn.execute(sa.select(_qs.c.id, _qs.c.team_id).order_by(_qs.c.id)):
        by_team.setdefault(team_id, int(set_id))
    parents = {int(t): p for t, p in conn.execute(sa.select(_t.c.id, _t.c.parent_id))}
    result: dict[int, int] = {}
    for team in parents:
        current: int | None = team
        seen: set[int] = set()
        while current is not None and current not in seen and current not in by_team:
            seen.add(current)
            current = parents.get(current)
        if current is not None and current in by_team:
            result[team] = by_team[current]
    return result, by_team.get(None)


def _history(conn: sa.Connection, chosen: sa.ColumnElement[bool] | None) -> pd.DataFrame:
    names = FRAME_COLUMNS["history"]
    statement = (
        sa.select(*(_h.c[n] for n in names))
        .where(_of_chosen(_h.c.opportunity_id, chosen))
        .order_by(_h.c.opportunity_id, _h.c.field, _h.c.changed_at)
    )
    frame = _read(conn, statement, names)
    frame["opportunity_id"] = _integers(frame["opportunity_id"])
    frame["field"] = frame["field"].astype("category")
    frame["changed_at"] = _times(frame["changed_at"])
    return frame


def _activities(conn: sa.Connection, chosen: sa.ColumnElement[bool] | None) -> pd.DataFrame:
    statement = (
        sa.select(_a.c.opportunity_id, _a.c.occurred_at, _a.c.type)
        .where(_of_chosen(_a.c.opportunity_id, chosen))
        .order_by(_a.c.opportunity_id, _a.c.occurred_at)
    )
    frame = _read(conn, statement, FRAME_COLUMNS["activities"])
    frame["opportunity_id"] = _integers(frame["opportunity_id"])
    frame["occurred_at"] = _times(frame["occurred_at"])
    frame["type"] = frame["type"].astype("category")
    return frame


def _attendees(conn: sa.Connection, chosen: sa.ColumnElement[bool] | None) -> pd.DataFrame:
    statement = (
        sa.select(_a.c.opportunity_id, _a.c.occurred_at, _ac.c.contact_id, _c.c.is_executive)
        .select_from(_ac.join(_a, _a.c.id == _ac.c.activity_id).join(_c, _c.c.id == _ac.c.contact_id))
        .where(_of_chosen(_a.c.opportunity_id, chosen))
        .order_by(_a.c.opportunity_id, _a.c.occurred_at)
    )
    frame = _read(conn, statement, FRAME_COLUMNS["activity_contacts"])
    frame["opportunity_id"] = _integers(frame["opportunity_id"])
    frame["contact_id"] = _integers(frame["contact_id"])
    frame["occurred_at"] = _times(frame["occurred_at"])
    frame["is_executive"] = _flags(frame["is_executive"])
    return frame


def _deal_contacts(conn: sa.Connection, chosen: sa.ColumnElement[bool] | None) -> pd.DataFrame:
    role = sa.func.coalesce(_oc.c.deal_role, _c.c.deal_role)
    statement = (
        sa.select(
            _oc.c.opportunity_id, _oc.c.contact_id, role, _c.c.influence, _c.c.stance, _c.c.is_executive
        )
        .select_from(_oc.join(_c, _c.c.id == _oc.c.contact_id))
        .where(_of_chosen(_oc.c.opportunity_id, chosen))
        .order_by(_oc.c.opportunity_id, _oc.c.contact_id)
    )
    frame = _read(conn, statement, FRAME_COLUMNS["deal_contacts"])
    frame["opportunity_id"] = _integers(frame["opportunity_id"])
    frame["contact_id"] = _integers(frame["contact_id"])
    frame["is_executive"] = _flags(frame["is_executive"])
    return frame


def _questions(conn: sa.Connection) -> pd.DataFrame:
    statement = sa.select(_q.c.id, _q.c.question_set_id, _q.c.key, _q.c.stage, _q.c.essential).order_by(
        _q.c.question_set_id, _q.c.position, _q.c.id
    )
    frame = _read(conn, statement, FRAME_COLUMNS["questions"])
    frame["question_id"] = _integers(frame["question_id"])
    frame["question_set_id"] = _integers(frame["question_set_id"])
    frame["essential"] = _flags(frame["essential"])
    return frame


def _answers(conn: sa.Connection, chosen: sa.ColumnElement[bool] | None) -> pd.DataFrame:
    statement = (
        sa.select(_ans.c.opportunity_id, _ans.c.question_id, _ans.c.answer, _ans.c.answered_at)
        .where(_of_chosen(_ans.c.opportunity_id, chosen))
        .order_by(_ans.c.opportunity_id, _ans.c.answered_at)
    )
    frame = _read(conn, statement, FRAME_COLUMNS["answers"])
    frame["opportunity_id"] = _integers(frame["opportunity_id"])
    frame["question_id"] = _integers(frame["question_id"])
    frame["answered_at"] = _times(frame["answered_at"])
    return frame


def _stages(conn: sa.Connection) -> pd.DataFrame:
    statement = sa.select(_s.c.name, _s.c.position, _s.c.probability, _s.c.outcome).order_by(_s.c.position)
    frame = _read(conn, statement, FRAME_COLUMNS["stages"])
    frame["position"] = _integers(frame["position"])
    frame["probability"] = pd.to_numeric(frame["probability"], errors="coerce").astype(np.float64)
    return frame


__all__ = ["load_deal_data"]
