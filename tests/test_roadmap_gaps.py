"""Buying roadmaps (pure domain and analytics): reading plain data with located problems, the gaps of
hand-made roadmaps, questions customers asked that a roadmap lacks, and one deal's progress."""

from __future__ import annotations

from datetime import date

import pytest

from dealsight.analytics.roadmap_gaps import (
    AskedQuestion,
    closest_question,
    deal_progress,
    roadmap_gaps,
    similarity,
)
from dealsight.demo.customer_voice import demo_roadmaps
from dealsight.domain.enums import BuyerPhase
from dealsight.domain.roadmaps import Roadmap, roadmap_from_data, roadmap_to_data, slug

D = BuyerPhase


def _roadmap() -> Roadmap:
    data = {
        "product": "Widget",
        "stages": {
            "awareness": {"concerns": ["Is this a problem worth solving?"], "tools": ["Benchmark report"]},
            "interest": {
                "questions": [
                    {
                        "key": "crm",
                        "question": "Does it integrate with our CRM?",
                        "answer": "Yes",
                        "tools": ["Guide"],
                    },
                    {
                        "key": "time",
                        "question": "How long does the implementation take?",
                        "answer": "Six weeks",
                    },
                ]
            },
            "decision": {
                "tools": ["ROI calculator"],
                "questions": [
                    {"key": "tco", "question": "What is the total cost of ownership over three years?"},
                    "Who signs the contract?",
                ],
            },
        },
    }
    roadmap, problems = roadmap_from_data(data)
    assert problems == [] and roadmap is not None
    return roadmap


def test_a_roadmap_is_read_stage_by_stage_in_the_buyers_order() -> None:
    roadmap = _roadmap()
    assert [s.stage for s in roadmap.stages] == list(BuyerPhase)
    assert [q.key for q in roadmap.questions] == ["crm", "time", "tco", "who-signs-the-contract"]
    assert roadmap.tools_at(D.INTEREST) == ("Guide",) and roadmap.tools_at(D.DECISION) == ("ROI calculator",)
    assert roadmap.stage(D.AWARENESS).concerns == ("Is this a problem worth solving?",)
    again, problems = roadmap_from_data(roadmap_to_data(roadmap))
    assert problems == [] and again == roadmap


def test_each_problem_of_a_roadmap_names_its_place() -> None:
    data = {
        "product": "Widget",
        "colour": "blue",
        "stages": {
            "closing": {},
            "decision": {
                "concerns": "Price",
                "tools": [["nested"]],
                "questions": [
                    {"question": "", "answer": "x"},
                    {"key": "Bad Key", "question": "Why?"},
                    {"key": "tco", "question": "Cost?", "answr": "typo"},
                    {"key": "tco", "question": "Cost again?"},
                    42,
                ],
            },
        },
    }
    roadmap, problems = roadmap_from_data(data)
    assert roadmap is None
    places = [where for where, _ in problems]
    assert places == [
        "colour",
        "stages.closing",
        "stages.decision.tools[1]",
        "stages.decision.questions[1].question",
        "stages.decision.questions[2].key",
        "stages.decision.questions[3].answr",
        "stages.decision.questions[4].key",
        "stages.decision.questions[5]",
    ]
    assert "used twice" in problems[6][1] and "not a buyer stage" in problems[1][1]
    assert roadmap_from_data({"stages": {}}, product="Widget")[0] is not None
    assert roadmap_from_data({"stages": {}}, product="  ") == (None, [("product", "a value is required")])
    assert roadmap_from_data({"product": "Gadget"}, product="Widget")[1] == [
        ("product", "this roadmap is the product 'Widget''s, not 'Gadget'")
    ]


def test_keys_are_made_from_the_question_when_left_out() -> None:
    assert slug("How long does it take?") == "how-long-does-it-take"
    assert slug("2026 budget?") == "q-2026-budget"
    roadmap, _ = roadmap_from_data({"product": "W", "stages": {"interest": {"questions": ["Why?", "Why?"]}}})
    assert roadmap is not None and [q.key for q in roadmap.questions] == ["why", "why-2"]


def test_the_gaps_of_a_hand_made_roadmap() -> None:
    gaps = roadmap_gaps(_roadmap())
    assert [q.key for q in gaps.unanswered] == ["tco", "who-signs-the-contract"]
    assert [q.key for q in gaps.answers_without_tool] == ["time"]
    assert gaps.stages_without_tool == (D.PREFERENCE, D.ADOPTION, D.VALUE)
    assert gaps.missing == () and gaps.total == 2 + 1 + 3
    assert gaps.summary() == (
        "Widget: 2 questions with no answer, 1 answer with no tool, 3 stages with no tool."
    )
    complete, _ = roadmap_from_data(
        {
            "product": "Done",
            "stages": {
                s.value: {"tools": ["Call"], "questions": [{"question": "Q?", "answer": "A", "tools": ["T"]}]}
                for s in D
            },
        }
    )
    assert complete is not None and roadmap_gaps(complete).total == 0
    assert (
        roadmap_gaps(complete)
        .summary()
        .endswith("no gaps; every question has an answer and a tool, every stage a tool.")
    )


def _asked(text: str, stage: BuyerPhase, interview: int, key: str | None = None) -> AskedQuestion:
    return AskedQuestion(text, stage, interview, date(2026, 5, 1), key)


def test_questions_customers_asked_that_the_roadmap_lacks_are_grouped_by_their_words() -> None:
    asked = [
        _asked("How long will the implementation take?", D.INTEREST, 1),  # in the roadmap, other words
        _asked("Do you have an API for our data warehouse?", D.INTEREST, 1),
        _asked("Is there an API so our data warehouse can read it?", D.INTEREST, 2),
        _asked("Do you have an API for our data warehouse?", D.INTEREST, 3),
        _asked("What does it cost?", D.DECISION, 2),  # close to "total cost of ownership"
        _asked("Can we see a customer reference?", D.DECISION, 4, key="tco"),  # linked by hand: in it
        _asked("Can we see a customer reference?", D.PREFERENCE, 4),  # the preference stage has no questions
        _asked("Who will train our managers?", D.ADOPTION, 5),
    ]
    gaps = roadmap_gaps(_roadmap(), asked)
    missing = [(m.stage, m.text, m.asked, m.interviews) for m in gaps.missing]
    assert missing == [
        (D.INTEREST, "Do you have an API for our data warehouse?", 3, 3),
        (D.PREFERENCE, "Can we see a customer reference?", 1, 1),
        (D.ADOPTION, "Who will train our managers?", 1, 1),
    ]
    api = gaps.missing[0]
    assert api.wordings == ("Is there an API so our data warehouse can read it?",)
    assert api.closest is not None and api.closest_score is not None and api.closest_score < 70
    interest = next(s for s in gaps.stages if s.stage is D.INTEREST)
    assert interest.asked == 4 and interest.gaps == 2  # one answer without a tool, one missing question
    assert "3 questions customers asked that the roadmap lacks" in gaps.summary()


def test_similarity_ignores_stop_words_and_punctuation() -> None:
    assert similarity("How long does it take?", "How much does it cost?") < 40
    assert similarity("How long does implementation take?", "How long will the implementation take?") == 100
    assert similarity("?", "What?") == 0.0
    question, score = closest_question("Does it connect to our CRM?", _roadmap().questions)
    # the nearest is found, but other words for the same thing stay below the threshold: the gap shows
    # it as the closest question, and the interviewer links the two with a roadmap:crm tag
    assert question is not None and question.key == "crm" and 50 < score < 70


def test_a_deals_progress_is_its_stage_open_questions_and_the_earlier_ones_left_open() -> None:
    roadmap = _roadmap()
    progress = deal_progress(roadmap, D.DECISION, {"crm": object(), "tco": object()})
    assert [q.key for q in progress.here] == ["tco", "who-signs-the-contract"]
    assert [q.key for q in progress.open_here] == ["who-signs-the-contract"]
    assert [q.key for q in progress.open_earlier] == ["time"]
    assert (progress.answered, progress.total) == (2, 4)
    unknown = deal_progress(roadmap, None, {})
    assert unknown.here == () and unknown.open_earlier == () and unknown.total == 4


def test_the_demo_roadmaps_are_valid_and_leave_gaps_to_show() -> None:
    roadmaps = {r.product: r for r in demo_roadmaps()}
    assert set(roadmaps) == {
        "Insight Platform Enterprise",
        "Insight Platform Professional",
        "Forecasting Add-on",
    }
    enterprise = roadmap_gaps(roadmaps["Insight Platform Enterprise"])
    assert [q.key for q in enterprise.unanswered] == ["manager-training"]
    assert enterprise.answers_without_tool and not enterprise.stages_without_tool
    professional = roadmap_gaps(roadmaps["Insight Platform Professional"])
    assert professional.stages_without_tool == (D.VALUE,)


@pytest.mark.parametrize("stage", list(BuyerPhase))
def test_every_stage_has_a_question_in_the_enterprise_roadmap(stage: BuyerPhase) -> None:
    roadmap = next(r for r in demo_roadmaps() if r.product == "Insight Platform Enterprise")
    assert roadmap.questions_at(stage)
