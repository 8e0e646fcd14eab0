"""Reading everything deal indicators need from the store: :class:`~dealsight.analytics.deal_data.DealData`.

``load_deal_data(conn)`` reads every deal (or those of some owners, or some ids) with its history,
activities and who attended them, contacts, qualification answers, the questions and the sales process:
ten statements (two of them read the small team and question-set tables), whatever the number of deals.

Decisions (it must read a million deals with ~8 history rows and ~8 activities each):

- **Columnar, not per row.** On PostgreSQL the server writes each statement's rows as CSV
  (``COPY (query) TO STDOUT``) and pandas' C parser reads them into columns. On SQLite the rows are fetched
  from the driver's cursor as plain tuples and taken apart one column at a time in C. Types are converted
  per column (dates and times with ``pandas.to_datetime``, flags and numbers with ``astype``), never per
  row in Python, and chunk by chunk (:data:`CHUNK_ROWS` rows): memory holds the driver's objects of one
  chunk at a time, not of a whole table (a million deals' ~28 million rows). Money is cast to a float
  in SQL (analytics works in floats, as :mod:`dealsight.store.frames` does).
- **The floor is the driver**: about 1-1.5 microseconds per row to hand rows to Python (SQLite's cursor;
  PostgreSQL's COPY sends one message per row), ~90-120 s for a million deals (benchmarks/indicators.py).
- **Dates** (created, expected close, closed) arrive as ``datetime64`` at midnight, times as naive UTC
  ``datetime64``: what the indicators compute on, without a conversion per value. A date nanoseconds
  cannot hold (before 1677 or after 2262: a mistyped year) reads as unknown rather than failing the run.
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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
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


CHUNK_ROWS = 200_000
"""Rows converted at a time: memory holds one chunk of the driver's objects, not a whole table's."""


def load_deal_data(
    conn: sa.Connection,
    opportunity_ids: Iterable[int] | None = None,
    owner_ids: Iterable[int] | None = None,
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> DealData:
    """Every deal (or only those with the given ids and/or owners) and what indicators need about it;
    ``chunk_rows``: rows converted at a time (memory against the cost of more, smaller steps)."""
    chosen = _chosen_deals(conn, opportunity_ids, owner_ids)
    reader = _Reader(conn, max(1, chunk_rows))
    return DealData(
        opportunities=_opportunities(reader, chosen),
        history=_history(reader, chosen),
        activities=_activities(reader, chosen),
        activity_contacts=_attendees(reader, chosen),
        deal_contacts=_deal_contacts(reader, chosen),
        questions=_questions(reader),
        answers=_answers(reader, chosen),
        stages=_stages(reader),
    )


# reading ---------------------------------------------------------------------------------------------
Converter = Callable[[pd.Series], pd.Series]


@dataclass(frozen=True)
class _Reader:
    conn: sa.Connection
    chunk_rows: int

    def read(self, statement: sa.Select[Any], columns: Mapping[str, Converter | None]) -> pd.DataFrame:
        """The rows of ``statement`` as columns, each converted chunk by chunk by its converter (``None``:
        kept as objects with ``None``); values arrive as the driver's objects (SQLite) or as text
        (PostgreSQL)."""
        names = list(columns)
        if self.conn.dialect.name == "postgresql":
            chunks = _copied_chunks(self.conn, statement, names, self.chunk_rows)
        else:
            chunks = _fetched_chunks(self.conn, statement, names, self.chunk_rows)
        parts = [_converted(chunk, columns) for chunk in chunks]
        if not parts:
            return _converted(pd.DataFrame({name: pd.Series(dtype=object) for name in names}), columns)
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _converted(chunk: pd.DataFrame, columns: Mapping[str, Converter | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {name: chunk[name] if convert is None else convert(chunk[name]) for name, convert in columns.items()}
    )


def _fetched_chunks(
    conn: sa.Connection, statement: sa.Select[Any], names: list[str], size: int
) -> Iterator[pd.DataFrame]:
    """SQLite: rows from the driver's cursor, taken apart one column at a time in C (``zip(*rows)`` is several
    times slower); objects with None, as the driver gave them (pandas would infer its string dtype, None
    becoming NaN)."""
    result = conn.execute(statement)
    cursor = result.cursor
    try:
        while cursor is not None and (rows := cursor.fetchmany(size)):
            yield pd.DataFrame(
                {
                    name: pd.Series(
                        np.fromiter(map(itemgetter(i), rows), dtype=object, count=len(rows)), dtype=object
                    )
                    for i, name in enumerate(names)
                }
            )
    finally:
        result.close()


_NULL = "\\N"


def _copied_chunks(
    conn: sa.Connection, statement: sa.Select[Any], names: list[str], size: int
) -> Iterator[pd.DataFrame]:
    """PostgreSQL: the server writes the rows as CSV (``COPY (query) TO STDOUT``) and pandas' C parser reads
    them into columns: no Python object per row. NULL is written as ``\\N`` so that it stays apart from
    empty text (a text that is exactly ``\\N`` reads as missing); everything is read as text."""
    compiled = statement.compile(dialect=conn.dialect)
    driver = conn.connection.driver_connection
    assert driver is not None
    buffer = io.BytesIO()
    copy_sql = f"COPY ({compiled.string}) TO STDOUT (FORMAT CSV, NULL '{_NULL}')"
    with driver.cursor() as cursor, cursor.copy(copy_sql, compiled.params) as copy:
        for block in copy:
            buffer.write(block)
    if buffer.getbuffer().nbytes == 0:
        return
    buffer.seek(0)
    reader = pd.read_csv(
        buffer,
        header=None,
        names=names,
        dtype=object,
        na_values=[_NULL],
        keep_default_na=False,
        chunksize=size,
    )
    for chunk in reader:  # each chunk indexed from 0, as the converters' results are
        objects = {name: chunk[name].astype(object).where(chunk[name].notna(), None) for name in names}
        yield pd.DataFrame(objects).reset_index(drop=True)


FIRST_TIME = pd.Timestamp.min.ceil("D")
LAST_TIME = pd.Timestamp.max.floor("D")


def _times(values: pd.Series) -> pd.Series:
    """Dates or times (driver objects or ISO text) as naive ``datetime64[ns]``; one outside what that can
    hold (1677-09-22 to 2262-04-11: a mistyped year such as 761 or 20266) reads as unknown."""
    if values.empty:
        return pd.Series(values, dtype="datetime64[ns]")
    present = values.dropna()
    if len(present) and isinstance(present.iloc[0], str):  # ISO text (SQLite; PostgreSQL's COPY)
        parsed = pd.to_datetime(values, format="ISO8601")
    else:
        try:
            parsed = pd.to_datetime(values)
        except (pd.errors.OutOfBoundsDatetime, OverflowError):  # a year nanoseconds cannot hold
            parsed = pd.to_datetime(values.map(_as_text, na_action="ignore"), format="ISO8601")
    held = parsed.where((parsed >= FIRST_TIME) & (parsed <= LAST_TIME))
    return held.astype("datetime64[ns]")


def _as_text(value: object) -> object:
    """A driver's date or time as ISO text (a ``datetime`` of year 761 cannot become nanoseconds)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def _integers(values: pd.Series) -> pd.Series:
    """Ids that are never missing (driver integers or text) as int64."""
    return pd.to_numeric(values).astype(np.int64)


def _ids(values: pd.Series) -> pd.Series:
    """Ids of optional links as nullable integers."""
    return pd.to_numeric(values).astype("Int64")


def _floats(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype(np.float64)


def _flags(values: pd.Series) -> pd.Series:
    """Booleans (PostgreSQL: objects, or ``t``/``f`` text from COPY; SQLite: 0/1) as nullable booleans."""
    present = values.dropna()
    if len(present) and isinstance(present.iloc[0], str):
        return values.map({"t": True, "f": False}).astype("boolean")
    return pd.to_numeric(values).astype("boolean")


def _lists(values: pd.Series) -> pd.Series:
    """JSON lists (SQLite keeps JSON as text; PostgreSQL's COPY writes it as text) as lists, ``None`` when
    missing; each distinct text is parsed once (and its list shared by the rows that hold it: read only)."""
    codes, texts = pd.factorize(values.to_numpy(dtype=object))
    parsed = [json.loads(t) if isinstance(t, str) else t for t in texts]
    table = np.empty(len(parsed) + 1, dtype=object)
    table[: len(parsed)] = parsed
    return pd.Series(table[codes], index=values.index, dtype=object)  # code -1 (missing) takes the None


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
def _opportunities(reader: _Reader, chosen: sa.ColumnElement[bool] | None) -> pd.DataFrame:
    joined = ("known_since", "segment", "team_id", "question_set_id")
    names = [n for n in FRAME_COLUMNS["opportunities"] if n not in joined]
    selected = [sa.cast(_o.c.amount, sa.Float) if n == "amount" else _o.c[n] for n in names]
    statement = (
        sa.select(*selected, _o.c.created_at, _acc.c.segment, _u.c.team_id)
        .select_from(_o.outerjoin(_acc, _acc.c.id == _o.c.account_id).outerjoin(_u, _u.c.id == _o.c.owner_id))
        .order_by(_o.c.id)
    )
    if chosen is not None:
        statement = statement.where(chosen)
    converters: dict[str, Converter | None] = dict.fromkeys([*names, "known_since", "segment", "team_id"])
    converters.update(id=_integers, amount=_floats, probability=_floats, competitors=_lists)
    converters.update(engaged_before_preference=_flags)
    converters.update(dict.fromkeys(("owner_id", "account_id", "executive_sponsor_id", "team_id"), _ids))
    converters.update(
        dict.fromkeys(("expected_close_date", "created_date", "closed_date", "known_since"), _times)
    )
    frame = reader.read(statement, converters)
    team_sets, for_all = _question_sets(reader.conn)
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


def _history(reader: _Reader, chosen: sa.ColumnElement[bool] | None) -> pd.DataFrame:
    names = FRAME_COLUMNS["history"]
    statement = (
        sa.select(*(_h.c[n] for n in names))
        .where(_of_chosen(_h.c.opportunity_id, chosen))
        .order_by(_h.c.opportunity_id, _h.c.field, _h.c.changed_at)
    )
    frame = reader.read(
        statement, {**dict.fromkeys(names), "opportunity_id": _integers, "changed_at": _times}
    )
    frame["field"] = frame["field"].astype("category")
    return frame


def _activities(reader: _Reader, chosen: sa.ColumnElement[bool] | None) -> pd.DataFrame:
    statement = (
        sa.select(_a.c.opportunity_id, _a.c.occurred_at, _a.c.type)
        .where(_of_chosen(_a.c.opportunity_id, chosen))
        .order_by(_a.c.opportunity_id, _a.c.occurred_at)
    )
    frame = reader.read(statement, {"opportunity_id": _integers, "occurred_at": _times, "type": None})
    frame["type"] = frame["type"].astype("category")
    return frame


def _attendees(reader: _Reader, chosen: sa.ColumnElement[bool] | None) -> pd.DataFrame:
    statement = (
        sa.select(_a.c.opportunity_id, _a.c.occurred_at, _ac.c.contact_id, _c.c.is_executive)
        .select_from(_ac.join(_a, _a.c.id == _ac.c.activity_id).join(_c, _c.c.id == _ac.c.contact_id))
        .where(_of_chosen(_a.c.opportunity_id, chosen))
        .order_by(_a.c.opportunity_id, _a.c.occurred_at)
    )
    converters = {
        "opportunity_id": _integers,
        "occurred_at": _times,
        "contact_id": _integers,
        "is_executive": _flags,
    }
    return reader.read(statement, converters)


def _deal_contacts(reader: _Reader, chosen: sa.ColumnElement[bool] | None) -> pd.DataFrame:
    role = sa.func.coalesce(_oc.c.deal_role, _c.c.deal_role)
    statement = (
        sa.select(
            _oc.c.opportunity_id, _oc.c.contact_id, role, _c.c.influence, _c.c.stance, _c.c.is_executive
        )
        .select_from(_oc.join(_c, _c.c.id == _oc.c.contact_id))
        .where(_of_chosen(_oc.c.opportunity_id, chosen))
        .order_by(_oc.c.opportunity_id, _oc.c.contact_id)
    )
    converters: dict[str, Converter | None] = dict.fromkeys(FRAME_COLUMNS["deal_contacts"])
    converters.update(opportunity_id=_integers, contact_id=_integers, is_executive=_flags)
    return reader.read(statement, converters)


def _questions(reader: _Reader) -> pd.DataFrame:
    statement = sa.select(_q.c.id, _q.c.question_set_id, _q.c.key, _q.c.stage, _q.c.essential).order_by(
        _q.c.question_set_id, _q.c.position, _q.c.id
    )
    converters: dict[str, Converter | None] = dict.fromkeys(FRAME_COLUMNS["questions"])
    converters.update(question_id=_integers, question_set_id=_integers, essential=_flags)
    return reader.read(statement, converters)


def _answers(reader: _Reader, chosen: sa.ColumnElement[bool] | None) -> pd.DataFrame:
    statement = (
        sa.select(_ans.c.opportunity_id, _ans.c.question_id, _ans.c.answer, _ans.c.answered_at)
        .where(_of_chosen(_ans.c.opportunity_id, chosen))
        .order_by(_ans.c.opportunity_id, _ans.c.answered_at)
    )
    converters = {
        "opportunity_id": _integers,
        "question_id": _integers,
        "answer": None,
        "answered_at": _times,
    }
    return reader.read(statement, converters)


def _stages(reader: _Reader) -> pd.DataFrame:
    statement = sa.select(_s.c.name, _s.c.position, _s.c.probability, _s.c.outcome).order_by(_s.c.position)
    return reader.read(
        statement, {"name": None, "position": _integers, "probability": _floats, "outcome": None}
    )


__all__ = ["load_deal_data"]
