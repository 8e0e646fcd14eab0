"""Qualification at an instant: which questions of the deal's set were due, and which were answered by then.

A deal's question set is the one that applies to its owner's team (see
:func:`dealsight.store.records.question_set_of`). A question is **due** once the deal has reached the
question's stage (its furthest stage by as_of, see :mod:`dealsight.analytics.deal_state`), or from the
start when the question has no stage or a stage the sales process does not know, or when the deal's stage
then is not recorded: the rule of the deal page (``records.qualification_of``). A question is
**answered** by a ``yes`` or ``no`` given at or before as_of; ``unknown`` says the rep does not know.

Signals: ``questions_due``; ``questions_answered_share`` (answered due questions / due questions, NaN when
none is due); ``essential_unanswered`` (due essential questions without a yes/no by as_of);
``essential_no`` (essential questions answered ``no`` by as_of, due or not). A deal without a question
set has nothing due: 0, 0, NaN share.

The store keeps one answer per (deal, question), the latest, with its time: an answer given after as_of
counts as no answer at as_of, even when an earlier answer it replaced existed then (the earlier one is
lost). This can only understate what was known, never leak what was not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dealsight.analytics.deal_state import StageTable
from dealsight.analytics.deal_timelines import DealCodes, IntArray, Timeline, categories_of, instants_ns

YES, NO = "yes", "no"


@dataclass(frozen=True)
class QualificationTimelines:
    """Answers on timelines grouped by (deal, due level), and each set's due positions."""

    levels: np.ndarray  # due position of each level, ascending (-inf: due from the start)
    answered: Timeline  # yes/no answers to the deal's own set, group = code * len(levels) + level
    essential_answered: Timeline
    essential_no: Timeline  # group = code
    due: dict[float, np.ndarray]  # question set id -> sorted due positions of its questions
    essential_due: dict[float, np.ndarray]
    set_of: np.ndarray  # question set id of each deal code (NaN: none)

    @classmethod
    def of(
        cls,
        questions: pd.DataFrame,
        answers: pd.DataFrame,
        stages: StageTable,
        codes: DealCodes,
        set_of: np.ndarray,
    ) -> QualificationTimelines:
        question_set = pd.to_numeric(questions["question_set_id"], errors="coerce").to_numpy(np.float64)
        due_at = stages.positions_of(questions["stage"].to_numpy(dtype=object))
        due_at = np.where(np.isnan(due_at), -np.inf, due_at)
        essential = questions["essential"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        levels = np.unique(due_at)
        due = {
            s: np.sort(due_at[question_set == s]) for s in np.unique(question_set[~np.isnan(question_set)])
        }
        essential_due = {s: np.sort(due_at[(question_set == s) & essential]) for s in due}

        # each answer with its question's set, level and essential flag (by question id)
        question_index = pd.Index(pd.to_numeric(questions["question_id"], errors="coerce"))
        which = question_index.get_indexer(pd.to_numeric(answers["question_id"], errors="coerce"))
        deal = codes.code(answers["opportunity_id"].to_numpy())
        own_set = (which >= 0) & (deal >= 0)
        own_set[own_set] = question_set[which[own_set]] == set_of[deal[own_set]]
        answer_codes, spelled = categories_of(answers["answer"])
        normal = np.array([str(a).strip().lower() for a in spelled] + [""], dtype=object)
        answer = normal[answer_codes]  # one normalisation per distinct spelling; -1 (missing) -> ""
        given = own_set & ((answer == YES) | (answer == NO))
        level = np.searchsorted(levels, _of_question(due_at, which, -np.inf))
        ns = instants_ns(answers["answered_at"])
        lane = deal * len(levels) + level
        is_essential = _of_question(essential, which, False).astype(bool)
        return cls(
            levels=levels,
            answered=Timeline.build(np.where(given, lane, -1), ns),
            essential_answered=Timeline.build(np.where(given & is_essential, lane, -1), ns),
            essential_no=Timeline.build(np.where(own_set & is_essential & (answer == NO), deal, -1), ns),
            due=due,
            essential_due=essential_due,
            set_of=set_of,
        )


def _of_question(values: np.ndarray, which: IntArray, missing: float | bool) -> np.ndarray:
    """``values[which]`` where ``which >= 0``, else ``missing``."""
    if len(values) == 0:
        return np.full(len(which), missing)
    return np.asarray(np.where(which >= 0, values[np.maximum(which, 0)], missing))


def qualification_signals(
    timelines: QualificationTimelines, code: IntArray, as_of_ns: IntArray, reached_position: np.ndarray
) -> dict[str, np.ndarray]:
    """The signals of the module docstring for each pair; ``reached_position``: the furthest stage position
    reached by as_of (NaN when not recorded: everything is due)."""
    count = len(code)
    reached = np.where(np.isnan(reached_position), np.inf, reached_position)
    deal_set = timelines.set_of[code]
    due, essential_due = np.zeros(count), np.zeros(count)
    for question_set, positions in timelines.due.items():
        mine = deal_set == question_set
        due[mine] = np.searchsorted(positions, reached[mine], side="right")
        essential_due[mine] = np.searchsorted(
            timelines.essential_due[question_set], reached[mine], side="right"
        )
    answered, essential_answered = np.zeros(count), np.zeros(count)
    levels = len(timelines.levels)
    for level, position in enumerate(timelines.levels):
        now_due = reached >= position
        lane = code[now_due] * levels + level
        at = as_of_ns[now_due]
        answered[now_due] += timelines.answered.count(lane, at)
        essential_answered[now_due] += timelines.essential_answered.count(lane, at)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(due > 0, answered / due, np.nan)
    return {
        "questions_due": due,
        "questions_answered_share": share,
        "essential_unanswered": essential_due - essential_answered,
        "essential_no": timelines.essential_no.count(code, as_of_ns).astype(np.float64),
    }


__all__ = ["QualificationTimelines", "qualification_signals"]
