"""``/renewals``: the upcoming renewals the caller may see, with their chance of renewal, ARR at risk,
reasons and next actions (:mod:`dealsight.services.renewals`; docs/renewals.md).

A rep sees the renewals of the accounts they own or hold a deal with, a manager their team's, executives
and admins all. ``as_of`` after today is 422 (renewal risk knows only the past).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import Field
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import renewal_schemas as schemas
from dealsight.api.auth import Caller, current_caller, engine_of
from dealsight.api.inputs import Paging, QueryId
from dealsight.api.routing import new_router, reading
from dealsight.api.schemas import render
from dealsight.services.renewals import MAX_WITHIN_DAYS, RenewalQuery, renewal_page

router = new_router("renewals")


class RenewalParams(Paging):
    as_of: Annotated[date, Field(ge=date(1900, 1, 1), le=date(9999, 12, 30))] | None = Field(
        None, description="As of the end of this day (default today; not after today)."
    )
    within_days: int = Field(180, ge=1, le=MAX_WITHIN_DAYS, description="Renewals due within this many days.")
    account_id: QueryId | None = None
    owner_id: QueryId | None = Field(None, description="The account owner's user id.")
    max_probability: float | None = Field(
        None, ge=0, le=1, description="Only renewals whose chance of renewal is at most this (0 to 1)."
    )
    sort: Literal["arr_at_risk", "renewal_date", "renewal_probability", "arr", "account_name"] = Field(
        "arr_at_risk", description="Largest ARR at risk first (default), soonest, least likely, largest ARR."
    )


@router.get("/renewals", response_model=schemas.RenewalPage, responses=reading(), summary="Upcoming renewals")
def list_renewals(
    params: Annotated[RenewalParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The renewals due within `within_days` of `as_of` that the caller may see, each with its calibrated
    chance of renewal, ARR at risk (ARR x (1 - chance)), the reasons it is at risk in the order of weight
    (delivered value, the RIQ, executive contact, usage, support) with next actions, and what speaks for
    it; the totals cover every matching renewal."""
    query = RenewalQuery(**params.model_dump())
    return render(schemas.RenewalPage, renewal_page(engine, caller.scope, query))
