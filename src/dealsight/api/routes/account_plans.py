"""Account plans (tag ``account plans``): an account's plan (the customer's goals with the deals serving them,
the relationship map with its gaps, the whitespace), its goals, the deals linked to them and who covers
which contact (:mod:`dealsight.services.account_plans`, :mod:`dealsight.services.account_goals`;
docs/account-plans.md).

A goal of an account outside the caller's view is *not found* (404), worded as one that does not exist;
executives read only (403 on writes). Every change is recorded in the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import account_plan_schemas as schemas
from dealsight.api.auth import Caller, current_caller, engine_of
from dealsight.api.inputs import MAX_INT
from dealsight.api.routing import new_router, reading, writing
from dealsight.api.schemas import render
from dealsight.services import account_goals as goals
from dealsight.services.account_plans import account_plan

router = new_router("account plans")


def _id(what: str) -> object:
    return Path(ge=1, le=MAX_INT, description=f"The {what}'s id.")


AccountId = Annotated[int, _id("account")]
GoalId = Annotated[int, _id("goal")]
OpportunityId = Annotated[int, _id("deal")]
ContactId = Annotated[int, _id("contact")]
UserId = Annotated[int, _id("user")]
CHANGING = reading(403, 404)
"""A change without a body: those of a read, a read-only role (403) and a record not found (404)."""


@router.get(
    "/accounts/{account_id}/plan",
    response_model=schemas.AccountPlan,
    responses=reading(404),
    summary="An account's plan",
)
def get_account_plan(
    account_id: AccountId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """The customer's goals with the deals serving them (the top-down pipeline: goals no deal serves, open
    deals serving no goal, pipeline per goal), the relationship map with its gaps and next actions, and
    the whitespace with similar customers' adoption. Only the deals the caller can see count."""
    return render(schemas.AccountPlan, account_plan(engine, caller.scope, account_id))


@router.post(
    "/accounts/{account_id}/goals",
    status_code=201,
    response_model=schemas.Goal,
    responses=writing(404),
    summary="Add a goal",
)
def create_goal(
    account_id: AccountId,
    body: schemas.GoalCreate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Add a goal of the customer's executives to the account (`goal` required)."""
    record = goals.create_goal(engine, caller.principal, caller.scope, account_id, body.given(), "api")
    return render(schemas.Goal, record, 201)


@router.get("/goals/{goal_id}", response_model=schemas.Goal, responses=reading(404), summary="Get a goal")
def get_goal(
    goal_id: GoalId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """One executive goal of an account plan, with the deals linked to it."""
    return render(schemas.Goal, goals.get_goal(engine, caller.scope, goal_id))


@router.patch(
    "/goals/{goal_id}", response_model=schemas.Goal, responses=writing(404), summary="Change a goal"
)
def update_goal(
    goal_id: GoalId,
    body: schemas.GoalUpdate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change the fields sent; recorded in the audit log."""
    record = goals.update_goal(engine, caller.principal, caller.scope, goal_id, body.given(), "api")
    return render(schemas.Goal, record)


@router.delete(
    "/goals/{goal_id}", status_code=204, response_class=Response, responses=CHANGING, summary="Delete a goal"
)
def delete_goal(
    goal_id: GoalId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """Delete a goal and its links to deals (the deals stay); the audit log keeps the deletion."""
    goals.delete_goal(engine, caller.principal, caller.scope, goal_id, "api")
    return Response(status_code=204)


@router.put(
    "/goals/{goal_id}/deals/{opportunity_id}",
    response_model=schemas.Goal,
    responses=CHANGING,
    summary="Link a deal to a goal",
)
def link_deal(
    goal_id: GoalId,
    opportunity_id: OpportunityId,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Say the deal (of the goal's account) serves the goal; a deal may serve several goals. Linking twice
    changes nothing."""
    record = goals.link_deal(engine, caller.principal, caller.scope, goal_id, opportunity_id, "api")
    return render(schemas.Goal, record)


@router.delete(
    "/goals/{goal_id}/deals/{opportunity_id}",
    response_model=schemas.Goal,
    responses=CHANGING,
    summary="Unlink a deal from a goal",
)
def unlink_deal(
    goal_id: GoalId,
    opportunity_id: OpportunityId,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Stop counting a deal toward a goal of the account plan; recorded in the audit log."""
    record = goals.unlink_deal(engine, caller.principal, caller.scope, goal_id, opportunity_id, "api")
    return render(schemas.Goal, record)


@router.get(
    "/contacts/{contact_id}/coverage",
    response_model=schemas.ContactCoverage,
    responses=reading(404),
    summary="Who covers a contact",
)
def get_coverage(
    contact_id: ContactId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """Who on our side covers a contact of an account the caller can see."""
    return render(schemas.ContactCoverage, goals.coverage_of_contact(engine, caller.scope, contact_id))


@router.put(
    "/contacts/{contact_id}/coverage/{user_id}",
    response_model=schemas.ContactCoverage,
    responses=CHANGING,
    summary="Cover a contact",
)
def cover_contact(
    contact_id: ContactId,
    user_id: UserId,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Record that the user (any active user) covers the contact on our side."""
    record = goals.cover_contact(engine, caller.principal, caller.scope, contact_id, user_id, "api")
    return render(schemas.ContactCoverage, record)


@router.delete(
    "/contacts/{contact_id}/coverage/{user_id}",
    response_model=schemas.ContactCoverage,
    responses=CHANGING,
    summary="Stop covering a contact",
)
def uncover_contact(
    contact_id: ContactId,
    user_id: UserId,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Remove a user from a contact's coverage; recorded in the audit log."""
    record = goals.uncover_contact(engine, caller.principal, caller.scope, contact_id, user_id, "api")
    return render(schemas.ContactCoverage, record)


__all__ = ["router"]
