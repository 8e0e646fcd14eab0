"""Property-based tests of the API against its own OpenAPI document (schemathesis).

For every operation, schemathesis generates requests from the document, valid and invalid, and sends
them with an admin's token and with a rep's. Each answer must not be a server error, must have a status
the document lists for the operation, must have its documented content type and must match the schema of
that status (the one error schema for errors).

Schemathesis's ``negative_data_rejection`` check is left out: in a query string every value is text, so
a "negative" example such as ``country=[false]`` reaches the server as the valid ``country=false`` and is
rightly accepted (a false alarm seen here). That invalid input is refused, naming the field, is the
subject of ``test_api_input.py``.

The examples run against their own demo database (SQLite): generated writes land there, never in the world
the other API tests share. The number of examples per operation is bounded so that the whole module runs
in about a minute on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dealsight.api.app import create_app
from dealsight.services.auth import create_api_token
from dealsight.store.database import connect
from dealsight.store.schema import api_tokens, users
from tests.api_fixtures import World, build_world, sqlite_engine

pytestmark = pytest.mark.storage

EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = build_world(sqlite_engine(tmp_path_factory.mktemp("api-fuzz")), "sqlite")
    for role, user_id in world.users.items():
        world.ids[f"spare_token_{role}"] = create_api_token(
            world.engine, None, user_id, "spare", via="cli"
        ).id
    yield world
    world.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzzed_world: World) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_world.client.app)


def _documented_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, read from an app on an unused engine (no I/O) at collection."""
    document = create_app(connect("sqlite://")).openapi()
    return [(method.upper(), path) for path, operations in document["paths"].items() for method in operations]


HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]
KNOWN = {
    "opportunity_id": "own_deal",
    "account_id": "own_account",
    "contact_id": "own_contact",
    "activity_id": "own_activity",
    "question_id": "own_question",
}


def _known_ids(world: World, role: str, path: str) -> dict[str, int]:
    """Path parameters naming records that exist and that ``role`` can see (a spare token to revoke)."""
    ids = {name: world.ids[key] for name, key in KNOWN.items() if f"{{{name}}}" in path}
    if "{user_id}" in path:
        ids["user_id"] = world.users[role]
    if "{team_id}" in path:
        ids["team_id"] = 1
    if "{quota_id}" in path:
        ids["quota_id"] = 1  # the demo's first quota (a rep's; another rep's for the rep: 404 is documented)
    if "{token_id}" in path:
        ids["token_id"] = world.ids[f"spare_token_{role}"]
    return ids


def _heal(world: World) -> None:
    """Undo what a generated admin request may do to the logins the test runs with (deactivating or
    demoting them, revoking their tokens), so that every example is still made by the same role."""
    with world.engine.begin() as conn:
        for role, user_id in world.users.items():
            conn.execute(users.update().where(users.c.id == user_id).values(active=True, role=role))
        conn.execute(api_tokens.update().where(api_tokens.c.name == "api tests").values(revoked_at=None))


PASSES = {
    # role -> (generation mode, with known ids) for each pass
    "admin": ((GenerationMode.POSITIVE, False), (GenerationMode.POSITIVE, True)),
    "rep": ((GenerationMode.NEGATIVE, False), (GenerationMode.POSITIVE, True)),
}


@pytest.mark.parametrize("role", ["admin", "rep"])
@pytest.mark.parametrize(("method", "path"), _documented_operations())
def test_the_api_keeps_its_document(
    api_schema: Any, fuzzed_world: World, role: str, method: str, path: str
) -> None:
    """Random (admin) or invalid (rep) requests, then valid ones on records that exist."""
    _heal(fuzzed_world)  # an earlier test's last generated request may have deactivated a login
    operation = api_schema[path][method]
    writes_people = method != "GET" and path.startswith(("/api/v1/users", "/api/v1/tokens"))
    failures: list[str] = []
    statuses: list[int] = []
    passes = PASSES[role] if path != "/health" else ((GenerationMode.POSITIVE, False),)  # no input
    for mode, known in passes:
        fixed = _known_ids(fuzzed_world, role, path) if known else None
        if known and not fixed:
            continue

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=HEALTH, database=None)
        def run(case: Any) -> None:
            if writes_people:
                _heal(fuzzed_world)
            response = case.call_and_validate(headers=fuzzed_world.headers(role), checks=CHECKS)
            statuses.append(response.status_code)

        try:
            run()
        except Exception as failure:  # every pass runs; failures are reported together
            failures.append(f"{mode.value}{' on known ids' if known else ''}: {failure}")
    assert not failures, "\n\n".join(failures)
    assert statuses and any(code != 401 for code in statuses), statuses
