"""What the quota routes accept and answer (``/api/v1/quotas``), in the conventions of
:mod:`dealsight.api.schemas` (money as a decimal string, days ``YYYY-MM-DD``, timestamps UTC) and
:mod:`dealsight.api.inputs` (known fields only, strict ids; the service applies every rule and names the
field of each problem)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from dealsight.api.inputs import Amount, Body, Day, Id, ListParams, QueryId, QueryText, Text
from dealsight.api.schemas import Money, Out, Page, UtcDateTime
from dealsight.services.quotas import DEFAULT_SORT


class Quota(Out):
    """The target of one rep (`user_id`) or one team (`team_id`) for one period, both days included."""

    id: int
    period_start: date
    period_end: date = Field(description="The last day of the period (included).")
    level: Literal["rep", "team"] = Field(description="Whose target: a rep's or a team's.")
    user_id: int | None
    user_name: str | None
    team_id: int | None
    team_name: str | None
    amount: Money
    currency: str = Field(description="Three-letter currency code.")
    created_at: UtcDateTime
    updated_at: UtcDateTime


class QuotaPage(Page[Quota]):
    pass


class QuotaUpdate(Body):
    """Fields of a quota to change; a field left out is unchanged. Exactly one of `user_id` and `team_id`
    must be set once the change is made (send the other as `null` to move a quota from a rep to a team)."""

    period_start: Day | None = None
    period_end: Day | None = Field(None, description="On or after `period_start`.")
    user_id: Id | None = Field(None, description="The rep whose target this is.")
    team_id: Id | None = Field(None, description="The team whose target this is.")
    amount: Amount | None = Field(None, description="0 or more.")
    currency: Text | None = Field(None, description="Three-letter currency code.")


class QuotaCreate(QuotaUpdate):
    """A new quota: the period, the amount, and exactly one of `user_id` and `team_id`."""

    period_start: Day
    period_end: Day = Field(description="On or after `period_start`.")
    amount: Amount = Field(description="0 or more.")
    currency: Text = Field("USD", description="Three-letter currency code.")


class QuotaParams(ListParams):
    sort: QueryText | None = Field(
        None,
        description="Sort by `period_start`, `period_end`, `amount` or `id`; `-field` for descending. "
        f"Default `{DEFAULT_SORT}`; ties by id.",
    )
    user_id: QueryId | None = Field(None, description="A rep's quotas.")
    team_id: QueryId | None = Field(None, description="A team's quotas.")
    period_from: Day | None = Field(None, description="Quotas whose period ends on or after this day.")
    period_to: Day | None = Field(None, description="Quotas whose period starts on or before this day.")


__all__ = ["Quota", "QuotaCreate", "QuotaPage", "QuotaParams", "QuotaUpdate"]
