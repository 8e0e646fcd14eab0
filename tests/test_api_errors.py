"""The one JSON error shape for every error of the API, and an OpenAPI document that says so."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from dealsight.api.errors import MAX_BODY_BYTES
from dealsight.services import opportunities as deals_service
from dealsight.store.schema import accounts, opportunities
from tests import api_fixtures
from tests.api_fixtures import World

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world


def _shape(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"status", "message", "problems"}
    assert body["status"] == status and isinstance(body["message"], str) and body["message"]
    for problem in body["problems"]:
        assert set(problem) == {"field", "message"}
    return body


def _post(world: World, path: str, content: bytes, content_type: str | None = "application/json") -> Any:
    headers = world.headers("rep")
    if content_type:
        headers["Content-Type"] = content_type
    return world.client.post(f"/api/v1{path}", content=content, headers=headers)


@pytest.mark.parametrize(
    ("content", "content_type", "says"),
    [
        (b'{"name": "x",', "application/json", "malformed JSON"),
        (b"", "application/json", "a JSON body is required"),
        (b"[1, 2]", "application/json", "expected a JSON object"),
        (b'"text"', "application/json", "expected a JSON object"),
        (b'{"name": "x"}', "text/plain", "Content-Type: application/json"),
        (b'{"name": "x"}', None, "Content-Type: application/json"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_422_naming_the_body(
    sqlite_world: World, content: bytes, content_type: str | None, says: str
) -> None:
    before = sqlite_world.counts(accounts)
    body = _shape(_post(sqlite_world, "/accounts", content, content_type), 422)
    assert [p["field"] for p in body["problems"]] == ["body"]
    assert says in body["problems"][0]["message"]
    if content_type == "application/json":
        assert "Content-Type" not in body["message"]  # it was sent as JSON: the hint would mislead
    assert sqlite_world.counts(accounts) == before


def test_an_oversized_body_is_413_by_its_declared_length(sqlite_world: World) -> None:
    before = sqlite_world.counts(accounts)
    big = b'{"name": "' + b"x" * MAX_BODY_BYTES + b'"}'
    body = _shape(_post(sqlite_world, "/accounts", big), 413)
    assert "1024 KiB" in body["message"]
    assert sqlite_world.counts(accounts) == before


def test_an_oversized_body_is_413_while_it_streams_in(sqlite_world: World) -> None:
    """A chunked upload has no Content-Length: the body is cut off once it passes 1 MiB."""
    sent = []

    def chunks() -> Any:
        yield b'{"name": "'
        for _ in range(40):
            sent.append(1)
            yield b"x" * 65536
        yield b'"}'

    before = sqlite_world.counts(accounts)
    headers = {**sqlite_world.headers("rep"), "Content-Type": "application/json"}
    response = sqlite_world.client.post("/api/v1/accounts", content=chunks(), headers=headers)
    _shape(response, 413)
    assert sqlite_world.counts(accounts) == before


def test_a_body_just_under_the_limit_is_read(sqlite_world: World) -> None:
    padding = " " * (MAX_BODY_BYTES - 100)
    content = ('{"name": "x"' + padding + ', "colour": 1}').encode()
    assert len(content) < MAX_BODY_BYTES
    body = _shape(_post(sqlite_world, "/accounts", content), 422)
    assert [p["field"] for p in body["problems"]] == ["body.colour"]


def test_a_malformed_content_length_is_400(sqlite_world: World) -> None:
    headers = {**sqlite_world.headers("rep"), "Content-Type": "application/json", "Content-Length": "lots"}
    response = sqlite_world.client.post("/api/v1/accounts", content=b"{}", headers=headers)
    _shape(response, 400)


def test_an_unknown_route_is_404(sqlite_world: World) -> None:
    for path in ("/api/v1/nothing", "/api/v2/opportunities", "/api/v1/opportunities/1/nothing", "/api"):
        body = _shape(sqlite_world.client.get(path, headers=sqlite_world.headers("rep")), 404)
        assert "/openapi.json" in body["message"] or "nothing at" in body["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/opportunities", "GET, POST"),
        ("PUT", "/api/v1/opportunities/1", "GET, PATCH"),
        ("POST", "/api/v1/me", "GET"),
        ("GET", "/api/v1/tokens/3", "DELETE"),
        ("PATCH", "/api/v1/audit", "GET"),
    ],
)
def test_a_wrong_method_is_405_with_allow(sqlite_world: World, method: str, path: str, allowed: str) -> None:
    response = sqlite_world.client.request(method, path, headers=sqlite_world.headers("admin"))
    body = _shape(response, 405)
    assert response.headers["Allow"] == allowed
    assert method in body["message"]


def test_health_and_the_document_keep_the_shape_for_a_wrong_method(sqlite_world: World) -> None:
    _shape(sqlite_world.client.post("/health"), 405)
    _shape(sqlite_world.client.delete("/openapi.json"), 405)


def test_an_unexpected_error_is_500_logged_without_a_stack_trace(
    sqlite_world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals at /srv/db.py line 12")

    monkeypatch.setattr(deals_service, "get_opportunity", broken)
    with caplog.at_level(logging.ERROR, logger="dealsight.api"):
        response = sqlite_world.call("rep", "GET", f"/opportunities/{sqlite_world.ids['own_deal']}")
    body = _shape(response, 500)
    assert "secret" not in response.text and "Traceback" not in response.text
    assert body["problems"] == [] and "logged" in body["message"]
    assert any("secret internals" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_the_read_only_message_is_plain_words(sqlite_world: World) -> None:
    response = sqlite_world.call(
        "executive", "PATCH", f"/opportunities/{sqlite_world.ids['own_deal']}", json={}
    )
    assert _shape(response, 403)["message"] == "executives have read-only access"


def test_a_validation_message_lists_every_problem(sqlite_world: World) -> None:
    before = sqlite_world.counts(opportunities)
    response = sqlite_world.call(
        "rep", "POST", "/opportunities", json={"name": "x", "account_id": 1, "stage": "Nowhere", "amount": -1}
    )
    body = _shape(response, 422)
    assert {p["field"] for p in body["problems"]} == {"body.stage", "body.amount"}
    assert "stage" in body["message"] and "amount" in body["message"]
    assert sqlite_world.counts(opportunities) == before


# the OpenAPI document --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def document(sqlite_world: World) -> dict[str, Any]:
    response = sqlite_world.client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_every_operation_is_documented(document: dict[str, Any]) -> None:
    operations = _operations(document)
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids)) >= 38
    tags = {tag["name"] for tag in document["tags"]}
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert op.get("summary") and op.get("description"), where
        assert op.get("tags") and set(op["tags"]) <= tags, where
        assert re.fullmatch(r"[a-z_]+", op["operationId"]), where
        successes = [code for code in op["responses"] if code.startswith("2")]
        # one success, or a PUT that creates (201) or replaces (200)
        assert len(successes) == 1 or (method == "put" and set(successes) == {"200", "201"}), where
        for success in successes:
            if success != "204":
                assert "$ref" in op["responses"][success]["content"]["application/json"]["schema"], where
        if path == "/health":
            assert "security" not in op
            continue
        assert op["security"] == [{"bearer": []}], where
        assert {"401", "500"} <= set(op["responses"]), where
        if method in ("post", "put", "patch"):
            assert "403" in op["responses"], where  # a read-only role may not
        if "requestBody" in op:  # a write with a body (a link or a removal may have none)
            assert {"400", "413", "422"} <= set(op["responses"]), where
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            name = schema["$ref"].rsplit("/", 1)[1]
            assert document["components"]["schemas"][name]["additionalProperties"] is False, where
        if "{" in path and not (method == "put" and "201" in successes):  # a PUT that creates finds none
            assert "404" in op["responses"], where


def test_every_error_response_uses_the_one_error_schema(document: dict[str, Any]) -> None:
    for path, method, op in _operations(document):
        for code, response in op["responses"].items():
            if code[0] in "45":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)
    error = document["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"status", "message", "problems"}
    assert error["properties"]["problems"]["items"] == {"$ref": "#/components/schemas/FieldProblem"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_the_bearer_scheme_is_documented(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "dealsight tokens create" in scheme["description"]


def test_list_parameters_carry_the_paging_bounds(document: dict[str, Any]) -> None:
    params = {p["name"]: p for p in document["paths"]["/api/v1/opportunities"]["get"]["parameters"]}
    assert params["limit"]["schema"]["minimum"] == 1 and params["limit"]["schema"]["maximum"] == 500
    assert params["offset"]["schema"]["minimum"] == 0
    assert "-field" in params["sort"]["description"]
    assert set(params["status"]["schema"]["$ref"].rsplit("/", 1)[1:]) == {"DealStatus"}


def test_the_docs_pages_need_no_token(sqlite_world: World) -> None:
    assert sqlite_world.client.get("/docs").status_code == 200
    assert sqlite_world.client.get("/redoc").status_code == 200


def test_docs_api_md_lists_exactly_the_documented_routes(document: dict[str, Any]) -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    table = text.split("## Authentication")[0]
    listed = {
        (method, re.sub(r"\{[^}]+\}", "{}", path))
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`", table)
    }
    served = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path.removeprefix("/api/v1")))
        for path, operations in document["paths"].items()
        for method in operations
        if path.startswith("/api/v1")
    }
    assert listed == served


def test_the_asgi_factory_serves_the_database_of_the_environment(
    sqlite_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from dealsight.api import asgi
    from dealsight.config import get_settings

    url = sqlite_world.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DEALSIGHT_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        client = TestClient(asgi.app())
        health = client.get("/health").json()
        me = client.get("/api/v1/me", headers=sqlite_world.headers("manager")).json()
    finally:
        get_settings.cache_clear()
    assert health["opportunities"] == sqlite_world.count(opportunities)
    assert me["id"] == sqlite_world.users["manager"]
