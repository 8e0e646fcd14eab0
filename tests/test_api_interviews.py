"""``/api/v1/interview-guide``, ``/interviews`` and ``/interview-answers``: every role reads the guide,
admins and managers edit it; interviews are seen and recorded within the caller's view of contacts; the
one error shape names each bad field and a refused request writes nothing; search and its filters
(SQLite and PostgreSQL, on the demo world with its interviews)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from dealsight.services.records import contact_visible, opportunity_visible
from dealsight.store.schema import (
    audit_log,
    contacts,
    interview_answers,
    interview_questions,
    interviews,
    opportunities,
)
from tests import api_fixtures
from tests.api_fixtures import ROLES, World, unique

pytestmark = pytest.mark.storage
sqlite_world = api_fixtures.sqlite_world
pg_world = api_fixtures.pg_world
world = api_fixtures.world

EDITS = {"admin": True, "manager": True, "executive": False, "rep": False}


def _error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["message"]
    if field is not None:
        assert field in {p["field"] for p in body["problems"]}, body
    return body


def _deal_of_contact(world: World, contact_id: int) -> int | None:
    with world.engine.connect() as conn:
        account = conn.execute(
            sa.select(contacts.c.account_id).where(contacts.c.id == contact_id)
        ).scalar_one()
        found = conn.execute(
            sa.select(opportunities.c.id)
            .where(opportunities.c.account_id == account, opportunity_visible(world.scope("rep")))
            .order_by(opportunities.c.id)
        ).first()
    return None if found is None else int(found[0])


def _interview(world: World, role: str = "rep", contact: str = "own_contact", **extra: Any) -> Any:
    body = {
        "contact_id": world.ids[contact],
        "interviewed_on": "2026-06-01",
        "answers": [
            {"question": "why_bought", "answer": "The backtest on our own data", "tags": ["need:product"]},
            {"question": "questions_asked", "answer": "Can we pay quarterly?", "tags": ["stage:decision"]},
            {"question": "questions_asked", "answer": "Who trains our admins?", "tags": ["stage:adoption"]},
        ],
        **extra,
    }
    return world.call(role, "POST", "/interviews", json=body)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_guide(sqlite_world: World, role: str) -> None:
    guide = sqlite_world.call(role, "GET", "/interview-guide")
    assert guide.status_code == 200, guide.text
    body = guide.json()
    assert body["name"] == "default" and body["version"] >= 1 and len(body["questions"]) >= 13
    assert {"key": "why_bought", "topic": "why_bought"}.items() <= body["questions"][1].items()
    _error(sqlite_world.call(role, "GET", "/interview-guide", params={"guide": "nope"}), 404)
    _error(sqlite_world.call(None, "GET", "/interview-guide"), 401)


@pytest.mark.parametrize("role", ROLES)
def test_admins_and_managers_edit_the_guide_and_each_edit_is_a_version(world: World, role: str) -> None:
    before = world.call("admin", "GET", "/interview-guide").json()
    counts = world.counts(interview_questions)
    text = unique("What would make you recommend us")
    added = world.call(
        role, "POST", "/interview-guide/questions", json={"text": text, "topic": "peer_advice"}
    )
    if not EDITS[role]:
        _error(added, 403)
        _error(world.call(role, "PATCH", "/interview-guide/questions/trigger", json={"text": "Why?"}), 403)
        assert world.counts(interview_questions) == counts
        return
    assert added.status_code == 201, added.text
    after = added.json()
    assert after["version"] == before["version"] + 1
    new = after["questions"][-1]
    assert new["text"] == text and new["topic"] == "peer_advice" and new["key"].startswith("what_would_make")
    moved = world.call(role, "PATCH", f"/interview-guide/questions/{new['key']}", json={"position": 1})
    assert moved.status_code == 200 and moved.json()["questions"][0]["key"] == new["key"]
    retired = world.call(role, "PATCH", f"/interview-guide/questions/{new['key']}", json={"retired": True})
    assert (
        retired.json()["questions"][0]["retired"] is True
        and retired.json()["version"] == before["version"] + 3
    )
    with world.engine.connect() as conn:
        fields = set(
            conn.execute(
                sa.select(audit_log.c.field).where(
                    audit_log.c.entity == "interview_guide", audit_log.c.actor_id == world.users[role]
                )
            ).scalars()
        )
    assert {f"{new['key']}.text", f"{new['key']}.retired", "version"} <= fields


def test_bad_guide_edits_name_their_field(sqlite_world: World) -> None:
    _error(
        sqlite_world.call("admin", "POST", "/interview-guide/questions", json={"text": " "}), 422, "body.text"
    )
    found = _error(
        sqlite_world.call(
            "admin", "POST", "/interview-guide/questions", json={"text": "Why?", "key": "why_bought"}
        ),
        422,
        "body.key",
    )
    assert "already" in found["message"]
    _error(
        sqlite_world.call(
            "admin", "POST", "/interview-guide/questions", json={"text": "Why?", "key": "Bad Key"}
        ),
        422,
        "body.key",
    )
    _error(sqlite_world.call("admin", "PATCH", "/interview-guide/questions/nope", json={"text": "x"}), 404)
    _error(
        sqlite_world.call("admin", "PATCH", "/interview-guide/questions/trigger", json={"topic": "gossip"}),
        422,
        "body.topic",
    )


@pytest.mark.parametrize("role", ROLES)
def test_recording_an_interview_by_role(world: World, role: str) -> None:
    contact = "own_contact" if role == "rep" else "other_contact" if role == "admin" else "own_contact"
    before = world.counts(interviews, interview_answers)
    response = _interview(world, role, contact, note="After the quarterly review")
    if role == "executive":
        _error(response, 403)
        assert world.counts(interviews, interview_answers) == before
        return
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["contact_id"] == world.ids[contact] and body["interviewer_id"] == world.users[role]
    assert [a["question_key"] for a in body["answers"]] == [
        "why_bought",
        "questions_asked",
        "questions_asked",
    ]
    assert body["answers"][0]["tags"] == ["need:product"] and body["guide_name"] == "default"
    assert world.call(role, "GET", f"/interviews/{body['id']}").json()["answers"] == body["answers"]
    with world.engine.connect() as conn:
        audited = conn.execute(
            sa.select(audit_log.c.field, audit_log.c.new_value).where(
                audit_log.c.entity == "interview", audit_log.c.entity_id == body["id"]
            )
        ).all()
    assert ("answer 1: why_bought", "The backtest on our own data [need:product]") in [
        tuple(a) for a in audited
    ]


def test_a_rep_cannot_record_or_read_outside_their_view(world: World) -> None:
    before = world.counts(interviews, interview_answers)
    _error(_interview(world, "rep", "other_contact"), 422, "body.contact_id")
    assert world.counts(interviews, interview_answers) == before
    theirs = _interview(world, "admin", "other_contact").json()
    _error(world.call("rep", "GET", f"/interviews/{theirs['id']}"), 404)
    _error(world.call("manager", "GET", f"/interviews/{theirs['id']}"), 404)
    assert world.call("executive", "GET", f"/interviews/{theirs['id']}").status_code == 200
    listed = world.call("rep", "GET", "/interviews", params={"limit": 500}).json()
    scope = world.scope("rep")
    with world.engine.connect() as conn:
        visible = set(
            conn.execute(
                sa.select(interviews.c.id)
                .join(contacts, contacts.c.id == interviews.c.contact_id)
                .where(contact_visible(scope, contacts))
            ).scalars()
        )
    assert listed["total"] == len(visible) and {i["id"] for i in listed["items"]} <= visible
    assert theirs["id"] not in {i["id"] for i in listed["items"]}


BAD = {
    "an unknown question": ({"answers": [{"question": "nope", "answer": "x"}]}, "body.answers[1].question"),
    "an empty answer": ({"answers": [{"question": "value", "answer": " "}]}, "body.answers[1].answer"),
    "a stage tag that is no stage": (
        {"answers": [{"question": "value", "answer": "x", "tags": ["stage:closing"]}]},
        "body.answers[1].tags",
    ),
    "a deal of another account": ({"opportunity_id": "other_deal"}, "body.opportunity_id"),
    "an interviewer the rep cannot name": ({"interviewer_id": "admin"}, "body.interviewer_id"),
    "no answers": ({"answers": []}, "body.answers"),
    "an unknown guide": ({"guide": "nope"}, "body.guide"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_interview_names_its_field_and_writes_nothing(world: World, kind: str) -> None:
    change, field = BAD[kind]
    if change.get("opportunity_id") == "other_deal":
        change = {"opportunity_id": world.ids["other_deal"]}
    if change.get("interviewer_id") == "admin":
        change = {"interviewer_id": world.users["admin"]}
    before = world.counts(interviews, interview_answers)
    _error(_interview(world, "rep", **change), 422, field)
    assert world.counts(interviews, interview_answers) == before


def test_the_deal_of_the_contact_is_linked_and_retired_questions_keep_their_answers(
    sqlite_world: World,
) -> None:
    world = sqlite_world
    deal = _deal_of_contact(world, world.ids["own_contact"])
    assert deal is not None
    text = unique("What surprised you")
    key = world.call("admin", "POST", "/interview-guide/questions", json={"text": text}).json()["questions"][
        -1
    ]["key"]
    body = {
        "contact_id": world.ids["own_contact"],
        "interviewed_on": "2026-06-02",
        "opportunity_id": deal,
        "answers": [{"question": key, "answer": "How quickly it paid back"}],
    }
    first = world.call("rep", "POST", "/interviews", json=body)
    assert first.status_code == 201 and first.json()["opportunity_id"] == deal
    assert (
        world.call(
            "admin", "PATCH", f"/interview-guide/questions/{key}", json={"text": "Reworded?"}
        ).status_code
        == 200
    )
    assert (
        world.call("admin", "PATCH", f"/interview-guide/questions/{key}", json={"retired": True}).status_code
        == 200
    )
    kept = world.call("rep", "GET", f"/interviews/{first.json()['id']}").json()
    assert (
        kept["answers"][0]["question_text"] == text
        and kept["answers"][0]["answer"] == "How quickly it paid back"
    )
    found = _error(world.call("rep", "POST", "/interviews", json=body), 422, "body.answers[1].question")
    assert "retired" in found["message"]


def test_search_finds_every_word_within_the_callers_view(world: World) -> None:
    word = unique("Zebracorn").replace(" ", "")
    mine = _interview(
        world,
        "rep",
        answers=[
            {
                "question": "peer_advice",
                "answer": f"Insist on the {word} trial, 100% worth it",
                "tags": ["onboarding"],
            }
        ],
    ).json()
    theirs = _interview(
        world,
        "admin",
        "other_contact",
        answers=[{"question": "peer_advice", "answer": f"{word} trial was slow"}],
    ).json()

    def ids(role: str, **params: Any) -> set[int]:
        response = world.call(role, "GET", "/interview-answers", params={"limit": 500, **params})
        assert response.status_code == 200, response.text
        return {hit["interview_id"] for hit in response.json()["items"]}

    assert ids("rep", text=f"{word.lower()} TRIAL") == {mine["id"]}
    assert ids("admin", text=f"{word} trial") == {mine["id"], theirs["id"]}
    assert ids("executive", text=f"{word} trial") == {mine["id"], theirs["id"]}
    assert ids("admin", text=f"{word} 100%") == {mine["id"]}  # % is a character, not a wildcard
    assert ids("admin", text=f"{word} 1_0") == set()
    assert ids("admin", text=word, tag="onboarding") == {mine["id"]}
    assert ids("admin", text=word, tag="theme:onboarding") == {mine["id"]}
    assert ids("admin", text=word, topic="peer_advice") == {mine["id"], theirs["id"]}
    assert ids("admin", text=word, topic="value") == set()
    assert ids("admin", text=word, question="peer_advice", contact_id=world.ids["own_contact"]) == {
        mine["id"]
    }
    segment = world.call("admin", "GET", f"/interviews/{mine['id']}").json()["segment"]
    assert ids("admin", text=word, segment=segment.upper()) >= {mine["id"]}
    _error(
        world.call("admin", "GET", "/interview-answers", params={"tag": "stage:closing"}), 422, "query.tag"
    )
    _error(world.call("admin", "GET", "/interview-answers", params={"topic": "gossip"}), 422, "query.topic")


def test_the_demo_interviews_are_searchable_by_stage(sqlite_world: World) -> None:
    found = sqlite_world.call(
        "admin", "GET", "/interview-answers", params={"tag": "stage:decision", "topic": "questions_asked"}
    ).json()
    assert found["total"] > 5
    assert all(
        "stage:decision" in hit["tags"] and hit["topic"] == "questions_asked" for hit in found["items"]
    )
