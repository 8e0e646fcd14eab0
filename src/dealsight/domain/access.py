"""Who may see and change what: the access rules of dealsight, standard library only.

The rules (enforced in the service layer, so API, pages and CLI share them):

- a **rep** sees and edits the deals they own (and the accounts, contacts and activities of those deals);
- a **manager** sees and edits the deals of everyone below them in the reporting hierarchy, at any depth:
  their direct and indirect reports (``users.manager_id``) and the members and managers of the teams they
  manage (``teams.manager_id``) and of those teams' sub-teams (``teams.parent_id``), plus their own;
- an **executive** sees everything, read-only;
- an **admin** sees and edits everything, and manages users, teams and settings.

A record outside a principal's scope is reported as *not found* (404), never as *forbidden*: a rep must
not learn that another team's deal exists. A record inside the scope that the principal may not change
(an executive editing) is *forbidden* (403).

:class:`Scope` is what services filter by: ``owner_ids is None`` means every owner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dealsight.domain.enums import UserRole


@dataclass(frozen=True)
class Principal:
    """A signed-in user (or the holder of one of their API tokens)."""

    user_id: int
    name: str
    role: UserRole

    @property
    def is_admin(self) -> bool:
        return self.role is UserRole.ADMIN


@dataclass(frozen=True)
class Scope:
    """The records a principal may read, and whether they may write within them."""

    owner_ids: frozenset[int] | None
    can_write: bool

    @property
    def sees_all(self) -> bool:
        return self.owner_ids is None

    def covers(self, owner_id: int | None) -> bool:
        """May the principal read a record owned by ``owner_id``? Unowned records: only with full sight."""
        if self.owner_ids is None:
            return True
        return owner_id is not None and owner_id in self.owner_ids


@dataclass(frozen=True)
class Hierarchy:
    """The reporting lines: who reports to whom, which teams exist under which, who manages which team."""

    user_manager: Mapping[int, int | None]
    """user id -> their manager's user id"""
    user_team: Mapping[int, int | None]
    """user id -> their team id"""
    team_parent: Mapping[int, int | None]
    """team id -> parent team id"""
    team_manager: Mapping[int, int | None]
    """team id -> the manager's user id"""

    def reports_of(self, manager_id: int) -> frozenset[int]:
        """Every user below ``manager_id`` at any depth: their reports (``users.manager_id``), and the
        members and managers of the teams they manage and of those teams' sub-teams."""
        direct: dict[int, list[int]] = {}
        for user, boss in self.user_manager.items():
            if boss is not None and boss != user:
                direct.setdefault(boss, []).append(user)
        sub_teams: dict[int, list[int]] = {}
        for child, parent in self.team_parent.items():
            if parent is not None and parent != child:
                sub_teams.setdefault(parent, []).append(child)
        members: dict[int, list[int]] = {}
        for member, team_of in self.user_team.items():
            if team_of is not None:
                members.setdefault(team_of, []).append(member)
        managed: dict[int, list[int]] = {}
        for managed_team, team_boss in self.team_manager.items():
            if team_boss is not None:
                managed.setdefault(team_boss, []).append(managed_team)

        below: set[int] = set()
        seen_teams: set[int] = set()
        queue = [manager_id]
        while queue:
            user = queue.pop()
            found = list(direct.get(user, ()))
            teams = list(managed.get(user, ()))
            while teams:
                team = teams.pop()
                if team in seen_teams:
                    continue
                seen_teams.add(team)
                found.extend(members.get(team, ()))
                boss = self.team_manager.get(team)
                if boss is not None:
                    found.append(boss)  # a sub-team's manager is below the parent team's manager
                teams.extend(sub_teams.get(team, ()))
            for report in found:
                if report not in below:
                    below.add(report)
                    queue.append(report)
        below.discard(manager_id)
        return frozenset(below)


def scope_for(principal: Principal, hierarchy: Hierarchy) -> Scope:
    """The :class:`Scope` of ``principal`` under the rules in this module's docstring."""
    if principal.role is UserRole.ADMIN:
        return Scope(owner_ids=None, can_write=True)
    if principal.role is UserRole.EXECUTIVE:
        return Scope(owner_ids=None, can_write=False)
    if principal.role is UserRole.MANAGER:
        return Scope(owner_ids=hierarchy.reports_of(principal.user_id) | {principal.user_id}, can_write=True)
    return Scope(owner_ids=frozenset({principal.user_id}), can_write=True)


def hierarchy_from(
    users: Iterable[tuple[int, int | None, int | None]],
    teams: Iterable[tuple[int, int | None, int | None]],
) -> Hierarchy:
    """Build a :class:`Hierarchy` from rows ``(user_id, manager_id, team_id)`` and
    ``(team_id, parent_id, manager_id)``."""
    user_manager: dict[int, int | None] = {}
    user_team: dict[int, int | None] = {}
    for user_id, manager_id, team_id in users:
        user_manager[user_id] = manager_id
        user_team[user_id] = team_id
    team_parent: dict[int, int | None] = {}
    team_manager: dict[int, int | None] = {}
    for team_id, parent_id, manager_id in teams:
        team_parent[team_id] = parent_id
        team_manager[team_id] = manager_id
    return Hierarchy(user_manager, user_team, team_parent, team_manager)
