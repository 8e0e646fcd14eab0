"""The competitor grid and flanking candidates: how customers rate us and each competitor on each need.

- **Grid**: per vendor and need, customers' mean rating (0-10; a customer who did not rate a vendor on a
  need is left out of that mean, not counted as 0), and per vendor the **weighted score**: the sum over
  needs of the need's importance weight (customers' mean points / 100, so the weights add up to 1) times
  the vendor's mean rating. It is the rating a customer who weights the needs like the average customer
  would give the vendor overall, on the same 0-10 scale. A vendor not rated on some need is scored on the
  needs it was rated on, their weights rescaled to add up to 1 (``partial``).
- **Leading competitor**: the competitor with the highest weighted score.
- **Flanking candidates**: a buyer who prefers a competitor can be led to decide on a need where we are
  strong and the competitor weak. A need is a candidate against a competitor when customers rate us at
  least :data:`GOOD_RATING` on it and ahead of the competitor by at least :data:`MIN_LEAD`, and customers
  already weight it (their mean points are at least the even share, 100 / number of needs) or could be
  led to (at least :data:`OPEN_SHARE` of customers give it the even share or more). Candidates are ranked
  by what it would be worth if customers moved 10 more points to the need (taken from the other needs in
  proportion): the change of our weighted score minus the competitor's. The leading competitor's
  candidates come first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dealsight.analytics.survey_answers import SurveyAnswers, number

GOOD_RATING = 6.0
"""Customers rate us at least this on a need (0-10) for it to be ours to flank on."""
MIN_LEAD = 1.0
"""Our rating ahead of the competitor's by at least this on a flanking need."""
OPEN_SHARE = 0.25
"""A need weighted below the even share is still open to flanking when this share of customers give it
at least the even share."""
SHIFT = 0.10
"""The shift of weight a flanking candidate is valued at: 10 more points of 100 on that need."""


@dataclass(frozen=True)
class VendorScore:
    """One vendor's row of the grid: mean rating and raters per need (survey order), weighted score."""

    vendor: str
    is_us: bool
    ratings: tuple[float | None, ...]
    raters: tuple[int, ...]
    weighted_score: float | None
    partial: bool


@dataclass(frozen=True)
class CompetitorGrid:
    needs: tuple[str, ...]
    weights: tuple[float, ...]
    """Importance weight of each need: customers' mean points / 100 (they add up to 1)."""
    vendors: tuple[VendorScore, ...]
    """Highest weighted score first (vendors never rated last, in survey order)."""
    leader: str | None
    """The leading competitor: the highest weighted score among the competitors."""

    def vendor(self, name: str) -> VendorScore:
        return next(row for row in self.vendors if row.vendor == name)


@dataclass(frozen=True)
class FlankingCandidate:
    competitor: str
    need: str
    our_rating: float
    their_rating: float
    lead: float
    points: float
    """Customers' mean points for the need."""
    weighting_share: float
    """The share of customers who give the need at least the even share of points."""
    already_weighted: bool
    """True: customers already give it at least the even share on average; False: they could be led to."""
    gain_per_10_points: float
    """How much our weighted score would gain on the competitor's if customers moved 10 points to it."""
    explanation: str


def competitor_grid(answers: SurveyAnswers, weights: np.ndarray) -> CompetitorGrid:
    """The grid of ``answers``' customers, weighted by ``weights`` (the needs' mean points)."""
    customers = answers.ratings[answers.is_customer]
    raters = (~np.isnan(customers)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.nansum(customers, axis=0) / raters
    share = weights / weights.sum() if weights.sum() > 0 else np.full(len(weights), np.nan)
    rows = []
    for v, vendor in enumerate(answers.vendors):
        rated = ~np.isnan(means[v])
        covered = share[rated].sum()
        score = float((share[rated] * means[v][rated]).sum() / covered) if covered > 0 else None
        rows.append(
            VendorScore(
                vendor,
                vendor == answers.us,
                tuple(number(m) for m in means[v]),
                tuple(int(r) for r in raters[v]),
                score,
                partial=bool(score is not None and not rated.all()),
            )
        )
    ordered = sorted(rows, key=lambda r: -r.weighted_score if r.weighted_score is not None else np.inf)
    competitors = [r for r in ordered if not r.is_us and r.weighted_score is not None]
    return CompetitorGrid(
        answers.needs,
        tuple(float(w) for w in share),
        tuple(ordered),
        competitors[0].vendor if competitors else None,
    )


def _gain(weights: np.ndarray, leads: np.ndarray, need: int) -> float:
    """The change of the weighted lead when ``SHIFT`` of the weight moves to ``need`` from the others in
    proportion (needs one side did not get rated on are left out)."""
    usable = ~np.isnan(leads)
    w = np.where(usable, weights, 0.0)
    if w.sum() <= 0:
        return 0.0
    w = w / w.sum()
    others = 1.0 - w[need]
    if others <= 0:
        return 0.0
    rest = float(np.nansum(np.where(usable, w * leads, 0.0)) - w[need] * leads[need]) / others
    return float(SHIFT * (leads[need] - rest))


def flanking_candidates(
    answers: SurveyAnswers, grid: CompetitorGrid, points: np.ndarray
) -> tuple[FlankingCandidate, ...]:
    """The needs to flank each competitor on (module docstring), the leading competitor's first, each
    competitor's ranked by the gain of 10 more points on the need."""
    customers = answers.points[answers.is_customer]
    if not len(customers):
        return ()
    needs = answers.needs
    even = 100.0 / len(needs)
    weighting_share = (customers >= even - 1e-9).mean(axis=0)
    weights = np.asarray(grid.weights)
    ours = np.array([np.nan if r is None else r for r in grid.vendor(answers.us).ratings])
    found = []
    for row in grid.vendors:
        if row.is_us:
            continue
        theirs = np.array([np.nan if r is None else r for r in row.ratings])
        leads = ours - theirs
        for k, need in enumerate(needs):
            if np.isnan(leads[k]) or leads[k] < MIN_LEAD or ours[k] < GOOD_RATING:
                continue
            already = bool(points[k] >= even - 1e-9)
            if not already and weighting_share[k] < OPEN_SHARE:
                continue
            gain = _gain(weights, leads, k)
            words = (
                f"we lead {row.vendor} by {leads[k]:.1f} on {need} ({ours[k]:.1f} against {theirs[k]:.1f}); "
                f"customers give it {points[k]:.0f} points"
                + ("" if already else f", below the even share of {even:.0f}, but")
                + f" ({weighting_share[k]:.0%} of them give it {even:.0f} or more); "
                + (
                    f"10 more points on {need} would move the weighted score {gain:.2f} our way"
                    if gain > 0
                    else f"more weight on {need} would not help: we lead {row.vendor} by more elsewhere"
                )
            )
            found.append(
                FlankingCandidate(
                    row.vendor,
                    need,
                    float(ours[k]),
                    float(theirs[k]),
                    float(leads[k]),
                    float(points[k]),
                    float(weighting_share[k]),
                    already,
                    gain,
                    words,
                )
            )
    found.sort(key=lambda c: (c.competitor != grid.leader, -c.gain_per_10_points, -c.lead))
    return tuple(found)


__all__ = [
    "GOOD_RATING",
    "MIN_LEAD",
    "OPEN_SHARE",
    "CompetitorGrid",
    "FlankingCandidate",
    "VendorScore",
    "competitor_grid",
    "flanking_candidates",
]
