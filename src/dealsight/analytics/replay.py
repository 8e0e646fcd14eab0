"""Replaying history: the state of every opportunity as it was known at an instant.

An opportunity's row says where it is now; its history says how it got there. The state as of an instant
``as_of`` is, for each tracked field (stage, amount, close date, forecast category):

* the ``old_value`` of the earliest change made *after* ``as_of``, when the field changed since then (the
  value it had before that change is the value it had at ``as_of``);
* otherwise the current value.

Working backwards from the current row means a deal with no history at all is replayed as it is now, and a
history that starts part-way through a deal's life (a CRM export of the last year) still gives the right
answer for every instant it covers. Changes at exactly ``as_of`` count as known. A deal that is closed now
but whose closed date is after ``as_of`` was open then: when no stage change records where it stood, its
stage is :data:`STAGE_NOT_RECORDED` (an export with close dates but no stage history, such as maven_crm).

A deal exists at ``as_of`` when it was created on or before that day: by its created date, else its first
recorded change, else the moment it reached dealsight (``known_since``, the row's ``created_at``). Deals that
did not exist yet are left out. Nothing after ``as_of`` leaks in: the replayed frame holds only values that
were true at that instant (open deals have no closed date or outcome).

Frames (pandas) rather than objects: this runs over every deal of an organisation for every as-of date of a
backtest.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

import pandas as pd

from dealsight.domain.enums import HistoryField, Outcome

TRACKED: dict[str, HistoryField] = {
    "stage": HistoryField.STAGE,
    "amount": HistoryField.AMOUNT,
    "expected_close_date": HistoryField.CLOSE_DATE,
    "forecast_category": HistoryField.FORECAST_CATEGORY,
}
"""Opportunity column -> the history field that records its changes."""

OPPORTUNITY_COLUMNS = (
    "id",
    "stage",
    "amount",
    "expected_close_date",
    "forecast_category",
    "created_date",
    "closed_date",
    "outcome",
    "owner_id",
    "known_since",
)
STAGE_NOT_RECORDED = "(stage not recorded)"
"""The stage of a deal open at the as-of date whose history does not say which open stage it was in."""
HISTORY_COLUMNS = ("opportunity_id", "field", "changed_at", "old_value", "new_value")


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` (changes made that day are known as of that day)."""
    return datetime.combine(day, time.max).replace(microsecond=0)


def parse_amount(text: object) -> float | None:
    """An amount stored as history text, as a float; ``None`` for empty or unreadable text."""
    if text is None or (isinstance(text, float) and pd.isna(text)) or text == "":
        return None
    try:
        return float(Decimal(str(text)))
    except InvalidOperation:
        return None


def parse_day(text: object) -> date | None:
    """A close date stored as history text (ISO), as a date; ``None`` for empty or unreadable text."""
    if text is None or (isinstance(text, float) and pd.isna(text)) or text == "":
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def _values_before_later_changes(history: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """Per (opportunity, field) changed after ``as_of``: the old value of the earliest such change."""
    later = history[history["changed_at"] > as_of]
    if later.empty:
        return pd.DataFrame(columns=["opportunity_id", "field", "old_value"])
    first = later.sort_values(["opportunity_id", "field", "changed_at"], kind="stable")
    first = first.drop_duplicates(["opportunity_id", "field"], keep="first")
    return first[["opportunity_id", "field", "old_value"]]


def _first_change(history: pd.DataFrame) -> pd.Series:
    if history.empty:
        return pd.Series(dtype="datetime64[ns]")
    return history.groupby("opportunity_id")["changed_at"].min()


def state_as_of(
    opportunities: pd.DataFrame,
    history: pd.DataFrame,
    stage_outcomes: dict[str, Outcome | None],
    as_of: datetime,
) -> pd.DataFrame:
    """Every opportunity that existed at ``as_of``, with the values it had then.

    ``opportunities`` has :data:`OPPORTUNITY_COLUMNS` (extra columns pass through unchanged);
    ``history`` has :data:`HISTORY_COLUMNS`; ``stage_outcomes`` maps each stage name to the outcome a
    closed stage means (``None`` for open stages). The result adds ``is_open`` and recomputes
    ``outcome`` and ``closed_date`` for the replayed stage.
    """
    frame = opportunities.copy()
    first_change = _first_change(history)
    # one resolution for the three sources (dates, change instants, row stamps) so filling keeps it
    existed_since = pd.to_datetime(frame["created_date"]).astype("datetime64[s]")
    first_seen = pd.Series(first_change.reindex(frame["id"]).to_numpy(), index=frame.index)
    existed_since = existed_since.fillna(pd.to_datetime(first_seen).astype("datetime64[s]"))
    existed_since = existed_since.fillna(pd.to_datetime(frame["known_since"]).astype("datetime64[s]"))
    frame = frame[existed_since.isna() | (existed_since <= as_of)].copy()

    earlier = _values_before_later_changes(history, as_of)
    for column, field in TRACKED.items():
        replaced = earlier[earlier["field"] == field.value].set_index("opportunity_id")["old_value"]
        if replaced.empty:
            continue
        mask = frame["id"].isin(replaced.index)
        old = frame.loc[mask, "id"].map(replaced)
        if column == "amount":
            parsed: pd.Series = old.map(parse_amount)
        elif column == "expected_close_date":
            parsed = old.map(parse_day)
        else:
            parsed = old.where(old.notna(), None)
        frame[column] = frame[column].astype(object)
        frame.loc[mask, column] = parsed

    # a deal in a closed stage whose recorded close came later was still open at as_of; when no stage
    # change says where it stood, its stage is shown as not recorded rather than guessed
    closed_later = pd.to_datetime(frame["closed_date"]) > as_of
    in_closed_stage = frame["stage"].map(lambda s: stage_outcomes.get(s) is not None).astype(bool)
    frame.loc[closed_later & in_closed_stage, "stage"] = STAGE_NOT_RECORDED
    frame["outcome"] = [
        _outcome_at(stage_outcomes.get(stage), recorded)
        for stage, recorded in zip(frame["stage"], frame["outcome"], strict=True)
    ]
    frame["is_open"] = frame["outcome"].isna()
    frame["closed_date"] = frame["closed_date"].astype(object).where(~frame["is_open"], None)
    return frame.reset_index(drop=True)


def _outcome_at(stage_outcome: Outcome | None, recorded: object) -> str | None:
    """The outcome a replayed stage means; the recorded outcome when it fits the stage.

    A closed-lost stage can mean lost or no decision, so a deal recorded as no decision keeps it.
    """
    if stage_outcome is None:
        return None
    recorded_value = getattr(recorded, "value", recorded)
    if stage_outcome == Outcome.LOST and recorded_value == Outcome.NO_DECISION.value:
        return Outcome.NO_DECISION.value
    return stage_outcome.value


def as_of_instant(day: date | None, today: date) -> datetime:
    """The instant a user means by ``--as-of DAY``: the end of that day (default: the end of today)."""
    return end_of_day(day or today)
