"""The access rules of dealsight.domain.access: who sees which owners' records."""

from __future__ import annotations

from dealsight.domain.access import Principal, Scope, hierarchy_from, scope_for
from dealsight.domain.enums import UserRole

# users: (id, manager_id, team_id); teams: (id, parent_id, manager_id)
# 1 VP manages team 10 (parent of teams 11, 12); 2 manages team 11; 3 manages team 12 but reports to nobody;
# 4, 5 in team 11; 6 in team 12; 7 reports to 4 directly (no team); 8 is elsewhere.
USERS = [(1, None, None), (2, 1, 11), (3, None, 12), (4, 2, 11), (5, None, 11), (6, None, 12), (7, 4, None)]
USERS += [(8, None, 99)]
TEAMS = [(10, None, 1), (11, 10, 2), (12, 10, 3), (99, None, None)]
HIERARCHY = hierarchy_from(USERS, TEAMS)


def test_manager_sees_every_level_below_through_teams_and_reporting_lines() -> None:
    assert HIERARCHY.reports_of(1) == {2, 3, 4, 5, 6, 7}
    assert HIERARCHY.reports_of(2) == {4, 5, 7}
    assert HIERARCHY.reports_of(4) == {7}
    assert HIERARCHY.reports_of(8) == frozenset()


def test_cycles_in_reporting_lines_terminate() -> None:
    looped = hierarchy_from([(1, 2, None), (2, 1, None)], [])
    assert looped.reports_of(1) == {2}


def test_scope_per_role() -> None:
    rep = scope_for(Principal(4, "Rep", UserRole.REP), HIERARCHY)
    assert rep == Scope(frozenset({4}), can_write=True)
    manager = scope_for(Principal(2, "Mgr", UserRole.MANAGER), HIERARCHY)
    assert manager.owner_ids == {2, 4, 5, 7} and manager.can_write
    executive = scope_for(Principal(8, "Exec", UserRole.EXECUTIVE), HIERARCHY)
    assert executive.sees_all and not executive.can_write
    admin = scope_for(Principal(8, "Admin", UserRole.ADMIN), HIERARCHY)
    assert admin.sees_all and admin.can_write


def test_unowned_records_need_full_sight() -> None:
    assert not Scope(frozenset({1}), can_write=True).covers(None)
    assert Scope(None, can_write=False).covers(None)
    assert not Scope(frozenset({1}), can_write=True).covers(2)


def test_sub_team_manager_outside_their_team_is_below_the_parent_team_manager() -> None:
    # 1 manages team 10; 2 manages sub-team 11 but is in no team and reports to nobody; 3 is in team 11
    hierarchy = hierarchy_from(
        [(1, None, None), (2, None, None), (3, None, 11)], [(10, None, 1), (11, 10, 2)]
    )
    assert hierarchy.reports_of(1) == {2, 3}
    assert hierarchy.reports_of(2) == {3}
