"""What the roadmap routes accept and answer (``/api/v1/roadmaps``, ``/roadmap-gaps`` and a deal's
``/opportunities/{id}/roadmap``), in the conventions of :mod:`dealsight.api.schemas` and
:mod:`dealsight.api.inputs`. A roadmap's problems name their place in the body
(``body.stages.decision.questions[2].answer``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, RootModel

from dealsight.api.inputs import Body, Day, QueryText, Text
from dealsight.api.schemas import Out, UtcDateTime
from dealsight.domain.enums import BuyerPhase
from dealsight.domain.roadmaps import MAX_ITEMS

Texts = Annotated[list[Text], Field(max_length=MAX_ITEMS)]


class RoadmapSummary(Out):
    id: int
    product: str
    version: int
    questions: int
    updated_at: UtcDateTime


class RoadmapQuestion(Out):
    key: str
    stage: BuyerPhase
    question: str
    concern: str | None
    answer: str | None = Field(description="What satisfies the buyer; null: a gap.")
    tools: list[str] = Field(description="The tools or assets that give the answer; empty: a gap.")


class RoadmapStage(Out):
    stage: BuyerPhase
    concerns: list[str]
    tools: list[str] = Field(description="Tools that serve the stage as a whole.")


class Roadmap(Out):
    """A product's buying roadmap: every stage in the buyer's order, and the questions stage by stage."""

    id: int | None
    product: str
    version: int
    stages: list[RoadmapStage]
    questions: list[RoadmapQuestion]


class QuestionIn(Body):
    question: Text
    key: Text | None = Field(None, description="Default: made from the question's first words.")
    concern: Text | None = None
    answer: Text | None = None
    tools: Texts | None = None


class StageIn(Body):
    concerns: Texts | None = None
    tools: Texts | None = None
    questions: Annotated[list[QuestionIn], Field(max_length=MAX_ITEMS)] | None = None


class RoadmapIn(Body):
    """A whole roadmap: it replaces the stored one (questions matched by key keep the deals' records of
    having them answered; questions left out are deleted with those records)."""

    product: Text | None = Field(None, description="Default: the product in the path; must match it.")
    stages: dict[BuyerPhase, StageIn] | None = None


class QuestionCreate(Body):
    stage: BuyerPhase
    question: Text
    key: Text | None = None
    concern: Text | None = None
    answer: Text | None = None
    tools: Texts | None = None


class QuestionUpdate(Body):
    """Fields to change; `null` clears `concern`, `answer` or `tools`."""

    stage: BuyerPhase | None = Field(None, description="Moves the question to the end of that stage.")
    question: Text | None = None
    concern: Text | None = None
    answer: Text | None = None
    tools: Texts | None = None


class StageUpdate(Body):
    concerns: Texts | None = None
    tools: Texts | None = None


class MissingQuestion(Out):
    stage: BuyerPhase
    text: str
    asked: int = Field(description="How many answers asked it (in any of its wordings).")
    interviews: int
    wordings: list[str]
    closest: str | None = Field(description="The nearest question the roadmap has at that stage.")
    closest_score: float | None


class StageGaps(Out):
    stage: BuyerPhase
    questions: int
    unanswered: list[RoadmapQuestion]
    answers_without_tool: list[RoadmapQuestion]
    without_tool: bool
    tools: list[str]
    missing: list[MissingQuestion]
    asked: int = Field(description="Questions customers asked at this stage, in the roadmap or not.")
    gaps: int


class RoadmapGaps(Out):
    product: str
    total: int
    summary: str
    stages: list[StageGaps]


class RoadmapList(RootModel[list[RoadmapSummary]]):
    pass


class GapsList(RootModel[list[RoadmapGaps]]):
    pass


class GapsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: QueryText | None = Field(None, description="One product's roadmap (default: every roadmap).")


class DealAnswer(Out):
    answered_on: date
    tool: str | None
    note: str | None
    answered_by_name: str | None


class DealRoadmapItem(Out):
    question: RoadmapQuestion
    answer: DealAnswer | None = Field(description="null: the question is still open for this deal.")
    open: bool


class DealRoadmap(Out):
    """A deal on its product's roadmap: the buyer's stage and each question, open or answered."""

    deal_id: int
    product: str | None
    stage: BuyerPhase | None = Field(description="The deal's buyer phase; null: not recorded.")
    has_roadmap: bool
    open_here: list[str] = Field(description="Keys of the questions of the buyer's stage still open.")
    open_earlier: list[str] = Field(description="Keys of the questions of earlier stages still open.")
    items: list[DealRoadmapItem]


class DealAnswerIn(Body):
    answered_on: Day | None = Field(None, description="Default today; not in the future.")
    tool: Text | None = Field(None, description="The tool or asset that gave the answer.")
    note: Text | None = None


__all__ = [
    "DealAnswerIn",
    "DealRoadmap",
    "DealRoadmapItem",
    "GapsList",
    "GapsParams",
    "QuestionCreate",
    "QuestionUpdate",
    "Roadmap",
    "RoadmapGaps",
    "RoadmapIn",
    "RoadmapList",
    "RoadmapSummary",
    "StageUpdate",
]
