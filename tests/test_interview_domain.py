"""The interview guide and answer tags (pure domain), and the guide dealsight ships."""

from __future__ import annotations

import pytest

from dealsight.analytics.interview_guide import default_guide
from dealsight.domain.interviews import (
    Guide,
    GuideQuestion,
    Tag,
    TagKind,
    Topic,
    add_question,
    change_question,
    guide_from_data,
    guide_problems,
    parse_tag,
    parse_tags,
    parse_topic,
    split_tags,
)


def _guide() -> Guide:
    return Guide(
        "default",
        3,
        (
            GuideQuestion("why_bought", "Why did you buy?", Topic.WHY_BOUGHT),
            GuideQuestion("alternatives", "What else did you look at?", Topic.ALTERNATIVES),
            GuideQuestion("peer", "What would you tell a peer?", Topic.PEER_ADVICE),
        ),
    )


def test_the_shipped_guide_asks_about_each_topic_the_team_needs() -> None:
    guide = default_guide()
    topics = {q.topic for q in guide.questions}
    assert 10 <= len(guide.questions) <= 14 and guide.version == 0 and guide.name == "default"
    for needed in (
        Topic.WHY_BOUGHT,
        Topic.ALMOST_STOPPED,
        Topic.ALTERNATIVES,
        Topic.PEER_ADVICE,
        Topic.VALUE,
        Topic.QUESTIONS_ASKED,
    ):
        assert needed in topics, needed
    assert guide_problems(guide.questions) == []
    assert all(q.text.endswith("?") for q in guide.questions)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("need:price", Tag(TagKind.NEED, "price")),
        ("Need: Price", Tag(TagKind.NEED, "price")),
        ("competitor:Apex Analytics", Tag(TagKind.COMPETITOR, "Apex Analytics")),
        ("stage:Decision", Tag(TagKind.STAGE, "decision")),
        ("roadmap:TCO", Tag(TagKind.ROADMAP, "tco")),
        ("Onboarding", Tag(TagKind.THEME, "onboarding")),
        ("region: EMEA", Tag(TagKind.THEME, "region: emea")),
    ],
)
def test_tags_are_read_as_kind_and_value(text: str, tag: Tag) -> None:
    assert parse_tag(text) == (tag, None)


def test_a_stage_tag_must_name_a_buyer_stage_and_a_tag_needs_a_value() -> None:
    tag, problem = parse_tag("stage:closing")
    assert tag is None and problem and "awareness" in problem and "closing" in problem
    assert parse_tag("need:")[1] == "the tag 'need:' has no value after ':'"
    tags, problems = parse_tags(["need:price", "need:price", "stage:decision", "stage:soon"])
    assert tags == (Tag(TagKind.NEED, "price"), Tag(TagKind.STAGE, "decision"))
    assert len(problems) == 1 and "soon" in problems[0]
    assert split_tags("need:price; competitor:Fabrikam, Inc.;;") == [
        "need:price",
        "competitor:Fabrikam, Inc.",
    ]
    assert (
        str(Tag(TagKind.THEME, "onboarding")) == "onboarding"
        and str(Tag(TagKind.NEED, "price")) == "need:price"
    )


def test_topics_are_read_by_value_or_label() -> None:
    assert parse_topic("Why they bought") is Topic.WHY_BOUGHT
    assert parse_topic("almost-stopped") is Topic.ALMOST_STOPPED
    assert parse_topic("gossip") is None


def test_each_edit_is_a_new_version_and_retired_questions_stay() -> None:
    guide = _guide()
    added = add_question(guide, GuideQuestion("value", "What value did you get?", Topic.VALUE), position=2)
    assert added.version == 4 and [q.key for q in added.questions] == [
        "why_bought",
        "value",
        "alternatives",
        "peer",
    ]
    reworded = change_question(added, "why_bought", text="Why did you choose us?")
    assert reworded.version == 5 and reworded.questions[0].text == "Why did you choose us?"
    moved = change_question(reworded, "peer", position=1)
    assert [q.key for q in moved.questions] == ["peer", "why_bought", "value", "alternatives"]
    retired = change_question(moved, "alternatives", retired=True)
    assert retired.question("alternatives") is not None and retired.question("alternatives").retired  # type: ignore[union-attr]
    assert [q.key for q in retired.active] == ["peer", "why_bought", "value"]
    back = change_question(retired, "alternatives", retired=False, topic=Topic.OTHER)
    assert [q.key for q in back.active][-1] == "alternatives" and back.questions[-1].topic is Topic.OTHER
    with pytest.raises(KeyError):
        change_question(guide, "nope", text="x")


def test_a_guide_refuses_bad_keys_repeats_empty_text_and_retiring_everything() -> None:
    questions = (
        GuideQuestion("Why Bought", "Why?", Topic.WHY_BOUGHT),
        GuideQuestion("peer", "  ", Topic.PEER_ADVICE),
        GuideQuestion("peer", "Tell a peer?", Topic.PEER_ADVICE),
    )
    problems = dict((where + ":" + what[:12], what) for where, what in guide_problems(questions))
    assert any("lower-case" in p for p in problems.values())
    assert any("must not be empty" in p for p in problems.values())
    assert any("used twice" in p for p in problems.values())
    retired = tuple(GuideQuestion(q.key, "Why?", q.topic, retired=True) for q in _guide().questions)
    assert ("questions", "a guide needs at least one question that is not retired") in guide_problems(retired)


def test_a_guide_from_plain_data_names_each_problem() -> None:
    guide, problems = guide_from_data({"name": "team", "questions": [{"key": "a", "text": " Why  now? "}]})
    assert problems == [] and guide is not None and guide.questions[0].text == "Why now?"
    assert guide.questions[0].topic is Topic.OTHER
    guide, problems = guide_from_data({"questions": [{"key": "a", "text": "x", "topic": "gossip"}, "oops"]})
    assert guide is None
    assert [where for where, _ in problems] == ["questions[1].topic", "questions[2]", "questions"]
    assert guide_from_data({"name": "x"}) == (
        None,
        [("questions", "expected a list of questions with key, text and topic")],
    )
