"""``/api/v1/surveys``: every role reads, admins and managers write, the one error shape names the field of
each bad answer, nothing is written by a refused request, and the analysis answers (SQLite and PostgreSQL).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from dealsight.store.schema import audit_log, contacts, survey_respondents, surveys
from tests import api_fixtures
from tests.api_fixtures import ROLES, World, unique

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world
pg_world = api_fixtures.pg_world
world = api_fixtures.world

NEEDS = ["price", "service", "quality"]
WRITES = {"admin": 201, "manager": 201, "executive": 403, "rep": 403}


def _assert_error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["message"]
    if field is not None:
        assert field in {problem["field"] for problem in body["problems"]}, body
    return body


def _survey(world: World, role: str = "admin") -> dict[str, Any]:
    body = {
        "name": unique("API survey"),
        "conducted_on": "2026-09-30",
        "needs": NEEDS,
        "competitors": ["Acme"],
    }
    response = world.call(role, "POST", "/surveys", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _answer(respondent: str, points: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "respondent": respondent,
        "points": points or {"price": 20, "service": 50, "quality": 30},
        "ratings": {"us": {"price": 6, "service": 9, "quality": 7}, "Acme": {"price": 7, "service": 4}},
        **extra,
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_surveys_and_their_analysis(sqlite_world: World, role: str) -> None:
    survey = _survey(sqlite_world)
    for number in range(3):
        answer = _answer(f"C{number}", segment="smb")
        assert (
            sqlite_world.call("admin", "POST", f"/surveys/{survey['id']}/responses", json=answer).status_code
            == 201
        )
    listed = sqlite_world.call(role, "GET", "/surveys", params={"limit": 500})
    assert listed.status_code == 200 and survey["id"] in {s["id"] for s in listed.json()["items"]}
    one = sqlite_world.call(role, "GET", f"/surveys/{survey['id']}").json()
    assert (one["customers"], one["internal"], one["competitors"]) == (3, 0, ["Acme"])
    analysis = sqlite_world.call(role, "GET", f"/surveys/{survey['id']}/analysis", params={"resamples": 200})
    assert analysis.status_code == 200, analysis.text
    found = analysis.json()["analysis"]
    assert [w["points"] for w in found["weights"]["needs"]] == pytest.approx([20, 50, 30])
    assert found["grid"]["leader"] == "Acme" and found["flanking"][0]["need"] == "service"
    assert found["weights"]["small_sample"] and found["notes"]


def test_anonymous_callers_get_401(sqlite_world: World) -> None:
    survey = _survey(sqlite_world)
    for method, path in (
        ("GET", "/surveys"),
        ("GET", f"/surveys/{survey['id']}"),
        ("GET", f"/surveys/{survey['id']}/analysis"),
        ("POST", f"/surveys/{survey['id']}/responses"),
    ):
        _assert_error(sqlite_world.call(None, method, path, json=_answer("x")), 401)


@pytest.mark.parametrize("role", ROLES)
def test_admins_and_managers_write_others_are_refused(world: World, role: str) -> None:
    survey = _survey(world)
    before = world.counts(surveys, survey_respondents)
    created = world.call(role, "POST", "/surveys", json={"name": unique("by role")})
    answered = world.call(role, "POST", f"/surveys/{survey['id']}/responses", json=_answer(f"{role} answer"))
    if WRITES[role] == 201:
        assert created.status_code == 201 and created.json()["needs"] == [
            "brand",
            "product",
            "quality",
            "price",
            "service",
        ]
        assert answered.status_code == 201, answered.text
        assert answered.json()["points"] == {"price": 20, "service": 50, "quality": 30}
        with world.engine.connect() as conn:
            entry = conn.execute(
                sa.select(audit_log.c.actor_id, audit_log.c.via, audit_log.c.new_value).where(
                    audit_log.c.entity == "survey_respondent",
                    audit_log.c.entity_id == answered.json()["id"],
                    audit_log.c.field == "points",
                )
            ).one()
        assert tuple(entry) == (world.users[role], "api", "price 20, service 50, quality 30")
    else:
        _assert_error(created, 403)
        _assert_error(answered, 403)
        assert world.counts(surveys, survey_respondents) == before


BAD_ANSWERS = {
    "points that do not add up": (
        {"price": 20, "service": 50, "quality": 25},
        {},
        "body.points",
        "they add up to 95",
    ),
    "negative points": ({"price": -10, "service": 80, "quality": 30}, {}, "body.points.price", "0 to 100"),
    "an unknown need": (
        {"price": 50, "delivery": 50},
        {},
        "body.points.delivery",
        "not one of the survey's needs",
    ),
    "a rating over 10": (None, {"ratings": {"us": {"price": 11}}}, "body.ratings.us.price", "0 to 10"),
    "an unknown vendor": (
        None,
        {"ratings": {"Globex": {"price": 5}}},
        "body.ratings.Globex",
        "vendors (us, Acme)",
    ),
    "an internal answer without function": (
        None,
        {"respondent_type": "internal"},
        "body.function",
        "function",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_ANSWERS))
def test_a_bad_answer_names_its_field_and_writes_nothing(world: World, kind: str) -> None:
    points, extra, field, words = BAD_ANSWERS[kind]
    survey = _survey(world)
    before = world.counts(survey_respondents)
    body = _answer("bad", points) | extra
    found = _assert_error(
        world.call("manager", "POST", f"/surveys/{survey['id']}/responses", json=body), 422, field
    )
    assert words in found["message"]
    assert world.counts(survey_respondents) == before


def test_a_respondent_answers_once(world: World) -> None:
    survey = _survey(world)
    path = f"/surveys/{survey['id']}/responses"
    assert world.call("admin", "POST", path, json=_answer("Dana")).status_code == 201
    before = world.counts(survey_respondents)
    found = _assert_error(world.call("admin", "POST", path, json=_answer("dana")), 409)
    assert "answered the survey" in found["message"] and world.counts(survey_respondents) == before


def test_a_contact_brings_its_account(world: World) -> None:
    survey = _survey(world)
    with world.engine.connect() as conn:
        contact_id, account_id = conn.execute(
            sa.select(contacts.c.id, contacts.c.account_id).where(contacts.c.account_id.is_not(None)).limit(1)
        ).one()
    path = f"/surveys/{survey['id']}/responses"
    stored = world.call("admin", "POST", path, json=_answer("linked", contact_id=contact_id)).json()
    assert (stored["contact_id"], stored["account_id"]) == (contact_id, account_id)
    _assert_error(
        world.call("admin", "POST", path, json=_answer("ghost", contact_id=10**8)), 422, "body.contact_id"
    )


def test_the_analysis_of_a_segment_and_its_errors(sqlite_world: World) -> None:
    survey = _survey(sqlite_world)
    path = f"/surveys/{survey['id']}"
    for name, segment, points in (("A", "smb", 20), ("B", "smb", 40), ("C", "enterprise", 60)):
        answer = _answer(name, {"price": points, "service": 100 - points}, segment=segment)
        assert sqlite_world.call("manager", "POST", f"{path}/responses", json=answer).status_code == 201
    internal = _answer("S1", {"price": 90, "service": 10}, function="sales")
    assert sqlite_world.call("manager", "POST", f"{path}/responses", json=internal).status_code == 201
    smb = sqlite_world.call(
        "rep", "GET", f"{path}/analysis", params={"segment": "SMB", "resamples": 100}
    ).json()
    assert smb["segment"] == "SMB" and smb["analysis"]["customers"] == 2
    assert smb["analysis"]["weights"]["needs"][0]["points"] == pytest.approx(30)
    (sales,) = smb["analysis"]["gaps"]
    assert sales["function"] == "sales" and sales["most_wrong"][0]["need"] in ("price", "service")
    assert sales["weights"][0]["gap"] == pytest.approx(60)
    _assert_error(sqlite_world.call("rep", "GET", f"{path}/analysis", params={"industry": "mining"}), 422)
    _assert_error(
        sqlite_world.call("rep", "GET", f"{path}/analysis", params={"resamples": 5}), 422, "query.resamples"
    )
    _assert_error(sqlite_world.call("rep", "GET", "/surveys/999999/analysis"), 404)
    _assert_error(sqlite_world.call("rep", "GET", "/surveys/999999"), 404)


def test_survey_definitions_are_checked(sqlite_world: World) -> None:
    name = unique("checked")
    bad = sqlite_world.call("admin", "POST", "/surveys", json={"name": name, "needs": ["price"]})
    _assert_error(bad, 422, "body.needs")
    twice = sqlite_world.call("admin", "POST", "/surveys", json={"name": name, "competitors": ["us"]})
    _assert_error(twice, 422, "body.competitors")
    assert sqlite_world.call("admin", "POST", "/surveys", json={"name": name}).status_code == 201
    _assert_error(sqlite_world.call("manager", "POST", "/surveys", json={"name": name.upper()}), 409)
