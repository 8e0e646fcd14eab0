"""No look-ahead: nothing after a pair's as_of may change its indicators.

For each seed, a random organisation of deals (stage, amount, close-date and forecast histories that go
back and forth, closes, activities with attendees, qualification answers, exports without history) is
built; indicators are computed for pairs at and before an instant T. Then everything after T is changed:
every history row after T is replaced by another random chain starting from the value at T (so the data
stays consistent: the old value of a change is the value before it), open deals are closed after T with
some outcome (closed ones get another outcome or close date), activities, attendees and answers after T
are dropped and others added, new deals are created after T. Every indicator of every pair must be
unchanged, and pairs *after* T must see the change (else the test would prove nothing).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from dealsight.analytics.indicators import deal_indicators, snapshot_pairs
from tests.test_indicators import QUESTIONS, deal, deal_data

OPEN = ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation"]
CLOSED = {"won": "Closed Won", "lost": "Closed Lost", "no_decision": "Closed Lost"}
FIELDS = ("stage", "amount", "close_date", "forecast_category")
START = pd.Timestamp("2024-01-01")
Row = dict[str, Any]


class World:
    """Rows of a random organisation, changed in place by :meth:`change_after`."""

    def __init__(self, seed: int, deals: int = 40) -> None:
        self.rng = np.random.default_rng(seed)
        self.cut: pd.Timestamp | None = None
        self.deals: list[Row] = []
        self.history: list[tuple[int, str, pd.Timestamp, Any, Any]] = []
        self.activities: list[tuple[int, pd.Timestamp]] = []
        self.attendees: list[tuple[int, pd.Timestamp, int, bool]] = []
        self.answers: list[tuple[int, int, str, pd.Timestamp]] = []
        self.contacts: list[tuple[int, int, str | None, str | None, str | None, bool]] = []
        for deal_id in range(1, deals + 1):
            self._new_deal(deal_id, START + pd.Timedelta(days=int(self.rng.integers(0, 150))))

    # random pieces ------------------------------------------------------------------------------
    def _minutes_after(self, moment: pd.Timestamp, count: int, days: int = 200) -> list[pd.Timestamp]:
        """``count`` sorted instants after ``moment``; after a cut, often the first one second after it (the
        sharpest test of "after")."""
        offsets = np.sort(self.rng.integers(1, days * 1440, count))
        moments = [moment + pd.Timedelta(minutes=int(m)) for m in offsets]
        if self.cut is not None and moment == self.cut and moments and self.rng.random() < 0.5:
            moments[0] = moment + pd.Timedelta(seconds=1)
        return moments

    def _value(self, field: str, previous: Any) -> Any:
        if field == "stage":
            return str(self.rng.choice([s for s in OPEN if s != previous]))
        if field == "amount":
            return str(int(self.rng.integers(1, 200)) * 500)
        if field == "close_date":
            return (START + pd.Timedelta(days=int(self.rng.integers(10, 400)))).date().isoformat()
        return str(self.rng.choice([c for c in ("pipeline", "best_case", "commit") if c != previous]))

    def _chain(self, deal_id: int, field: str, first: Any, moments: list[pd.Timestamp]) -> Any:
        value = first
        for moment in moments:
            new = self._value(field, value)
            self.history.append((deal_id, field, moment, value, new))
            value = new
        return value

    def _events(self, deal_id: int, after: pd.Timestamp, contacts: list[int], days: int = 220) -> None:
        for moment in self._minutes_after(after, int(self.rng.integers(0, 12)), days):
            self.activities.append((deal_id, moment))
            for contact in self.rng.choice(contacts, size=int(self.rng.integers(0, 3)), replace=False):
                self.attendees.append((deal_id, moment, int(contact), int(contact) % 10 < 2))

    def _answer(self, deal_id: int, question: int, after: pd.Timestamp) -> None:
        answer = str(self.rng.choice(["yes", "no", "unknown"]))
        self.answers.append((deal_id, question, answer, self._minutes_after(after, 1, 150)[0]))

    def _new_deal(self, deal_id: int, created: pd.Timestamp) -> None:
        rng = self.rng
        row = deal(
            deal_id,
            created_date=created,
            known_since=created + pd.Timedelta(hours=9),
            segment=str(rng.choice(["smb", "enterprise"])),
            amount=float(rng.integers(1, 200) * 500),
            expected_close_date=created + pd.Timedelta(days=int(rng.integers(20, 90))),
            executive_sponsor_id=deal_id * 10 if rng.random() < 0.5 else None,
            question_set_id=1 if rng.random() < 0.9 else 2,
        )
        current: dict[str, Any] = {
            "stage": "Prospecting",
            "amount": str(int(row["amount"])),
            "close_date": row["expected_close_date"].date().isoformat(),
            "forecast_category": "pipeline",
        }
        exported = rng.random() < 0.1  # an export without history: closed deals carry only a close date
        if not exported:
            for field in FIELDS:
                moments = self._minutes_after(created, int(rng.integers(0, 5)))
                current[field] = self._chain(deal_id, field, current[field], moments)
        self.deals.append(row)
        self._set_current(row, current)
        contacts = [deal_id * 10 + k for k in range(5)]
        for contact in contacts[: int(rng.integers(1, 5))]:
            role = str(rng.choice(["user", "economic_buyer"]))
            self.contacts.append((deal_id, contact, role, "low", "supporter", contact % 10 < 2))
        self._events(deal_id, created - pd.Timedelta(days=5), contacts)
        for question in QUESTIONS["question_id"]:
            if rng.random() < 0.6:
                self._answer(deal_id, int(question), created)
        if rng.random() < 0.4:
            last = max([h[2] for h in self.history if h[0] == deal_id], default=created)
            self._close(row, str(rng.choice(list(CLOSED))), self._minutes_after(last, 1, 60)[0], exported)

    def _set_current(self, row: Row, current: dict[str, Any]) -> None:
        row["stage"] = current["stage"]
        row["amount"] = float(current["amount"])
        row["expected_close_date"] = pd.Timestamp(current["close_date"])
        row["forecast_category"] = current["forecast_category"]

    def _close(self, row: Row, outcome: str, moment: pd.Timestamp, exported: bool) -> None:
        stage = CLOSED[outcome]
        if not exported:
            self.history.append((row["id"], "stage", moment, row["stage"], stage))
            self.history.append((row["id"], "forecast_category", moment, row["forecast_category"], "closed"))
            row["forecast_category"] = "closed"
        row.update(stage=stage, outcome=outcome, closed_date=moment.normalize())

    # everything after T, changed -------------------------------------------------------------------
    def change_after(self, cut: pd.Timestamp) -> None:
        rng = self.rng
        self.cut = cut
        later = [h for h in self.history if h[2] > cut]
        self.history = [h for h in self.history if h[2] <= cut]
        for row in self.deals:
            deal_id = row["id"]
            closed_by_cut = pd.notna(row["closed_date"]) and row["closed_date"] <= cut.normalize()
            if closed_by_cut and not any(h[0] == deal_id and h[2] > cut for h in later):
                continue  # closed by T: its whole life is in the past
            exported = not any(h[0] == deal_id for h in self.history + later)
            if exported:
                if pd.notna(row["closed_date"]):  # closed later, no history: another outcome, another day
                    outcome = "lost" if row["outcome"] == "won" else "won"
                    closed = cut.normalize() + pd.Timedelta(days=int(rng.integers(1, 60)))
                    row.update(stage=CLOSED[outcome], outcome=outcome, closed_date=closed)
                continue
            at_cut = self._values_at(deal_id, row, later)
            row.update(closed_date=pd.NaT, outcome=None)
            current = {}
            for field in FIELDS:
                current[field] = self._chain(
                    deal_id, field, at_cut[field], self._minutes_after(cut, int(rng.integers(0, 4)))
                )
            self._set_current(row, current)
            if rng.random() < 0.6:
                last = max([h[2] for h in self.history if h[0] == deal_id] + [cut])
                self._close(row, str(rng.choice(list(CLOSED))), self._minutes_after(last, 1, 30)[0], False)
        self.activities = [a for a in self.activities if a[1] <= cut]
        self.attendees = [a for a in self.attendees if a[1] <= cut]
        for row in self.deals:
            self._events(row["id"], cut, [row["id"] * 10 + k for k in range(5)], days=100)
        answered = {(a[0], a[1]) for a in self.answers if a[3] <= cut}
        self.answers = [a for a in self.answers if a[3] <= cut]
        for row in self.deals:
            for question in QUESTIONS["question_id"]:
                if (row["id"], int(question)) not in answered and rng.random() < 0.7:
                    self._answer(row["id"], int(question), cut)
        for deal_id in range(len(self.deals) + 1, len(self.deals) + 6):
            self._new_deal(deal_id, cut.normalize() + pd.Timedelta(days=int(rng.integers(1, 40))))

    def _values_at(
        self, deal_id: int, row: Row, later: list[tuple[int, str, pd.Timestamp, Any, Any]]
    ) -> dict[str, Any]:
        """Each tracked field's value at the cut: the old value of its first later change, else now."""
        now = {
            "stage": row["stage"],
            "amount": str(int(row["amount"])),
            "close_date": row["expected_close_date"].date().isoformat(),
            "forecast_category": row["forecast_category"],
        }
        for field in FIELDS:
            changes = sorted((h for h in later if h[0] == deal_id and h[1] == field), key=lambda h: h[2])
            if changes:
                now[field] = changes[0][3]
        return now

    def data(self) -> Any:
        return deal_data(
            self.deals, self.history, self.activities, self.attendees, self.contacts, self.answers
        )


def _pairs(world: World, cut: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    """Every deal that existed by the cut, at the cut, at random earlier instants and at the exact times of
    its changes and activities up to the cut (changes at exactly as_of count)."""
    rows = []
    for row in world.deals:
        if row["created_date"] > cut:
            continue
        rows.append((row["id"], cut))
        rows += [(row["id"], cut - pd.Timedelta(minutes=int(m))) for m in rng.integers(1, 90 * 1440, 3)]
    rows += [(h[0], h[2]) for h in world.history if h[2] <= cut]
    rows += [(a[0], a[1]) for a in world.activities if a[1] <= cut]
    return pd.DataFrame(rows, columns=["opportunity_id", "as_of"])


@pytest.mark.parametrize("seed", range(10))
def test_changing_everything_after_as_of_changes_no_indicator(seed: int) -> None:
    world = World(seed)
    rng = np.random.default_rng(1000 + seed)
    cut = START + pd.Timedelta(days=int(rng.integers(40, 200)), minutes=int(rng.integers(0, 1440)))
    pairs = _pairs(world, cut, rng)
    after = pairs.assign(as_of=pairs["as_of"] + pd.Timedelta(days=45))
    before = deal_indicators(world.data(), pd.concat([pairs, after], ignore_index=True))

    world.change_after(cut)
    changed = deal_indicators(world.data(), pd.concat([pairs, after], ignore_index=True))

    known = slice(0, len(pairs))
    pd.testing.assert_frame_equal(changed.iloc[known], before.iloc[known])
    # the future did change: pairs 45 days later see it
    later = slice(len(pairs), None)
    differs = [
        name for name in before.columns if not changed[name].iloc[later].equals(before[name].iloc[later])
    ]
    assert {"stage", "activities_30d", "questions_answered_share"} & set(differs)


@pytest.mark.parametrize("seed", range(3))
def test_training_snapshots_of_deals_closed_by_t_do_not_see_what_came_later(seed: int) -> None:
    world = World(100 + seed, deals=60)
    cut = START + pd.Timedelta(days=260)
    pairs = snapshot_pairs(world.data(), every_days=7, until=cut)
    assert len(pairs) > 20 and (pairs["closed_at"] <= cut).all()
    before = deal_indicators(world.data(), pairs)
    world.change_after(cut)
    after = deal_indicators(world.data(), pairs)
    pd.testing.assert_frame_equal(after, before)
