"""The figures of each group of a period forecast (the company, every team with its sub-teams, every rep,
or a restricted caller's own deals): the range of the won amount and count from the deal state
(:func:`~dealsight.analytics.forecast_simulation.period_ranges`, new deals from
:func:`~dealsight.analytics.new_deals.new_deals_from_history`), the quota and the chance to reach it, and
beside them the stage-weighted pipeline, commit and best case, every figure with what is already won.

The decisions (company-wide computation, dispersion, quotas) are in :mod:`dealsight.services.forecasts`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from dealsight.analytics.backtest import PRIOR_DISPERSION
from dealsight.analytics.deal_data import DealData
from dealsight.analytics.forecast_simulation import PeriodRange, period_ranges
from dealsight.analytics.new_deals import new_deals_from_history
from dealsight.domain.access import Scope
from dealsight.services.forecast_state import (
    DealState,
    Organisation,
    deal_state,
    instant,
    organisation,
    owned,
    period_bounds,
)
from dealsight.store.backtest_runs import latest_backtest_run
from dealsight.store.quotas import quotas_for_period

DRAWS = 4000
SEED = 0


# results ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    """P10, P50, P90 and the expected value, what is already won included."""

    p10: float
    p50: float
    p90: float
    expected: float


@dataclass(frozen=True)
class EarlierForecast:
    """A stored forecast of the same group and period made with knowledge up to ``as_of``."""

    as_of: date
    amount: Figures
    reach_probability: float | None


@dataclass(frozen=True)
class GroupForecast:
    """One group's forecast: ``level`` company, team, rep, or view (a restricted caller's own deals)."""

    level: str
    team_id: int | None
    user_id: int | None
    name: str
    won_amount: float
    won_count: int
    open_deals: int
    amount: Figures
    count: Figures
    quota: float | None
    reach_probability: float | None
    new_deals_expected: float
    stage_weighted: float
    commit: float | None
    best_case: float | None
    earlier: dict[str, EarlierForecast | None] = field(default_factory=dict)


@dataclass(frozen=True)
class PeriodForecast:
    """The forecast of a period as of a day for the caller's view (:mod:`dealsight.services.forecasts`)."""

    as_of: date
    period: str
    period_start: date
    period_end: date
    days_left: int
    method: str
    dispersion: float
    dispersion_source: str
    total: GroupForecast
    teams: list[GroupForecast]
    reps: list[GroupForecast]
    notes: list[str]
    stored: int


@dataclass(frozen=True)
class AllGroups:
    """Every group of the organisation as of a day, with the deal state and organisation they came from."""

    company: GroupForecast
    teams: list[GroupForecast]
    reps: list[GroupForecast]
    state: DealState
    org: Organisation


# dispersion ------------------------------------------------------------------------------------------------
def dispersion_of(conn: Connection, method: str, day: date) -> tuple[float, str]:
    """The dispersion of ``method`` as of the end of ``day``, and its source: that of the newest stored
    backtest's last date on or before ``day`` (each date's dispersion is calibrated on forecasts whose
    horizon had ended by then, so nothing after ``day`` reaches it), else the prior."""
    run = latest_backtest_run(conn)
    if run is None:
        return PRIOR_DISPERSION, "prior (no stored backtest: run `dealsight backtest`)"
    rows = [
        r
        for r in run.result.get("rows", [])
        if r.get("method") == method and r.get("measure") == "amount" and r.get("dispersion") is not None
    ]
    if not rows:
        return PRIOR_DISPERSION, f"prior (the stored backtest has no {method} figures)"
    known = [r for r in rows if str(r.get("as_of"))[:10] <= day.isoformat()]
    if not known:
        return PRIOR_DISPERSION, f"prior (the stored backtest starts after {day.isoformat()})"
    last = max(known, key=lambda r: str(r.get("as_of")))
    return float(last["dispersion"]), (
        f"backtest #{run.id} of {run.made_at:%Y-%m-%d} (as of {last.get('as_of')}, "
        f"horizon {run.result.get('horizon_days')} days)"
    )


# one group -------------------------------------------------------------------------------------------------
def group_figures(
    state: DealState,
    data: DealData,
    owners: set[int] | None,
    *,
    period_end: date,
    dispersion: float,
    quota: float | None,
) -> tuple[PeriodRange, dict[str, Any]]:
    """The range of one group (deals of ``owners``; None: every deal) and its side figures."""
    mask = owned(state.deals, owners)
    deals = state.deals[mask]
    won = state.won[owned(state.won, owners)]
    won_amount = float(won["amount"].sum())
    days_left = (period_end - state.day).days
    new = None
    if days_left > 0:
        codes = np.where(owned(state.known, owners), 0, -1)
        new = new_deals_from_history(
            state.known,
            instant(state.day),
            instant(period_end),
            group_codes=codes,
            n_groups=1,
        )
    target = None if quota is None else np.array([max(quota - won_amount, 0.0)])
    ranges = period_ranges(
        np.clip(deals["probability"].to_numpy(np.float64), 0.0, 1.0),
        deals["amount"].to_numpy(np.float64),
        dispersion=0.0 if _binary(state.deals) else dispersion,
        new_deals=new,
        targets=target,
        draws=DRAWS,
        seed=SEED,
    ).total
    inside = deals[deals["in_period"].to_numpy(dtype=bool)]
    category = inside["category"].astype(str)
    commit = won_amount + float(inside["crm_amount"][category == "commit"].sum())
    side = {
        "won_amount": won_amount,
        "won_count": len(won),
        "open_deals": len(deals),
        "new_deals_expected": 0.0 if new is None else float(new.expected_count.sum()),
        "stage_weighted": won_amount + float((inside["crm"] * inside["crm_amount"]).sum()),
        "commit": commit if state.has_categories else None,
        "best_case": (commit + float(inside["crm_amount"][category == "best_case"].sum()))
        if state.has_categories
        else None,
    }
    return ranges, side


def _binary(deals: pd.DataFrame) -> bool:
    p = deals["probability"].to_numpy(np.float64)
    return bool(len(p)) and bool(np.all((p == 0) | (p == 1)))


def _plus(figure: Any, won: float) -> Figures:
    return Figures(figure.p10 + won, figure.p50 + won, figure.p90 + won, figure.expected + won)


def group_forecast(
    level: str,
    name: str,
    ranges: PeriodRange,
    side: dict[str, Any],
    quota: float | None,
    *,
    team_id: int | None = None,
    user_id: int | None = None,
) -> GroupForecast:
    """A group's forecast from its range and side figures (:func:`group_figures`)."""
    return GroupForecast(
        level=level,
        team_id=team_id,
        user_id=user_id,
        name=name,
        won_amount=side["won_amount"],
        won_count=side["won_count"],
        open_deals=side["open_deals"],
        amount=_plus(ranges.amount, side["won_amount"]),
        count=_plus(ranges.count, side["won_count"]),
        quota=quota,
        reach_probability=ranges.reach_probability,
        new_deals_expected=side["new_deals_expected"],
        stage_weighted=side["stage_weighted"],
        commit=side["commit"],
        best_case=side["best_case"],
    )


# every group -----------------------------------------------------------------------------------------------
def team_order(org: Organisation) -> Callable[[int], tuple[str, int]]:
    """The order teams are shown in: by name, then id."""
    return lambda team_id: (org.team_name[team_id].casefold(), team_id)


def rep_order(org: Organisation) -> Callable[[int], tuple[str, int]]:
    """The order reps are shown in: by name, then id."""
    return lambda user_id: (org.user_name.get(user_id, "").casefold(), user_id)


def all_groups(
    conn: Connection,
    data: DealData,
    day: date,
    period: str,
    method: str,
    dispersion: float,
    *,
    state: DealState | None = None,
) -> AllGroups:
    """Every group of the organisation (company, teams, reps) as of ``day``; ``state``: the deal state of
    ``day``, ``period`` and ``method`` when it is known already."""
    period_start, period_end = period_bounds(day, period)
    state = state or deal_state(data, day, period_start, period_end, method)
    org = organisation(conn)
    quotas = quotas_for_period(conn, period_start, period_end)
    rep_quota = {q.user_id: float(q.amount) for q in quotas if q.user_id is not None}
    team_quota = {q.team_id: float(q.amount) for q in quotas if q.team_id is not None}
    roots = [t for t, parent in org.team_parent.items() if parent is None]
    company_quota = (
        sum(team_quota[t] for t in roots) if roots and all(t in team_quota for t in roots) else None
    )

    def figures(owners: set[int] | None, quota: float | None) -> tuple[PeriodRange, dict[str, Any]]:
        return group_figures(state, data, owners, period_end=period_end, dispersion=dispersion, quota=quota)

    company = group_forecast("company", "Company", *figures(None, company_quota), company_quota)
    teams = []
    for team_id in sorted(org.team_name, key=team_order(org)):
        quota = team_quota.get(team_id)
        ranges, side = figures(org.members(team_id), quota)
        teams.append(group_forecast("team", org.team_name[team_id], ranges, side, quota, team_id=team_id))
    active = set(state.deals["owner_id"].dropna().astype(int)) | set(
        state.won["owner_id"].dropna().astype(int)
    )
    reps = []
    for user_id in sorted(active | set(rep_quota), key=rep_order(org)):
        quota = rep_quota.get(user_id)
        ranges, side = figures({user_id}, quota)
        name = org.user_name.get(user_id, f"user #{user_id}")
        reps.append(group_forecast("rep", name, ranges, side, quota, user_id=user_id))
    return AllGroups(company, teams, reps, state, org)


def visible_teams(teams: list[GroupForecast], org: Organisation, scope: Scope) -> list[GroupForecast]:
    """The teams whose every member is in ``scope`` (all of them with full sight)."""
    if scope.owner_ids is None:
        return teams
    allowed = scope.owner_ids
    return [t for t in teams if t.team_id is not None and (m := org.members(t.team_id)) and m <= allowed]


__all__ = [
    "DRAWS",
    "SEED",
    "AllGroups",
    "EarlierForecast",
    "Figures",
    "GroupForecast",
    "PeriodForecast",
    "all_groups",
    "dispersion_of",
    "group_figures",
    "group_forecast",
    "rep_order",
    "team_order",
    "visible_teams",
]
