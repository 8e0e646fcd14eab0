"""The admin pages: only admins get in; users and teams are created and changed through the forms (audited
as made via the web), problems are shown next to their fields, and the audit log is paged."""

from __future__ import annotations

import re

import pytest

from dealsight.errors import AuthenticationError, NotFoundError
from dealsight.services.audit import audit_log
from dealsight.services.auth import authenticate, session_principal
from dealsight.services.users import create_team, find_user, get_team, get_user, list_teams, list_users
from dealsight.web.admin import USER_FORM, form_values
from dealsight.web.core import SESSION_COOKIE
from tests import test_web_fixtures
from tests.test_web_fixtures import Browser, Demo, text_of

demo = test_web_fixtures.demo
NEW_PASSWORD = "a-new-password-42"


@pytest.fixture(scope="module")
def admin(demo: Demo) -> Browser:
    return demo.browser("admin")


def _created_id(response: object, kind: str) -> int:
    location = response.headers["location"]  # type: ignore[attr-defined]
    found = re.fullmatch(rf"/admin/{kind}/(\d+)\?saved=created", location)
    assert found, location
    return int(found.group(1))


@pytest.mark.parametrize("role", ["executive", "manager", "rep"])
def test_only_admins_get_in(demo: Demo, role: str) -> None:
    client = demo.browser(role)
    client.get("/pipeline")
    for path in (
        "/admin",
        "/admin/users/new",
        "/admin/audit",
        f"/admin/users/{demo.principals[role].user_id}",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "only an admin may open the admin pages" in response.text
    before = len(list_users(demo.engine, limit=None))
    response = client.post_form(
        "/admin/users", {"name": "Mallory", "email": "mallory@example.com", "role": "admin"}
    )
    assert response.status_code == 403
    assert len(list_users(demo.engine, limit=None)) == before
    assert ">Admin</a>" not in client.get("/pipeline").text  # no link to it either


def test_the_admin_page_lists_users_teams_and_latest_changes(demo: Demo, admin: Browser) -> None:
    response = admin.get("/admin")
    assert response.status_code == 200
    text = text_of(response.text)
    users = list_users(demo.engine, limit=50)
    for user in users:
        assert user.name in text
    for team in list_teams(demo.engine):
        assert f'href="/admin/teams/{team.id}"' in response.text
    assert "Latest changes" in text and 'scope="col">Role<' in response.text


def test_create_a_user(demo: Demo, admin: Browser) -> None:
    team = list_teams(demo.engine)[1]
    admin.get("/admin/users/new")
    response = admin.post_form(
        "/admin/users",
        {
            "name": "Grace Hopper",
            "email": "Grace@Example.com",
            "role": "manager",
            "team_id": str(team.id),
            "manager_id": "",
            "password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 303
    user_id = _created_id(response, "users")
    user = get_user(demo.engine, user_id)
    assert (user.email, user.role.value, user.team_id, user.has_password) == (
        "grace@example.com",
        "manager",
        team.id,
        True,
    )
    assert authenticate(demo.engine, "grace@example.com", NEW_PASSWORD).user_id == user_id
    page = admin.get(response.headers["location"])
    assert "User created." in page.text
    entries = audit_log(demo.engine, demo.principals["admin"], entity="user", entity_id=user_id).items
    assert {e.via for e in entries} == {"web"} and {e.action for e in entries} == {"create"}
    assert any(e.field == "password" and e.new_value == "(set)" for e in entries)


def test_bad_user_input_is_shown_next_to_the_field(demo: Demo, admin: Browser) -> None:
    admin.get("/admin/users/new")
    response = admin.post_form("/admin/users", {"name": "", "email": "not-an-address", "role": "rep"})
    assert response.status_code == 422
    assert re.search(r'id="name-error">[^<]*a name is required', response.text) or re.search(
        r'id="email-error">[^<]*is not an e-mail address', response.text
    )
    assert 'aria-invalid="true"' in response.text
    assert 'value="not-an-address"' in response.text  # what was typed stays
    response = admin.post_form(
        "/admin/users", {"name": "Short", "email": "short@example.com", "role": "rep", "password": "short"}
    )
    assert response.status_code == 422
    assert re.search(r'id="password-error">[^<]*at least 10 characters', response.text)
    taken = admin.post_form("/admin/users", {"name": "Again", "email": demo.emails["rep"], "role": "rep"})
    assert taken.status_code == 409
    assert "already used" in taken.text and 'role="alert"' in taken.text
    with pytest.raises(NotFoundError):  # nothing was created
        find_user(demo.engine, "short@example.com")


def test_change_role_team_and_manager(demo: Demo, admin: Browser) -> None:
    user = next(
        u for u in list_users(demo.engine, role="rep", limit=None) if u.id != demo.principals["rep"].user_id
    )
    other_team = next(t for t in list_teams(demo.engine) if t.id != user.team_id)
    manager = demo.principals["manager"]
    admin.get(f"/admin/users/{user.id}")
    response = admin.post_form(
        f"/admin/users/{user.id}",
        {
            "name": user.name,
            "email": user.email or "",
            "role": "manager",
            "team_id": str(other_team.id),
            "manager_id": str(manager.user_id),
        },
    )
    assert response.status_code == 303 and response.headers["location"].endswith("?saved=details")
    changed = get_user(demo.engine, user.id)
    assert (changed.role.value, changed.team_id, changed.manager_id) == (
        "manager",
        other_team.id,
        manager.user_id,
    )
    entries = audit_log(demo.engine, demo.principals["admin"], entity="user", entity_id=user.id).items
    differed = {"role", "team_id"} | ({"manager_id"} if user.manager_id != manager.user_id else set())
    assert {e.field for e in entries} == differed  # only what changed
    loop = admin.post_form(
        f"/admin/users/{manager.user_id}", {**_values(demo, manager.user_id), "manager_id": str(user.id)}
    )
    assert loop.status_code == 422 and 'id="manager_id-error"' in loop.text


def _values(demo: Demo, user_id: int) -> dict[str, str]:
    """The user's form as their page fills it in."""
    return form_values(get_user(demo.engine, user_id), USER_FORM)


def test_deactivate_and_activate(demo: Demo, admin: Browser) -> None:
    rep = demo.browser("rep")
    token = rep.cookies[SESSION_COOKIE]
    rep_id = demo.principals["rep"].user_id
    admin.get(f"/admin/users/{rep_id}")
    response = admin.post_form(f"/admin/users/{rep_id}/active", {"active": "false"})
    assert response.status_code == 303
    assert get_user(demo.engine, rep_id).active is False
    with pytest.raises(AuthenticationError):
        session_principal(demo.engine, token)
    assert rep.get("/pipeline").status_code == 303  # back to the sign-in page
    assert "User deactivated" in admin.get(response.headers["location"]).text
    response = admin.post_form(f"/admin/users/{rep_id}/active", {"active": "true"})
    assert response.status_code == 303 and get_user(demo.engine, rep_id).active is True
    assert demo.browser("rep").get("/pipeline").status_code == 200


def test_the_last_admin_cannot_be_demoted(demo: Demo, admin: Browser) -> None:
    admin_id = demo.principals["admin"].user_id
    if len(list_users(demo.engine, role="admin", active=True, limit=None)) > 1:
        pytest.skip("the demo has more than one admin")
    admin.get(f"/admin/users/{admin_id}")
    response = admin.post_form(f"/admin/users/{admin_id}", {**_values(demo, admin_id), "role": "rep"})
    assert response.status_code == 409
    assert "last active admin" in response.text
    assert get_user(demo.engine, admin_id).role.value == "admin"


def test_set_a_password(demo: Demo, admin: Browser) -> None:
    executive_id = demo.principals["executive"].user_id
    admin.get(f"/admin/users/{executive_id}")
    url = f"/admin/users/{executive_id}/password"
    mismatch = admin.post_form(url, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD + "x"})
    assert (
        mismatch.status_code == 422
        and 'id="password_confirm-error">the two passwords differ' in mismatch.text
    )
    short = admin.post_form(url, {"password": "short", "password_confirm": "short"})
    assert short.status_code == 422 and re.search(r'id="password-error">[^<]*at least 10', short.text)
    done = admin.post_form(url, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 303
    assert authenticate(demo.engine, demo.emails["executive"], NEW_PASSWORD).user_id == executive_id
    admin.post_form(url, {"password": "dealsight-demo", "password_confirm": "dealsight-demo"})


def test_an_admin_setting_their_own_password_stays_signed_in(demo: Demo, admin: Browser) -> None:
    client = admin
    admin_id = demo.principals["admin"].user_id
    old = client.cookies[SESSION_COOKIE]
    client.get(f"/admin/users/{admin_id}")
    response = client.post_form(
        f"/admin/users/{admin_id}/password", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert response.status_code == 303
    assert client.cookies[SESSION_COOKIE] != old
    with pytest.raises(AuthenticationError):
        session_principal(demo.engine, old)
    assert client.get("/admin").status_code == 200
    client.get(f"/admin/users/{admin_id}")
    client.post_form(
        f"/admin/users/{admin_id}/password",
        {"password": "dealsight-demo", "password_confirm": "dealsight-demo"},
    )


def test_create_rename_and_move_teams(demo: Demo, admin: Browser) -> None:
    parent = list_teams(demo.engine)[0]
    admin.get("/admin/teams/new")
    response = admin.post_form(
        "/admin/teams",
        {
            "name": "Partners",
            "parent_id": str(parent.id),
            "manager_id": str(demo.principals["manager"].user_id),
        },
    )
    assert response.status_code == 303
    team_id = _created_id(response, "teams")
    team = get_team(demo.engine, team_id)
    assert (team.name, team.parent_id, team.manager_id) == (
        "Partners",
        parent.id,
        demo.principals["manager"].user_id,
    )
    admin.get(f"/admin/teams/{team_id}")
    renamed = admin.post_form(
        f"/admin/teams/{team_id}", {"name": "Channel partners", "parent_id": "", "manager_id": ""}
    )
    assert renamed.status_code == 303
    team = get_team(demo.engine, team_id)
    assert (team.name, team.parent_id, team.manager_id) == ("Channel partners", None, None)
    assert "Changes saved." in admin.get(renamed.headers["location"]).text
    taken = admin.post_form("/admin/teams", {"name": parent.name})
    assert taken.status_code == 409 and "already exists" in taken.text
    # a team cannot be put below its own sub-team
    admin.post_form(
        f"/admin/teams/{team_id}", {"name": "Channel partners", "parent_id": str(parent.id), "manager_id": ""}
    )
    loop = admin.post_form(
        f"/admin/teams/{parent.id}", {"name": parent.name, "parent_id": str(team_id), "manager_id": ""}
    )
    assert loop.status_code == 422 and 'id="parent_id-error"' in loop.text
    entries = audit_log(demo.engine, demo.principals["admin"], entity="team", entity_id=team_id).items
    assert entries and {e.via for e in entries} == {"web"}


def test_the_audit_log_is_paged(demo: Demo, admin: Browser) -> None:
    actor = demo.principals["admin"]
    for number in range(60 - audit_log(demo.engine, actor, limit=1).total):
        create_team(demo.engine, actor, f"Audit page filler {number}", via="web")
    log = audit_log(demo.engine, actor, limit=50)
    assert log.total > 50
    first = admin.get("/admin/audit")
    assert first.status_code == 200
    assert f"{log.total:,} in all" in text_of(first.text)
    assert 'rel="next"' in first.text and "Page 1 of 2" in text_of(first.text)
    second = admin.get("/admin/audit?page=2")
    rows = second.text.split("<tbody>")[1].count("<tr>")
    assert rows == log.total - 50
    teams_only = admin.get("/admin/audit?entity=team").text.split("<tbody>")[1]
    assert 'href="/admin/teams/' in teams_only and 'href="/admin/users/' not in teams_only
