"""Customer value: subscriptions and churn events (tag ``subscriptions``), the delivered value ledger, the
RIQ answers and booked vs delivered (tag ``value``), of the accounts the caller can see
(:mod:`dealsight.services.subscriptions`, :mod:`dealsight.services.delivered_value`,
:mod:`dealsight.services.booked_value`; docs/customer-value.md).

A record of an account outside the caller's view is *not found* (404), worded as one that does not
exist; executives read only (403 on writes). Every create and change is recorded in the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import customer_value_schemas as schemas
from dealsight.api.auth import Caller, current_caller, engine_of
from dealsight.api.inputs import MAX_INT, Paging
from dealsight.api.routing import new_router, reading, writing
from dealsight.api.schemas import render
from dealsight.services import booked_value, delivered_value
from dealsight.services import subscriptions as service
from dealsight.services.records import ListQuery

router = new_router("subscriptions")
value_router = new_router("value")


def _id(what: str) -> object:
    return Path(ge=1, le=MAX_INT, description=f"The {what}'s id.")


AccountId = Annotated[int, _id("account")]
SubscriptionId = Annotated[int, _id("subscription")]
EvidenceId = Annotated[int, _id("confirmed value")]
AnswerId = Annotated[int, _id("RIQ answer")]


# subscriptions ---------------------------------------------------------------------------------------------
@router.get(
    "/subscriptions",
    response_model=schemas.SubscriptionPage,
    responses=reading(),
    summary="List subscriptions",
)
def list_subscriptions(
    params: Annotated[schemas.AllSubscriptionParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """One page of the subscriptions of the accounts the caller can see, newest term first."""
    query = service.SubscriptionQuery(**params.model_dump())
    return render(schemas.SubscriptionPage, service.list_subscriptions(engine, caller.scope, query))


@router.get(
    "/accounts/{account_id}/subscriptions",
    response_model=schemas.SubscriptionPage,
    responses=reading(404),
    summary="An account's subscriptions",
)
def list_account_subscriptions(
    account_id: AccountId,
    params: Annotated[schemas.SubscriptionParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The account's subscriptions, newest term first, with each one's next renewal."""
    query = service.SubscriptionQuery(**params.model_dump())
    page = service.subscriptions_of_account(engine, caller.scope, account_id, query)
    return render(schemas.SubscriptionPage, page)


@router.post(
    "/accounts/{account_id}/subscriptions",
    status_code=201,
    response_model=schemas.Subscription,
    responses=writing(404),
    summary="Add a subscription",
)
def create_subscription(
    account_id: AccountId,
    body: schemas.SubscriptionCreate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Add a subscription to the account: `term_start` and `arr` or `mrr` required; the renewal date is
    derived unless given."""
    record = service.create_subscription(
        engine, caller.principal, caller.scope, account_id, body.given(), "api"
    )
    return render(schemas.Subscription, record, 201)


@router.get(
    "/subscriptions/{subscription_id}",
    response_model=schemas.Subscription,
    responses=reading(404),
    summary="Get a subscription",
)
def get_subscription(
    subscription_id: SubscriptionId,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """One subscription of an account the caller can see (404 otherwise), with its next renewal date."""
    return render(schemas.Subscription, service.get_subscription(engine, caller.scope, subscription_id))


@router.patch(
    "/subscriptions/{subscription_id}",
    response_model=schemas.Subscription,
    responses=writing(404),
    summary="Change a subscription",
)
def update_subscription(
    subscription_id: SubscriptionId,
    body: schemas.SubscriptionUpdate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change the fields sent; recorded in the audit log."""
    record = service.update_subscription(
        engine, caller.principal, caller.scope, subscription_id, body.given(), "api"
    )
    return render(schemas.Subscription, record)


@router.get(
    "/accounts/{account_id}/churn-events",
    response_model=schemas.ChurnEventPage,
    responses=reading(404),
    summary="An account's churn events",
)
def list_churn_events(
    account_id: AccountId,
    params: Annotated[Paging, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """When the account churned, why and what it said, the latest first."""
    query = ListQuery(limit=params.limit, offset=params.offset)
    return render(schemas.ChurnEventPage, service.churn_events_of(engine, caller.scope, account_id, query))


@router.post(
    "/accounts/{account_id}/churn-events",
    status_code=201,
    response_model=schemas.ChurnEvent,
    responses=writing(404),
    summary="Record a churn",
)
def create_churn_event(
    account_id: AccountId,
    body: schemas.ChurnEventCreate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Record that an account churned (day, reason code, feedback); recorded in the audit log."""
    record = service.create_churn_event(
        engine, caller.principal, caller.scope, account_id, body.given(), "api"
    )
    return render(schemas.ChurnEvent, record, 201)


# delivered value -------------------------------------------------------------------------------------------
@value_router.get(
    "/accounts/{account_id}/value",
    response_model=schemas.ValueEvidencePage,
    responses=reading(404),
    summary="An account's confirmed value",
)
def list_value_evidence(
    account_id: AccountId,
    params: Annotated[Paging, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The outcomes the customer confirmed, the latest first."""
    query = ListQuery(limit=params.limit, offset=params.offset)
    page = delivered_value.value_of_account(engine, caller.scope, account_id, query)
    return render(schemas.ValueEvidencePage, page)


@value_router.post(
    "/accounts/{account_id}/value",
    status_code=201,
    response_model=schemas.ValueEvidence,
    responses=writing(404),
    summary="Record a confirmed value",
)
def create_value_evidence(
    account_id: AccountId,
    body: schemas.ValueEvidenceCreate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Record an outcome the customer confirmed (`metric` required; confirmed today unless given)."""
    record = delivered_value.create_value_evidence(
        engine, caller.principal, caller.scope, account_id, body.given(), "api"
    )
    return render(schemas.ValueEvidence, record, 201)


@value_router.get(
    "/value/{evidence_id}",
    response_model=schemas.ValueEvidence,
    responses=reading(404),
    summary="Get a value",
)
def get_value_evidence(
    evidence_id: EvidenceId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """One confirmed outcome of the delivered value ledger, of an account the caller can see."""
    return render(
        schemas.ValueEvidence, delivered_value.get_value_evidence(engine, caller.scope, evidence_id)
    )


@value_router.patch(
    "/value/{evidence_id}",
    response_model=schemas.ValueEvidence,
    responses=writing(404),
    summary="Change a value",
)
def update_value_evidence(
    evidence_id: EvidenceId,
    body: schemas.ValueEvidenceUpdate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change a confirmed outcome (metric, values, who confirmed it, when); recorded in the audit log."""
    record = delivered_value.update_value_evidence(
        engine, caller.principal, caller.scope, evidence_id, body.given(), "api"
    )
    return render(schemas.ValueEvidence, record)


@value_router.get(
    "/accounts/{account_id}/riq",
    response_model=schemas.RiqAnswerPage,
    responses=reading(404),
    summary="An account's RIQ answers",
)
def list_riq_answers(
    account_id: AccountId,
    params: Annotated[Paging, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The answers to the really important question, the latest (the current one) first."""
    query = ListQuery(limit=params.limit, offset=params.offset)
    return render(
        schemas.RiqAnswerPage, delivered_value.riq_answers_of(engine, caller.scope, account_id, query)
    )


@value_router.post(
    "/accounts/{account_id}/riq",
    status_code=201,
    response_model=schemas.RiqAnswer,
    responses=writing(404),
    summary="Record a RIQ answer",
)
def create_riq_answer(
    account_id: AccountId,
    body: schemas.RiqAnswerCreate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Record the customer's answer to the RIQ (impact if the service were turned off, recovery effort, who
    answered, when); recorded in the audit log."""
    record = delivered_value.create_riq_answer(
        engine, caller.principal, caller.scope, account_id, body.given(), "api"
    )
    return render(schemas.RiqAnswer, record, 201)


@value_router.get(
    "/riq/{answer_id}", response_model=schemas.RiqAnswer, responses=reading(404), summary="Get a RIQ answer"
)
def get_riq_answer(
    answer_id: AnswerId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """One RIQ answer of an account the caller can see."""
    return render(schemas.RiqAnswer, delivered_value.get_riq_answer(engine, caller.scope, answer_id))


@value_router.patch(
    "/riq/{answer_id}",
    response_model=schemas.RiqAnswer,
    responses=writing(404),
    summary="Change a RIQ answer",
)
def update_riq_answer(
    answer_id: AnswerId,
    body: schemas.RiqAnswerUpdate,
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Change an RIQ answer; recorded in the audit log."""
    record = delivered_value.update_riq_answer(
        engine, caller.principal, caller.scope, answer_id, body.given(), "api"
    )
    return render(schemas.RiqAnswer, record)


# booked vs delivered ---------------------------------------------------------------------------------------
@value_router.get(
    "/accounts/{account_id}/booked-value",
    response_model=schemas.BookedValue,
    responses=reading(404),
    summary="An account's booked vs delivered",
)
def get_account_booked_value(
    account_id: AccountId,
    params: Annotated[schemas.BookedValueParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """ARR booked beside the value confirmed (12 months, all time), their ratio and the trend by quarter."""
    result = booked_value.account_booked_value(
        engine, caller.scope, account_id, as_of=params.as_of, quarters=params.quarters
    )
    return render(schemas.BookedValue, result)


@value_router.get(
    "/booked-value", response_model=schemas.PortfolioValue, responses=reading(), summary="Booked vs delivered"
)
def get_booked_value(
    params: Annotated[schemas.PortfolioParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """Booked vs delivered of every account the caller sees, with the accounts whose ARR has the least
    confirmed value behind it first."""
    result = booked_value.portfolio_booked_value(
        engine, caller.scope, as_of=params.as_of, quarters=params.quarters, limit=params.limit
    )
    return render(schemas.PortfolioValue, result)
