"""The data deal indicators are computed from: :class:`DealData`, plain frames read by the store
(:func:`dealsight.store.deal_frames.load_deal_data`) or built by hand in tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dealsight.errors import FieldProblem, ValidationError

OPPORTUNITY_FIELDS = (
    "id", "owner_id", "account_id", "stage", "amount", "forecast_category", "expected_close_date",
    "created_date", "closed_date", "outcome", "known_since", "probability", "competitors", "product",
    "source", "business_problem", "problem_impact", "executive_sponsor_id", "compelling_event",
    "decision_criteria", "buyer_phase", "engaged_before_preference", "preferred_competitor",
    "unique_business_value", "segment", "team_id", "question_set_id",
)  # fmt: skip
FRAME_COLUMNS: dict[str, tuple[str, ...]] = {
    "opportunities": OPPORTUNITY_FIELDS,
    "history": ("opportunity_id", "field", "changed_at", "old_value", "new_value"),
    "activities": ("opportunity_id", "occurred_at", "type"),
    "activity_contacts": ("opportunity_id", "occurred_at", "contact_id", "is_executive"),
    "deal_contacts": ("opportunity_id", "contact_id", "role", "influence", "stance", "is_executive"),
    "questions": ("question_id", "question_set_id", "key", "stage", "essential"),
    "answers": ("opportunity_id", "question_id", "answer", "answered_at"),
    "stages": ("name", "position", "probability", "outcome"),
}
"""The columns each frame of :class:`DealData` must have (more may be present)."""


@dataclass(frozen=True)
class DealData:
    """Everything indicators are computed from, as plain frames (:data:`FRAME_COLUMNS`).

    ``opportunities``: current rows, one per deal, with the account's ``segment``, the owner's ``team_id``
    and the ``question_set_id`` that applies to the owner's team; ``known_since`` is when the row reached
    dealsight. ``history``: tracked-field changes. ``activities``; ``activity_contacts``: one row per
    contact present at an activity (with the activity's deal and time, and whether the contact is an
    executive). ``deal_contacts``: the deal's contacts with their role in the deal (else the contact's),
    influence, stance. ``questions`` / ``answers``: qualification. ``stages``: the sales process (CRM
    probability 0..1, outcome of closed stages, None for open ones).
    """

    opportunities: pd.DataFrame
    history: pd.DataFrame
    activities: pd.DataFrame
    activity_contacts: pd.DataFrame
    deal_contacts: pd.DataFrame
    questions: pd.DataFrame
    answers: pd.DataFrame
    stages: pd.DataFrame

    def __post_init__(self) -> None:
        problems = [
            FieldProblem(f"{frame}.{column}", "missing column")
            for frame, columns in FRAME_COLUMNS.items()
            for column in columns
            if column not in getattr(self, frame).columns
        ]
        if problems:
            names = ", ".join(p.field for p in problems[:5])
            raise ValidationError(f"Deal data lacks columns: {names}", problems)

    @classmethod
    def of(cls, **frames: pd.DataFrame) -> DealData:
        """Deal data from the frames given; every frame not given is empty (with its columns)."""
        unknown = sorted(set(frames) - set(FRAME_COLUMNS))
        if unknown:
            raise ValidationError(f"Unknown deal data frames: {', '.join(unknown)}")
        filled = {
            name: frames[name]
            if name in frames
            else pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
            for name, columns in FRAME_COLUMNS.items()
        }
        return cls(**filled)


__all__ = ["FRAME_COLUMNS", "OPPORTUNITY_FIELDS", "DealData"]
