"""What changed in the open pipeline between two days: the pieces of a waterfall from one total to the other.

The pipeline is replayed as it was at the end of ``from_date`` and at the end of ``to_date``
(:func:`~dealsight.analytics.pipeline_flow.replay`); each deal open at either day, or created between them,
falls in exactly one category, tried in this order:

==================  ===================================================================================
``new``             created after ``from_date`` (did not exist then), open at ``to_date``
``reopened``        existed but was closed at ``from_date``, open again at ``to_date``
``won``             open at ``from_date``, won by ``to_date`` (likewise ``lost`` and ``no_decision``)
``pushed_out``      open at both, expected close date moved later
``pulled_in``       open at both, expected close date moved earlier
``amount_up``       open at both, same close date, amount raised
``amount_down``     open at both, same close date, amount lowered
``unchanged``       open at both, same close date and amount
``created_closed``  created after ``from_date`` and already closed by ``to_date`` (never in either total)
==================  ===================================================================================

Each category carries its deals' open amount at ``from_date`` (``amount_before``), their amount at
``to_date`` (``amount_after``: for a won deal the amount it was won at) and ``delta``, what it adds to the
open pipeline: (amount at ``to_date`` if open then) - (amount at ``from_date`` if open then). So
``start_amount + sum(delta) == end_amount`` exactly: the sums are done in whole cents.

Decisions:

- A deal whose close date moved *and* whose amount changed is counted as pushed out or pulled in (a slip is
  the leading indicator); its amount change is in that category's ``delta``.
- A missing close date on either day is not a move; an unknown amount counts as 0 in the totals (and is
  counted in ``unknown_amount_start`` / ``unknown_amount_end``).
- One waterfall per currency: amounts are never added across currencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from dealsight.analytics.pipeline_flow import SalesProcess, replay
from dealsight.domain.enums import Outcome
from dealsight.errors import FieldProblem, InsufficientDataError, ValidationError

CATEGORIES = (
    "new",
    "reopened",
    Outcome.WON.value,
    Outcome.LOST.value,
    Outcome.NO_DECISION.value,
    "pushed_out",
    "pulled_in",
    "amount_up",
    "amount_down",
    "unchanged",
    "created_closed",
)


@dataclass(frozen=True)
class ChangeStep:
    """One piece of the waterfall."""

    category: str
    deals: int
    amount_before: float
    amount_after: float
    delta: float


@dataclass(frozen=True)
class Waterfall:
    """The open pipeline of one currency at ``from_date`` and ``to_date`` and the steps between them."""

    currency: str
    start_deals: int
    start_amount: float
    end_deals: int
    end_amount: float
    unknown_amount_start: int
    unknown_amount_end: int
    steps: list[ChangeStep]


@dataclass(frozen=True)
class PipelineChanges:
    from_date: date
    to_date: date
    waterfalls: list[Waterfall]
    """One per currency, in code order."""


def _cents(amount: pd.Series) -> pd.Series:
    """Amounts as whole cents (unknown: 0), so that sums are exact."""
    return (pd.to_numeric(amount, errors="coerce").fillna(0.0) * 100).round().astype("int64")


def _categories(joined: pd.DataFrame) -> pd.Series:
    """The category of each deal of the joined frame (suffixes ``_from`` and ``_to``)."""
    existed = joined["exists_from"]
    open_from, open_to = joined["open_from"], joined["open_to"]
    close_from = pd.to_datetime(joined["expected_close_date_from"])
    close_to = pd.to_datetime(joined["expected_close_date_to"])
    both = open_from & open_to
    amount_change = joined["cents_to"] - joined["cents_from"]
    choices = [
        (~existed & open_to, "new"),
        (existed & ~open_from & open_to, "reopened"),
        *(
            (open_from & ~open_to & (joined["outcome_to"] == outcome.value), outcome.value)
            for outcome in Outcome
        ),
        (both & (close_to > close_from), "pushed_out"),
        (both & (close_to < close_from), "pulled_in"),
        (both & (amount_change > 0), "amount_up"),
        (both & (amount_change < 0), "amount_down"),
        (both, "unchanged"),
        (~existed & ~open_to, "created_closed"),
    ]
    return pd.Series(
        np.select([mask.to_numpy() for mask, _ in choices], [name for _, name in choices], default=""),
        index=joined.index,
    )


def _waterfall(currency: str, part: pd.DataFrame) -> Waterfall:
    open_from, open_to = part["open_from"], part["open_to"]
    before = part["cents_from"].where(open_from, 0)
    after = part["cents_to"]
    delta = after.where(open_to, 0) - before
    steps = []
    for category in CATEGORIES:
        chosen = part["category"] == category
        steps.append(
            ChangeStep(
                category=category,
                deals=int(chosen.sum()),
                amount_before=int(before[chosen].sum()) / 100,
                amount_after=int(after[chosen].sum()) / 100,
                delta=int(delta[chosen].sum()) / 100,
            )
        )
    return Waterfall(
        currency=currency,
        start_deals=int(open_from.sum()),
        start_amount=int(before.sum()) / 100,
        end_deals=int(open_to.sum()),
        end_amount=int(after.where(open_to, 0).sum()) / 100,
        unknown_amount_start=int((open_from & part["amount_from"].isna()).sum()),
        unknown_amount_end=int((open_to & part["amount_to"].isna()).sum()),
        steps=steps,
    )


def pipeline_changes(
    deals: pd.DataFrame, history: pd.DataFrame, process: SalesProcess, *, from_date: date, to_date: date
) -> PipelineChanges:
    """The waterfall of the open pipeline from the end of ``from_date`` to the end of ``to_date``.

    :class:`ValidationError` when ``from_date`` is after ``to_date``; :class:`InsufficientDataError` when no
    deal was open at either day or created between them."""
    if from_date > to_date:
        message = f"--from {from_date.isoformat()} is after --to {to_date.isoformat()}"
        raise ValidationError(message, [FieldProblem("from", "must be on or before to")])
    columns = ["id", "currency", "amount", "expected_close_date", "outcome", "is_open"]
    then = replay(deals, history, process, from_date)[columns].assign(exists=True)
    now = replay(deals, history, process, to_date)[columns]
    joined = now.merge(then, on="id", how="left", suffixes=("_to", "_from"))
    joined["exists_from"] = joined["exists"].eq(True)
    joined["open_from"] = joined["is_open_from"].eq(True)
    joined["open_to"] = joined["is_open_to"].astype(bool)
    joined["cents_from"] = _cents(joined["amount_from"])
    joined["cents_to"] = _cents(joined["amount_to"])
    joined["category"] = _categories(joined)
    involved = joined[joined["category"] != ""]
    if involved.empty:
        raise InsufficientDataError(
            f"no deal was open at {from_date.isoformat()} or {to_date.isoformat()}, nor created between: "
            "there are no changes to show"
        )
    waterfalls = [
        _waterfall(str(currency), part) for currency, part in involved.groupby("currency_to", sort=True)
    ]
    return PipelineChanges(from_date, to_date, waterfalls)


__all__ = ["CATEGORIES", "ChangeStep", "PipelineChanges", "Waterfall", "pipeline_changes"]
