"""The pipeline summary: open deals by stage, team and forecast category, and what closed in the quarter.

Input is a replayed state (:func:`dealsight.analytics.replay.state_as_of`), so the same summary serves today
and any past date. Each group gives the number of open deals, their amount, and the stage-weighted amount
(amount x the CRM's stage probability): the baseline every later forecast is compared with. Deals with an
unknown amount are counted but add nothing to the amounts; the summary says how many there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from dealsight.domain.enums import Outcome

NO_TEAM = "(no team)"
NO_CATEGORY = "(none)"


@dataclass(frozen=True)
class PipelineGroup:
    """One row of a summary table."""

    name: str
    deals: int
    amount: float
    weighted_amount: float


@dataclass(frozen=True)
class ClosedInPeriod:
    outcome: str
    deals: int
    amount: float


@dataclass
class PipelineSummary:
    as_of: date
    open_deals: int
    open_amount: float
    weighted_amount: float
    unknown_amount: int
    by_stage: list[PipelineGroup] = field(default_factory=list)
    by_team: list[PipelineGroup] = field(default_factory=list)
    by_forecast_category: list[PipelineGroup] = field(default_factory=list)
    quarter_start: date | None = None
    closed_in_quarter: list[ClosedInPeriod] = field(default_factory=list)


def quarter_start(day: date) -> date:
    """The first day of the calendar quarter holding ``day``."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _share(probability: float | None) -> float:
    """A stage probability as a share; unknown (``None`` or NaN) counts as 0."""
    return 0.0 if probability is None or pd.isna(probability) else float(probability)


def _groups(open_deals: pd.DataFrame, key: str, order: list[str] | None = None) -> list[PipelineGroup]:
    if open_deals.empty:
        return []
    grouped = open_deals.groupby(key, sort=False, dropna=False).agg(
        deals=("id", "size"), amount=("amount_value", "sum"), weighted_amount=("weighted", "sum")
    )
    groups = [
        PipelineGroup(
            str(name),
            int(row["deals"]),
            round(float(row["amount"]), 2),
            round(float(row["weighted_amount"]), 2),
        )
        for name, row in grouped.to_dict("index").items()
    ]
    if order is None:
        return sorted(groups, key=lambda g: (-g.amount, g.name))
    rank = {name: i for i, name in enumerate(order)}
    return sorted(groups, key=lambda g: (rank.get(g.name, len(rank)), g.name))


def summarise_pipeline(
    state: pd.DataFrame,
    *,
    as_of: date,
    stage_order: list[str],
    stage_probability: dict[str, float | None],
    team_of_owner: dict[int, str],
) -> PipelineSummary:
    """Summarise a replayed state (columns of :func:`state_as_of`: stage, amount, is_open, ...)."""
    open_deals = state[state["is_open"]].copy()
    open_deals["amount_value"] = pd.to_numeric(open_deals["amount"], errors="coerce").astype(float)
    probability = open_deals["stage"].map(lambda s: _share(stage_probability.get(s))).astype(float)
    open_deals["weighted"] = open_deals["amount_value"].fillna(0.0) * probability
    open_deals["team"] = open_deals["owner_id"].map(lambda o: team_of_owner.get(o, NO_TEAM))
    category = open_deals["forecast_category"].astype(object)
    open_deals["category"] = category.where(category.notna(), NO_CATEGORY)

    start = quarter_start(as_of)
    closed = state[~state["is_open"]]
    closed_day = pd.to_datetime(closed["closed_date"])
    in_quarter = closed[(closed_day >= pd.Timestamp(start)) & (closed_day <= pd.Timestamp(as_of))]
    closed_rows = []
    for outcome in Outcome:
        chosen = in_quarter[in_quarter["outcome"] == outcome.value]
        amount = float(pd.to_numeric(chosen["amount"], errors="coerce").fillna(0.0).sum())
        closed_rows.append(ClosedInPeriod(outcome.value, len(chosen), round(amount, 2)))

    return PipelineSummary(
        as_of=as_of,
        open_deals=len(open_deals),
        open_amount=round(float(open_deals["amount_value"].fillna(0.0).sum()), 2),
        weighted_amount=round(float(open_deals["weighted"].sum()), 2),
        unknown_amount=int(open_deals["amount_value"].isna().sum()),
        by_stage=_groups(open_deals, "stage", stage_order),
        by_team=_groups(open_deals, "team"),
        by_forecast_category=_groups(open_deals, "category", _CATEGORY_ORDER),
        quarter_start=start,
        closed_in_quarter=closed_rows,
    )


_CATEGORY_ORDER = ["commit", "best_case", "pipeline", "omitted", NO_CATEGORY]
