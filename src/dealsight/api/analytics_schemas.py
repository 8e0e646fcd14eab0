"""What the pipeline analytics routes answer (``/analytics/...``): the services' results as response models.

Each model mirrors a frozen dataclass of :mod:`dealsight.analytics.pipeline_flow`,
:mod:`~dealsight.analytics.stage_flow` or :mod:`~dealsight.analytics.pipeline_changes`, field for field,
so that ``render(Model, report)`` reads the service's result by attribute and the OpenAPI document
describes every figure. docs/analytics.md explains the figures in plain words.

Decisions:

- **Money is a decimal string with two decimals** (``"24832.26"``), as everywhere in the API, although the
  services compute in floats rounded to the cent (velocity is money per day). Rates are shares (0.29 is
  29%), days are decimal numbers of days, counts whole numbers.
- A figure that cannot be computed (no deal won in the window, say) is ``null``, never 0: the services
  never invent a figure, and neither does the answer.
- **Money is never added across currencies**: rows that carry money are one currency's deals
  (``currency``), so one currency gives one row per group.
- The win / loss breakdown's ``by`` is an object with one list per dimension (``segment``, ``owner``,
  ``team``, ``source``, ``product``) rather than a free-form map, so each is documented.
- The label of the row that covers every deal (``group`` of velocity, ``segment`` of durations,
  ``value`` of the win / loss total) is :data:`~dealsight.analytics.pipeline_flow.ALL`, ``"(all)"``;
  a missing team, owner, segment, source or product is labelled ``"(no team)"`` and so on.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from dealsight.analytics.pipeline_flow import ALL
from dealsight.api.schemas import Out

CENT = Decimal("0.01")


def _to_cents(value: object) -> object:
    """A float amount of the services as an exact decimal of whole cents (``24832.26``)."""
    if isinstance(value, float | int | Decimal) and not isinstance(value, bool):
        return Decimal(str(value)).quantize(CENT)
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_to_cents),
    Field(description="An amount as a decimal string with two decimals, e.g. `24832.26`."),
]
Share = Annotated[float, Field(description="A share of 1: 0.29 is 29%.")]
GroupBy = Literal["team", "owner", "segment"]
CATEGORY = Literal[
    "new",
    "reopened",
    "won",
    "lost",
    "no_decision",
    "pushed_out",
    "pulled_in",
    "amount_up",
    "amount_down",
    "unchanged",
    "created_closed",
]


class Window(Out):
    """Whole days from `start` to `end`, both included."""

    start: date
    end: date
    days: int = Field(description="Its length in days, both ends included.")


# velocity --------------------------------------------------------------------------------------------------
class VelocityTerms(Out):
    """The terms of pipeline velocity over one window, and the counts behind each.

    velocity = qualified deals x average won amount x win rate / average cycle days."""

    qualified_deals: int = Field(
        description="Deals open at the end of the window in the qualifying stage or a later open stage."
    )
    average_won_amount: Money | None = Field(
        description="Mean amount of the deals won in the window (those without an amount left out); null "
        "when none was won."
    )
    win_rate: Share | None = Field(
        description="won / (won + lost + no decision) of the deals closed in the window; null when none "
        "closed."
    )
    average_cycle_days: float | None = Field(
        description="Mean days from created to closed of the deals won in the window; null when none."
    )
    velocity_per_day: Money | None = Field(
        description="Money the pipeline turns into wins per day; null when a term is unknown."
    )
    won_deals: int
    lost_deals: int
    no_decision_deals: int
    closed_deals: int = Field(description="won + lost + no decision, closed in the window.")
    won_amount: Money = Field(description="Sum of the known amounts of the deals won in the window.")
    won_without_amount: int = Field(description="Won deals left out of the average for want of an amount.")
    won_without_created_date: int = Field(
        description="Won deals left out of the cycle for want of a created date."
    )
    open_stage_unknown: int = Field(
        description="Open deals not counted as qualified because their stage at that day is not recorded."
    )


class VelocityRow(Out):
    """One group's velocity in one currency, for the window and the previous one."""

    group: str = Field(description=f"The team, owner or segment; `{ALL}` for every deal of the selection.")
    currency: str = Field(description="Three-letter currency code of the deals of this row.")
    current: VelocityTerms = Field(description="The window ending at `as_of`.")
    previous: VelocityTerms = Field(description="The window of the same length just before.")
    change: float | None = Field(
        description="Relative change of velocity from the previous window (0.25 = 25% faster); null when "
        "either is unknown or the previous one is 0."
    )


class Velocity(Out):
    """Pipeline velocity with its terms, against the previous window of the same length."""

    as_of: date = Field(description="History is replayed to the end of this day.")
    window: Window
    previous_window: Window
    qualifying_stages: list[str] = Field(description="The open stages whose deals count as qualified.")
    group_by: GroupBy | None = Field(description="What `groups` is broken down by (the `by` parameter).")
    overall: list[VelocityRow] = Field(description="One row per currency, every deal of the selection.")
    groups: list[VelocityRow] = Field(
        description="One row per (group, currency) when `by` is given, fastest first; else empty."
    )


# stage funnel ----------------------------------------------------------------------------------------------
class FunnelStage(Out):
    """One open stage of the funnel."""

    stage: str
    reached: int = Field(description="Deals that reached this stage or a later one (won deals included).")
    open_here: int = Field(description="Deals whose furthest stage is this one and that are still open.")
    lost_here: int = Field(description="Deals lost after getting no further than this stage.")
    no_decision_here: int = Field(description="Deals closed with no decision after this stage.")
    to_next: Share | None = Field(
        description="Share of `reached` that reached the next open stage (for the last one: won)."
    )
    to_won: Share | None = Field(description="Share of `reached` that were won.")


class Funnel(Out):
    """How many deals reached each open stage, in the sales process's order, and how they ended."""

    as_of: date = Field(description="History is replayed to the end of this day.")
    created_from: date | None = Field(description="Only deals created on or after this day (if given).")
    created_to: date | None = Field(description="Only deals created on or before this day (if given).")
    deals: int = Field(description="Deals in the cohort: the first stage's `reached`.")
    stages: list[FunnelStage]
    won: int
    lost: int
    no_decision: int
    still_open: int
    furthest_stage_unknown: int = Field(
        description="Deals counted at the first stage because their history records no open stage."
    )


# stage durations -------------------------------------------------------------------------------------------
class SpellStats(Out):
    """Completed spells in a stage: how many, and their median and upper-quartile length in days."""

    spells: int
    median_days: float | None = Field(description="Null when there is no spell.")
    upper_quartile_days: float | None = Field(description="The 75th percentile; null when there is no spell.")


class StageDuration(Out):
    """Time spent in one stage, for one segment or all, by how the deals stood at `as_of`."""

    stage: str
    segment: str = Field(description=f"`{ALL}` for every deal, else the accounts' segment.")
    all_deals: SpellStats
    won: SpellStats
    not_won: SpellStats = Field(description="Deals lost or closed with no decision.")
    still_open: SpellStats


class StageDurations(Out):
    """Median and upper quartile of the days deals spent in each stage (completed spells only)."""

    as_of: date = Field(description="History is replayed to the end of this day.")
    ended_from: date | None = Field(description="Only spells that ended on or after this day (if given).")
    ended_to: date | None = Field(description="Only spells that ended on or before this day (if given).")
    by_segment: bool = Field(description="Whether each stage also has one row per segment.")
    stages: list[StageDuration] = Field(
        description=f"Every open stage in the sales process's order, each with an `{ALL}` row (and, by "
        "segment, one row per segment with spells in it)."
    )


# win / loss / no decision ----------------------------------------------------------------------------------
class OutcomeRow(Out):
    """The deals of one group closed in the window, in one currency: counts, amounts and rates (shares of
    the closed deals)."""

    value: str = Field(description=f"The segment, owner, team, source or product; `{ALL}` for the total.")
    currency: str = Field(description="Three-letter currency code of the deals of this row.")
    closed: int = Field(description="won + lost + no decision.")
    won: int
    lost: int
    no_decision: int
    won_amount: Money
    lost_amount: Money
    no_decision_amount: Money
    unknown_amount: int = Field(description="Closed deals without an amount (they add 0 to the amounts).")
    win_rate: Share | None
    loss_rate: Share | None
    no_decision_rate: Share | None


class OutcomeDimensions(Out):
    """One list of rows per dimension, most closed deals first."""

    segment: list[OutcomeRow] = Field(description="By the account's segment.")
    owner: list[OutcomeRow]
    team: list[OutcomeRow] = Field(description="By the owner's team.")
    source: list[OutcomeRow] = Field(description="By where the deal came from.")
    product: list[OutcomeRow]


class OutcomeBreakdown(Out):
    """Won, lost and no-decision deals closed in the window, in total and by dimension."""

    window: Window = Field(description="The deals closed in these days (ending at `as_of`).")
    total: list[OutcomeRow] = Field(description="One row per currency.")
    by: OutcomeDimensions


# changes between two days ----------------------------------------------------------------------------------
class ChangeStep(Out):
    """One piece of the waterfall: the deals of one category."""

    category: CATEGORY = Field(
        description="`new`, `reopened`, `won`, `lost`, `no_decision`, `pushed_out`, `pulled_in`, "
        "`amount_up`, `amount_down`, `unchanged` or `created_closed` (created and closed between the two "
        "days: in neither total)."
    )
    deals: int
    amount_before: Money = Field(description="These deals' open amount at `from_date`.")
    amount_after: Money = Field(
        description="Their amount at `to_date` (for a won deal, the amount it was won at)."
    )
    delta: Money = Field(description="What they add to the open pipeline (negative: what they take away).")


class Waterfall(Out):
    """The open pipeline of one currency at both days and the steps between: `start_amount` plus every
    `delta` is exactly `end_amount`."""

    currency: str
    start_deals: int = Field(description="Deals open at the end of `from_date`.")
    start_amount: Money
    end_deals: int = Field(description="Deals open at the end of `to_date`.")
    end_amount: Money
    unknown_amount_start: int = Field(description="Open deals without an amount at `from_date` (count 0).")
    unknown_amount_end: int = Field(description="Open deals without an amount at `to_date` (count 0).")
    steps: list[ChangeStep] = Field(description="Every category, in the order above (empty ones included).")


class PipelineChanges(Out):
    """What changed in the open pipeline between the end of `from_date` and the end of `to_date`."""

    from_date: date
    to_date: date
    waterfalls: list[Waterfall] = Field(description="One per currency, in code order.")


__all__ = [
    "ChangeStep",
    "Funnel",
    "FunnelStage",
    "OutcomeBreakdown",
    "OutcomeDimensions",
    "OutcomeRow",
    "PipelineChanges",
    "SpellStats",
    "StageDuration",
    "StageDurations",
    "Velocity",
    "VelocityRow",
    "VelocityTerms",
    "Waterfall",
    "Window",
]
