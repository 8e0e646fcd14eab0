"""``/me``, ``/users`` and ``/teams`` (:mod:`dealsight.services.users`).

Who may do what (docs/access.md): anyone signed in reads ``/me``, the users (names, roles, teams: who can
own a deal) and the teams (their ids filter the deal list); when someone last signed in is shown to admins
and to the user themself only. Users and teams are changed by admins only, except that a user sets their
own password. Every change is recorded in the audit log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import schemas
from dealsight.api.auth import Caller, current_caller, current_principal, engine_of
from dealsight.api.inputs import (
    MAX_INT,
    Paging,
    PasswordChange,
    TeamCreate,
    TeamUpdate,
    UserCreate,
    UserParams,
    UserUpdate,
)
from dealsight.api.routing import new_router, reading, writing
from dealsight.api.schemas import render
from dealsight.domain.access import Principal
from dealsight.services import users as service
from dealsight.services.records import ListQuery, Page, normalise_query

me_router = new_router("me")
users_router = new_router("users")
teams_router = new_router("teams")
UserId = Annotated[int, Path(ge=1, le=MAX_INT, description="The user's id.")]
TeamId = Annotated[int, Path(ge=1, le=MAX_INT, description="The team's id.")]
T = TypeVar("T")


def page_of(items: Sequence[T], limit: int, offset: int) -> Page[T]:
    """A page cut from a whole (short) list, with the paging rules of every list."""
    query = normalise_query(ListQuery(limit=limit, offset=offset))
    return Page(
        tuple(items[query.offset : query.offset + query.limit]), len(items), query.limit, query.offset
    )


@me_router.get("/me", response_model=schemas.Me, responses=reading(), summary="The caller")
def get_me(caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)) -> Response:
    """The signed-in user (the owner of the API token), with whether their role may change records and
    whether they see every record."""
    user = service.get_user(engine, caller.principal.user_id)
    me = dataclasses.asdict(user) | {"can_write": caller.scope.can_write, "sees_all": caller.scope.sees_all}
    return render(schemas.Me, me)


# users -----------------------------------------------------------------------------------------------------
def _as_seen_by(principal: Principal, user: service.UserView) -> service.UserView:
    if principal.is_admin or principal.user_id == user.id:
        return user
    return dataclasses.replace(user, last_login_at=None)


@users_router.get("/users", response_model=schemas.UserPage, responses=reading(), summary="List users")
def list_users(
    params: Annotated[UserParams, Query()],
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Users ordered by id, optionally of one role, one team or one state."""
    found = service.list_users(
        engine, role=params.role, team_id=params.team_id, active=params.active, limit=None
    )
    page = page_of(found, params.limit, params.offset)
    seen = dataclasses.replace(page, items=tuple(_as_seen_by(principal, user) for user in page.items))
    return render(schemas.UserPage, seen)


@users_router.post(
    "/users", status_code=201, response_model=schemas.User, responses=writing(409), summary="Create a user"
)
def create_user(
    body: UserCreate, principal: Principal = Depends(current_principal), engine: Engine = Depends(engine_of)
) -> Response:
    """Create a user (admins only). Without a password they exist (own deals, appear in the hierarchy) but
    cannot sign in to the web pages until one is set."""
    user = service.create_user(
        engine,
        principal,
        name=body.name,
        email=body.email,
        role=body.role,
        password=body.password,
        team=body.team_id,
        manager=body.manager_id,
        via="api",
    )
    return render(schemas.User, user, 201)


@users_router.get(
    "/users/{user_id}", response_model=schemas.User, responses=reading(404), summary="Get a user"
)
def get_user(
    user_id: UserId, principal: Principal = Depends(current_principal), engine: Engine = Depends(engine_of)
) -> Response:
    """One user, with their role, team and manager."""
    return render(schemas.User, _as_seen_by(principal, service.get_user(engine, user_id)))


@users_router.patch(
    "/users/{user_id}", response_model=schemas.User, responses=writing(404, 409), summary="Change a user"
)
def update_user(
    user_id: UserId,
    body: UserUpdate,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change a user's name, e-mail, role, team, manager or whether they are active (admins only). The last
    active admin cannot be demoted or deactivated (409); reporting lines cannot loop (422)."""
    return render(schemas.User, service.update_user(engine, principal, user_id, body.given(), via="api"))


@users_router.put(
    "/users/{user_id}/password",
    status_code=204,
    response_class=Response,
    responses=writing(404),
    summary="Set a password",
)
def set_password(
    user_id: UserId,
    body: PasswordChange,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Set one's own password, or anyone's as an admin; the user's open web sessions end. Recorded in the
    audit log as "(set)" or "(changed)", never the password."""
    service.set_password(engine, principal, user_id, body.password, via="api")
    return Response(status_code=204)


# teams -----------------------------------------------------------------------------------------------------
@teams_router.get("/teams", response_model=schemas.TeamPage, responses=reading(), summary="List teams")
def list_teams(
    params: Annotated[Paging, Query()],
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Every team ordered by id, with its manager and number of members."""
    return render(schemas.TeamPage, page_of(service.list_teams(engine), params.limit, params.offset))


@teams_router.post(
    "/teams", status_code=201, response_model=schemas.Team, responses=writing(409), summary="Create a team"
)
def create_team(
    body: TeamCreate, principal: Principal = Depends(current_principal), engine: Engine = Depends(engine_of)
) -> Response:
    """Create a team, optionally under a parent team and with a manager (admins only)."""
    team = service.create_team(engine, principal, body.name, body.parent_id, body.manager_id, via="api")
    return render(schemas.Team, team, 201)


@teams_router.get(
    "/teams/{team_id}", response_model=schemas.Team, responses=reading(404), summary="Get a team"
)
def get_team(
    team_id: TeamId, principal: Principal = Depends(current_principal), engine: Engine = Depends(engine_of)
) -> Response:
    """One team with its manager and number of members."""
    return render(schemas.Team, service.get_team(engine, team_id))


@teams_router.patch(
    "/teams/{team_id}", response_model=schemas.Team, responses=writing(404, 409), summary="Change a team"
)
def update_team(
    team_id: TeamId,
    body: TeamUpdate,
    principal: Principal = Depends(current_principal),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change a team's name, parent or manager (admins only); a team cannot end up under itself (422)."""
    return render(schemas.Team, service.update_team(engine, principal, team_id, body.given(), via="api"))
