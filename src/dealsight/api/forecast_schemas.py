"""What the forecast routes answer (``/forecast``, ``/forecast/snapshots``, ``/forecast/movement``,
``/backtest``): the results of :mod:`dealsight.services.forecasts` and :mod:`dealsight.services.backtests`
as response models, field for field (``render(Model, report)`` reads them by attribute).

Money is a decimal string with two decimals (as in the analytics answers); counts of a range are
decimal numbers (P10/P50/P90 are whole, the expected value is not); shares are of 1 (0.72 is 72%). A
figure that does not exist (no quota, no forecast category, no earlier forecast) is ``null``.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from dealsight.api.analytics_schemas import Money, Share
from dealsight.api.schemas import Out, UtcDateTime


class Figures(Out):
    """A range: P10, P50, P90 and the expected value (what is already won in the period included)."""

    p10: float
    p50: float
    p90: float
    expected: float


class MoneyFigures(Out):
    p10: Money
    p50: Money
    p90: Money
    expected: Money


class EarlierForecast(Out):
    """The newest stored forecast of the same group and period made with knowledge up to `as_of`."""

    as_of: date
    amount: MoneyFigures
    reach_probability: Share | None


class EarlierForecasts(Out):
    week: EarlierForecast | None = Field(None, description="The model's own forecast a week earlier.")
    month: EarlierForecast | None = Field(None, description="... 30 days earlier.")
    quarter: EarlierForecast | None = Field(None, description="... 91 days earlier.")


class GroupForecast(Out):
    """One group's forecast of the period: `level` company, team (sub-teams rolled up), rep, or `view`
    (a restricted caller's own deals)."""

    level: str
    team_id: int | None
    user_id: int | None
    name: str
    won_amount: Money = Field(description="Won so far in the period (closed won by as-of).")
    won_count: int
    open_deals: int
    amount: MoneyFigures = Field(description="Range of the won amount by the period end.")
    count: Figures = Field(description="Range of the won count by the period end.")
    quota: Money | None
    reach_probability: Share | None = Field(description="Chance the won amount reaches the quota.")
    new_deals_expected: float = Field(description="Deals not yet created expected to be won in time.")
    stage_weighted: Money = Field(
        description="Won so far + CRM stage probability x amount of open deals expected to close in the "
        "period."
    )
    commit: Money | None = Field(description="Won so far + commit deals expected in the period.")
    best_case: Money | None = Field(description="Commit + best-case deals expected in the period.")
    earlier: EarlierForecasts


class PeriodForecast(Out):
    """The forecast of the month or quarter containing `as_of`, for the caller's view."""

    as_of: date
    period: str
    period_start: date
    period_end: date
    days_left: int
    method: str
    dispersion: float = Field(description="Sd of the common log-odds shock that widens the range.")
    dispersion_source: str
    total: GroupForecast
    teams: list[GroupForecast]
    reps: list[GroupForecast]
    notes: list[str]
    stored: int = Field(description="Snapshots stored by this call (0: reads never store).")


class SnapshotPoint(Out):
    as_of: date
    made_at: UtcDateTime
    method: str
    amount: MoneyFigures
    count: Figures
    quota: Money | None
    reach_probability: Share | None
    stage_weighted: Money
    commit: Money | None
    best_case: Money | None


class SnapshotSeries(Out):
    """One group's stored forecasts of a period, oldest first (one per as-of day: the newest made)."""

    level: str
    team_id: int | None
    user_id: int | None
    period_start: date
    period_end: date
    points: list[SnapshotPoint]


class MovementStep(Out):
    key: str
    label: str
    amount: Money
    deals: int


class DealMove(Out):
    opportunity_id: int
    name: str
    step: str
    change: Money


class Movement(Out):
    """The change of the expected won amount of the period between `from_date` and `as_of`: the steps
    add up to `end - start` (`unexplained` is the rounding left)."""

    from_date: date
    as_of: date
    period_start: date
    period_end: date
    method: str
    start: Money
    end: Money
    steps: list[MovementStep]
    unexplained: float
    top_deals: list[DealMove]


class Metrics(Out):
    """In percent; `null` where undefined (no date with a positive actual)."""

    mape: float | None
    bias: float | None
    mdape: float | None
    coverage_p10_p90: float | None
    dates: int


class MethodMetrics(Out):
    count: Metrics | None = None
    amount: Metrics | None = None


class BacktestRow(Out):
    as_of: date
    method: str
    measure: str
    p10: float | None
    p50: float | None
    p90: float | None
    expected: float | None
    forecast: float | None
    actual: float | None
    dispersion: float | None
    open_deals: int | None = None


class Backtest(Out):
    """The newest stored backtest. `rows` (company-wide figures per date) only for executives and admins."""

    id: int
    made_at: UtcDateTime
    start: str
    end: str
    every_days: int
    horizon_days: int
    dates: int
    results: dict[str, MethodMetrics]
    skipped: dict[str, str]
    notes: list[str]
    rows: list[BacktestRow] | None


__all__ = ["Backtest", "Movement", "PeriodForecast", "SnapshotSeries"]
