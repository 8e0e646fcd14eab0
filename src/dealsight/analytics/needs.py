"""What customers say matters, set against what each internal function believes: the needs analysis.

From a survey's answers (:class:`~dealsight.analytics.survey_answers.SurveyAnswers`) :func:`analyse_needs`
gives, for the customers selected (all, or one segment or industry: :func:`customers_in`):

- **weighted needs**: customers' mean points per need with a bootstrap 95% interval (percentile method,
  seeded), overall and broken down by segment (or by industry); fewer than
  :data:`~dealsight.analytics.survey_answers.SMALL_SAMPLE` respondents is said to be a small sample;
- the **competitor grid** and **flanking candidates** (:mod:`dealsight.analytics.competitor_grid`);
- the **perception gap** of each internal function: the points they believe customers give each need
  minus what customers give (an interval from the two groups' bootstrap distributions, resampled
  independently; a gap is *distinguishable from zero* when its interval leaves out 0), the needs where the
  function is most wrong (largest absolute gap), and their belief of customers' rating of us against it;
- the **opportunity score** per need (Ulwick's outcome-driven formula, on a common 0-10 scale):
  ``importance + max(importance - satisfaction, 0)``, where importance is the need's mean points rescaled
  so that the need customers weight most scores 10 (``10 * points / highest points``) and satisfaction is
  customers' mean rating of us on it. Levels follow Ulwick: 15 or more extreme, 12 to 15 high, 10 to 12
  solid, under 10 low; a need whose satisfaction exceeds its importance is *overserved*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dealsight.analytics.competitor_grid import (
    CompetitorGrid,
    FlankingCandidate,
    competitor_grid,
    flanking_candidates,
)
from dealsight.analytics.survey_answers import (
    DEFAULT_RESAMPLES,
    SMALL_SAMPLE,
    Resampled,
    SurveyAnswers,
    bootstrap_means,
    group_rng,
    number,
    percentile_interval,
)
from dealsight.domain.surveys import Function
from dealsight.errors import InsufficientDataError

MOST_WRONG = 3
"""How many needs each function is said to be most wrong about."""
LEVELS = ((15.0, "extreme"), (12.0, "high"), (10.0, "solid"))
ALL_CUSTOMERS = "all customers"
BREAKDOWNS = ("segment", "industry")
UNKNOWN = "(not known)"


@dataclass(frozen=True)
class NeedWeight:
    need: str
    points: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class NeedWeights:
    """Mean points per need of one group of customers, with 95% intervals (survey order)."""

    dimension: str
    """``all``, ``segment`` or ``industry``."""
    group: str
    respondents: int
    small_sample: bool
    needs: tuple[NeedWeight, ...]


@dataclass(frozen=True)
class Gap:
    """What a function believes minus what customers say, on one need, with its 95% interval;
    ``distinguishable`` when the interval leaves out 0 (the function is wrong beyond what sampling
    explains)."""

    need: str
    believed: float | None
    customers: float | None
    gap: float | None
    low: float | None
    high: float | None
    distinguishable: bool


@dataclass(frozen=True)
class FunctionGap:
    function: str
    respondents: int
    small_sample: bool
    weights: tuple[Gap, ...]
    """Believed points against customers' points, per need (survey order)."""
    most_wrong: tuple[Gap, ...]
    """The needs with the largest absolute gap in points, largest first."""
    ratings_of_us: tuple[Gap, ...]
    """Their belief of customers' rating of us against customers' rating, per need."""
    summary: str


@dataclass(frozen=True)
class Opportunity:
    need: str
    points: float
    importance: float
    satisfaction: float | None
    score: float | None
    level: str | None
    overserved: bool


@dataclass(frozen=True)
class NeedsAnalysis:
    needs: tuple[str, ...]
    vendors: tuple[str, ...]
    us: str
    customers: int
    internal: int
    resamples: int
    seed: int
    weights: NeedWeights
    breakdown: tuple[NeedWeights, ...]
    grid: CompetitorGrid
    gaps: tuple[FunctionGap, ...]
    opportunities: tuple[Opportunity, ...]
    """Highest score first."""
    flanking: tuple[FlankingCandidate, ...]
    notes: tuple[str, ...]


def customers_in(
    answers: SurveyAnswers, segment: str | None = None, industry: str | None = None
) -> SurveyAnswers:
    """Internal respondents and the customers of ``segment`` and ``industry`` (any case; None: all)."""
    keep = np.ones(answers.respondents, dtype=bool)
    for wanted, values in ((segment, answers.segments), (industry, answers.industries)):
        if wanted is not None:
            matches = np.array([str(v).casefold() == wanted.casefold() for v in values], dtype=bool)
            keep &= ~answers.is_customer | matches
    return answers.take(keep)


# the parts -------------------------------------------------------------------------------------------------
def _weights(needs: Sequence[str], dimension: str, group: str, sample: Resampled) -> NeedWeights:
    rows = tuple(
        NeedWeight(need, number(sample.mean[i]), number(sample.low[i]), number(sample.high[i]))
        for i, need in enumerate(needs)
    )
    return NeedWeights(dimension, group, sample.respondents, sample.respondents < SMALL_SAMPLE, rows)


def breakdown(answers: SurveyAnswers, by: str, resamples: int, seed: int) -> tuple[NeedWeights, ...]:
    """Customers' weighted needs per ``by`` (``segment`` or ``industry``), with a group for customers
    whose ``by`` is not known; none when nobody's is known."""
    customers = answers.take(answers.is_customer)
    values = customers.segments if by == "segment" else customers.industries
    if not (values != "").any():
        return ()
    groups = []
    for value in sorted(set(values.tolist()), key=lambda v: (v == "", v.casefold())):
        rows = values == value
        name = value or UNKNOWN
        sample = bootstrap_means(customers.points[rows], resamples, group_rng(seed, f"{by}:{name}"))
        groups.append(_weights(answers.needs, by, name, sample))
    return tuple(groups)


def _gaps(needs: Sequence[str], inside: Resampled, customers: Resampled, offset: int) -> tuple[Gap, ...]:
    """Gaps of columns ``offset`` .. ``offset + len(needs)`` of the two samples."""
    span = slice(offset, offset + len(needs))
    difference = inside.distribution[span] - customers.distribution[span]
    low, high = percentile_interval(difference)
    return tuple(
        Gap(
            need,
            number(inside.mean[offset + i]),
            number(customers.mean[offset + i]),
            number(inside.mean[offset + i] - customers.mean[offset + i]),
            number(low[i]),
            number(high[i]),
            bool(low[i] > 0 or high[i] < 0),
        )
        for i, need in enumerate(needs)
    )


def _signed(value: float) -> str:
    """``+3.4``, ``-1.2``, ``0.0`` (never ``-0.0``)."""
    text = f"{value:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def _summary(function: str, respondents: int, most_wrong: Sequence[Gap]) -> str:
    if not most_wrong:
        return f"{function}: no answer to compare"
    top = most_wrong[0]
    assert top.gap is not None and top.believed is not None and top.customers is not None
    people = f"{respondents} {'person' if respondents == 1 else 'people'}"
    interval = ""
    if top.low is not None and top.high is not None:
        interval = f", 95% interval {_signed(top.low)} to {_signed(top.high)}"
    verdict = "" if top.distinguishable else "; not distinguishable from no gap"
    return (
        f"{function} ({people}) is most wrong on {top.need}: they believe customers give it "
        f"{top.believed:.0f} points, customers give it {top.customers:.0f} "
        f"({_signed(top.gap)}{interval}{verdict})"
    )


def perception_gaps(
    answers: SurveyAnswers, customers: Resampled, resamples: int, seed: int
) -> tuple[FunctionGap, ...]:
    """Each internal function's gap to ``customers`` (resampled on points then ratings of us)."""
    answered = set(answers.functions[~answers.is_customer].tolist())
    known = [f.value for f in Function if f.value in answered]
    present = known + sorted(answered - set(known))
    us = answers.ratings[:, answers.us_index, :]
    found = []
    for function in present:
        rows = answers.functions == function
        inside = bootstrap_means(
            np.hstack([answers.points[rows], us[rows]]), resamples, group_rng(seed, f"function:{function}")
        )
        weights = _gaps(answers.needs, inside, customers, 0)
        ranked = sorted((g for g in weights if g.gap is not None), key=lambda g: -abs(g.gap or 0.0))
        most_wrong = tuple(ranked[:MOST_WRONG])
        found.append(
            FunctionGap(
                function,
                inside.respondents,
                inside.respondents < SMALL_SAMPLE,
                weights,
                most_wrong,
                _gaps(answers.needs, inside, customers, len(answers.needs)),
                _summary(function, inside.respondents, most_wrong),
            )
        )
    return tuple(found)


def opportunity_scores(
    needs: Sequence[str], points: np.ndarray, satisfaction: np.ndarray
) -> tuple[Opportunity, ...]:
    """Ulwick's opportunity score per need on a 0-10 scale (module docstring), highest first."""
    top = float(np.max(points)) if len(points) else 0.0
    found = []
    for k, need in enumerate(needs):
        importance = 10.0 * float(points[k]) / top if top > 0 else 0.0
        sat = number(satisfaction[k])
        score = None if sat is None else importance + max(importance - sat, 0.0)
        level = None if score is None else next((name for edge, name in LEVELS if score >= edge), "low")
        overserved = sat is not None and sat > importance
        found.append(Opportunity(need, float(points[k]), importance, sat, score, level, overserved))
    found.sort(key=lambda o: (o.score is None, -(o.score or 0.0)))
    return tuple(found)


def _notes(analysis_customers: int, gaps: Sequence[FunctionGap], competitors: int) -> tuple[str, ...]:
    notes = []
    if analysis_customers < SMALL_SAMPLE:
        notes.append(
            f"{analysis_customers} customer{'s' if analysis_customers != 1 else ''} answered: a small sample "
            f"(under {SMALL_SAMPLE}); the intervals are wide and the figures rough"
        )
    small = [f"{g.function} ({g.respondents})" for g in gaps if g.small_sample]
    if small:
        notes.append(
            "internal answers are few (" + ", ".join(small) + "): a gap is a belief against customers, "
            "its interval mostly the customers' uncertainty"
        )
    if not gaps:
        notes.append("no internal respondent answered: there is no perception gap to show")
    if not competitors:
        notes.append("the survey names no competitor: no grid comparison or flanking candidates")
    return tuple(notes)


def analyse_needs(
    answers: SurveyAnswers,
    *,
    by: str = "segment",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    label: str = ALL_CUSTOMERS,
) -> NeedsAnalysis:
    """The needs analysis of ``answers`` (module docstring), the weighted needs broken down ``by``
    ``segment`` or ``industry``, the customers called ``label``; no customer is an
    :class:`InsufficientDataError`."""
    if by not in BREAKDOWNS:
        raise ValueError(f"by must be one of {BREAKDOWNS}, not {by!r}")
    customer_rows = answers.is_customer
    count = int(customer_rows.sum())
    if count == 0:
        raise InsufficientDataError(
            "no customer answered this survey (for this selection): the needs analysis needs at least one "
            "customer's answers"
        )
    us = answers.ratings[:, answers.us_index, :]
    customers = bootstrap_means(
        np.hstack([answers.points[customer_rows], us[customer_rows]]), resamples, group_rng(seed, "customers")
    )
    k = len(answers.needs)
    points = customers.mean[:k]
    grid = competitor_grid(answers, points)
    gaps = perception_gaps(answers, customers, resamples, seed)
    return NeedsAnalysis(
        answers.needs,
        answers.vendors,
        answers.us,
        count,
        answers.respondents - count,
        resamples,
        seed,
        _weights(answers.needs, "all", label, customers),
        breakdown(answers, by, resamples, seed),
        grid,
        gaps,
        opportunity_scores(answers.needs, points, customers.mean[k:]),
        flanking_candidates(answers, grid, points),
        _notes(count, gaps, len(answers.vendors) - 1),
    )


__all__ = [
    "ALL_CUSTOMERS",
    "BREAKDOWNS",
    "FunctionGap",
    "Gap",
    "NeedWeight",
    "NeedWeights",
    "NeedsAnalysis",
    "Opportunity",
    "analyse_needs",
    "breakdown",
    "customers_in",
    "opportunity_scores",
    "perception_gaps",
]
