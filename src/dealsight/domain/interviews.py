"""Customer interviews: the interview guide, answers and their tags; standard library only.

An **interview guide** is a named, versioned list of questions a team asks customers after a purchase (or
a loss): why they bought, what almost stopped them, what they compared, what they would tell a peer, the
value they got. Each question has a stable ``key`` (what a file or an API names it by), its ``text``, a
``topic`` and a position. Teams edit their guide: add, reword, reorder and retire questions; each edit is a
new **version** of the guide. A retired question is never asked again but keeps every answer it was given,
and an answer keeps the wording that was asked (a reword changes later interviews only).

An **interview** is one conversation with one customer contact (and so their account, and optionally one
of the account's deals) on a day, by an interviewer, with the guide version it followed. Each **answer** is
text for one question (several answers to one question are allowed: a customer lists three questions they
needed answered), with optional **tags** written ``kind:value``:

- ``need:price`` a need (as the needs surveys name them), ``competitor:Quantara`` a competitor,
- ``stage:decision`` a buyer stage (:class:`~dealsight.domain.enums.BuyerPhase`),
- ``roadmap:tco`` the key of the buying-roadmap question an answer is about (docs/roadmaps.md),
- any other text without a known kind is a free ``theme`` tag (``onboarding``).

The rules here are shared by every way in (the CSV import, the API, the page); each caller says where a
problem is in its own terms. See docs/interviews.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from dealsight.domain.enums import BuyerPhase

GUIDE_NAME_LENGTH = 100
KEY_LENGTH = 60
QUESTION_LENGTH = 500
ANSWER_LENGTH = 10_000
TAG_LENGTH = 200
MAX_TAGS = 20
MAX_QUESTIONS = 60
DEFAULT_GUIDE = "default"
"""The guide teams start from (shipped as YAML; docs/interviews.md)."""
TAG_SEPARATOR = ":"
TAGS_SEPARATOR = ";"
"""Between the tags of one answer in a file's cell (``need:price; stage:decision``)."""

_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")


class Topic(StrEnum):
    """What a guide question is about."""

    TRIGGER = "trigger"
    WHY_BOUGHT = "why_bought"
    ALTERNATIVES = "alternatives"
    ALMOST_STOPPED = "almost_stopped"
    QUESTIONS_ASKED = "questions_asked"
    """The questions the buyer needed answered: answers tagged with a stage feed the roadmap's gaps."""
    BUYING_PROCESS = "buying_process"
    DECISION_CRITERIA = "decision_criteria"
    VALUE = "value"
    ADOPTION = "adoption"
    PEER_ADVICE = "peer_advice"
    IMPROVEMENT = "improvement"
    OTHER = "other"


TOPIC_LABELS: dict[Topic, str] = {
    Topic.TRIGGER: "What started the search",
    Topic.WHY_BOUGHT: "Why they bought",
    Topic.ALTERNATIVES: "What they compared",
    Topic.ALMOST_STOPPED: "What almost stopped them",
    Topic.QUESTIONS_ASKED: "Questions they needed answered",
    Topic.BUYING_PROCESS: "How they bought",
    Topic.DECISION_CRITERIA: "Decision criteria",
    Topic.VALUE: "The value they got",
    Topic.ADOPTION: "Getting started",
    Topic.PEER_ADVICE: "What they would tell a peer",
    Topic.IMPROVEMENT: "What we should do better",
    Topic.OTHER: "Other",
}


class TagKind(StrEnum):
    NEED = "need"
    COMPETITOR = "competitor"
    STAGE = "stage"
    ROADMAP = "roadmap"
    THEME = "theme"


@dataclass(frozen=True, order=True)
class Tag:
    """One tag of an answer: ``stage:decision`` is ``Tag(TagKind.STAGE, "decision")``."""

    kind: TagKind
    value: str

    def __str__(self) -> str:
        return self.value if self.kind is TagKind.THEME else f"{self.kind.value}{TAG_SEPARATOR}{self.value}"


@dataclass(frozen=True)
class GuideQuestion:
    """A question of a guide. ``retired`` questions are not asked any more but keep their answers."""

    key: str
    text: str
    topic: Topic
    retired: bool = False
    id: int | None = None


@dataclass(frozen=True)
class Guide:
    """A named guide at one version: its questions in the order they are asked (retired ones included)."""

    name: str
    version: int
    questions: tuple[GuideQuestion, ...]
    id: int | None = None

    @property
    def active(self) -> tuple[GuideQuestion, ...]:
        """The questions asked today, in order."""
        return tuple(q for q in self.questions if not q.retired)

    def question(self, key: str) -> GuideQuestion | None:
        wanted = key.strip().lower()
        return next((q for q in self.questions if q.key == wanted), None)


# single values -------------------------------------------------------------------------------------------
def key_problem(key: str) -> str | None:
    """What is wrong with a question key (``None``: nothing)."""
    if not _KEY.match(key) or len(key) > KEY_LENGTH:
        return (
            f"a key of 1 to {KEY_LENGTH} lower-case letters, digits, '_' or '-', starting with a letter "
            f"(such as why_bought)"
        )
    return None


def text_problem(text: str, limit: int, what: str) -> str | None:
    if not text.strip():
        return f"{what} must not be empty"
    if len(text.strip()) > limit:
        return f"{what} has at most {limit:,} characters (this one has {len(text.strip()):,})"
    return None


def parse_topic(text: str) -> Topic | None:
    """A topic from its value or its label, any case (``None`` when it is neither)."""
    wanted = text.strip().lower().replace(" ", "_").replace("-", "_")
    for topic in Topic:
        if wanted in (topic.value, TOPIC_LABELS[topic].lower().replace(" ", "_")):
            return topic
    return None


def parse_tag(text: str) -> tuple[Tag | None, str | None]:
    """One tag from ``kind:value`` (or a bare theme), and what is wrong with it."""
    text = " ".join(text.split())
    if not text:
        return None, "an empty tag"
    kind_text, found, value = text.partition(TAG_SEPARATOR)
    kind = next((k for k in TagKind if k.value == kind_text.strip().lower()), None) if found else None
    if kind is None:
        kind, value = TagKind.THEME, text
    value = value.strip()
    if not value:
        return None, f"the tag {text!r} has no value after '{TAG_SEPARATOR}'"
    if len(value) > TAG_LENGTH:
        return None, f"a tag has at most {TAG_LENGTH} characters"
    if kind is TagKind.STAGE:
        stage = value.lower()
        if stage not in {phase.value for phase in BuyerPhase}:
            stages = ", ".join(phase.value for phase in BuyerPhase)
            return None, f"stage:{value} is not a buyer stage; stages are {stages}"
        value = stage
    elif kind in (TagKind.ROADMAP, TagKind.NEED, TagKind.THEME):
        value = value.lower()
    return Tag(kind, value), None


def parse_tags(values: Iterable[str]) -> tuple[tuple[Tag, ...], list[str]]:
    """Tags (sorted, each once) from their texts, and the problems found."""
    tags: set[Tag] = set()
    problems: list[str] = []
    for text in values:
        if not text.strip():
            continue
        tag, problem = parse_tag(text)
        if problem is not None:
            problems.append(problem)
        elif tag is not None:
            tags.add(tag)
    if len(tags) > MAX_TAGS:
        problems.append(f"at most {MAX_TAGS} tags per answer (got {len(tags)})")
    return tuple(sorted(tags)), problems


def split_tags(cell: str) -> list[str]:
    """The tags of a file's cell: ``need:price; stage:decision``."""
    return [part.strip() for part in cell.split(TAGS_SEPARATOR) if part.strip()]


def guide_from_data(data: object) -> tuple[Guide | None, list[tuple[str, str]]]:
    """A guide from plain data (``{"name": ..., "questions": [{"key", "text", "topic"}]}``, as in the
    shipped YAML) and its problems as (where, problem)."""
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        return None, [("questions", "expected a list of questions with key, text and topic")]
    name = data.get("name") or DEFAULT_GUIDE
    problems: list[tuple[str, str]] = []
    if not isinstance(name, str) or text_problem(name, GUIDE_NAME_LENGTH, "a name"):
        problems.append(("name", f"expected a name of 1 to {GUIDE_NAME_LENGTH} characters"))
    questions: list[GuideQuestion] = []
    for index, item in enumerate(data["questions"], start=1):
        where = f"questions[{index}]"
        if not isinstance(item, dict) or not all(isinstance(item.get(f), str) for f in ("key", "text")):
            problems.append((where, "expected key and text"))
            continue
        topic = parse_topic(str(item.get("topic") or Topic.OTHER.value))
        if topic is None:
            problems.append((f"{where}.topic", f"expected one of {', '.join(t.value for t in Topic)}"))
            continue
        questions.append(GuideQuestion(item["key"].strip().lower(), " ".join(item["text"].split()), topic))
    problems += guide_problems(questions)
    if problems:
        return None, problems
    return Guide(str(name), 0, tuple(questions)), []


# editing a guide ------------------------------------------------------------------------------------------
def guide_problems(questions: Sequence[GuideQuestion]) -> list[tuple[str, str]]:
    """Problems of a guide's questions as (key or position, problem)."""
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, question in enumerate(questions, start=1):
        where = question.key or f"question {index}"
        for problem in (
            key_problem(question.key),
            text_problem(question.text, QUESTION_LENGTH, "a question"),
        ):
            if problem:
                problems.append((where, problem))
        if question.key in seen:
            problems.append((where, f"the key {question.key!r} is used twice"))
        seen.add(question.key)
    if len(questions) > MAX_QUESTIONS:
        problems.append(("questions", f"a guide has at most {MAX_QUESTIONS} questions"))
    if not any(not q.retired for q in questions):
        problems.append(("questions", "a guide needs at least one question that is not retired"))
    return problems


def next_version(guide: Guide, questions: Sequence[GuideQuestion]) -> Guide:
    """``guide`` with ``questions``, one version later."""
    return replace(guide, version=guide.version + 1, questions=tuple(questions))


def add_question(guide: Guide, question: GuideQuestion, position: int | None = None) -> Guide:
    """A new question at ``position`` (1-based among all questions; default last)."""
    questions = list(guide.questions)
    at = len(questions) if position is None else max(0, min(position - 1, len(questions)))
    questions.insert(at, question)
    return next_version(guide, questions)


def change_question(
    guide: Guide,
    key: str,
    *,
    text: str | None = None,
    topic: Topic | None = None,
    retired: bool | None = None,
    position: int | None = None,
) -> Guide:
    """``guide`` with the question ``key`` reworded, moved, re-topiced, retired or brought back."""
    old = guide.question(key)
    if old is None:
        raise KeyError(key)
    new = replace(
        old,
        text=old.text if text is None else text,
        topic=old.topic if topic is None else topic,
        retired=old.retired if retired is None else retired,
    )
    questions = [new if q.key == old.key else q for q in guide.questions]
    if position is not None:
        questions.remove(new)
        questions.insert(max(0, min(position - 1, len(questions))), new)
    return next_version(guide, questions)


__all__ = [
    "ANSWER_LENGTH",
    "DEFAULT_GUIDE",
    "GUIDE_NAME_LENGTH",
    "KEY_LENGTH",
    "MAX_QUESTIONS",
    "MAX_TAGS",
    "QUESTION_LENGTH",
    "TAGS_SEPARATOR",
    "TAG_LENGTH",
    "TOPIC_LABELS",
    "Guide",
    "GuideQuestion",
    "Tag",
    "TagKind",
    "Topic",
    "add_question",
    "change_question",
    "guide_from_data",
    "guide_problems",
    "key_problem",
    "next_version",
    "parse_tag",
    "parse_tags",
    "parse_topic",
    "split_tags",
    "text_problem",
]
