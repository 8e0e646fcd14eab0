"""Managing teams: the admin's use cases, each change audited in its own transaction.

The decisions of :mod:`dealsight.services.users` hold here too (see docs/users.md); besides:

- A team name is unique ignoring case (:class:`ConflictError`).
- A team cannot become its own (indirect) parent (:class:`ValidationError` on ``parent_id``).
- The audit log gets one row per changed field (entity ``team``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.domain.access import Principal
from dealsight.domain.clock import utc_now
from dealsight.errors import ConflictError, NotFoundError
from dealsight.services.access import require_admin
from dealsight.services.org_fields import (
    clean_id,
    clean_name,
    invalid_field,
    reject_unknown,
    team_ref,
    user_ref,
)
from dealsight.services.record_writes import closes_loop, taken_by
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.schema import teams, users

TEAM_FIELDS = ("name", "parent_id", "manager_id")


@dataclass(frozen=True)
class TeamView:
    id: int
    name: str
    parent_id: int | None
    manager_id: int | None
    manager_name: str | None
    members: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "parent_id": self.parent_id,
            "manager_id": self.manager_id,
            "manager_name": self.manager_name,
            "members": self.members,
        }


# reading ---------------------------------------------------------------------------------------------------
def _team_query() -> sa.Select[Any]:
    manager = users.alias("manager")
    members = (
        sa.select(sa.func.count())
        .select_from(users)
        .where(users.c.team_id == teams.c.id)
        .scalar_subquery()
        .label("members")
    )
    return (
        sa.select(
            teams.c.id,
            teams.c.name,
            teams.c.parent_id,
            teams.c.manager_id,
            manager.c.name.label("manager_name"),
            members,
        )
        .select_from(teams.outerjoin(manager, manager.c.id == teams.c.manager_id))
        .order_by(teams.c.id)
    )


def _read_team(conn: Connection, team_id: int) -> TeamView:
    row = conn.execute(_team_query().where(teams.c.id == team_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no team with id {team_id}")
    return TeamView(**row)


def list_teams(engine: Engine) -> list[TeamView]:
    """Every team, ordered by id, with its manager's name and its number of members."""
    with engine.connect() as conn:
        return [TeamView(**row) for row in conn.execute(_team_query()).mappings()]


def get_team(engine: Engine, team_id: int) -> TeamView:
    """The team with id ``team_id``; :class:`NotFoundError` when there is none."""
    with engine.connect() as conn:
        return _read_team(conn, team_id)


# checks ----------------------------------------------------------------------------------------------------
def _team_name_taken(conn: Connection, name: str, other_than: int | None = None) -> None:
    taken = taken_by(conn, teams, sa.func.lower(teams.c.name), name.lower(), other_than)
    if taken is not None:
        raise ConflictError(f"a team named {name!r} already exists (id {taken})")


def _check_team_chain(conn: Connection, team_id: int, parent_id: int | None) -> None:
    """A ValidationError when making ``parent_id`` the parent of ``team_id`` would close a loop."""
    if parent_id is None:
        return
    if parent_id == team_id:
        raise invalid_field("parent_id", "a team cannot be its own parent")
    parents = dict(conn.execute(sa.select(teams.c.id, teams.c.parent_id)).all())
    if closes_loop(parents, team_id, parent_id):
        raise invalid_field("parent_id", f"team {parent_id} is (indirectly) under team {team_id}")


def _parent_ref(conn: Connection, parent_id: object) -> int | None:
    return team_ref(conn, clean_id(parent_id, "parent_id"), "parent_id")


def _manager_ref(conn: Connection, manager_id: object) -> int | None:
    return user_ref(conn, clean_id(manager_id, "manager_id"))


# writing ---------------------------------------------------------------------------------------------------
def create_team(
    engine: Engine,
    actor: Principal | None,
    name: str,
    parent_id: int | None = None,
    manager_id: int | None = None,
    *,
    via: str = "api",
) -> TeamView:
    """Create a team, optionally under ``parent_id`` and led by ``manager_id``. Admins only."""
    require_admin(actor)
    cleaned = clean_name(name)
    with transaction(engine) as conn:
        _team_name_taken(conn, cleaned)
        parent = _parent_ref(conn, parent_id)
        manager = _manager_ref(conn, manager_id)
        team_id = int(
            conn.execute(
                teams.insert()
                .values(name=cleaned, parent_id=parent, manager_id=manager)
                .returning(teams.c.id)
            ).scalar_one()
        )
        record_changes(
            conn,
            actor=actor,
            via=via,
            entity="team",
            entity_id=team_id,
            action="create",
            changes={"name": (None, cleaned), "parent_id": (None, parent), "manager_id": (None, manager)},
        )
        return _read_team(conn, team_id)


def update_team(
    engine: Engine,
    actor: Principal | None,
    team_id: int,
    changes: Mapping[str, object],
    *,
    via: str = "api",
) -> TeamView:
    """Change some of a team's ``name``, ``parent_id`` and ``manager_id``. Admins only; a loop of parents
    is a :class:`ValidationError`, a taken name a :class:`ConflictError`."""
    require_admin(actor)
    reject_unknown(changes, TEAM_FIELDS, "team")
    with transaction(engine) as conn:
        before = _read_team(conn, team_id)
        new: dict[str, Any] = {}
        if "name" in changes:
            new["name"] = clean_name(changes["name"])
            _team_name_taken(conn, new["name"], other_than=team_id)
        if "parent_id" in changes:
            new["parent_id"] = _parent_ref(conn, changes["parent_id"])
            _check_team_chain(conn, team_id, new["parent_id"])
        if "manager_id" in changes:
            new["manager_id"] = _manager_ref(conn, changes["manager_id"])
        if not new:
            return before
        conn.execute(teams.update().where(teams.c.id == team_id).values(**new, updated_at=utc_now()))
        old = before.as_dict()
        record_changes(
            conn,
            actor=actor,
            via=via,
            entity="team",
            entity_id=team_id,
            action="update",
            changes={field: (old[field], value) for field, value in new.items()},
        )
        return _read_team(conn, team_id)


__all__ = ["TEAM_FIELDS", "TeamView", "create_team", "get_team", "list_teams", "update_team"]
