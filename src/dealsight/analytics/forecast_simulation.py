"""The range engine: the distribution of won count and won amount over a period, per group and in total.

:func:`period_ranges` takes each open deal's probability of being won within the period and its amount
and returns P10, P50, P90 and the expected value of the won count and won amount per group (a rep or a
team) and for all deals, with the probability of reaching each group's target.

**Honest ranges.** Independent coin flips understate the uncertainty (a replay measured P10-P90 coverage
of about 35% with them). The probabilities themselves are uncertain and their errors are shared: a good
or bad period lifts or sinks every deal. So each simulated outcome draws ONE common shock
``z ~ N(0, dispersion**2)`` added to every deal's log-odds, ``p_i(z) = expit(logit(p_i) + z)``, shared by
all deals and groups in that outcome; given z the deals are independent.

**Expected value.** With ``z != 0`` the mean of ``p_i(z)`` is not ``p_i`` (the logistic is curved), so
``expected`` is the mean over the mixture, ``E_z[sum_i p_i(z)]`` (and ``E_z[sum_i p_i(z) a_i]``),
integrated on a fine grid of z with normal weights (no simulation noise), plus the new deals' expected
count and amount. With ``dispersion=0`` it is the stage-weighted sum.

**Deals not yet created** (:class:`~dealsight.analytics.new_deals.NewDeals`): per group a compound Poisson
sum; the count is ``Poisson(lambda_g * exp(z - dispersion**2 / 2))`` (the same shock: a good period is good
for new deals too; the factor has mean 1, so the expected count stays ``lambda_g``), each amount drawn
from the group's empirical sample.

**Method.** Brute force (draws x deals Bernoulli flips, 10^10 for a million deals) is out of reach, and a
normal approximation is poor for small groups and for groups where a few big deals dominate. So
``draws`` outcomes are simulated, with z stratified (one draw per ``1/draws`` quantile slice of the
normal, shuffled) and snapped to a fine grid of 401 points over +-6 sd, and each group's figure is the
sum of two independent parts given z:

* *Deals simulated exactly*, flip by flip (a win when a logistic variate falls below ``logit(p_i) + z``):
  every deal of a small group (at most ``EXACT_MAX_DEALS`` deals, or a won-count variance under
  ``EXACT_MIN_VARIANCE``), and in larger groups each deal holding more than ``BIG_DEAL_SHARE`` of the
  group's amount variance. At most ``EXACT_BUDGET`` deal-draws (smallest groups first, then the biggest
  deals); beyond it deals join the approximated part and :attr:`PeriodRanges.approximated_groups` counts
  the groups concerned (0 in every case tested).
* *The rest of each group*: given z, many independent small terms. Their first three cumulants
  (``sum p``, ``sum p(1-p)``, ``sum p(1-p)(1-2p)``, and the same weighted by ``a``, ``a**2``, ``a**3``)
  are summed per group at a coarse grid of z (step <= 0.3 on the log-odds scale, at least 9 nodes) and
  interpolated by cubic spline to the fine grid; each draw samples a translated gamma with those three
  cumulants (the actuaries' approximation for aggregate claims; a normal when the skewness is ~0); counts
  are rounded. Cost: ~15 passes over the deals plus ``draws`` x groups, not ``draws`` x deals.
* *New deals*: exact compound Poisson where ``lambda_g <= NEW_EXACT_MAX``; above it the count stays an
  exact Poisson draw and the amount given the count ``N`` is a translated gamma with the cumulants of a
  sum of ``N`` draws from the sample.

The approximated part's count is clipped to [0, its deals] and its amount to [0, its pipeline], so no
quantile exceeds the open pipeline plus the new deals drawn. ``total`` adds the groups draw by draw (same
z), so it is the distribution of the company's figure, not a sum of quantiles. Quantiles are the draws'
inverted CDF (values that occur). Deterministic for a seed. Agreement with brute force:
``tests/test_forecast_simulation.py`` and ``benchmarks/forecast_simulation.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.special import expit, logit, ndtri

from dealsight.analytics.new_deals import NewDeals
from dealsight.errors import FieldProblem, ValidationError

EXACT_MAX_DEALS = 200
"""Groups with at most this many deals are simulated exactly."""
EXACT_MIN_VARIANCE = 25.0
"""Groups whose won count has a variance under this (few effective deals) are simulated exactly."""
BIG_DEAL_SHARE = 0.02
"""In a large group, a deal holding more than this share of the group's amount variance is simulated
exactly, the rest of the group by its cumulants."""
EXACT_BUDGET = 60_000_000
"""At most this many deal-draws are simulated exactly (small groups first, then the biggest deals)."""
NEW_EXACT_MAX = 30.0
"""New deals are drawn one by one in groups expecting at most this many."""
MIN_DISPERSION = 1e-6
"""A dispersion below this is taken as 0 (its effect is below any figure shown)."""
Z_SPAN = 6.0
FINE_POINTS = 401
COARSE_STEP = 0.3
_CHUNK = 1 << 22
_LEVELS = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class Range:
    """P10, P50, P90 and the expected value (mean over the mixture, module docstring)."""

    p10: float
    p50: float
    p90: float
    expected: float


@dataclass(frozen=True)
class PeriodRange:
    """The won count and won amount of a group over the period; ``reach_probability`` is P(amount >=
    target), None without a target."""

    count: Range
    amount: Range
    reach_probability: float | None


@dataclass(frozen=True)
class PeriodRanges:
    """One :class:`PeriodRange` per group and the ``total`` over all deals (targets summed when every
    group has one). ``approximated_groups``: groups with deals that would have been simulated exactly but
    did not fit in ``EXACT_BUDGET`` (0 normally)."""

    groups: tuple[PeriodRange, ...]
    total: PeriodRange
    approximated_groups: int = 0


@dataclass(frozen=True)
class _Deals:
    """Open deals sorted by group: log-odds, amounts (NaN as 0) and group offsets."""

    log_odds: np.ndarray
    amount: np.ndarray
    codes: np.ndarray
    offsets: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)


def _validate(
    probability: np.ndarray,
    amount: np.ndarray,
    groups: np.ndarray | None,
    n_groups: int,
    dispersion: float,
    new_deals: NewDeals | None,
    targets: np.ndarray | None,
    draws: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    p = np.asarray(probability, dtype=float)
    a = np.asarray(amount, dtype=float)
    problems: list[FieldProblem] = []
    if p.ndim != 1:
        problems.append(FieldProblem("probability", "one-dimensional"))
    elif not np.all((p >= 0) & (p <= 1)):
        problems.append(FieldProblem("probability", "between 0 and 1 (no NaN)"))
    if a.shape != p.shape:
        problems.append(FieldProblem("amount", "one per probability"))
    elif np.any(np.isinf(a)) or np.any(a < 0):
        problems.append(FieldProblem("amount", "finite and >= 0 (NaN counts 0)"))
    if n_groups < 1:
        problems.append(FieldProblem("n_groups", ">= 1"))
    codes = np.zeros(p.shape, dtype=np.int64)
    if groups is not None:
        g = np.asarray(groups)
        if g.shape != p.shape:
            problems.append(FieldProblem("groups", "one per probability"))
        elif g.size and (not np.issubdtype(g.dtype, np.integer) or g.min() < 0 or g.max() >= n_groups):
            problems.append(FieldProblem("groups", f"integers in 0..{n_groups - 1}"))
        else:
            codes = g.astype(np.int64)
    if not np.isfinite(dispersion) or dispersion < 0:
        problems.append(FieldProblem("dispersion", "finite and >= 0"))
    if new_deals is not None and new_deals.n_groups != n_groups:
        problems.append(FieldProblem("new_deals", f"one entry per group ({n_groups})"))
    t = np.full(max(n_groups, 0), np.nan)
    if targets is not None:
        t = np.asarray(targets, dtype=float)
        if t.shape != (n_groups,):
            problems.append(FieldProblem("targets", f"one per group ({n_groups})"))
    if draws < 1:
        problems.append(FieldProblem("draws", ">= 1"))
    if problems:
        raise ValidationError("Cannot compute period ranges", problems)
    return p, np.nan_to_num(a, nan=0.0), codes, t


def _sorted_deals(p: np.ndarray, a: np.ndarray, codes: np.ndarray, n_groups: int) -> _Deals:
    order = np.argsort(codes, kind="stable")
    with np.errstate(divide="ignore"):
        log_odds = logit(p[order])
    offsets = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n_groups))])
    return _Deals(log_odds, a[order], codes[order], offsets)


def _cumulants(deals: _Deals, z: float, n_groups: int) -> np.ndarray:
    """(n_groups, 6): the first three cumulants of the won count and the won amount given z (deals with
    log-odds -inf add nothing)."""
    q = expit(deals.log_odds + z)
    v = q * (1.0 - q)
    s = v * (1.0 - 2.0 * q)
    a = deals.amount
    weights = np.empty((6, len(q)))
    weights[0], weights[1], weights[2] = q, v, s
    np.multiply(q, a, out=weights[3])
    np.multiply(v, a * a, out=weights[4])
    np.multiply(weights[4], (1.0 - 2.0 * q) * a, out=weights[5])
    out = np.zeros((n_groups, 6))
    nonempty = deals.sizes > 0
    if nonempty.any():
        out[nonempty] = np.add.reduceat(weights, deals.offsets[:-1][nonempty], axis=1).T
    return out


def _translated_gamma(
    rng: np.random.Generator, mean: np.ndarray, var: np.ndarray, third: np.ndarray
) -> np.ndarray:
    """Draws with the given mean, variance and third cumulant: a shifted (and, for a negative skewness,
    mirrored) gamma. Up to a skewness of 2 the gamma comes from a normal by Wilson and Hilferty's cube
    (``alpha * (1 - c + Z * sqrt(c))**3``, ``c = 1 / (9 * alpha)``; its mean is off by under 0.04 sd
    there, under 0.001 sd at a skewness of 0.5), several times faster than gamma sampling; beyond, an exact
    gamma draw; a normal where the skewness is ~0."""
    sd = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(sd > 0, third / sd**3, 0.0)
    size = np.abs(skew)
    standard = rng.standard_normal(mean.shape)
    cube = (size > 1e-3) & (size <= 2.0)
    c = size[cube] ** 2 / 36.0
    standard[cube] = (2.0 / size[cube]) * ((1.0 - c + standard[cube] * np.sqrt(c)) ** 3 - 1.0)
    wide = size > 2.0
    if wide.any():
        shape = 4.0 / size[wide] ** 2
        standard[wide] = (rng.standard_gamma(shape) - shape) / np.sqrt(shape)
    return np.asarray(mean + sd * np.where(skew < 0, -standard, standard))


def _exact_deals(deals: _Deals, n_groups: int, draws: int) -> tuple[np.ndarray, int]:
    """Positions of the deals simulated exactly (module docstring), within the budget, and how many groups
    had deals that wanted to be but did not fit in it."""
    sizes = deals.sizes
    q = expit(deals.log_odds)
    v = q * (1.0 - q)
    count_var = np.bincount(deals.codes, weights=v, minlength=n_groups)
    amount_terms = v * deals.amount**2
    amount_var = np.bincount(deals.codes, weights=amount_terms, minlength=n_groups)
    whole = (sizes <= EXACT_MAX_DEALS) | (count_var < EXACT_MIN_VARIANCE)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(amount_var[deals.codes] > 0, amount_terms / amount_var[deals.codes], 0.0)
    in_whole = whole[deals.codes]
    wanted = np.flatnonzero(in_whole | (share > BIG_DEAL_SHARE))
    # whole small groups first (smallest first), then the big deals of large groups (biggest first)
    priority = np.where(
        in_whole[wanted], sizes[deals.codes[wanted]], sizes.max(initial=0) + 2.0 - share[wanted]
    )
    wanted = wanted[np.argsort(priority, kind="stable")]
    fits = np.arange(1, len(wanted) + 1) * draws <= EXACT_BUDGET
    left_out = np.unique(deals.codes[wanted[~fits]]).size
    return np.sort(wanted[fits]), int(left_out)


def _simulate_exact(
    rng: np.random.Generator, deals: _Deals, chosen: np.ndarray, z: np.ndarray, columns: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(draws, columns) won count and amount of the chosen deals (ascending positions), deal by deal;
    ``columns[k]`` is the output column of chosen deal k (non-decreasing)."""
    count = np.zeros((len(z), int(columns.max()) + 1))
    won_amount = np.zeros(count.shape)
    segments = np.flatnonzero(np.diff(columns, prepend=-1))
    targets = columns[segments]
    log_odds = deals.log_odds[chosen]
    amount = deals.amount[chosen]
    step = max(1, _CHUNK // len(chosen))
    for first in range(0, len(z), step):
        block = slice(first, first + step)
        wins = rng.logistic(size=(len(z[block]), len(chosen))) < log_odds + z[block, None]
        count[block, targets] = np.add.reduceat(wins.astype(np.float64), segments, axis=1)
        won_amount[block, targets] = np.add.reduceat(np.where(wins, amount, 0.0), segments, axis=1)
    return count, won_amount


def _new_deals(
    rng: np.random.Generator, new: NewDeals, members: np.ndarray, factor: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(draws, len(members)) count and amount of deals not yet created (compound Poisson)."""
    lam = new.expected_count[members][None, :] * factor[:, None]
    count = rng.poisson(lam).astype(np.float64)
    amount = np.zeros(count.shape)
    for j, g in enumerate(members):
        sample = new.amounts[g]
        if sample.size == 0 or new.expected_count[g] == 0:
            continue
        n = count[:, j]
        if new.expected_count[g] <= NEW_EXACT_MAX:
            owner = np.repeat(np.arange(len(n)), n.astype(np.int64))
            picked = sample[rng.integers(0, sample.size, size=owner.size)]
            amount[:, j] = np.bincount(owner, weights=picked, minlength=len(n))
        else:
            m1 = sample.mean()
            centred = sample - m1
            amount[:, j] = np.maximum(
                _translated_gamma(rng, n * m1, n * np.mean(centred**2), n * np.mean(centred**3)), 0.0
            )
    return count, amount


def _z_grid(dispersion: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fine grid of z, its normal weights (summing to 1), and the coarse nodes cumulants are computed at."""
    if dispersion < MIN_DISPERSION:
        zero = np.zeros(1)
        return zero, np.ones(1), zero
    fine = np.linspace(-Z_SPAN, Z_SPAN, FINE_POINTS) * dispersion
    weights = np.exp(-0.5 * (fine / dispersion) ** 2)
    weights /= weights.sum()
    nodes = int(min(129, max(9, np.ceil(2 * Z_SPAN * dispersion / COARSE_STEP) + 1)))
    return fine, weights, np.linspace(-Z_SPAN, Z_SPAN, nodes) * dispersion


def _range(levels: np.ndarray, expected: float) -> Range:
    return Range(float(levels[0]), float(levels[1]), float(levels[2]), float(expected))


def _quantiles(values: np.ndarray) -> np.ndarray:
    """(3, columns): P10, P50, P90 of each column, values that occur (inverted CDF)."""
    return np.asarray(np.quantile(values, _LEVELS, axis=0, method="inverted_cdf"), dtype=float)


def period_ranges(
    probability: np.ndarray,
    amount: np.ndarray,
    groups: np.ndarray | None = None,
    n_groups: int = 1,
    *,
    dispersion: float = 0.0,
    new_deals: NewDeals | None = None,
    targets: np.ndarray | None = None,
    draws: int = 10_000,
    seed: int = 0,
) -> PeriodRanges:
    """The distribution of the won count and amount over the period, per group and in total.

    ``probability[i]`` in [0, 1]: deal i is won within the period; ``amount[i]`` >= 0 its amount if won
    (NaN counts 0 in amount, 1 in count); ``groups[i]`` in ``0..n_groups-1`` (None: one group);
    ``dispersion``: sd of the common log-odds shock; ``new_deals``: deals not yet created;
    ``targets[g]``: the group's quota (NaN: none). Method and decisions: module docstring. Raises
    :class:`~dealsight.errors.ValidationError` for bad arguments.
    """
    p, a, codes, t = _validate(probability, amount, groups, n_groups, dispersion, new_deals, targets, draws)
    rng = np.random.default_rng(seed)
    deals = _sorted_deals(p, a, codes, n_groups)
    chosen, over_budget = _exact_deals(deals, n_groups, draws)
    is_chosen = np.zeros(len(deals.log_odds), dtype=bool)
    is_chosen[chosen] = True
    rest = _Deals(np.where(is_chosen, -np.inf, deals.log_odds), deals.amount, deals.codes, deals.offsets)
    few = _Deals(
        deals.log_odds[chosen],
        deals.amount[chosen],
        deals.codes[chosen],
        np.searchsorted(chosen, deals.offsets),
    )
    fine, weights, nodes = _z_grid(dispersion)
    coarse = np.stack([_cumulants(rest, float(z), n_groups) for z in nodes])
    coarse_few = np.stack([_cumulants(few, float(z), n_groups) for z in nodes])
    # cubic-spline weights from the coarse nodes to the fine grid (linear in the values, so the expected
    # value integrates them once and each chunk of groups interpolates only its own columns)
    basis = CubicSpline(nodes, np.eye(len(nodes)), axis=0)(fine) if len(nodes) > 1 else np.ones((1, 1))
    expected = np.einsum("k,kgc->gc", weights @ basis, coarse + coarse_few)
    if len(nodes) > 1:
        strata = (rng.permutation(draws) + rng.random(draws)) / draws
        z_index = np.rint((ndtri(strata) + Z_SPAN) / (2 * Z_SPAN) * (FINE_POINTS - 1))
        z_index = np.clip(z_index, 0, FINE_POINTS - 1).astype(np.int64)
    else:
        z_index = np.zeros(draws, dtype=np.int64)
    z = fine[z_index]
    new = new_deals if new_deals is not None else NewDeals.none(n_groups)
    new_factor = np.exp(z - 0.5 * dispersion**2)

    rest_sizes = np.bincount(deals.codes[~is_chosen], minlength=n_groups).astype(float)
    rest_pipeline = np.bincount(deals.codes[~is_chosen], weights=deals.amount[~is_chosen], minlength=n_groups)
    total_count = np.zeros(draws)
    total_amount = np.zeros(draws)
    quantiles: list[np.ndarray] = []
    reach: list[np.ndarray] = []
    chunk = max(1, _CHUNK // (8 * draws))
    for first in range(0, n_groups, chunk):
        members = np.arange(first, min(first + chunk, n_groups))
        table = np.einsum("mk,kgc->mgc", basis, coarse[:, members])
        cum = table[z_index]  # (draws, groups in chunk, 6)
        count = np.clip(
            np.rint(_translated_gamma(rng, cum[..., 0], cum[..., 1], cum[..., 2])), 0.0, rest_sizes[members]
        )
        won = np.clip(
            _translated_gamma(rng, cum[..., 3], cum[..., 4], cum[..., 5]), 0.0, rest_pipeline[members]
        )
        inside = chosen[(few.codes >= first) & (few.codes < first + len(members))]
        if inside.size:
            c, w = _simulate_exact(rng, deals, inside, z, deals.codes[inside] - first)
            count[:, : c.shape[1]] += c
            won[:, : w.shape[1]] += w
        new_count, new_amount = _new_deals(rng, new, members, new_factor)
        count += new_count
        won += new_amount
        total_count += count.sum(axis=1)
        total_amount += won.sum(axis=1)
        quantiles.append(np.concatenate([_quantiles(count), _quantiles(won)]))
        reach.append(np.mean(won >= t[members], axis=0))
    levels = np.concatenate(quantiles, axis=1) if quantiles else np.zeros((6, 0))
    reached = np.concatenate(reach) if reach else np.zeros(0)
    expected_count = expected[:, 0] + new.expected_count
    expected_amount = expected[:, 3] + new.expected_amount
    results = tuple(
        PeriodRange(
            _range(levels[:3, g], expected_count[g]),
            _range(levels[3:, g], expected_amount[g]),
            None if np.isnan(t[g]) else float(reached[g]),
        )
        for g in range(n_groups)
    )
    total_target = float(t.sum()) if not np.any(np.isnan(t)) else None
    total = PeriodRange(
        _range(_quantiles(total_count[:, None])[:, 0], expected_count.sum()),
        _range(_quantiles(total_amount[:, None])[:, 0], expected_amount.sum()),
        None if total_target is None else float(np.mean(total_amount >= total_target)),
    )
    return PeriodRanges(results, total, over_budget)


__all__ = ["PeriodRange", "PeriodRanges", "Range", "period_ranges"]
