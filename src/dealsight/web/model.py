"""The win model page (``/model``): the model scoring uses now, what it learned from, and its time-ordered
evaluation beside the baselines (overall, per stage, and as a reliability chart), with earlier versions.

Everyone signed in may read it: a rep should see how far to trust the probability on their deals. The
figures are those stored with the model when it was trained (:mod:`dealsight.services.scoring`); nothing
is recomputed here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from dealsight.services.insights import win_model_versions
from dealsight.web.core import PageRoute, Visitor, current_visitor, render, web_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)
METHODS = {
    "model": "dealsight's model",
    "stage_win_rate": "Historical stage win rates",
    "crm_stage_probability": "The CRM's stage probability",
    "naive_bayes": "Naive Bayes frequency model",
}


def reliability_chart(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The reliability chart's data: per method, (mean predicted, observed) of each non-empty bin."""
    series = []
    for method, rows in (evaluation.get("reliability") or {}).items():
        points = [
            [round(row["mean_predicted"], 4), round(row["observed_rate"], 4)]
            for row in rows
            if row.get("count") and row.get("mean_predicted") is not None
        ]
        series.append({"label": METHODS.get(method, method), "points": points})
    return {"kind": "reliability", "series": series}


@router.get("/model")
def model_page(request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    versions = win_model_versions(web_of(request).engine, limit=10)
    current = next((v for v in versions if v.active), None)
    evaluation = (current.evaluation or {}) if current else {}
    context = {
        "current": current,
        "versions": versions,
        "evaluation": evaluation,
        "methods": METHODS,
        "chart": reliability_chart(evaluation) if evaluation.get("reliability") else None,
    }
    return render(request, "model.html", context)


__all__ = ["reliability_chart", "router"]
