"""What the interview routes accept and answer (``/api/v1/interview-guide``, ``/interviews``,
``/interview-answers``), in the conventions of :mod:`dealsight.api.schemas` and
:mod:`dealsight.api.inputs` (known fields only; the services apply every rule and name the field of each
problem: an answer's ``body.answers[2].question``, ``body.answers[2].tags``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from dealsight.api.inputs import MAX_INT, MAX_LIST, Body, Day, Id, Paging, QueryId, QueryText, Text
from dealsight.api.schemas import Out, Page, UtcDateTime
from dealsight.domain.interviews import DEFAULT_GUIDE, MAX_TAGS, TOPIC_LABELS, Topic

TOPICS = ", ".join(f"`{t.value}` ({TOPIC_LABELS[t].lower()})" for t in Topic)


class GuideQuestion(Out):
    key: str = Field(description="How files and the API name the question.")
    text: str
    topic: Topic
    retired: bool = Field(description="Not asked any more; its answers are kept.")


class Guide(Out):
    """An interview guide: its questions in the order they are asked (retired ones included)."""

    name: str
    version: int = Field(description="Each edit is a new version; 0: the shipped guide, not edited yet.")
    questions: list[GuideQuestion]


class GuideParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    guide: QueryText = Field(DEFAULT_GUIDE, description="The guide's name.")


class GuideQuestionCreate(Body):
    """A new question of the guide."""

    text: Text = Field(description="The question as the interviewer asks it.")
    topic: Topic | None = Field(None, description=f"What it is about (default `other`): {TOPICS}.")
    key: Text | None = Field(
        None, description="Lower-case letters, digits, `_` or `-` (default: from the text)."
    )
    position: Annotated[int, Field(ge=1, le=MAX_INT)] | None = Field(
        None, description="1 = first; default last."
    )


class GuideQuestionUpdate(Body):
    """Reword, re-topic, move, retire or bring back a question; a field left out is unchanged."""

    text: Text | None = None
    topic: Topic | None = None
    retired: StrictBool | None = Field(None, description="`true` retires it (its answers are kept).")
    position: Annotated[int, Field(ge=1, le=MAX_INT)] | None = None


class AnswerIn(Body):
    question: Text = Field(description="The guide question's key.")
    answer: Text
    tags: Annotated[list[Text], Field(max_length=MAX_TAGS)] | None = Field(
        None,
        description="`kind:value` tags: `need:price`, `competitor:Quantara`, `stage:decision`, "
        "`roadmap:<question key>`, or a bare theme.",
    )


class InterviewCreate(Body):
    """One interview of a customer contact and what they answered."""

    contact_id: Id = Field(description="The contact interviewed (inside the caller's view).")
    interviewed_on: Day
    answers: Annotated[list[AnswerIn], Field(min_length=1, max_length=MAX_LIST)]
    opportunity_id: Id | None = Field(
        None, description="The deal it was about: one of the contact's account."
    )
    interviewer_id: Id | None = Field(None, description="Default: the caller.")
    note: Text | None = None
    external_id: Text | None = Field(None, description="The interview's id elsewhere; unique.")
    guide: Text | None = Field(None, description=f"The guide followed (default `{DEFAULT_GUIDE}`).")


class Answer(Out):
    id: int
    question_key: str
    question_text: str = Field(description="The wording that was asked (the guide may have changed since).")
    topic: Topic
    answer: str
    tags: list[str]


class Interview(Out):
    id: int
    external_id: str | None
    guide_name: str
    guide_version: int
    contact_id: int
    contact_name: str
    account_id: int | None
    account_name: str | None
    segment: str | None
    opportunity_id: int | None
    opportunity_name: str | None
    interviewer_id: int | None
    interviewer_name: str | None
    interviewed_on: date
    note: str | None
    answers: list[Answer]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class InterviewPage(Page[Interview]):
    pass


class InterviewParams(Paging):
    account_id: QueryId | None = None
    contact_id: QueryId | None = None
    opportunity_id: QueryId | None = None
    since: Day | None = Field(None, description="Interviews on or after this day.")
    until: Day | None = Field(None, description="Interviews on or before this day.")


class AnswerHit(Out):
    """An answer found, with who said it, when, and to which question."""

    answer_id: int
    interview_id: int
    interviewed_on: date
    contact_id: int
    contact_name: str
    account_id: int | None
    account_name: str | None
    segment: str | None
    opportunity_id: int | None
    product: str | None = Field(description="The product of the deal the interview was about.")
    question_key: str
    question_text: str
    topic: Topic
    answer: str
    tags: list[str]
    interviewer_name: str | None


class AnswerPage(Page[AnswerHit]):
    pass


class AnswerParams(InterviewParams):
    text: QueryText | None = Field(None, description="Every word must appear in the answer (any case).")
    question: QueryText | None = Field(None, description="A guide question's key.")
    topic: Topic | None = None
    tag: QueryText | None = Field(
        None, description="`kind:value` (`stage:decision`), or a bare value matching a tag of any kind."
    )
    segment: QueryText | None = Field(None, description="The account's segment (any case).")


__all__ = [
    "AnswerHit",
    "AnswerPage",
    "AnswerParams",
    "Guide",
    "GuideParams",
    "GuideQuestionCreate",
    "GuideQuestionUpdate",
    "Interview",
    "InterviewCreate",
    "InterviewPage",
    "InterviewParams",
]
