"""Reading the store into columnar frames for analytics (the "frame for (team, as-of date)" of DESIGN.md).

Frames hold plain Python / pandas values: amounts as floats (money is exact in the store; analytics works
in floats), dates as ``datetime.date``, timestamps as naive UTC. Each loader takes an open connection so a
caller can read several frames from one consistent snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import sqlalchemy as sa

from dealsight.analytics.replay import HISTORY_COLUMNS, OPPORTUNITY_COLUMNS
from dealsight.domain.enums import Outcome
from dealsight.domain.names import name_key
from dealsight.store import schema


def _frame(conn: sa.Connection, query: sa.Select[tuple[object, ...]], columns: Iterable[str]) -> pd.DataFrame:
    rows = conn.execute(query).all()
    return pd.DataFrame([tuple(row) for row in rows], columns=list(columns))


def opportunity_frame(conn: sa.Connection, owner_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Current opportunities: :data:`OPPORTUNITY_COLUMNS`, account, name, external id; optionally by owner."""
    o = schema.opportunities
    columns = {name: o.c[name] for name in OPPORTUNITY_COLUMNS if name != "known_since"}
    columns["known_since"] = o.c.created_at
    extra = {"account_id": o.c.account_id, "name": o.c.name, "external_id": o.c.external_id}
    query = sa.select(*columns.values(), *extra.values()).order_by(o.c.id)
    if owner_ids is not None:
        query = query.where(o.c.owner_id.in_(list(owner_ids)))
    frame = _frame(conn, query, [*columns, *extra])
    frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce").astype(float)
    return frame


def history_frame(conn: sa.Connection, opportunity_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Every recorded change (:data:`HISTORY_COLUMNS`), optionally of some opportunities only."""
    h = schema.opportunity_history
    query = sa.select(*(h.c[name] for name in HISTORY_COLUMNS)).order_by(h.c.opportunity_id, h.c.changed_at)
    frame = _frame(conn, query, HISTORY_COLUMNS)
    if opportunity_ids is not None:
        frame = frame[frame["opportunity_id"].isin(set(opportunity_ids))]
    frame["changed_at"] = pd.to_datetime(frame["changed_at"])
    return frame.reset_index(drop=True)


def stage_table(conn: sa.Connection) -> pd.DataFrame:
    """The sales process: name, position, CRM probability (0..1) and the outcome of closed stages."""
    s = schema.stages
    query = sa.select(s.c.name, s.c.position, s.c.probability, s.c.outcome).order_by(s.c.position, s.c.name)
    return _frame(conn, query, ["name", "position", "probability", "outcome"])


def stage_outcomes(stages: pd.DataFrame) -> dict[str, Outcome | None]:
    return {
        str(row.name): (Outcome(row.outcome) if isinstance(row.outcome, str) else None)
        for row in stages.itertuples(index=False)
    }


def stage_probabilities(stages: pd.DataFrame) -> dict[str, float | None]:
    """Each stage's CRM probability (0..1), ``None`` where the sales process gives none."""
    return {
        str(name): None if pd.isna(probability) else float(probability)
        for name, probability in zip(stages["name"], stages["probability"], strict=True)
    }


def team_of_users(conn: sa.Connection) -> dict[int, str]:
    """Each user's team name (users without a team are left out)."""
    u, t = schema.users, schema.teams
    query = sa.select(u.c.id, t.c.name).join(t, u.c.team_id == t.c.id)
    return {int(user_id): str(team) for user_id, team in conn.execute(query)}


def team_ids_with_subteams(conn: sa.Connection, team_id: int) -> set[int]:
    """A team and every team below it in the hierarchy."""
    t = schema.teams
    children: dict[int, list[int]] = {}
    for child, parent in conn.execute(sa.select(t.c.id, t.c.parent_id)):
        if parent is not None:
            children.setdefault(int(parent), []).append(int(child))
    found, todo = set(), [team_id]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return found


def users_in_teams(conn: sa.Connection, team_ids: set[int]) -> list[int]:
    u = schema.users
    return [int(i) for i in conn.execute(sa.select(u.c.id).where(u.c.team_id.in_(team_ids))).scalars()]


def find_team(conn: sa.Connection, name: str) -> tuple[int, str] | None:
    """The team called ``name`` (any case), or ``None``."""
    t = schema.teams
    for team_id, team_name in conn.execute(sa.select(t.c.id, t.c.name)):
        if str(team_name).casefold() == name.strip().casefold():
            return int(team_id), str(team_name)
    return None


def team_names(conn: sa.Connection) -> list[str]:
    return [
        str(n) for n in conn.execute(sa.select(schema.teams.c.name).order_by(schema.teams.c.name)).scalars()
    ]


def deal_attributes(conn: sa.Connection, owner_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """What deals are grouped by besides owner and team: ``id``, ``currency``, ``product``, ``source`` and
    the ``segment`` of the deal's account (missing without an account); optionally by owner."""
    o, a = schema.opportunities, schema.accounts
    query = (
        sa.select(o.c.id, o.c.currency, o.c.product, o.c.source, a.c.segment)
        .select_from(o.outerjoin(a, o.c.account_id == a.c.id))
        .order_by(o.c.id)
    )
    if owner_ids is not None:
        query = query.where(o.c.owner_id.in_(list(owner_ids)))
    return _frame(conn, query, ["id", "currency", "product", "source", "segment"])


def user_names(conn: sa.Connection) -> dict[int, str]:
    """Every user's name by id."""
    u = schema.users
    return {int(user_id): str(name) for user_id, name in conn.execute(sa.select(u.c.id, u.c.name))}


def users_named(conn: sa.Connection, name: str) -> list[int]:
    """The users called ``name`` (compared by :func:`~dealsight.domain.names.name_key`), by id."""
    u = schema.users
    query = sa.select(u.c.id).where(u.c.name_key == name_key(name)).order_by(u.c.id)
    return [int(i) for i in conn.execute(query).scalars()]


def account_segments(conn: sa.Connection) -> list[str]:
    """The segments accounts are in, in alphabetical order."""
    a = schema.accounts
    query = sa.select(a.c.segment).where(a.c.segment.is_not(None)).distinct().order_by(a.c.segment)
    return [str(s) for s in conn.execute(query).scalars()]
