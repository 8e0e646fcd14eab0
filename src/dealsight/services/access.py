"""Row-level access for services: the :class:`~dealsight.domain.access.Scope` of a principal, read from the
store on each request, and the two checks every write and every admin action goes through
(:func:`require_write` is :func:`dealsight.services.records.require_write`, re-exported here).

The rules themselves live in :mod:`dealsight.domain.access` (its docstring says who sees what); this
module only loads what they need.

Decisions:

- **Nothing is cached across requests.** The reporting lines change whenever an admin edits a user or a
  team, or an import writes users and teams; a cache would need invalidation from every one of those
  writers (and from other processes sharing the database). Loading is cheap instead: an admin, an
  executive and a rep need no query at all; a manager needs two narrow queries (``users`` and ``teams``,
  three integer columns each) and one walk of the hierarchy, a few milliseconds for 5,000 users (see
  ``tests/test_access_service.py``). A caller that needs the scope several times in one request computes
  it once and passes it on.
- Deactivated users stay in the hierarchy: a manager still sees the deals their departed rep owned.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.domain.access import Hierarchy, Principal, Scope, hierarchy_from, scope_for
from dealsight.domain.enums import UserRole
from dealsight.errors import PermissionDeniedError
from dealsight.services.records import READ_ONLY, require_write
from dealsight.store.schema import teams, users

# built once (a manager's every request reads them)
_REPORTING_LINES = sa.select(users.c.id, users.c.manager_id, users.c.team_id)
_TEAM_LINES = sa.select(teams.c.id, teams.c.parent_id, teams.c.manager_id)


def load_hierarchy(conn: Connection) -> Hierarchy:
    """The reporting lines of the whole organisation: one query on ``users``, one on ``teams``."""
    user_rows = conn.execute(_REPORTING_LINES).all()
    team_rows = conn.execute(_TEAM_LINES).all()
    return hierarchy_from(user_rows, team_rows)


def scope_of(conn_or_engine: Connection | Engine, principal: Principal) -> Scope:
    """What ``principal`` may read and whether they may write (see :mod:`dealsight.domain.access`)."""
    if principal.role is not UserRole.MANAGER:
        # admins and executives see everything, a rep their own: no reporting lines needed
        empty = Hierarchy({}, {}, {}, {})
        return scope_for(principal, empty)
    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            hierarchy = load_hierarchy(conn)
    else:
        hierarchy = load_hierarchy(conn_or_engine)
    return scope_for(principal, hierarchy)


def require_admin(principal: Principal | None, action: str = "manage users and teams") -> None:
    """Raise :class:`PermissionDeniedError` unless ``principal`` is an admin (None, the system, may too)."""
    if principal is not None and not principal.is_admin:
        raise PermissionDeniedError(f"only an admin may {action}")


__all__ = ["READ_ONLY", "load_hierarchy", "require_admin", "require_write", "scope_of"]
