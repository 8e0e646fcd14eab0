"""What the survey routes accept and answer (``/api/v1/surveys``), in the conventions of
:mod:`dealsight.api.schemas` (days ``YYYY-MM-DD``, timestamps UTC) and :mod:`dealsight.api.inputs` (known
fields only; the service applies every rule of a survey and names the field of each problem: a need's
points ``body.points.<need>``, their sum ``body.points``, a rating ``body.ratings.<vendor>.<need>``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from dealsight.api.inputs import MAX_INT, Body, Day, Id, Paging, QueryText, Text
from dealsight.api.schemas import Out, Page, UtcDateTime
from dealsight.domain.surveys import (
    DEFAULT_NEEDS,
    MAX_NEEDS,
    MAX_VENDORS,
    OUR_VENDOR,
    Function,
    RespondentType,
)

Number = Annotated[Decimal, Field(description="A number (or a decimal string).")]
VendorRatings = Annotated[dict[Text, Number | None], Field(max_length=MAX_NEEDS)]
Ratings = Annotated[dict[Text, VendorRatings], Field(max_length=MAX_VENDORS)]


class Survey(Out):
    """A needs survey: the needs it asks about (in order) and the vendors rated, us among them."""

    id: int
    name: str
    conducted_on: date
    needs: list[str]
    vendors: list[str] = Field(description="Every vendor rated, us included, in the survey's order.")
    us: str = Field(description="Which vendor is us.")
    competitors: list[str]
    customers: int = Field(description="How many customers answered.")
    internal: int = Field(description="How many internal people (by function) answered.")
    created_at: UtcDateTime
    updated_at: UtcDateTime


class SurveyPage(Page[Survey]):
    pass


class SurveyCreate(Body):
    """A new survey. Needs default to brand, product, quality, price and service; `us` is what the
    answers call us (default `us`); competitors are the other vendors rated."""

    name: Text = Field(description="Unique among surveys (any case).")
    conducted_on: Day | None = Field(None, description="The survey's day (default today).")
    needs: Annotated[list[Text], Field(max_length=MAX_NEEDS)] | None = Field(
        None, description=f"2 to {MAX_NEEDS} needs (default: {', '.join(DEFAULT_NEEDS)})."
    )
    us: Text | None = Field(None, description=f"Our own name among the vendors (default `{OUR_VENDOR}`).")
    competitors: Annotated[list[Text], Field(max_length=MAX_VENDORS)] | None = Field(
        None, description="The competitors rated beside us."
    )


class ResponseCreate(Body):
    """One respondent's answers: 100 points across the survey's needs (a need left out gets 0) and, for
    each vendor, a rating from 0 to 10 on each need (a rating left out or null: not rated). A customer may
    be linked to a contact (and so its account) or an account; an internal respondent names their
    function instead."""

    respondent: Text = Field(description="Who answered: an id or name, once per survey.")
    respondent_type: RespondentType | None = Field(
        None, description="Default: internal when a function is given, else customer."
    )
    function: Function | None = Field(None, description="An internal respondent's function.")
    contact_id: Id | None = None
    account_id: Id | None = Field(None, description="Default: the contact's account.")
    segment: Text | None = Field(None, description="Default: the linked account's segment.")
    industry: Text | None = Field(None, description="Default: the linked account's industry.")
    points: Annotated[dict[Text, Number], Field(max_length=MAX_NEEDS)] = Field(
        description='Points per need, adding up to 100: `{"price": 40, "service": 60}`.'
    )
    ratings: Ratings | None = Field(
        None, description='Ratings by vendor and need: `{"us": {"price": 7, "service": 9}}`.'
    )


class Respondent(Out):
    """One respondent as stored, with their answers."""

    id: int
    survey_id: int
    respondent: str
    respondent_type: RespondentType
    function: Function | None
    contact_id: int | None
    account_id: int | None
    segment: str | None
    industry: str | None
    points: dict[str, float]
    ratings: dict[str, dict[str, float]] = Field(description="By vendor, then need; only what was rated.")
    created_at: UtcDateTime
    updated_at: UtcDateTime


class SurveyParams(Paging):
    pass


class AnalysisParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment: QueryText | None = Field(None, description="Only the customers of this segment (any case).")
    industry: QueryText | None = Field(None, description="Only the customers of this industry (any case).")
    by: Literal["segment", "industry"] = Field("segment", description="Break the weighted needs down by.")
    resamples: int = Field(1000, ge=100, le=10_000, description="Bootstrap resamples of each interval.")
    seed: int = Field(0, ge=0, le=MAX_INT, description="Seed of the bootstrap: same seed, same intervals.")


# the analysis ----------------------------------------------------------------------------------------------
class NeedWeight(Out):
    need: str
    points: float | None = Field(description="Customers' mean points (of 100).")
    low: float | None = Field(description="95% interval, low end (null with fewer than two answers).")
    high: float | None


class NeedWeights(Out):
    dimension: Literal["all", "segment", "industry"]
    group: str
    respondents: int
    small_sample: bool = Field(description="Fewer than 30 respondents: the figures are rough.")
    needs: list[NeedWeight]


class VendorScore(Out):
    vendor: str
    is_us: bool
    ratings: list[float | None] = Field(description="Customers' mean rating (0-10) per need, survey order.")
    raters: list[int] = Field(description="How many customers rated the vendor on each need.")
    weighted_score: float | None = Field(description="Sum over needs of importance weight x mean rating.")
    partial: bool = Field(description="Scored on the needs it was rated on only.")


class CompetitorGrid(Out):
    needs: list[str]
    weights: list[float] = Field(description="Importance weights: customers' mean points / 100.")
    vendors: list[VendorScore] = Field(description="Highest weighted score first.")
    leader: str | None = Field(description="The leading competitor (highest weighted score).")


class Gap(Out):
    need: str
    believed: float | None
    customers: float | None
    gap: float | None = Field(description="Believed minus customers'.")
    low: float | None
    high: float | None
    distinguishable: bool = Field(description="The 95% interval of the gap leaves out 0.")


class FunctionGap(Out):
    function: str
    respondents: int
    small_sample: bool
    weights: list[Gap] = Field(description="Believed points against customers' points, per need.")
    most_wrong: list[Gap] = Field(description="The needs with the largest absolute gap, largest first.")
    ratings_of_us: list[Gap] = Field(description="Believed rating of us against customers', per need.")
    summary: str


class Opportunity(Out):
    need: str
    points: float
    importance: float = Field(description="10 x points / the highest need's points.")
    satisfaction: float | None = Field(description="Customers' mean rating of us.")
    score: float | None = Field(description="importance + max(importance - satisfaction, 0).")
    level: Literal["extreme", "high", "solid", "low"] | None
    overserved: bool


class FlankingCandidate(Out):
    competitor: str
    need: str
    our_rating: float
    their_rating: float
    lead: float
    points: float
    weighting_share: float = Field(description="Share of customers giving the need the even share or more.")
    already_weighted: bool
    gain_per_10_points: float
    explanation: str


class NeedsAnalysis(Out):
    needs: list[str]
    vendors: list[str]
    us: str
    customers: int
    internal: int
    resamples: int
    seed: int
    weights: NeedWeights
    breakdown: list[NeedWeights]
    grid: CompetitorGrid
    gaps: list[FunctionGap]
    opportunities: list[Opportunity] = Field(description="Highest score first.")
    flanking: list[FlankingCandidate] = Field(description="The leading competitor's first, best first.")
    notes: list[str]


class SurveyAnalysis(Out):
    """A survey's needs analysis for the customers selected (all when `segment` and `industry` are null)."""

    survey: Survey
    segment: str | None
    industry: str | None
    by: Literal["segment", "industry"]
    analysis: NeedsAnalysis


__all__ = [
    "AnalysisParams",
    "Respondent",
    "ResponseCreate",
    "Survey",
    "SurveyAnalysis",
    "SurveyCreate",
    "SurveyPage",
    "SurveyParams",
]
