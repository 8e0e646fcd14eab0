"""What moved a period forecast: the change of the expected won amount between two as-of dates, as a
waterfall whose steps add up exactly to ``end - start``.

The expected won amount of a period as of a date is what was already won in the period by then plus, for
each deal open then, its probability of being won by the period end times its amount
(``won_to_date + sum p_i a_i``; deals not yet created are left out: they are not deals one can point to).
:func:`forecast_movement` takes the per-deal frames of both dates (from
:func:`dealsight.analytics.backtest.horizon_forecast`, each with only what was known at its date) and the
deals closed between them, and puts every deal in exactly one step:

- **won since**: open at the start, won since (its won amount if won inside the period, else 0, minus its
  start value ``p0 a0``);
- **lost since**: open at the start, lost or ended in no decision since (or gone from the data): ``-p0 a0``;
- **new deals**: created after the start: their end value (``p1 a1``, or the won amount if already won);
- **slipped out**: open at both dates, its expected close inside the period at the start and after the
  period end at the end: ``p1 a1 - p0 a0``;
- **pulled in**: the reverse (expected close moved into the period): ``p1 a1 - p0 a0``;
- **amount changes** and **probability changes**: every other deal open at both dates splits its change
  ``p1 a1 - p0 a0`` into ``(a1 - a0) p0`` (the amount) and ``(p1 - p0) a1`` (the probability: the rest,
  including the shorter time left).

Missing amounts count 0. ``start`` and ``end`` are computed from the frames on their own, so the identity
``start + sum(steps) == end`` (to rounding) is a check of the inputs, not true by construction: the caller
must pass ``won_to_date`` figures consistent with the closed deals (:attr:`Movement.unexplained` says by
how much they are not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dealsight.errors import FieldProblem, ValidationError

STEPS: tuple[tuple[str, str], ...] = (
    ("won", "won since"),
    ("lost", "lost since"),
    ("new", "new deals"),
    ("slipped", "slipped out of the period"),
    ("pulled_in", "pulled into the period"),
    ("amount", "amount changes"),
    ("probability", "probability changes"),
)
"""The steps of the waterfall in order: (key, label)."""

FRAME_COLUMNS = ("opportunity_id", "probability", "amount", "in_period")
CLOSED_COLUMNS = ("opportunity_id", "won", "amount", "in_period")


@dataclass(frozen=True)
class MovementStep:
    """One step: its ``key`` and ``label`` (:data:`STEPS`), the change of expected won amount and the
    number of deals it concerns."""

    key: str
    label: str
    amount: float
    deals: int


@dataclass(frozen=True)
class Movement:
    """The expected won amount at ``start`` and ``end`` and the steps between them; ``unexplained`` is
    ``end - start - sum(steps)`` (0 to rounding when the inputs agree); ``deals``: one row per deal that
    moved (``opportunity_id``, ``step``, ``change``), largest changes first."""

    start: float
    end: float
    steps: tuple[MovementStep, ...]
    unexplained: float
    deals: pd.DataFrame


def _check(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> list[FieldProblem]:
    return [FieldProblem(f"{name}.{c}", "missing column") for c in columns if c not in frame.columns]


def _values(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame by deal id with probability and amount as floats (NaN as 0)."""
    out = pd.DataFrame(
        {
            "p": pd.to_numeric(frame["probability"], errors="coerce").fillna(0.0).to_numpy(np.float64),
            "a": pd.to_numeric(frame["amount"], errors="coerce").fillna(0.0).to_numpy(np.float64),
            "in_period": frame["in_period"].fillna(False).astype(bool).to_numpy(),
        },
        index=pd.Index(frame["opportunity_id"].to_numpy(), name="opportunity_id"),
    )
    return out[~out.index.duplicated(keep="last")]


def forecast_movement(
    start: pd.DataFrame,
    end: pd.DataFrame,
    closed: pd.DataFrame,
    *,
    won_to_date_start: float,
    won_to_date_end: float,
) -> Movement:
    """The waterfall from the forecast at ``start`` to the forecast at ``end`` (module docstring).

    ``start`` / ``end``: the deals open at each date (:data:`FRAME_COLUMNS`: ``in_period`` says whether the
    deal's expected close then fell on or before the period end); ``closed``: the deals closed between the
    two dates (:data:`CLOSED_COLUMNS`: ``won``, the won ``amount``, ``in_period``: closed inside the
    period); ``won_to_date_*``: the amount won in the period up to each date."""
    problems = _check(start, FRAME_COLUMNS, "start") + _check(end, FRAME_COLUMNS, "end")
    problems += _check(closed, CLOSED_COLUMNS, "closed")
    if problems:
        raise ValidationError("Cannot compute the forecast movement", problems)
    before, after = _values(start), _values(end)
    shut = pd.DataFrame(
        {
            "won": closed["won"].fillna(False).astype(bool).to_numpy(),
            "value": np.where(
                closed["won"].fillna(False).astype(bool) & closed["in_period"].fillna(False).astype(bool),
                pd.to_numeric(closed["amount"], errors="coerce").fillna(0.0).to_numpy(np.float64),
                0.0,
            ),
        },
        index=pd.Index(closed["opportunity_id"].to_numpy(), name="opportunity_id"),
    )
    shut = shut[~shut.index.duplicated(keep="last")]
    start_value = float(won_to_date_start + (before["p"] * before["a"]).sum())
    end_value = float(won_to_date_end + (after["p"] * after["a"]).sum())

    rows: list[tuple[object, str, float]] = []
    both = before.index.intersection(after.index)
    start_value_of = dict(zip(before.index, before["p"] * before["a"], strict=True))
    end_value_of = dict(zip(after.index, after["p"] * after["a"], strict=True))
    won_of = dict(zip(shut.index, shut["won"], strict=True))
    won_value_of = dict(zip(shut.index, shut["value"], strict=True))
    for deal in before.index.difference(after.index):
        p0a0 = float(start_value_of[deal])
        if won_of.get(deal, False):
            rows.append((deal, "won", float(won_value_of[deal]) - p0a0))
        else:
            rows.append((deal, "lost", -p0a0))
    for deal in after.index.difference(before.index):
        rows.append((deal, "new", float(end_value_of[deal])))
    for deal in shut.index.difference(before.index).difference(after.index):
        if won_value_of[deal]:
            rows.append((deal, "new", float(won_value_of[deal])))
    p0, a0 = before.loc[both, "p"].to_numpy(), before.loc[both, "a"].to_numpy()
    p1, a1 = after.loc[both, "p"].to_numpy(), after.loc[both, "a"].to_numpy()
    was_in, now_in = before.loc[both, "in_period"].to_numpy(), after.loc[both, "in_period"].to_numpy()
    change = p1 * a1 - p0 * a0
    for deal, moved, in0, in1, d_amount, d_probability in zip(
        both, change, was_in, now_in, (a1 - a0) * p0, (p1 - p0) * a1, strict=True
    ):
        if in0 and not in1:
            rows.append((deal, "slipped", float(moved)))
        elif in1 and not in0:
            rows.append((deal, "pulled_in", float(moved)))
        else:
            if d_amount:
                rows.append((deal, "amount", float(d_amount)))
            if d_probability:
                rows.append((deal, "probability", float(d_probability)))
    deals = pd.DataFrame(rows, columns=["opportunity_id", "step", "change"])
    deals = deals[deals["change"] != 0].copy()
    sums = deals.groupby("step")["change"].sum().to_dict()
    counts = deals.groupby("step")["change"].count().to_dict()
    steps = tuple(
        MovementStep(key, label, float(sums.get(key, 0.0)), int(counts.get(key, 0))) for key, label in STEPS
    )
    order = deals["change"].abs().sort_values(ascending=False, kind="stable").index
    return Movement(
        start=start_value,
        end=end_value,
        steps=steps,
        unexplained=end_value - start_value - sum(step.amount for step in steps),
        deals=deals.loc[order].reset_index(drop=True),
    )


__all__ = ["CLOSED_COLUMNS", "FRAME_COLUMNS", "STEPS", "Movement", "MovementStep", "forecast_movement"]
