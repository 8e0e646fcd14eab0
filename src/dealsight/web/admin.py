"""The admin pages (``/admin``): users, teams and the audit log. Admins only; anyone else gets the 403 page.

Every change goes through :mod:`dealsight.services.users` with ``via="web"`` (so it is audited) after the
CSRF check; a :class:`~dealsight.errors.ValidationError` re-renders the form with each problem next to its
field (422), a :class:`~dealsight.errors.ConflictError` (an e-mail or team name taken, the last admin)
above the form (409). A successful change redirects (303) to the record's page with a "saved" note.

Only changed fields are sent to ``update_user`` / ``update_team``. An admin who sets their own password
ends their other sessions and gets a new one here (the service ends all of a user's sessions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from dealsight.domain.enums import UserRole
from dealsight.errors import ConflictError, FieldProblem, ValidationError
from dealsight.services.access import require_admin
from dealsight.services.audit import audit_log
from dealsight.services.auth import SESSION_LIFETIME, start_session
from dealsight.services.users import (
    TeamView,
    UserView,
    create_team,
    create_user,
    get_team,
    get_user,
    list_teams,
    list_users,
    set_password,
    update_team,
    update_user,
)
from dealsight.web.core import (
    SESSION_COOKIE,
    PageRoute,
    Visitor,
    check_csrf,
    current_visitor,
    read_form,
    redirect,
    render,
    set_cookie,
    web_of,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
USERS_PER_PAGE = 50
AUDIT_PER_PAGE = 50
AUDIT_ENTITIES = ("opportunity", "account", "contact", "activity", "user", "team", "api_token")
ROLES = [(role.value, role.value.capitalize()) for role in UserRole]


def current_admin(visitor: Visitor = Depends(current_visitor)) -> Visitor:
    require_admin(visitor.principal, "open the admin pages")
    return visitor


def _page_number(request: Request, name: str = "page") -> int:
    raw = request.query_params.get(name, "1")
    return int(raw) if raw.isdigit() and int(raw) >= 1 else 1


def _optional_id(form: Mapping[str, str], name: str, problems: list[FieldProblem]) -> int | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        problems.append(FieldProblem(name, f"expected an id, got {raw!r}"))
        return None
    return int(raw)


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
        return render(request, template, {**context, "errors": errors, **_choices(request)}, status_code=422)
    except ConflictError as error:
        context = {**context, "errors": {}, "conflict": error.message, **_choices(request)}
        return render(request, template, context, status_code=409)


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
def _user_values(user: UserView | None) -> dict[str, str]:
    if user is None:
        return {"name": "", "email": "", "role": UserRole.REP.value, "team_id": "", "manager_id": ""}
    return {
        "name": user.name,
        "email": user.email or "",
        "role": user.role.value,
        "team_id": "" if user.team_id is None else str(user.team_id),
        "manager_id": "" if user.manager_id is None else str(user.manager_id),
    }


@router.get("/admin/users/new")
def new_user_page(request: Request, visitor: Visitor = Depends(current_admin)) -> Response:
    context = {"user": None, "values": _user_values(None), "errors": {}, **_choices(request)}
    return render(request, "admin/user.html", context)


@router.post("/admin/users")
def create_user_action(
    request: Request, visitor: Visitor = Depends(current_admin), form: dict[str, str] = Depends(read_form)
) -> Response:
    check_csrf(request, visitor, form)
    values = {name: form.get(name, "").strip() for name in _user_values(None)}

    def create() -> Response:
        problems: list[FieldProblem] = []
        team_id = _optional_id(form, "team_id", problems)
        manager_id = _optional_id(form, "manager_id", problems)
        if problems:
            raise ValidationError(problems[0].message, problems)
        user = create_user(
            web_of(request).engine,
            visitor.principal,
            name=values["name"],
            email=values["email"],
            role=values["role"],
            password=form.get("password") or None,
            team=team_id,
            manager=manager_id,
            via="web",
        )
        return redirect(f"/admin/users/{user.id}?saved=created")

    return _form_response(request, "admin/user.html", {"user": None, "values": values}, create)


def _user_context(request: Request, user_id: int) -> dict[str, Any]:
    user = get_user(web_of(request).engine, user_id)
    return {"user": user, "values": _user_values(user), "errors": {}, "password_errors": {}}


@router.get("/admin/users/{user_id}")
def user_page(user_id: int, request: Request, visitor: Visitor = Depends(current_admin)) -> Response:
    context = {**_user_context(request, user_id), **_choices(request)}
    context["saved"] = request.query_params.get("saved")
    return render(request, "admin/user.html", context)


@router.post("/admin/users/{user_id}")
def update_user_action(
    user_id: int,
    request: Request,
    visitor: Visitor = Depends(current_admin),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    context = _user_context(request, user_id)
    before: dict[str, str] = context["values"]
    values = {name: form.get(name, "").strip() for name in before}
    context["values"] = values

    def update() -> Response:
        problems: list[FieldProblem] = []
        typed: dict[str, object] = {
            "name": values["name"],
            "email": values["email"] or None,
            "role": values["role"],
            "team_id": _optional_id(values, "team_id", problems),
            "manager_id": _optional_id(values, "manager_id", problems),
        }
        if problems:
            raise ValidationError(problems[0].message, problems)
        changes = {name: typed[name] for name in typed if values[name] != before[name]}
        update_user(web_of(request).engine, visitor.principal, user_id, changes, via="web")
        return redirect(f"/admin/users/{user_id}?saved=details")

    return _form_response(request, "admin/user.html", context, update)


@router.post("/admin/users/{user_id}/active")
def set_active_action(
    user_id: int,
    request: Request,
    visitor: Visitor = Depends(current_admin),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    active = form.get("active") == "true"
    context = _user_context(request, user_id)
    engine = web_of(request).engine

    def apply() -> Response:
        update_user(engine, visitor.principal, user_id, {"active": active}, via="web")
        return redirect(f"/admin/users/{user_id}?saved={'activated' if active else 'deactivated'}")

    return _form_response(request, "admin/user.html", context, apply)


@router.post("/admin/users/{user_id}/password")
def set_password_action(
    user_id: int,
    request: Request,
    visitor: Visitor = Depends(current_admin),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    context = _user_context(request, user_id)
    engine = web_of(request).engine
    password = form.get("password", "")
    try:
        if password != form.get("password_confirm", ""):
            problem = FieldProblem("password_confirm", "the two passwords differ; type the same one twice")
            raise ValidationError(problem.message, [problem])
        set_password(engine, visitor.principal, user_id, password, via="web")
    except ValidationError as error:
        context.update(_choices(request), password_errors=_errors(error))
        return render(request, "admin/user.html", context, status_code=422)
    response = redirect(f"/admin/users/{user_id}?saved=password")
    if user_id == visitor.user_id:  # the service ended this admin's sessions: start a new one
        ticket = start_session(engine, visitor.principal)
        set_cookie(request, response, SESSION_COOKIE, ticket.token, int(SESSION_LIFETIME.total_seconds()))
    return response


# teams -----------------------------------------------------------------------------------------------------
def _team_values(team: TeamView | None) -> dict[str, str]:
    if team is None:
        return {"name": "", "parent_id": "", "manager_id": ""}
    return {
        "name": team.name,
        "parent_id": "" if team.parent_id is None else str(team.parent_id),
        "manager_id": "" if team.manager_id is None else str(team.manager_id),
    }


@router.get("/admin/teams/new")
def new_team_page(request: Request, visitor: Visitor = Depends(current_admin)) -> Response:
    context = {"team": None, "values": _team_values(None), "errors": {}, **_choices(request)}
    return render(request, "admin/team.html", context)


@router.post("/admin/teams")
def create_team_action(
    request: Request, visitor: Visitor = Depends(current_admin), form: dict[str, str] = Depends(read_form)
) -> Response:
    check_csrf(request, visitor, form)
    values = {name: form.get(name, "").strip() for name in _team_values(None)}

    def create() -> Response:
        problems: list[FieldProblem] = []
        parent_id = _optional_id(values, "parent_id", problems)
        manager_id = _optional_id(values, "manager_id", problems)
        if problems:
            raise ValidationError(problems[0].message, problems)
        team = create_team(
            web_of(request).engine, visitor.principal, values["name"], parent_id, manager_id, via="web"
        )
        return redirect(f"/admin/teams/{team.id}?saved=created")

    return _form_response(request, "admin/team.html", {"team": None, "values": values}, create)


@router.get("/admin/teams/{team_id}")
def team_page(team_id: int, request: Request, visitor: Visitor = Depends(current_admin)) -> Response:
    team = get_team(web_of(request).engine, team_id)
    context = {"team": team, "values": _team_values(team), "errors": {}, **_choices(request)}
    context["saved"] = request.query_params.get("saved")
    return render(request, "admin/team.html", context)


@router.post("/admin/teams/{team_id}")
def update_team_action(
    team_id: int,
    request: Request,
    visitor: Visitor = Depends(current_admin),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    team = get_team(engine, team_id)
    before = _team_values(team)
    values = {name: form.get(name, "").strip() for name in before}

    def update() -> Response:
        problems: list[FieldProblem] = []
        typed: dict[str, object] = {
            "name": values["name"],
            "parent_id": _optional_id(values, "parent_id", problems),
            "manager_id": _optional_id(values, "manager_id", problems),
        }
        if problems:
            raise ValidationError(problems[0].message, problems)
        changes = {name: typed[name] for name in typed if values[name] != before[name]}
        update_team(engine, visitor.principal, team_id, changes, via="web")
        return redirect(f"/admin/teams/{team_id}?saved=details")

    return _form_response(request, "admin/team.html", {"team": team, "values": values}, update)


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
