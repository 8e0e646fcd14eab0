"""``/api/v1/quotas`` on PostgreSQL: the tests of tests/test_api_quotas.py that run on SQLite only there
(the role matrix of reads, changes and deletes, anonymous callers, admin-only creation, bad input naming
the field and writing nothing, a patch leaving two owners or none, list filters and paging), run here
unchanged on the PostgreSQL demo world. The same assertions, not copies: each test calls the SQLite
module's test with the PostgreSQL world (the quotas of the matrix are made once per back end there)."""

from __future__ import annotations

from typing import Any

import pytest

from tests import api_fixtures
from tests import test_api_quotas as quotas
from tests.api_fixtures import ROLES, World

pytestmark = pytest.mark.storage
pg_world = api_fixtures.pg_world


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", quotas.KINDS)
def test_reading_a_quota_by_role(pg_world: World, role: str, kind: str) -> None:
    quotas.test_reading_a_quota_by_role(pg_world, role, kind)


def test_anonymous_callers_get_401_on_every_route(pg_world: World) -> None:
    quotas.test_anonymous_callers_get_401_on_every_route(pg_world)


@pytest.mark.parametrize("role", ["rep", "manager", "executive"])
def test_only_an_admin_creates_a_quota(pg_world: World, role: str) -> None:
    quotas.test_only_an_admin_creates_a_quota(pg_world, role)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", quotas.KINDS)
def test_changing_and_deleting_a_quota_by_role(pg_world: World, role: str, kind: str) -> None:
    quotas.test_changing_and_deleting_a_quota_by_role(pg_world, role, kind)


@pytest.mark.parametrize(("body", "field"), quotas.BAD)
def test_bad_input_names_the_field_and_writes_nothing(
    pg_world: World, body: dict[str, Any], field: str
) -> None:
    quotas.test_bad_input_names_the_field_and_writes_nothing(pg_world, body, field)


def test_a_patch_that_leaves_two_owners_or_none_is_refused(pg_world: World) -> None:
    quotas.test_a_patch_that_leaves_two_owners_or_none_is_refused(pg_world)


def test_list_filters_and_paging(pg_world: World) -> None:
    quotas.test_list_filters_and_paging(pg_world)


def test_a_required_field_cannot_be_cleared(pg_world: World) -> None:
    quotas.test_a_required_field_cannot_be_cleared(pg_world)


def test_every_sqlite_only_test_of_the_quota_module_runs_here() -> None:
    """A test added to tests/test_api_quotas.py on SQLite only must be added here too."""
    sqlite_only = {
        name
        for name, test in vars(quotas).items()
        if name.startswith("test_")
        and "sqlite_world" in test.__code__.co_varnames[: test.__code__.co_argcount]
    }
    here = {
        name
        for name in globals()
        if name.startswith("test_") and name != "test_every_sqlite_only_test_of_the_quota_module_runs_here"
    }
    assert sqlite_only == here
