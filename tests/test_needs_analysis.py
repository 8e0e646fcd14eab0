"""The needs analysis on hand-computed examples: weighted needs, the competitor grid, the perception gap,
the opportunity score and flanking candidates (every expected figure below is worked out by hand in the
comments)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dealsight.analytics.competitor_grid import competitor_grid, flanking_candidates
from dealsight.analytics.needs import NeedsAnalysis, analyse_needs, customers_in, opportunity_scores
from dealsight.analytics.survey_answers import answers_from_records
from dealsight.errors import InsufficientDataError

NEEDS = ["brand", "price", "service"]
VENDORS = ["us", "X"]


def _r(us: dict[str, float], x: dict[str, float] | None = None) -> dict[str, dict[str, float]]:
    return {"us": us, **({"X": x} if x else {})}


# three customers and two sales people
RECORDS: list[dict[str, Any]] = [
    {"segment": "smb", "points": {"brand": 10, "price": 50, "service": 40},
     "ratings": _r({"brand": 5, "price": 6, "service": 9}, {"brand": 8, "price": 7, "service": 4})},
    {"segment": "enterprise", "points": {"brand": 20, "price": 30, "service": 50},
     "ratings": _r({"brand": 6, "price": 5, "service": 8}, {"brand": 9, "price": 7, "service": 5})},
    {"segment": "smb", "points": {"brand": 30, "price": 40, "service": 30},
     "ratings": _r({"brand": 4, "service": 7}, {"brand": 7, "price": 6, "service": 3})},
    {"function": "sales", "points": {"brand": 10, "price": 80, "service": 10},
     "ratings": _r({"brand": 7, "price": 4, "service": 9})},
    {"function": "sales", "points": {"brand": 20, "price": 70, "service": 10},
     "ratings": _r({"brand": 7, "price": 5, "service": 8})},
]  # fmt: skip


@pytest.fixture(scope="module")
def analysis() -> NeedsAnalysis:
    return analyse_needs(answers_from_records(NEEDS, VENDORS, "us", RECORDS), resamples=500, seed=3)


def test_weighted_needs_are_customers_mean_points(analysis: NeedsAnalysis) -> None:
    # brand (10+20+30)/3 = 20, price (50+30+40)/3 = 40, service (40+50+30)/3 = 40: internal answers left out
    assert [w.points for w in analysis.weights.needs] == pytest.approx([20, 40, 40])
    assert analysis.customers == 3 and analysis.internal == 2
    assert analysis.weights.small_sample and "small sample" in analysis.notes[0]
    for w in analysis.weights.needs:
        assert w.low is not None and w.high is not None and w.low <= w.points <= w.high  # type: ignore[operator]
    by_segment = {g.group: g for g in analysis.breakdown}
    assert set(by_segment) == {"smb", "enterprise"}
    assert [w.points for w in by_segment["smb"].needs] == pytest.approx([20, 45, 35])
    assert by_segment["enterprise"].respondents == 1 and by_segment["enterprise"].needs[0].low is None


def test_the_grid_weights_each_vendors_mean_rating(analysis: NeedsAnalysis) -> None:
    grid = analysis.grid
    assert grid.weights == pytest.approx((0.2, 0.4, 0.4))
    us, x = grid.vendor("us"), grid.vendor("X")
    # us: brand (5+6+4)/3 = 5, price (6+5)/2 = 5.5 (one customer did not rate it), service (9+8+7)/3 = 8
    assert us.ratings == pytest.approx((5, 5.5, 8)) and us.raters == (3, 2, 3)
    # weighted: 0.2*5 + 0.4*5.5 + 0.4*8 = 1 + 2.2 + 3.2 = 6.4
    assert us.weighted_score == pytest.approx(6.4)
    # X: 0.2*8 + 0.4*(20/3) + 0.4*4 = 1.6 + 2.6667 + 1.6 = 5.8667
    assert x.weighted_score == pytest.approx(5.8 + 0.2 / 3)
    assert grid.leader == "X" and [v.vendor for v in grid.vendors] == ["us", "X"]


def test_a_vendor_not_rated_on_a_need_is_scored_on_the_others() -> None:
    records = [
        {"points": {"brand": 50, "price": 50}, "ratings": {"us": {"brand": 8}, "X": {"brand": 6, "price": 2}}}
    ]
    answers = answers_from_records(["brand", "price"], VENDORS, "us", records)
    grid = competitor_grid(answers, np.array([50.0, 50.0]))
    assert grid.vendor("us").weighted_score == pytest.approx(8) and grid.vendor("us").partial
    assert grid.vendor("X").weighted_score == pytest.approx(4) and not grid.vendor("X").partial


def test_the_perception_gap_of_sales(analysis: NeedsAnalysis) -> None:
    (sales,) = analysis.gaps
    assert sales.function == "sales" and sales.respondents == 2
    gaps = {g.need: g for g in sales.weights}
    # sales believes price gets (80+70)/2 = 75 points, customers give 40: +35; service 10 vs 40: -30
    assert gaps["price"].gap == pytest.approx(35) and gaps["service"].gap == pytest.approx(-30)
    assert gaps["brand"].gap == pytest.approx(-5)
    assert [g.need for g in sales.most_wrong] == ["price", "service", "brand"]
    assert gaps["price"].distinguishable and not gaps["brand"].distinguishable
    assert "most wrong on price" in sales.summary and "75 points" in sales.summary
    ratings = {g.need: g for g in sales.ratings_of_us}
    # they believe customers rate our brand 7; customers rate it 5
    assert ratings["brand"].believed == pytest.approx(7) and ratings["brand"].gap == pytest.approx(2)


def test_opportunity_scores(analysis: NeedsAnalysis) -> None:
    scores = {o.need: o for o in analysis.opportunities}
    # importance: 10 * points / 40 -> brand 5, price 10, service 10; satisfaction = our rating
    # price 10 + max(10 - 5.5, 0) = 14.5 (high); service 10 + 2 = 12 (high); brand 5 + 0 = 5 (low)
    assert [o.need for o in analysis.opportunities] == ["price", "service", "brand"]
    assert scores["price"].score == pytest.approx(14.5) and scores["price"].level == "high"
    assert scores["service"].score == pytest.approx(12) and scores["brand"].level == "low"
    assert not scores["brand"].overserved  # satisfaction 5 equals importance 5


def test_opportunity_score_levels_and_overserved_needs() -> None:
    found = {
        o.need: o
        for o in opportunity_scores(
            ["a", "b", "c", "d"], np.array([40, 30, 20, 10.0]), np.array([1, 9, np.nan, 8])
        )
    }
    assert found["a"].score == pytest.approx(19) and found["a"].level == "extreme"  # 10 + 9
    assert found["b"].score == pytest.approx(7.5) and found["b"].overserved  # importance 7.5, satisfaction 9
    assert found["c"].score is None and found["c"].level is None  # nobody rated us on it
    assert found["d"].importance == pytest.approx(2.5) and found["d"].overserved


def test_flanking_candidate_with_its_worth(analysis: NeedsAnalysis) -> None:
    (candidate,) = analysis.flanking
    assert (candidate.competitor, candidate.need) == ("X", "service")
    assert candidate.lead == pytest.approx(4) and candidate.already_weighted
    # leads: brand 5-8 = -3, price 5.5-6.667 = -1.167, service 4; weights .2 .4 .4
    # the others' weighted lead: (.2*-3 + .4*-1.167) / .6 = -1.778; gain = 0.1 * (4 + 1.778) = 0.578
    assert candidate.gain_per_10_points == pytest.approx(0.1 * (4 + (0.6 + 0.4 * 7 / 6) / 0.6))
    assert "we lead X by 4.0 on service" in candidate.explanation
    assert "customers give it 40 points" in candidate.explanation


def _flank(points: dict[str, float], us: dict[str, float], x: dict[str, float], n: int = 4) -> list[str]:
    records = [{"points": points, "ratings": {"us": us, "X": x}}] * n
    answers = answers_from_records(NEEDS, VENDORS, "us", records)
    weights = np.array([points[need] for need in NEEDS], dtype=float)
    grid = competitor_grid(answers, weights)
    return [c.need for c in flanking_candidates(answers, grid, weights)]


def test_the_flanking_rule() -> None:
    even = {"brand": 30, "price": 40, "service": 30}  # service weighted 30 < 33.3, but by nobody enough
    assert _flank(even, {"brand": 5, "price": 5, "service": 9}, {"brand": 5, "price": 5, "service": 4}) == []
    weighted = {"brand": 20, "price": 40, "service": 40}
    assert _flank(
        weighted, {"brand": 5, "price": 5, "service": 9}, {"brand": 5, "price": 5, "service": 4}
    ) == ["service"]
    # a lead under 1 point, or our rating under 6, is no ground to flank on
    assert (
        _flank(weighted, {"brand": 5, "price": 5, "service": 9}, {"brand": 5, "price": 5, "service": 8.5})
        == []
    )
    assert (
        _flank(weighted, {"brand": 5, "price": 5, "service": 5.5}, {"brand": 5, "price": 5, "service": 1})
        == []
    )


def test_a_need_few_weight_on_average_but_a_quarter_do_could_be_led_to() -> None:
    heavy = {"points": {"brand": 20, "price": 40, "service": 40}}
    light = {"points": {"brand": 10, "price": 70, "service": 20}}
    ratings = {
        "ratings": {"us": {"brand": 5, "price": 5, "service": 9}, "X": {"brand": 5, "price": 5, "service": 4}}
    }
    records = [{**heavy, **ratings}] + [{**light, **ratings}] * 3  # service: mean 25 < 33.3; 1 in 4 give 40
    analysis = analyse_needs(answers_from_records(NEEDS, VENDORS, "us", records), resamples=100)
    (candidate,) = analysis.flanking
    assert candidate.need == "service" and not candidate.already_weighted
    assert (
        candidate.weighting_share == pytest.approx(0.25) and "below the even share" in candidate.explanation
    )


def test_a_segment_keeps_the_internal_answers(analysis: NeedsAnalysis) -> None:
    answers = answers_from_records(NEEDS, VENDORS, "us", RECORDS)
    smb = customers_in(answers, segment="SMB")
    assert smb.respondents == 4 and int(smb.is_customer.sum()) == 2
    assert customers_in(answers, industry="retail").is_customer.sum() == 0
    with pytest.raises(InsufficientDataError, match="no customer answered"):
        analyse_needs(customers_in(answers, industry="retail"))


def test_the_analysis_is_seeded() -> None:
    answers = answers_from_records(NEEDS, VENDORS, "us", RECORDS)
    first, again = (analyse_needs(answers, resamples=200, seed=11) for _ in range(2))
    assert first == again
    other = analyse_needs(answers, resamples=200, seed=12)
    assert [w.low for w in other.gaps[0].weights] != [w.low for w in first.gaps[0].weights]


def test_breakdown_by_industry() -> None:
    records = [{**r, "industry": "retail" if i % 2 else None} for i, r in enumerate(RECORDS)]
    analysis = analyse_needs(
        answers_from_records(NEEDS, VENDORS, "us", records), by="industry", resamples=100
    )
    assert [(g.dimension, g.group, g.respondents) for g in analysis.breakdown] == [
        ("industry", "retail", 1),
        ("industry", "(not known)", 2),
    ]
