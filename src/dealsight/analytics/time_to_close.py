"""Time to close: per deal open at an as-of instant, the probability that it is won within a horizon,
learned only from what was known at that instant.

Every method takes a :class:`HorizonContext` (the replayed snapshots of :mod:`forecast_replay`, the as-of
instant, the horizon) and returns one probability per deal open at as-of (``None`` when the data cannot
support the method, e.g. no forecast categories for ``rep_commit``). Methods, in :data:`METHODS`:

- ``stage_weighted``: the classic weighted pipeline, the CRM's probability of each deal's stage, whatever
  the horizon (every open deal counts). A stage not recorded takes the mean CRM probability of the open
  deals whose stage is known, else the mean over the open stages of the sales process.
- ``stage_weighted_ttc``: the historical win rate of the stage (deals seen in that stage at a snapshot and
  closed by as-of) times the share of that stage's won snapshots, of a similar deal age, that were won
  within the horizon. The classic improvement; it ignores deals still open (the won deals of long cycles
  are not in yet), which is why it stays optimistic on young histories.
- ``rep_commit``: 1 for deals the rep placed in ``commit`` whose expected close date falls within the
  horizon (or is unknown), 0 otherwise; only when forecast categories are recorded.
- ``competing_risks``: the Aalen-Johansen cumulative incidence of a win (against lost / no decision) on
  deal age in days, with deals still open at as-of as censored observations; for a deal aged ``A``,
  ``(F_won(A + h) - F_won(A)) / S(A)``. Written on a daily grid with numpy (ages are whole days, so the
  discrete estimator is exact; lifelines' ``AalenJohansenFitter`` jitters tied times at random and is
  much slower for 200,000 deals x 52 dates). :func:`outcome_within` also gives lost / no decision.
- ``snapshot_gbm``: a calibrated LightGBM (:class:`~dealsight.analytics.win_model.WinModel`) per horizon
  on snapshots of past deals (weekly, open at the snapshot) labelled "won within h days of the snapshot";
  a snapshot is used only once its horizon has ended at as-of (keeping the early closes of recent
  snapshots alone would overstate how fast deals close). Features: the leading indicators, deal age, day
  of the quarter and days to its end. Features known only at the close are left out
  (:func:`win_training.known_only_at_close`), and so are expected-close-date features when the close date
  was filled in at the close (it equals the actual close day for nearly every closed deal, as in
  maven_crm). With too little history it falls back to ``competing_risks`` (:attr:`note` says so).
  Refitted every :data:`REFIT_STEPS` grid steps (:func:`refit_instant`): the model used as of T was
  fitted as of an instant at or before T, with only what was known then; a backtest fits 4x less.
- ``competing_risks_seasonal``: competing risks on age, each day's chance of a win scaled by a
  within-quarter season (:class:`QuarterSeason`): observed over expected wins per month of the quarter and
  age group, learned from the weeks after past snapshots that ended by as-of. Sales teams close at the
  end of a quarter; on maven_crm no deal older than 30 days is won in a quarter's first month.
- ``model``: the ensemble ``w * snapshot_gbm + (1 - w) * competing_risks_seasonal`` (probability scale),
  ``w`` from each member's squared relative error of the won count over the latest
  :data:`ENSEMBLE_DATES` as-of instants whose horizon had ended (:func:`ensemble_weight`). On maven_crm
  the two err in opposite directions (the snapshot model too low after a quarter's end, the seasonal
  hazard too high); the ensemble backtests best (docs/forecast-models.md).

Fields the data set never records a change of (maven_crm has no history at all) cannot be replayed: their
current value says nothing about a past instant (a deal open now still shows the stage it is in today,
one that closed shows only its close), so :func:`forecast_replay.unreplayable_masked` blanks them at
instants before the row reached dealsight (``known_since``); otherwise the stage alone
would tell which deals close later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from dealsight.analytics.deal_timelines import NAT, NS_PER_DAY
from dealsight.analytics.forecast_replay import (
    CALENDAR_FEATURES,
    CLOSE_DATE_FEATURES,
    ReplayedSnapshots,
    expected_amounts,
    horizon_labels,
    realised,
)
from dealsight.analytics.indicators import MODEL_FEATURES
from dealsight.analytics.win_model import WinModel
from dealsight.analytics.win_training import known_only_at_close
from dealsight.domain.enums import ForecastCategory
from dealsight.errors import InsufficientDataError

MIN_LABELLED_WINS = 200
"""The snapshot model needs this many won and as many not-won labelled snapshots, else it falls back (with
fewer, on maven_crm in April 2017, it forecast 2 wins where 56 to 326 came: the first closes are too few to
learn timing from, while competing risks also learn from the deals still open)."""
MAX_TRAINING_SNAPSHOTS = 60_000
"""At most this many labelled snapshots per fit (drawn at random, seeded): weekly snapshots of one deal say
much the same, and a 52-date backtest fits once per date."""
CLOSE_DATE_LEAK_SHARE = 0.9
AGE_BUCKETS = (0, 14, 30, 60, 90, 180, 365)
SEASON_AGE_GROUPS = (30, 60, 90)
"""Upper edges (days) of the age groups whose wins :class:`QuarterSeason` scales apart."""
SEASON_WINDOW_DAYS = 7
SEASON_LOOKBACK_DAYS = 371
"""The season learns from the windows after snapshots of at most this many days before as-of."""
SEASON_PRIOR = 5.0
REFIT_STEPS = 4
"""The snapshot model is refitted every this many grid steps (see :func:`refit_instant`)."""
ENSEMBLE_DATES = 13
ENSEMBLE_PRIOR_ERRORS = 2
"""One date's worth (a count and an amount error) of the prior weight 1/2."""
"""Expected wins' worth of the neutral factor 1 added to every cell of :class:`QuarterSeason`."""
MIN_BUCKET = 20


@dataclass(frozen=True)
class HorizonContext:
    """What a method may use to forecast as of ``as_of``: snapshots up to it, the sales process, the
    horizon in days."""

    snapshots: ReplayedSnapshots
    stages: pd.DataFrame
    as_of: pd.Timestamp
    horizon_days: int
    every_days: int = 7
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """Results shared by the contexts of one backtest (fits and forecasts keyed by their as-of): a value is
    stored under the instant it was computed as of, so sharing it never lets a later date leak in."""

    @property
    def open_rows(self) -> pd.DataFrame:
        return self.snapshots.at(self.as_of)

    def moved(self, as_of: pd.Timestamp) -> HorizonContext:
        """The same context as of another instant (sharing the memo)."""
        return replace(self, as_of=as_of)

    def remembered(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


# -- stage weighted ---------------------------------------------------------------------------------------
def stage_weighted(context: HorizonContext) -> np.ndarray:
    """The CRM's probability of each open deal's stage (module docstring)."""
    rows = context.open_rows
    crm = pd.to_numeric(rows["crm_stage_probability"], errors="coerce").to_numpy(np.float64)
    known = np.isfinite(crm)
    if known.any():
        fill = float(crm[known].mean())
    else:
        open_stages = context.stages[context.stages["outcome"].isna()]
        probabilities = pd.to_numeric(open_stages["probability"], errors="coerce")
        fill = float(probabilities.mean()) if probabilities.notna().any() else 0.0
    return np.where(known, crm, fill)


def stage_weighted_ttc(context: HorizonContext) -> np.ndarray:
    """Historical stage win rate x share of the stage's wins, at a similar age, won within the horizon."""
    lives = context.snapshots.lives
    past = context.snapshots.before(context.as_of, ("as_of", "row", "stage", "deal_age_days"))
    rows = past["row"].to_numpy(np.int64)
    closed = lives.closed_ns[rows]
    closed_by = (closed != NAT) & (closed <= context.as_of.value)
    won = lives.won[rows] & closed_by
    stage = past["stage"].astype(str).to_numpy()
    deal_stage = pd.DataFrame({"deal": rows[closed_by], "stage": stage[closed_by], "won": won[closed_by]})
    per_deal = deal_stage.drop_duplicates(["deal", "stage"])
    overall_rate = float(per_deal.drop_duplicates("deal")["won"].mean()) if len(per_deal) else 0.0
    stage_rate = per_deal.groupby("stage")["won"].mean()

    taken = past["as_of"].to_numpy().view(np.int64)
    within = won & (closed - taken <= context.horizon_days * NS_PER_DAY)
    bucket = np.digitize(pd.to_numeric(past["deal_age_days"], errors="coerce").fillna(0), AGE_BUCKETS)
    wins = pd.DataFrame({"stage": stage[won], "bucket": bucket[won], "within": within[won]})
    by_stage_bucket = wins.groupby(["stage", "bucket"])["within"].agg(["mean", "size"])
    by_bucket = wins.groupby("bucket")["within"].mean()
    overall_share = float(wins["within"].mean()) if len(wins) else 0.0

    open_rows = context.open_rows
    open_stage = open_rows["stage"].astype(str).to_numpy()
    open_bucket = np.digitize(
        pd.to_numeric(open_rows["deal_age_days"], errors="coerce").fillna(0), AGE_BUCKETS
    )
    rate = pd.Series(open_stage).map(stage_rate).fillna(overall_rate).to_numpy(np.float64)
    cell = by_stage_bucket.reindex(pd.MultiIndex.from_arrays([open_stage, open_bucket]))
    enough = cell["size"].fillna(0).to_numpy(np.float64) >= MIN_BUCKET
    fallback = pd.Series(open_bucket).map(by_bucket).fillna(overall_share).to_numpy(np.float64)
    share = np.where(enough, cell["mean"].to_numpy(np.float64), fallback)
    return np.asarray(rate * share, dtype=np.float64)


def rep_commit(context: HorizonContext) -> np.ndarray | None:
    """1 for committed deals expected to close within the horizon; ``None`` without forecast categories."""
    past_and_now = context.snapshots.rows
    categories = past_and_now["forecast_category"]
    if not categories.notna().any():
        return None
    rows = context.open_rows
    committed = (rows["forecast_category"] == ForecastCategory.COMMIT.value).to_numpy()
    days = pd.to_numeric(rows["days_to_expected_close"], errors="coerce").to_numpy(np.float64)
    in_horizon = ~np.isfinite(days) | (days <= context.horizon_days)
    return np.asarray(committed & in_horizon, dtype=np.float64)


# -- competing risks on deal age ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CumulativeIncidence:
    """Aalen-Johansen on a daily age grid: ``survival[a]`` P(still open after age a), ``won[a]`` and
    ``other[a]`` P(won / lost or no decision by age a)."""

    survival: np.ndarray
    won: np.ndarray
    other: np.ndarray

    @classmethod
    def fit(cls, age_days: np.ndarray, event: np.ndarray, reach: int) -> CumulativeIncidence:
        """``age_days``: age at the close or at censoring; ``event``: 0 censored, 1 won, 2 lost or no
        decision; ``reach``: ages are covered up to at least this."""
        size = max(int(age_days.max(initial=0)), reach) + 2
        exits = np.bincount(age_days, minlength=size)[:size]
        at_risk = np.cumsum(exits[::-1])[::-1].astype(np.float64)
        won = np.bincount(age_days[event == 1], minlength=size)[:size]
        other = np.bincount(age_days[event == 2], minlength=size)[:size]
        safe = np.maximum(at_risk, 1.0)
        hazard_won, hazard_other = won / safe, other / safe
        survival = np.cumprod(1.0 - hazard_won - hazard_other)
        before = np.r_[1.0, survival[:-1]]
        return cls(survival, np.cumsum(before * hazard_won), np.cumsum(before * hazard_other))

    def within(self, age_days: np.ndarray, horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
        """P(won) and P(lost or no decision) within ``horizon_days`` for deals open at ``age_days``."""
        last = len(self.survival) - 1
        now = np.clip(age_days, 0, last)
        later = np.clip(age_days + horizon_days, 0, last)
        alive = self.survival[now]
        safe = np.where(alive > 1e-12, alive, 1.0)
        won = np.where(alive > 1e-12, (self.won[later] - self.won[now]) / safe, 0.0)
        other = np.where(alive > 1e-12, (self.other[later] - self.other[now]) / safe, 0.0)
        return np.clip(won, 0.0, 1.0), np.clip(other, 0.0, 1.0)


def outcome_within(context: HorizonContext) -> tuple[np.ndarray, np.ndarray]:
    """Competing risks on deal age: P(won) and P(lost or no decision) within the horizon per open deal."""
    lives = context.snapshots.lives
    t = context.as_of.value
    started = (lives.start_ns != NAT) & (lives.start_ns <= t)
    closed = started & (lives.closed_ns != NAT) & (lives.closed_ns <= t)
    end = np.where(closed, lives.closed_ns, t)
    age = np.maximum((end[started] - lives.start_ns[started]) // NS_PER_DAY, 0).astype(np.int64)
    event = np.where(closed[started], np.where(lives.won[started], 1, 2), 0)
    incidence = CumulativeIncidence.fit(age, event, reach=context.horizon_days)
    rows = context.open_rows["row"].to_numpy(np.int64)
    open_age = np.maximum((t - lives.start_ns[rows]) // NS_PER_DAY, 0).astype(np.int64)
    return incidence.within(open_age, context.horizon_days)


def competing_risks(context: HorizonContext) -> np.ndarray:
    """P(won within the horizon) by competing risks on deal age."""
    return outcome_within(context)[0]


def age_incidence(context: HorizonContext, reach: int) -> CumulativeIncidence:
    """The Aalen-Johansen fit on deal age of every deal started by as-of (closes by as-of only)."""
    lives = context.snapshots.lives
    t = context.as_of.value
    started = (lives.start_ns != NAT) & (lives.start_ns <= t)
    closed = started & (lives.closed_ns != NAT) & (lives.closed_ns <= t)
    end = np.where(closed, lives.closed_ns, t)
    age = np.maximum((end[started] - lives.start_ns[started]) // NS_PER_DAY, 0).astype(np.int64)
    event = np.where(closed[started], np.where(lives.won[started], 1, 2), 0)
    return CumulativeIncidence.fit(age, event, reach=reach)


def month_of_quarter(days_ns: np.ndarray) -> np.ndarray:
    """0, 1 or 2: the month of its calendar quarter each instant (ns) falls in."""
    return np.asarray(days_ns.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64) % 3)


def age_group(age_days: np.ndarray) -> np.ndarray:
    """The index of each age's group (:data:`SEASON_AGE_GROUPS`: up to 30 days, 31-60, 61-90, older)."""
    return np.asarray(np.digitize(age_days, SEASON_AGE_GROUPS, right=True))


@dataclass(frozen=True)
class QuarterSeason:
    """How much more (or less) often deals are won in each month of a quarter, per age group, than deal age
    alone says: ``factor[month_of_quarter, age_group]`` = (observed wins + prior) / (expected wins + prior).

    Learned only from windows of :data:`SEASON_WINDOW_DAYS` days after past snapshots that ended by as-of:
    observed, the snapshot's deals won in the window; expected, competing risks on age (fitted at as-of)
    for the same deals. A cell never seen stays 1."""

    factor: np.ndarray

    @classmethod
    def fit(cls, context: HorizonContext, incidence: CumulativeIncidence) -> QuarterSeason:
        lives = context.snapshots.lives
        past = context.snapshots.before(context.as_of, ("as_of", "row"))
        taken = past["as_of"].to_numpy().view(np.int64)
        window = SEASON_WINDOW_DAYS * NS_PER_DAY
        keep = (taken + window <= context.as_of.value) & (
            taken >= context.as_of.value - SEASON_LOOKBACK_DAYS * NS_PER_DAY
        )
        rows, taken = past["row"].to_numpy(np.int64)[keep], taken[keep]
        age = np.maximum((taken - lives.start_ns[rows]) // NS_PER_DAY, 0).astype(np.int64)
        expected = incidence.within(age, SEASON_WINDOW_DAYS)[0]
        closed = lives.closed_ns[rows]
        observed = lives.won[rows] & (closed != NAT) & (closed > taken) & (closed <= taken + window)
        middle = SEASON_WINDOW_DAYS // 2
        cell = month_of_quarter(taken + middle * NS_PER_DAY) * (len(SEASON_AGE_GROUPS) + 1) + age_group(
            age + middle
        )
        size = 3 * (len(SEASON_AGE_GROUPS) + 1)
        o = np.bincount(cell, weights=observed.astype(np.float64), minlength=size)
        e = np.bincount(cell, weights=expected, minlength=size)
        return cls(((o + SEASON_PRIOR) / (e + SEASON_PRIOR)).reshape(3, -1))

    def within(
        self, incidence: CumulativeIncidence, as_of_ns: int, age_days: np.ndarray, horizon_days: int
    ) -> np.ndarray:
        """P(won within the horizon) for deals open at ``age_days``: each day's chance of a win by age,
        times the factor of that day's month of the quarter and the deal's age group then."""
        last = len(incidence.survival) - 1
        steps = np.arange(1, horizon_days + 1)
        ages = np.clip(age_days[:, None] + steps[None, :], 0, last)
        daily = incidence.won[ages] - incidence.won[np.clip(ages - 1, 0, last)]
        months = month_of_quarter(as_of_ns + steps * NS_PER_DAY)
        factor = self.factor[months[None, :], age_group(ages)]
        alive = incidence.survival[np.clip(age_days, 0, last)]
        safe = np.where(alive > 1e-12, alive, 1.0)
        won = np.where(alive > 1e-12, (daily * factor).sum(axis=1) / safe, 0.0)
        return np.asarray(np.clip(won, 0.0, 1.0), dtype=np.float64)


def competing_risks_seasonal(context: HorizonContext) -> np.ndarray:
    """Competing risks on deal age, each day's win chance scaled by :class:`QuarterSeason`."""
    incidence = age_incidence(context, context.horizon_days + SEASON_WINDOW_DAYS)
    season = QuarterSeason.fit(context, incidence)
    lives = context.snapshots.lives
    rows = context.open_rows["row"].to_numpy(np.int64)
    age = np.maximum((context.as_of.value - lives.start_ns[rows]) // NS_PER_DAY, 0).astype(np.int64)
    return season.within(incidence, context.as_of.value, age, context.horizon_days)


# -- snapshot classifier -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SnapshotFit:
    """A snapshot model fitted as of an instant: its features, model (``None``: fell back) and note."""

    features: list[str]
    model: WinModel | None
    note: str | None
    left_out: tuple[str, ...]


def close_date_known_only_at_close(past: pd.DataFrame, context: HorizonContext) -> bool:
    """Whether the expected close date of deals closed by as-of equalled their actual close day at nearly
    every snapshot before it (a close date filled in at the close, not a forecast)."""
    lives = context.snapshots.lives
    rows = past["row"].to_numpy(np.int64)
    closed = lives.closed_ns[rows]
    done = (closed != NAT) & (closed <= context.as_of.value)
    days = pd.to_numeric(past["days_to_expected_close"], errors="coerce").to_numpy(np.float64)[done]
    if not np.isfinite(days).any():
        return False
    taken = past["as_of"].to_numpy().view(np.int64)[done]
    actual = (closed[done] - taken) / NS_PER_DAY
    return bool(np.nanmean(np.abs(days - actual) <= 1.0) >= CLOSE_DATE_LEAK_SHARE)


def fit_snapshot_model(context: HorizonContext, *, random_state: int = 0) -> SnapshotFit:
    """The snapshot classifier learned as of ``context.as_of`` (module docstring)."""
    features = [*MODEL_FEATURES, *CALENDAR_FEATURES]
    positions = context.snapshots.before_positions(context.as_of)
    past = context.snapshots.before(context.as_of, ("as_of", "row", "days_to_expected_close"))
    known, won = horizon_labels(past, context.snapshots.lives, context.as_of, context.horizon_days)
    labelled = np.flatnonzero(known)
    if len(labelled) > MAX_TRAINING_SNAPSHOTS:
        drawn = np.random.default_rng(random_state).choice(
            len(labelled), MAX_TRAINING_SNAPSHOTS, replace=False
        )
        labelled = labelled[np.sort(drawn)]
    y = won[labelled]
    n_won, n_other = int(y.sum()), int((~y).sum())
    if n_won < MIN_LABELLED_WINS or n_other < MIN_LABELLED_WINS:
        note = (
            f"history too thin for the snapshot model as of {context.as_of:%Y-%m-%d}: {n_won} snapshots won "
            f"within {context.horizon_days} days and {n_other} not; it needs {MIN_LABELLED_WINS} of each. "
            "Competing risks on deal age are used instead."
        )
        return SnapshotFit(features, None, note, ())
    train = context.snapshots.rows.iloc[positions[labelled]]
    left_out = list(
        known_only_at_close(train, context.snapshots.lives.won[train["row"].to_numpy()], features)
    )
    if close_date_known_only_at_close(past, context):
        left_out += [name for name in CLOSE_DATE_FEATURES if name not in left_out]
    features = [name for name in features if name not in left_out]
    try:  # calibrated on a stratified held-out share of deals (closes start late in young histories)
        model = WinModel(random_state=random_state, max_trees=200, refit=False).fit(
            train[features], np.where(y, "won", "not_won"), groups=train["row"].to_numpy()
        )
    except InsufficientDataError as thin:
        return SnapshotFit(
            features, None, f"{thin.message}; competing risks on deal age are used instead", ()
        )
    return SnapshotFit(features, model, None, tuple(left_out))


def refit_instant(context: HorizonContext) -> pd.Timestamp:
    """The instant the snapshot model used as of ``context.as_of`` is fitted as of: the latest grid instant
    (``every_days`` apart, counted from the epoch) whose step number is a multiple of :data:`REFIT_STEPS`,
    at or before as-of. A model fitted earlier knows less, never more."""
    step = int(context.as_of.normalize().value // (context.every_days * NS_PER_DAY))
    return context.as_of - pd.Timedelta(days=context.every_days * (step % REFIT_STEPS))


def snapshot_gbm(context: HorizonContext) -> np.ndarray:
    """P(won within the horizon) from the snapshot classifier fitted as of :func:`refit_instant`
    (competing risks when history is thin)."""
    if not len(context.open_rows):
        return np.zeros(0)
    fit_at = refit_instant(context)
    fitted = context.remembered(
        ("snapshot_fit", fit_at.value, context.horizon_days),
        lambda: fit_snapshot_model(context.moved(fit_at)),
    )
    if fitted.model is None:
        return competing_risks(context)
    return np.asarray(fitted.model.win_probability(context.open_rows[fitted.features]), dtype=np.float64)


# -- the ensemble --------------------------------------------------------------------------------------------
def ensemble_weight(model_errors: np.ndarray, seasonal_errors: np.ndarray) -> float:
    """The snapshot model's share of the ensemble: inverse mean squared relative error of each member over
    past forecasts whose horizon ended, shrunk toward 1/2 with :data:`ENSEMBLE_PRIOR_ERRORS` pseudo-errors."""
    n = len(model_errors)
    if not n:
        return 0.5
    inverse_model = 1.0 / max(float(np.mean(model_errors**2)), 1e-9)
    inverse_seasonal = 1.0 / max(float(np.mean(seasonal_errors**2)), 1e-9)
    observed = inverse_model / (inverse_model + inverse_seasonal)
    return (n * observed + ENSEMBLE_PRIOR_ERRORS * 0.5) / (n + ENSEMBLE_PRIOR_ERRORS)


def _members(context: HorizonContext) -> tuple[np.ndarray, np.ndarray]:
    """The snapshot model's and the seasonal competing risks' probabilities as of the context (memoised)."""
    key = ("members", context.as_of.value, context.horizon_days)
    return context.remembered(  # type: ignore[no-any-return]
        key, lambda: (snapshot_gbm(context), competing_risks_seasonal(context))
    )


def ensemble_instants(as_of: pd.Timestamp, horizon_days: int, every_days: int) -> list[pd.Timestamp]:
    """The past as-of instants whose errors weigh the ensemble as of ``as_of`` (:func:`model_ensemble`)."""
    first = -(-horizon_days // every_days)
    return [as_of - pd.Timedelta(days=every_days * k) for k in range(first, first + ENSEMBLE_DATES)]


def model_ensemble(context: HorizonContext) -> np.ndarray:
    """``w * snapshot_gbm + (1 - w) * competing_risks_seasonal``, ``w`` from :func:`ensemble_weight` on the
    relative errors of the won count and of the won amount (both count: one set of probabilities serves
    both) at the latest :data:`ENSEMBLE_DATES` as-of instants (``every_days`` apart) whose horizon ended by
    as-of: their forecasts used only what was known then, their outcomes are known now."""
    model, seasonal = _members(context)
    lives = context.snapshots.lives
    model_errors: list[float] = []
    seasonal_errors: list[float] = []
    for instant in ensemble_instants(context.as_of, context.horizon_days, context.every_days):
        past = context.moved(instant)
        rows = past.open_rows["row"].to_numpy(np.int64)
        if not len(rows):
            continue
        won, won_amount = realised(lives, rows, instant, context.horizon_days)
        amount = np.nan_to_num(expected_amounts(past.open_rows, lives, instant))
        past_model, past_seasonal = _members(past)
        for weights, actual in ((np.ones(len(rows)), float(won.sum())), (amount, float(won_amount.sum()))):
            if actual > 0:
                model_errors.append(float((past_model * weights).sum()) / actual - 1)
                seasonal_errors.append(float((past_seasonal * weights).sum()) / actual - 1)
    weight = ensemble_weight(np.asarray(model_errors), np.asarray(seasonal_errors))
    return np.asarray(weight * model + (1 - weight) * seasonal, dtype=np.float64)


Method = Callable[[HorizonContext], "np.ndarray | None"]
METHODS: dict[str, Method] = {
    "stage_weighted": stage_weighted,
    "stage_weighted_ttc": stage_weighted_ttc,
    "rep_commit": rep_commit,
    "competing_risks": competing_risks,
    "competing_risks_seasonal": competing_risks_seasonal,
    "snapshot_gbm": snapshot_gbm,
    "model": model_ensemble,
}
"""Every method by name; ``model`` is the one that backtests best."""

__all__ = [
    "METHODS",
    "CumulativeIncidence",
    "HorizonContext",
    "QuarterSeason",
    "SnapshotFit",
    "competing_risks",
    "competing_risks_seasonal",
    "ensemble_instants",
    "ensemble_weight",
    "fit_snapshot_model",
    "model_ensemble",
    "outcome_within",
    "rep_commit",
    "snapshot_gbm",
    "stage_weighted",
    "stage_weighted_ttc",
]
