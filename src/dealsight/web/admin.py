"""The admin pages (``/admin``): users, teams and the audit log. Admins only; anyone else gets the 403 page.

Every change goes through :mod:`dealsight.services.users` or :mod:`dealsight.services.teams` with
``via="web"`` (so it is audited) after the CSRF check; a :class:`~dealsight.errors.ValidationError`
re-renders the form with each problem next to its field (422), a :class:`~dealsight.errors.ConflictError`
(an e-mail or team name taken, the last admin) above the form (409). A successful change redirects (303)
to the record's page with a "saved" note.

Only changed fields are sent to ``update_user`` / ``update_team``. An admin who sets their own password
ends their other sessions and gets a new one here (the service ends all of a user's sessions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from dealsight.domain.enums import UserRole
from dealsight.errors import ConflictError, FieldProblem, ValidationError
from dealsight.services.access import require_admin
from dealsight.services.audit import audit_log
from dealsight.services.auth import start_session
from dealsight.services.records import invalid
from dealsight.services.teams import TeamView, create_team, get_team, list_teams, update_team
from dealsight.services.users import UserView, create_user, get_user, list_users, set_password, update_user
from dealsight.web.core import (
    PageRoute,
    Visitor,
    check_csrf,
    current_visitor,
    read_form,
    redirect,
    render,
    set_session_cookie,
    web_of,
)


def current_admin(visitor: Visitor = Depends(current_visitor)) -> Visitor:
    require_admin(visitor.principal, "open the admin pages")
    return visitor


router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=[Depends(current_admin)])
USERS_PER_PAGE = 50
AUDIT_PER_PAGE = 50
AUDIT_ENTITIES = ("opportunity", "account", "contact", "activity", "user", "team", "api_token")
ROLES = [(role.value, role.value.capitalize()) for role in UserRole]
USER_FORM = ("name", "email", "role", "team_id", "manager_id")
TEAM_FORM = ("name", "parent_id", "manager_id")
NEW_USER = {"role": UserRole.REP.value}


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdecimal() and int(raw) >= 1 else 1


def form_values(record: UserView | TeamView | None, fields: Sequence[str]) -> dict[str, str]:
    """The form of ``record`` as its page fills it in: each field as text, empty for none (a new user is
    a rep)."""
    if record is None:
        return {name: NEW_USER.get(name, "") for name in fields}
    return {name: _as_text(getattr(record, name)) for name in fields}


def _as_text(value: object) -> str:
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


def _posted(form: Mapping[str, str], fields: Sequence[str]) -> dict[str, str]:
    return {name: form.get(name, "").strip() for name in fields}


def _ids(values: Mapping[str, str], names: Sequence[str]) -> dict[str, int | None]:
    """The id fields of a form (empty text is no id); one :class:`ValidationError` naming each bad one."""
    problems = [
        FieldProblem(name, f"expected an id, got {values[name]!r}")
        for name in names
        if values[name] and not values[name].isdecimal()
    ]
    if problems:
        raise invalid(problems)
    return {name: int(values[name]) if values[name] else None for name in names}


def _user_typed(values: Mapping[str, str]) -> dict[str, object]:
    """A user's form as the service takes it (an empty e-mail is none: someone who does not sign in)."""
    typed = {"name": values["name"], "email": values["email"] or None, "role": values["role"]}
    return {**typed, **_ids(values, ("team_id", "manager_id"))}


def _team_typed(values: Mapping[str, str]) -> dict[str, object]:
    return {"name": values["name"], **_ids(values, ("parent_id", "manager_id"))}


def _choices(request: Request) -> dict[str, Any]:
    engine = web_of(request).engine
    people = list_users(engine, limit=None)
    return {
        "roles": ROLES,
        "teams": [(str(team.id), team.name) for team in list_teams(engine)],
        "managers": [
            (str(user.id), f"{user.name} ({user.role.value})")
            for user in sorted(people, key=lambda u: (u.name.casefold(), u.id))
            if user.active
        ],
    }


def _form_page(
    request: Request, template: str, context: Mapping[str, Any], *, status_code: int = 200
) -> Response:
    """A user or team page: its form with the choices it offers, and no problems unless ``context`` has."""
    values = {"errors": {}, "password_errors": {}, "conflict": None, "saved": None, **_choices(request)}
    return render(request, template, {**values, **context}, status_code=status_code)


def _errors(error: ValidationError) -> dict[str, str]:
    return {problem.field: problem.message for problem in error.problems}


def _form_response(
    request: Request,
    template: str,
    context: dict[str, Any],
    action: Callable[[], Response],
) -> Response:
    """Run ``action``; on bad input or a conflict show ``template`` again with the problems."""
    try:
        return action()
    except ValidationError as error:
        errors = _errors(error) or {"form": error.message}
        return _form_page(request, template, {**context, "errors": errors}, status_code=422)
    except ConflictError as error:
        return _form_page(request, template, {**context, "conflict": error.message}, status_code=409)


def _kind(record: UserView | TeamView) -> str:
    """``user`` or ``team``: its page is ``admin/<kind>.html`` at ``/admin/<kind>s/<id>``."""
    return "user" if isinstance(record, UserView) else "team"


def _record_page(request: Request, record: UserView | TeamView, fields: Sequence[str]) -> Response:
    """The page of an existing user or team, with the "saved" note a change redirected here with."""
    kind = _kind(record)
    context = {
        kind: record,
        "values": form_values(record, fields),
        "saved": request.query_params.get("saved"),
    }
    return _form_page(request, f"admin/{kind}.html", context)


def _update_form(
    request: Request,
    form: Mapping[str, str],
    record: UserView | TeamView,
    fields: Sequence[str],
    typed: Callable[[dict[str, str]], dict[str, object]],
    save: Callable[[dict[str, object]], object],
) -> Response:
    """Save a user's or a team's form: only the fields whose text differs from what the page showed, as
    ``typed`` makes them; then back to the page with "Changes saved", or the form again with the problems."""
    kind = _kind(record)
    before, values = form_values(record, fields), _posted(form, fields)

    def update() -> Response:
        new = typed(values)
        save({name: value for name, value in new.items() if values[name] != before[name]})
        return redirect(f"/admin/{kind}s/{record.id}?saved=details")

    return _form_response(request, f"admin/{kind}.html", {kind: record, "values": values}, update)


# overview --------------------------------------------------------------------------------------------------
@router.get("/admin")
def admin_home(request: Request, visitor: Visitor = Depends(current_admin)) -> Response:
    engine = web_of(request).engine
    page = _page_number(request)
    found = list_users(engine, limit=USERS_PER_PAGE + 1, offset=(page - 1) * USERS_PER_PAGE)
    teams = list_teams(engine)
    recent = audit_log(engine, visitor.principal, limit=10)
    context = {
        "users": found[:USERS_PER_PAGE],
        "users_page": page,
        "has_more_users": len(found) > USERS_PER_PAGE,
        "teams": teams,
        "team_names": {team.id: team.name for team in teams},
        "recent": recent,
    }
    return render(request, "admin/index.html", context)


# users -----------------------------------------------------------------------------------------------------
@router.get("/admin/users/new")
def new_user_page(request: Request) -> Response:
    return _form_page(request, "admin/user.html", {"user": None, "values": form_values(None, USER_FORM)})


@router.post("/admin/users")
def create_user_action(
    request: Request, visitor: Visitor = Depends(current_admin), form: dict[str, str] = Depends(read_form)
) -> Response:
    check_csrf(request, visitor, form)
    values = _posted(form, USER_FORM)

    def create() -> Response:
        ids = _ids(values, ("team_id", "manager_id"))
        user = create_user(
            web_of(request).engine,
            visitor.principal,
            name=values["name"],
            email=values["email"],
            role=values["role"],
            password=form.get("password") or None,
            team=ids["team_id"],
            manager=ids["manager_id"],
            via="web",
        )
        return redirect(f"/admin/users/{user.id}?saved=created")

    return _form_response(request, "admin/user.html", {"user": None, "values": values}, create)


@router.get("/admin/users/{user_id}")
def user_page(user_id: int, request: Request) -> Response:
    return _record_page(request, get_user(web_of(request).engine, user_id), USER_FORM)


@router.post("/admin/users/{user_id}")
def update_user_action(
    user_id: int,
    request: Request,
    visitor: Visitor = Depends(current_admin),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    save = partial(update_user, engine, visitor.principal, user_id, via="web")
    return _update_form(request, form, get_user(engine, user_id), USER_FORM, _user_typed, save)


@router.post("/admin/users/{user_id}/active")
def set_active_action(
    user_id: int,
    request: Request,
    visitor: Visitor = Depends(current_admin),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    active = form.get("active") == "true"
    engine = web_of(request).engine
    user = get_user(engine, user_id)

    def apply() -> Response:
        update_user(engine, visitor.principal, user_id, {"active": active}, via="web")
        return redirect(f"/admin/users/{user_id}?saved={'activated' if active else 'deactivated'}")

    context = {"user": user, "values": form_values(user, USER_FORM)}
    return _form_response(request, "admin/user.html", context, apply)


@router.post("/admin/users/{user_id}/password")
def set_password_action(
    user_id: int,
    request: Request,
    visitor: Visitor = Depends(current_admin),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    user = get_user(engine, user_id)
    password = form.get("password", "")
    try:
        if password != form.get("password_confirm", ""):
            raise invalid(
                [FieldProblem("password_confirm", "the two passwords differ; type the same one twice")]
            )
        set_password(engine, visitor.principal, user_id, password, via="web")
    except ValidationError as error:
        context = {"user": user, "values": form_values(user, USER_FORM), "password_errors": _errors(error)}
        return _form_page(request, "admin/user.html", context, status_code=422)
    response = redirect(f"/admin/users/{user_id}?saved=password")
    if user_id == visitor.user_id:  # the service ended this admin's sessions: start a new one
        ticket = start_session(engine, visitor.principal)
        set_session_cookie(request, response, ticket.token)
    return response


# teams -----------------------------------------------------------------------------------------------------
@router.get("/admin/teams/new")
def new_team_page(request: Request) -> Response:
    return _form_page(request, "admin/team.html", {"team": None, "values": form_values(None, TEAM_FORM)})


@router.post("/admin/teams")
def create_team_action(
    request: Request, visitor: Visitor = Depends(current_admin), form: dict[str, str] = Depends(read_form)
) -> Response:
    check_csrf(request, visitor, form)
    values = _posted(form, TEAM_FORM)

    def create() -> Response:
        ids = _ids(values, ("parent_id", "manager_id"))
        engine = web_of(request).engine
        team = create_team(
            engine, visitor.principal, values["name"], ids["parent_id"], ids["manager_id"], via="web"
        )
        return redirect(f"/admin/teams/{team.id}?saved=created")

    return _form_response(request, "admin/team.html", {"team": None, "values": values}, create)


@router.get("/admin/teams/{team_id}")
def team_page(team_id: int, request: Request) -> Response:
    return _record_page(request, get_team(web_of(request).engine, team_id), TEAM_FORM)


@router.post("/admin/teams/{team_id}")
def update_team_action(
    team_id: int,
    request: Request,
    visitor: Visitor = Depends(current_admin),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    save = partial(update_team, engine, visitor.principal, team_id, via="web")
    return _update_form(request, form, get_team(engine, team_id), TEAM_FORM, _team_typed, save)


# the audit log ---------------------------------------------------------------------------------------------
@router.get("/admin/audit")
def audit_page(request: Request, visitor: Visitor = Depends(current_admin)) -> Response:
    page = _page_number(request)
    entity = request.query_params.get("entity") or None
    if entity not in (None, *AUDIT_ENTITIES):
        entity = None
    log = audit_log(
        web_of(request).engine,
        visitor.principal,
        entity=entity,
        limit=AUDIT_PER_PAGE,
        offset=(page - 1) * AUDIT_PER_PAGE,
    )
    context = {
        "log": log,
        "page_number": page,
        "pages": max(1, (log.total + AUDIT_PER_PAGE - 1) // AUDIT_PER_PAGE),
        "entity": entity or "",
        "entities": [(name, name.replace("_", " ").capitalize()) for name in AUDIT_ENTITIES],
    }
    return render(request, "admin/audit.html", context)


__all__ = ["router"]
