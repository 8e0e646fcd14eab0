"""Deal intelligence: a deal's insight, the open deals at risk, and the win model versions
(:mod:`dealsight.services.insights`). Insights are made by scoring runs (``dealsight score``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.engine import Engine
from starlette.responses import Response

from dealsight.api import schemas
from dealsight.api.auth import Caller, current_caller, current_principal, engine_of
from dealsight.api.inputs import MAX_INT, RiskParams
from dealsight.api.routing import new_router, reading
from dealsight.api.schemas import render
from dealsight.domain.access import Principal
from dealsight.errors import NotFoundError
from dealsight.services.insights import (
    RiskQuery,
    current_model,
    deal_insight,
    deals_at_risk,
    win_model_versions,
)

router = new_router("insight")
DealId = Annotated[int, Path(ge=1, le=MAX_INT, description="The deal's id.")]


@router.get(
    "/opportunities/{opportunity_id}/insight",
    response_model=schemas.DealInsight,
    responses=reading(404),
    summary="A deal's insight",
)
def get_opportunity_insight(
    opportunity_id: DealId, caller: Caller = Depends(current_caller), engine: Engine = Depends(engine_of)
) -> Response:
    """The deal's latest insight: win probability beside the baselines, health, risks with next actions,
    factors for and against, and the leading indicators. 404 when the deal is not visible or has not been
    scored yet (`dealsight score`)."""
    insight = deal_insight(engine, caller.scope, opportunity_id)
    if insight is None:
        raise NotFoundError(f"deal {opportunity_id} has not been scored yet (run `dealsight score`)")
    return render(schemas.DealInsight, insight)


@router.get("/risks", response_model=schemas.DealRisksPage, responses=reading(), summary="Deals at risk")
def list_deals_at_risk(
    params: Annotated[RiskParams, Query()],
    caller: Caller = Depends(current_caller),
    engine: Engine = Depends(engine_of),
) -> Response:
    """The open deals the caller can see with risks at the latest scoring run, lowest win probability
    first, each with its risks and next actions."""
    query = RiskQuery(**params.model_dump())
    return render(schemas.DealRisksPage, deals_at_risk(engine, caller.scope, query))


@router.get("/models", response_model=schemas.WinModels, responses=reading(), summary="Win model versions")
def list_win_models(
    principal: Principal = Depends(current_principal), engine: Engine = Depends(engine_of)
) -> Response:
    """The win model versions, newest first, each with its time-ordered evaluation against the baselines
    (AUC, Brier score, log loss, calibration error; per stage)."""
    return render(schemas.WinModels, {"items": win_model_versions(engine)})


@router.get(
    "/models/current", response_model=schemas.WinModel, responses=reading(404), summary="The active model"
)
def get_current_win_model(
    principal: Principal = Depends(current_principal), engine: Engine = Depends(engine_of)
) -> Response:
    """The win model scoring uses now; 404 before the first scoring run."""
    model = current_model(engine)
    if model is None:
        raise NotFoundError("there is no win model yet (run `dealsight score`)")
    return render(schemas.WinModel, model)
