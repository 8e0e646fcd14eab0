"""The buying process roadmap of a product: the buyer's stages, their concerns and questions, the answers
that satisfy them and the tools that give those answers; standard library only.

A roadmap follows the buyer, not the seller: its stages are the buyer phases (awareness, interest,
preference, decision, and after the purchase adoption and value; :class:`~dealsight.domain.enums.
BuyerPhase`). At each stage the buyer has **concerns** ("will this work with our CRM?"), asks **questions**
("how long does the integration take?"), is satisfied by an **answer** ("six weeks with our connector; 40
customers did it") and gets it from a **tool** or asset: a case study, an ROI calculator, a reference
call, a trial. A question has a stable ``key`` (what deals' answers and interview tags refer to), its
stage, optionally the concern it belongs to, the answer and the tools; a stage may also list tools that
serve it as a whole.

:func:`roadmap_from_data` reads the plain data of a YAML file or an API body (dicts, lists, text) into a
:class:`Roadmap` and names where each problem is (``stages.decision.questions[2].answer``); callers map
that to a file's line or a request's field. The gaps are computed in
:mod:`dealsight.analytics.roadmap_gaps`. See docs/roadmaps.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dealsight.domain.enums import BuyerPhase
from dealsight.domain.interviews import KEY_LENGTH, key_problem

PRODUCT_LENGTH = 200
TEXT_LENGTH = 2000
TOOL_LENGTH = 200
MAX_ITEMS = 50
"""The most concerns, questions or tools of one stage."""
STAGES: tuple[BuyerPhase, ...] = tuple(BuyerPhase)
STAGE_LABELS: dict[BuyerPhase, str] = {
    BuyerPhase.AWARENESS: "Awareness",
    BuyerPhase.INTEREST: "Interest",
    BuyerPhase.PREFERENCE: "Preference",
    BuyerPhase.DECISION: "Decision",
    BuyerPhase.ADOPTION: "Adoption",
    BuyerPhase.VALUE: "Value",
}
AFTER_PURCHASE = frozenset({BuyerPhase.ADOPTION, BuyerPhase.VALUE})
QUESTION_FIELDS = ("key", "question", "concern", "answer", "tools")
STAGE_FIELDS = ("concerns", "tools", "questions")

Problem = tuple[str, str]
"""(where, what): ``("stages.decision.questions[2].answer", "expected text")``."""


@dataclass(frozen=True)
class RoadmapQuestion:
    key: str
    stage: BuyerPhase
    question: str
    concern: str | None = None
    answer: str | None = None
    tools: tuple[str, ...] = ()
    id: int | None = None


@dataclass(frozen=True)
class RoadmapStage:
    """A stage's concerns and the tools that serve the stage as a whole (beside its questions' tools)."""

    stage: BuyerPhase
    concerns: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()


@dataclass(frozen=True)
class Roadmap:
    """A product's roadmap: every stage (in the buyer's order) and the questions, stage by stage."""

    product: str
    stages: tuple[RoadmapStage, ...] = field(default_factory=lambda: tuple(RoadmapStage(s) for s in STAGES))
    questions: tuple[RoadmapQuestion, ...] = ()
    id: int | None = None
    version: int = 1

    def stage(self, stage: BuyerPhase) -> RoadmapStage:
        return next((s for s in self.stages if s.stage is stage), RoadmapStage(stage))

    def questions_at(self, stage: BuyerPhase) -> tuple[RoadmapQuestion, ...]:
        return tuple(q for q in self.questions if q.stage is stage)

    def tools_at(self, stage: BuyerPhase) -> tuple[str, ...]:
        """Every tool of the stage: its own and its questions', each once, in order."""
        tools = list(self.stage(stage).tools)
        for question in self.questions_at(stage):
            tools += question.tools
        return tuple(dict.fromkeys(tools))

    def question(self, key: str) -> RoadmapQuestion | None:
        return next((q for q in self.questions if q.key == key), None)


def stage_of(text: str) -> BuyerPhase | None:
    """A stage from its name, any case (``Decision``, ``decision``)."""
    wanted = text.strip().lower()
    return next((s for s in STAGES if s.value == wanted), None)


def stage_order(stage: BuyerPhase) -> int:
    return STAGES.index(stage)


def slug(text: str, limit: int = 40) -> str:
    """A key made from a question's first words: ``How long does it take?`` -> ``how-long-does-it-take``."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    key = ""
    for word in words:
        candidate = f"{key}-{word}" if key else word
        if len(candidate) > limit:
            break
        key = candidate
    if not key or not key[0].isalpha():
        key = f"q-{key}" if key else "q"
    return key[:KEY_LENGTH]


# reading plain data --------------------------------------------------------------------------------------
def _text(
    value: object, where: str, problems: list[Problem], limit: int, required: bool = False
) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append((where, "a value is required"))
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.append((where, f"expected text, got {type(value).__name__}"))
        return None
    text = " ".join(str(value).split())
    if len(text) > limit:
        problems.append((where, f"at most {limit:,} characters (got {len(text):,})"))
        return None
    return text


def _texts(value: object, where: str, problems: list[Problem], limit: int) -> tuple[str, ...]:
    """A list of texts (a single text is a list of one); empty items are dropped, repeats kept once."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        problems.append((where, "expected a list of texts"))
        return ()
    if len(items) > MAX_ITEMS:
        problems.append((where, f"at most {MAX_ITEMS} items (got {len(items)})"))
        return ()
    found = [_text(item, f"{where}[{i + 1}]", problems, limit) for i, item in enumerate(items)]
    return tuple(dict.fromkeys(text for text in found if text))


def _unknown(data: Mapping[str, object], allowed: Sequence[str], where: str, problems: list[Problem]) -> None:
    for name in data:
        if name not in allowed:
            listed = ", ".join(allowed)
            problems.append((f"{where}.{name}" if where else str(name), f"unknown field; expected {listed}"))


def _question(
    data: object, stage: BuyerPhase, where: str, keys: set[str], problems: list[Problem]
) -> RoadmapQuestion | None:
    if isinstance(data, str):
        data = {"question": data}
    if not isinstance(data, Mapping):
        problems.append((where, "expected a question: a text, or fields question, answer, tools"))
        return None
    _unknown(data, QUESTION_FIELDS, where, problems)
    before = len(problems)
    text = _text(data.get("question"), f"{where}.question", problems, TEXT_LENGTH, required=True)
    key = _text(data.get("key"), f"{where}.key", problems, KEY_LENGTH)
    if key is not None:
        key = key.lower()
        problem = key_problem(key)
        if problem:
            problems.append((f"{where}.key", problem))
    elif text is not None:
        base = key = slug(text)
        number = 2
        while key in keys:
            key, number = f"{base}-{number}", number + 1
    if key is not None and key in keys and data.get("key") is not None:
        problems.append((f"{where}.key", f"the key {key!r} is used twice in the roadmap"))
    concern = _text(data.get("concern"), f"{where}.concern", problems, TEXT_LENGTH)
    answer = _text(data.get("answer"), f"{where}.answer", problems, TEXT_LENGTH)
    tools = _texts(data.get("tools"), f"{where}.tools", problems, TOOL_LENGTH)
    if len(problems) > before or text is None or key is None:
        return None
    keys.add(key)
    return RoadmapQuestion(key, stage, text, concern, answer, tools)


def roadmap_from_data(data: object, product: str | None = None) -> tuple[Roadmap | None, list[Problem]]:
    """A roadmap from plain data (``{"product": ..., "stages": {"decision": {"concerns": [...], "tools":
    [...], "questions": [{"question": ..., "answer": ..., "tools": [...]}]}}}``) and the problems found.
    ``product`` (a URL's) replaces a missing ``product`` and must match a given one."""
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        return None, [("", "expected a roadmap: fields product and stages")]
    _unknown(data, ("product", "stages"), "", problems)
    given = " ".join(product.split()) if product is not None else ""
    name = _text(data.get("product"), "product", problems, PRODUCT_LENGTH, required=not given)
    if given and name is not None and name.lower() != given.lower():
        problems.append(("product", f"this roadmap is the product {given!r}'s, not {name!r}"))
    if given and len(given) > PRODUCT_LENGTH:
        problems.append(("product", f"at most {PRODUCT_LENGTH} characters (got {len(given)})"))
    name = name or given or None
    stages_data = data.get("stages") or {}
    if not isinstance(stages_data, Mapping):
        problems.append(("stages", f"expected the stages by name: {', '.join(s.value for s in STAGES)}"))
        stages_data = {}
    stages: dict[BuyerPhase, RoadmapStage] = {}
    questions: dict[BuyerPhase, list[RoadmapQuestion]] = {}
    keys: set[str] = set()
    for stage_name, stage_data in stages_data.items():
        where = f"stages.{stage_name}"
        stage = stage_of(str(stage_name))
        if stage is None:
            problems.append((where, f"not a buyer stage; stages are {', '.join(s.value for s in STAGES)}"))
            continue
        if stage in stages:
            problems.append((where, "this stage is given twice"))
            continue
        stage_data = stage_data or {}
        if not isinstance(stage_data, Mapping):
            problems.append((where, "expected fields concerns, tools and questions"))
            continue
        _unknown(stage_data, STAGE_FIELDS, where, problems)
        concerns = _texts(stage_data.get("concerns"), f"{where}.concerns", problems, TEXT_LENGTH)
        tools = _texts(stage_data.get("tools"), f"{where}.tools", problems, TOOL_LENGTH)
        stages[stage] = RoadmapStage(stage, concerns, tools)
        listed = stage_data.get("questions") or []
        if not isinstance(listed, list) or len(listed) > MAX_ITEMS:
            problems.append((f"{where}.questions", f"expected a list of at most {MAX_ITEMS} questions"))
            continue
        found = [
            _question(q, stage, f"{where}.questions[{i + 1}]", keys, problems) for i, q in enumerate(listed)
        ]
        questions[stage] = [q for q in found if q is not None]
    if problems or name is None:
        return None, problems
    return (
        Roadmap(
            name,
            tuple(stages.get(s, RoadmapStage(s)) for s in STAGES),
            tuple(q for s in STAGES for q in questions.get(s, [])),
        ),
        [],
    )


def roadmap_to_data(roadmap: Roadmap) -> dict[str, object]:
    """The plain data :func:`roadmap_from_data` reads (for a YAML file or a JSON body); empty stages left
    out, empty fields too."""
    stages: dict[str, object] = {}
    for stage in STAGES:
        own = roadmap.stage(stage)
        questions = []
        for q in roadmap.questions_at(stage):
            item: dict[str, object] = {"key": q.key, "question": q.question}
            if q.concern:
                item["concern"] = q.concern
            if q.answer:
                item["answer"] = q.answer
            if q.tools:
                item["tools"] = list(q.tools)
            questions.append(item)
        data: dict[str, object] = {}
        if own.concerns:
            data["concerns"] = list(own.concerns)
        if own.tools:
            data["tools"] = list(own.tools)
        if questions:
            data["questions"] = questions
        if data:
            stages[stage.value] = data
    return {"product": roadmap.product, "stages": stages}


__all__ = [
    "AFTER_PURCHASE",
    "PRODUCT_LENGTH",
    "STAGES",
    "STAGE_LABELS",
    "TEXT_LENGTH",
    "TOOL_LENGTH",
    "Problem",
    "Roadmap",
    "RoadmapQuestion",
    "RoadmapStage",
    "roadmap_from_data",
    "roadmap_to_data",
    "slug",
    "stage_of",
    "stage_order",
]
