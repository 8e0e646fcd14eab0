"""Gaps in a buying process roadmap, and where one deal's buyer stands on it; pure computation.

A roadmap (:mod:`dealsight.domain.roadmaps`) has a gap wherever a buyer would be left without what they
need:

- a **question with no answer**: the buyer asks it and we have nothing to say;
- an **answer with no tool**: we know the answer but give the buyer nothing that shows it (no case study,
  calculator, reference, trial);
- a **stage with no tool** at all;
- a **question customers asked** in interviews (answers to a ``questions_asked`` guide question, tagged
  with the stage) that the roadmap does not have at that stage.

An asked question is *in* the roadmap when the interviewer tagged it with the roadmap question's key
(``roadmap:tco``), or when its words are close to a roadmap question of the same stage: the token-set
similarity of the two texts without stop words (rapidfuzz) is at least :data:`MATCH_THRESHOLD` out of
100. Asked questions missing from the roadmap are grouped by the same similarity, so three customers
asking about the price in different words are one gap asked three times.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz

from dealsight.domain.enums import BuyerPhase
from dealsight.domain.roadmaps import STAGE_LABELS, STAGES, Roadmap, RoadmapQuestion, stage_order

MATCH_THRESHOLD = 70.0
EXAMPLES = 3
_STOP_WORDS_TEXT = """
    a an and are as at be been but by can could did do does doing for from had has have how i if in
    into is it its me my of on or our ours should so than that the their them then there these they
    this those to us was we were what when where which who whom why will with would you your yours
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


@dataclass(frozen=True)
class AskedQuestion:
    """A question a customer said they needed answered, at a buyer stage (from an interview)."""

    text: str
    stage: BuyerPhase
    interview_id: int
    interviewed_on: date | None = None
    roadmap_key: str | None = None
    """The roadmap question the interviewer linked it to (a ``roadmap:KEY`` tag), if any."""


@dataclass(frozen=True)
class MissingQuestion:
    """Questions customers asked at a stage that the roadmap lacks, grouped by similar words."""

    stage: BuyerPhase
    text: str
    """The wording asked first."""
    asked: int
    interviews: int
    wordings: tuple[str, ...]
    """Up to :data:`EXAMPLES` other wordings of the same question."""
    closest: str | None
    """The nearest roadmap question of the stage (below the threshold), to reword or to add beside."""
    closest_score: float | None


@dataclass(frozen=True)
class StageGaps:
    stage: BuyerPhase
    questions: int
    unanswered: tuple[RoadmapQuestion, ...]
    answers_without_tool: tuple[RoadmapQuestion, ...]
    tools: tuple[str, ...]
    missing: tuple[MissingQuestion, ...]
    asked: int
    """Asked questions (interview answers) at this stage, whether in the roadmap or not."""

    @property
    def without_tool(self) -> bool:
        return not self.tools

    @property
    def gaps(self) -> int:
        return len(self.unanswered) + len(self.answers_without_tool) + len(self.missing) + self.without_tool

    @property
    def label(self) -> str:
        return STAGE_LABELS[self.stage]


@dataclass(frozen=True)
class RoadmapGaps:
    """Every gap of one roadmap, stage by stage, in the buyer's order."""

    product: str
    stages: tuple[StageGaps, ...]

    @property
    def unanswered(self) -> tuple[RoadmapQuestion, ...]:
        return tuple(q for s in self.stages for q in s.unanswered)

    @property
    def answers_without_tool(self) -> tuple[RoadmapQuestion, ...]:
        return tuple(q for s in self.stages for q in s.answers_without_tool)

    @property
    def stages_without_tool(self) -> tuple[BuyerPhase, ...]:
        return tuple(s.stage for s in self.stages if s.without_tool)

    @property
    def missing(self) -> tuple[MissingQuestion, ...]:
        return tuple(m for s in self.stages for m in s.missing)

    @property
    def total(self) -> int:
        return sum(s.gaps for s in self.stages)

    def summary(self) -> str:
        """The gaps in one plain sentence."""
        if not self.total:
            return f"{self.product}: no gaps; every question has an answer and a tool, every stage a tool."
        parts = []
        for count, what in (
            (len(self.unanswered), "question{} with no answer"),
            (len(self.answers_without_tool), "answer{} with no tool"),
            (len(self.stages_without_tool), "stage{} with no tool"),
            (len(self.missing), "question{} customers asked that the roadmap lacks"),
        ):
            if count:
                parts.append(f"{count} {what.format('' if count == 1 else 's')}")
        return f"{self.product}: {', '.join(parts)}."


# similarity ------------------------------------------------------------------------------------------------
def content_words(text: str) -> str:
    """The words of ``text`` that carry meaning: lower case, no punctuation, no stop words."""
    return " ".join(w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP_WORDS)


def similarity(left: str, right: str) -> float:
    """How alike two questions are, 0 to 100 (token-set similarity of their content words)."""
    a, b = content_words(left), content_words(right)
    if not a or not b:
        return 0.0
    return float(fuzz.token_set_ratio(a, b))


def closest_question(text: str, questions: Iterable[RoadmapQuestion]) -> tuple[RoadmapQuestion | None, float]:
    """The roadmap question most like ``text`` and its score (ties: the first)."""
    best: RoadmapQuestion | None = None
    score = 0.0
    for question in questions:
        found = similarity(text, question.question)
        if found > score:
            best, score = question, found
    return best, score


def _group(asked: Sequence[AskedQuestion], threshold: float) -> list[list[AskedQuestion]]:
    groups: list[list[AskedQuestion]] = []
    for item in asked:
        home = next((g for g in groups if similarity(item.text, g[0].text) >= threshold), None)
        if home is None:
            groups.append([item])
        else:
            home.append(item)
    return groups


def _missing(
    stage: BuyerPhase,
    questions: Sequence[RoadmapQuestion],
    asked: Sequence[AskedQuestion],
    threshold: float,
) -> tuple[MissingQuestion, ...]:
    keys = {q.key for q in questions}
    outside = []
    for item in asked:
        if item.roadmap_key in keys:
            continue
        if closest_question(item.text, questions)[1] < threshold:
            outside.append(item)
    found = []
    for group in _group(outside, threshold):
        nearest, score = closest_question(group[0].text, questions)
        wordings = tuple(dict.fromkeys(i.text for i in group[1:] if i.text != group[0].text))[:EXAMPLES]
        found.append(
            MissingQuestion(
                stage,
                group[0].text,
                len(group),
                len({i.interview_id for i in group}),
                wordings,
                nearest.question if nearest else None,
                score if nearest else None,
            )
        )
    return tuple(sorted(found, key=lambda m: (-m.asked, m.text)))


def roadmap_gaps(
    roadmap: Roadmap, asked: Sequence[AskedQuestion] = (), threshold: float = MATCH_THRESHOLD
) -> RoadmapGaps:
    """The gaps of ``roadmap`` (module docstring), given the questions customers asked in interviews."""
    stages = []
    for stage in STAGES:
        questions = roadmap.questions_at(stage)
        here = [a for a in asked if a.stage is stage]
        stages.append(
            StageGaps(
                stage,
                len(questions),
                tuple(q for q in questions if not q.answer),
                tuple(q for q in questions if q.answer and not q.tools),
                roadmap.tools_at(stage),
                _missing(stage, questions, here, threshold),
                len(here),
            )
        )
    return RoadmapGaps(roadmap.product, tuple(stages))


# one deal on the roadmap -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DealProgress:
    """Where a deal's buyer is on the roadmap: the questions of their stage, open or answered, and those of
    earlier stages still open (a buyer who moved on without them)."""

    stage: BuyerPhase | None
    here: tuple[RoadmapQuestion, ...]
    open_here: tuple[RoadmapQuestion, ...]
    open_earlier: tuple[RoadmapQuestion, ...]
    answered: int
    total: int


def deal_progress(roadmap: Roadmap, stage: BuyerPhase | None, answered: Mapping[str, object]) -> DealProgress:
    """The progress of a deal whose buyer is at ``stage`` (unknown: None) and whose buyer has had the
    roadmap questions keyed in ``answered`` answered."""
    if stage is None:
        here: tuple[RoadmapQuestion, ...] = ()
        earlier: tuple[RoadmapQuestion, ...] = ()
    else:
        here = roadmap.questions_at(stage)
        earlier = tuple(q for q in roadmap.questions if stage_order(q.stage) < stage_order(stage))
    return DealProgress(
        stage,
        here,
        tuple(q for q in here if q.key not in answered),
        tuple(q for q in earlier if q.key not in answered),
        sum(1 for q in roadmap.questions if q.key in answered),
        len(roadmap.questions),
    )


__all__ = [
    "MATCH_THRESHOLD",
    "AskedQuestion",
    "DealProgress",
    "MissingQuestion",
    "RoadmapGaps",
    "StageGaps",
    "closest_question",
    "content_words",
    "deal_progress",
    "roadmap_gaps",
    "similarity",
]
