"""One deal's whole life, simulated from its hidden truth and then cut at ``today``.

Time runs in float days since the demo's origin (midnight of its first day). A deal's fate (won, lost, no
decision) is drawn first from its hidden truth (see :mod:`dealsight.demo.generator` for the mechanics);
its path through the stages, close-date pushes, amount and forecast changes, activities and answers are
then drawn to fit that fate. Every event at or after ``today`` (midnight) is dropped, so a deal whose life
ends later is open, with only the history up to today. History rows are changes only: each row's old value
is the previous row's new value and the first row's old value is the value at creation.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from dealsight.demo import catalog
from dealsight.demo.activity import ActivityPlan, simulate_activities
from dealsight.demo.people import AccountInfo, Rep
from dealsight.domain.enums import (
    BuyerPhase,
    DealRole,
    ForecastCategory,
    HistoryField,
    ImpactLevel,
    Outcome,
    Segment,
)

Row = dict[str, Any]
STAGE_NAMES = catalog.OPEN_STAGES
PROPOSAL, NEGOTIATION = 3, 4
_ACTIVITY_RATE = {Segment.SMB: 0.17, Segment.MID_MARKET: 0.13, Segment.ENTERPRISE: 0.11}
_SEGMENT_OFFSET = {Segment.SMB: 0.25, Segment.MID_MARKET: 0.0, Segment.ENTERPRISE: -0.25}
_DISCOUNT_BASE = {Segment.SMB: 0.05, Segment.MID_MARKET: 0.09, Segment.ENTERPRISE: 0.14}


def money_text(value: Decimal | None) -> str | None:
    """An amount in the history's canonical text: plain decimal, no exponent (``12500``, ``12500.5``).

    The same convention as the importer's (``ingest/importer.py``), which the demo layer may not import.
    """
    if value is None:
        return None
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


@dataclass
class DealInput:
    """What the generator decides about a deal before its life is simulated."""

    deal_id: int
    rep: Rep
    account: AccountInfo
    product: catalog.ProductDef
    created: float
    source: str


@dataclass
class DealRecords:
    opportunity: Row
    history: list[Row] = field(default_factory=list)
    contacts: list[Row] = field(default_factory=list)
    activities: list[tuple[Row, list[int]]] = field(default_factory=list)
    answers: list[tuple[str, str, float]] = field(default_factory=list)  # question key, answer, time
    stalled: bool = False  # hidden: a stage lasted far past its typical age


class DealSimulator:
    """Simulates deals against a fixed calendar (origin and today) and the organisation's contacts."""

    def __init__(
        self, origin: date, today: date, contact_roles: dict[int, str], contact_names: dict[int, str]
    ) -> None:
        self.origin = origin
        self.origin_dt = datetime(origin.year, origin.month, origin.day)
        self.end = float((today - origin).days)  # today at midnight: nothing happens from then on
        self.today = today
        self.contact_roles = contact_roles
        self.contact_names = contact_names

    # calendar -----------------------------------------------------------------------------------------
    def day_date(self, day: int) -> date:
        return self.origin + timedelta(days=day)

    def moment(self, t: float) -> datetime:
        return self.origin_dt + timedelta(minutes=math.floor(t * 1440))

    def workday(self, day: int) -> int:
        weekday = self.day_date(day).weekday()
        return day + (7 - weekday if weekday >= 5 else 0)

    def quarter_end(self, day: int) -> int:
        d = self.day_date(day)
        month = 3 * ((d.month - 1) // 3 + 1)
        last = date(d.year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
        return (last - self.origin).days

    # the life of one deal ---------------------------------------------------------------------------
    def simulate(self, r: random.Random, deal: DealInput) -> DealRecords:
        rep, account, product = deal.rep, deal.account, deal.product
        segment = account.segment
        typical = catalog.TYPICAL_STAGE_DAYS[segment]

        # hidden truth
        problem = r.random() < rep.problem_skill
        sponsor_id = None
        if account.executives and r.random() < min(
            0.95, rep.exec_skill * (1.25 if segment == "enterprise" else 1)
        ):
            sponsor_id = account.executives[r.randrange(len(account.executives))]
        project = r.random() < 0.9
        budget = r.random() < 0.8
        compelling = r.random() < 0.3 + 0.25 * problem
        early = r.random() < (0.62 if deal.source in ("Referral", "Partner") else 0.5)
        units = max(
            0.5,
            round(r.lognormvariate(math.log(catalog.UNITS[segment][0]), catalog.UNITS[segment][1]) * 2) / 2,
        )
        list_price = Decimal(max(1000, round(product.list_price * units, -2)))
        high_impact = product.high_impact or list_price >= 150_000
        impact = (
            (ImpactLevel.CRITICAL if r.random() < 0.3 else ImpactLevel.HIGH)
            if high_impact
            else (ImpactLevel.MEDIUM if r.random() < 0.6 else ImpactLevel.LOW)
        )

        # fate
        logit = (
            -3.3
            + 1.2 * problem
            + 1.1 * (sponsor_id is not None)
            + 0.4 * compelling
            + 0.9 * budget
            + 0.6 * project
            - (0 if early else 0.45 + 0.9 * high_impact)
            + rep.close_skill
            + _SEGMENT_OFFSET[Segment(segment)]
        )
        if r.random() < 1 / (1 + math.exp(-logit)):
            outcome = Outcome.WON
        else:
            no_decision = (
                0.14 + 0.16 * (not compelling) + 0.14 * (not budget) - 0.05 * (sponsor_id is not None)
            )
            outcome = Outcome.NO_DECISION if r.random() < no_decision else Outcome.LOST
        disqualified = outcome == Outcome.LOST and (not project or not budget) and r.random() < 0.7

        # path through the stages
        first = 0 if r.random() < 0.7 else 1
        if outcome == Outcome.WON:
            last = NEGOTIATION
        elif disqualified:
            last = first if r.random() < 0.5 else 1
        elif outcome == Outcome.LOST:
            last = max(first, r.choices(range(5), weights=(0.12, 0.18, 0.26, 0.24, 0.2))[0])
        else:
            last = max(first, r.choices(range(5), weights=(0.04, 0.12, 0.34, 0.32, 0.18))[0])
        stall_chance = {Outcome.WON: 0.06, Outcome.LOST: 0.45, Outcome.NO_DECISION: 0.9}[outcome]
        stall_at = -1
        if r.random() < stall_chance:
            stall_at = last if outcome != Outcome.WON else r.randint(first, last)
        entries: list[float] = [deal.created]
        t = deal.created
        for stage in range(first, last + 1):
            days = typical[stage] * r.lognormvariate(0.0, 0.35)
            if stage == stall_at:
                days *= r.uniform(2.6, 5.0)
            elif stage == last and outcome != Outcome.WON:
                days *= r.uniform(0.4, 1.1)
            day = max(int(t + days), int(t) + 1)
            t = self.workday(day) + r.uniform(8, 18) / 24
            entries.append(t)
        close = entries.pop()
        if outcome == Outcome.WON:
            close = self._quarter_end_push(r, close, entries[-1])
        stalled = stall_at >= 0
        exits = [*entries[1:], close]
        stages = list(range(first, last + 1))

        # amounts and discount
        amount = Decimal(max(1000, round(float(list_price) * r.uniform(0.8, 1.3), -3)))
        discount_quoted = min(
            0.4, max(0.0, _DISCOUNT_BASE[Segment(segment)] + r.gauss(0, 0.025) + (0.03 if not early else 0))
        )
        quarter_close = self._in_quarter_end(int(close))
        final_discount = discount_quoted + (r.uniform(0.04, 0.1) if quarter_close else r.uniform(0.0, 0.03))

        events: list[tuple[float, HistoryField, str | None, str | None]] = []
        values: dict[HistoryField, str | None] = {}

        def change(when: float, name: HistoryField, new: str | None) -> None:
            old = values.get(name)
            if old != new:
                events.append((when, name, old, new))
                values[name] = new

        values[HistoryField.STAGE] = STAGE_NAMES[first]
        values[HistoryField.AMOUNT] = money_text(amount)
        values[HistoryField.FORECAST_CATEGORY] = ForecastCategory.PIPELINE.value
        initial = dict(values)
        committed_early = r.random() < rep.optimism
        for stage, when in zip(stages[1:], entries[1:], strict=True):
            change(when, HistoryField.STAGE, STAGE_NAMES[stage])
            if stage == 2 and r.random() < 0.3:
                amount = Decimal(max(1000, round(float(amount) * r.uniform(0.7, 1.4), -3)))
            elif stage == PROPOSAL:
                amount = self._priced(list_price, discount_quoted)
            elif stage == NEGOTIATION and r.random() < 0.3:
                discount_quoted = min(0.45, discount_quoted + r.uniform(0.0, 0.03))
                amount = self._priced(list_price, discount_quoted)
            change(when, HistoryField.AMOUNT, money_text(amount))
            category = ForecastCategory.PIPELINE
            if stage == NEGOTIATION or (stage == PROPOSAL and committed_early):
                category = ForecastCategory.COMMIT
            elif stage == PROPOSAL or (stage == 2 and r.random() < 0.15):
                category = ForecastCategory.BEST_CASE
            change(when, HistoryField.FORECAST_CATEGORY, category.value)
        close_events = self._close_dates(
            r,
            rep,
            deal.created,
            entries,
            stages,
            close,
            typical,
            PROPOSAL if committed_early else NEGOTIATION,
        )
        values[HistoryField.CLOSE_DATE] = initial[HistoryField.CLOSE_DATE] = close_events[0][1]
        for when, planned_close in close_events[1:]:
            change(when, HistoryField.CLOSE_DATE, planned_close)
        closed_stage = catalog.WON_STAGE if outcome == Outcome.WON else catalog.LOST_STAGE
        if outcome == Outcome.WON:
            amount = self._priced(list_price, final_discount)
        change(close, HistoryField.STAGE, closed_stage)
        change(close, HistoryField.AMOUNT, money_text(amount))
        change(close, HistoryField.FORECAST_CATEGORY, ForecastCategory.CLOSED.value)

        # cut at today
        is_closed = close < self.end
        current: dict[HistoryField, str | None] = dict(initial)
        history: list[Row] = []
        for when, name, old, new in sorted(events, key=lambda e: e[0]):
            if when >= self.end:
                continue
            current[name] = new
            history.append(
                {
                    "opportunity_id": deal.deal_id,
                    "field": name.value,
                    "changed_at": self.moment(when),
                    "old_value": old,
                    "new_value": new,
                    "changed_by_id": rep.user_id,
                }
            )
        horizon = min(close, self.end)
        reached = [s for s, when in zip(stages, entries, strict=True) if when < horizon]
        stage_now = reached[-1]
        amount_now = Decimal(str(current[HistoryField.AMOUNT]))

        # what the rep has recorded by now
        problem_seen = problem and max(reached) >= 1
        sponsor_seen = sponsor_id if max(reached) >= 2 else None
        criteria_seen = max(reached) >= 2 and r.random() < 0.45 + 0.35 * problem
        ubv_seen = max(reached) >= PROPOSAL and r.random() < (0.65 if sponsor_id else 0.3)
        competitors = r.sample(
            catalog.COMPETITORS, r.choices((0, 1, 2, 3), weights=(0.25, 0.4, 0.25, 0.1))[0]
        )
        preferred = None
        if not early and r.random() < 0.9:
            preferred = r.choice(catalog.COMPETITORS)
            if preferred not in competitors:
                competitors.append(preferred)
        discount_now = None
        if max(reached) >= PROPOSAL:
            discount_now = round(1 - float(amount_now) / float(list_price), 4)
        cost = float(list_price) * product.cost_ratio
        outcome_now = outcome if is_closed else None
        opportunity: Row = {
            "id": deal.deal_id,
            "name": f"{catalog.without_legal_form(account.name)} - {product.name}",
            "account_id": account.id,
            "owner_id": rep.user_id,
            "stage": closed_stage if is_closed else STAGE_NAMES[stage_now],
            "amount": amount_now,
            "currency": "USD",
            "forecast_category": current[HistoryField.FORECAST_CATEGORY],
            "probability": None,
            "expected_close_date": date.fromisoformat(str(current[HistoryField.CLOSE_DATE])),
            "created_date": self.day_date(int(deal.created)),
            "closed_date": self.day_date(int(close)) if is_closed else None,
            "outcome": outcome_now.value if outcome_now else None,
            "loss_reason": self._loss_reason(r, outcome_now, disqualified, project),
            "competitors": competitors,
            "product": product.name,
            "source": deal.source,
            "business_problem": (
                catalog.BUSINESS_PROBLEMS[r.randrange(len(catalog.BUSINESS_PROBLEMS))]
                if problem_seen and r.random() < 0.9  # data-quality gap: some problems never written down
                else None
            ),
            "problem_impact": impact.value if r.random() < 0.92 else None,
            "executive_sponsor_id": sponsor_seen,
            "compelling_event": (
                catalog.COMPELLING_EVENTS[r.randrange(len(catalog.COMPELLING_EVENTS))] if compelling else None
            ),
            "decision_criteria": (
                catalog.DECISION_CRITERIA[r.randrange(len(catalog.DECISION_CRITERIA))]
                if criteria_seen
                else None
            ),
            "buyer_phase": self._buyer_phase(outcome_now, stage_now, early, close).value,
            "engaged_before_preference": early,
            "preferred_competitor": preferred,
            "unique_business_value": (
                catalog.UNIQUE_VALUES[r.randrange(len(catalog.UNIQUE_VALUES))] if ubv_seen else None
            ),
            "list_price": list_price,
            "discount": discount_now,
            "margin": round((float(amount_now) - cost) / float(amount_now), 4),
            "created_at": self.moment(deal.created),
            "updated_at": self.moment(max([deal.created, *(e[0] for e in events if e[0] < self.end)])),
        }
        records = DealRecords(opportunity, history, stalled=stalled)
        contacts = self._deal_contacts(r, account, sponsor_seen)
        records.contacts = [
            {"opportunity_id": deal.deal_id, "contact_id": c, "deal_role": role} for c, role in contacts
        ]
        doomed = outcome != Outcome.WON
        records.activities = simulate_activities(
            r,
            ActivityPlan(deal.deal_id, deal.account.id, deal.rep.user_id, deal.created, self.end),
            _ACTIVITY_RATE[Segment(segment)] * rep.activity,
            (stages, entries, exits),
            [(c, self.contact_names[c]) for c, _ in contacts],
            doomed=doomed,
            stall_at=stall_at,
            moment=self.moment,
        )
        truth = {
            "identified_project": project,
            "access_to_funds": budget,
            "compelling_event": compelling,
            "key_players_known": sponsor_id is not None or r.random() < 0.45,
            "business_problem": problem,
            "solution_fit": r.random() < (0.9 if outcome == Outcome.WON else 0.7),
            "executive_sponsor": sponsor_id is not None,
            "unique_business_value": ubv_seen,
            "decision_criteria": criteria_seen,
        }
        for question in catalog.QUESTIONS:
            index = STAGE_NAMES.index(question.stage)
            start = next((w for s, w in zip(stages, entries, strict=True) if s >= index), None)
            if start is None or start >= horizon or r.random() < 0.12:
                continue
            stop = next((w for s, w in zip(stages, exits, strict=True) if s >= index), close)
            when = r.uniform(start, min(stop, horizon))
            answer = "unknown" if r.random() < 0.08 else ("yes" if truth[question.key] else "no")
            records.answers.append((question.key, answer, when))
        return records

    # pieces -----------------------------------------------------------------------------------------
    @staticmethod
    def _priced(list_price: Decimal, discount: float) -> Decimal:
        return Decimal(max(500, round(float(list_price) * (1 - discount), -2)))

    def _in_quarter_end(self, day: int) -> bool:
        return self.quarter_end(day) - day < 14

    def _quarter_end_push(self, r: random.Random, close: float, last_entry: float) -> float:
        """Reps pull deals into the last two weeks of a quarter (and buy them with discount)."""
        day = int(close)
        quarter_end = self.quarter_end(day)
        to_end = quarter_end - day
        target = None
        if 14 <= to_end < 30 and r.random() < 0.5:
            target = quarter_end - r.randint(0, 13)
        else:
            previous_end = self.quarter_end(day - 20)  # the previous quarter's end when close is early in one
            if previous_end < day <= previous_end + 10 and r.random() < 0.4:
                target = previous_end - r.randint(0, 13)
        if target is None or target <= int(last_entry):
            return close
        return target + r.uniform(8, 18) / 24

    def _close_dates(
        self,
        r: random.Random,
        rep: Rep,
        created: float,
        entries: list[float],
        stages: list[int],
        close: float,
        typical: tuple[int, ...],
        commit_stage: int,
    ) -> list[tuple[float, str]]:
        """Expected close dates: planned at creation, pushed and re-forecast, then the real one."""
        planned = sum(typical[stages[0] :]) * (1 - rep.optimism * r.uniform(0.5, 1.0)) * r.uniform(0.8, 1.2)
        expected = int(created) + max(7, round(planned))
        result: list[tuple[float, str]] = [(created, self.day_date(expected).isoformat())]
        checkpoints = [*zip(entries[1:], stages[1:], strict=True), (close, -1)]
        current_stage = stages[0]
        for when, stage in checkpoints:
            while True:
                push_day = self.workday(expected + r.randint(1, 5))
                if push_day >= int(when):
                    break
                remaining = sum(typical[current_stage:]) * r.uniform(0.4, 1.0)
                expected = push_day + max(7, round(remaining))
                result.append((push_day + r.uniform(8, 18) / 24, self.day_date(expected).isoformat()))
            if stage < 0:
                break
            current_stage = stage
            if stage == commit_stage and r.random() < 0.9:  # a committed date is one the rep believes in
                expected = int(when) + max(3, round(sum(typical[stage:]) * r.uniform(1.0, 1.7)))
                result.append((when, self.day_date(expected).isoformat()))
            elif stage == PROPOSAL and r.random() < 0.5:
                remaining = sum(typical[stage:]) * r.uniform(0.8, 1.5) * (1 - rep.optimism / 2)
                expected = int(when) + max(3, round(remaining))
                result.append((when, self.day_date(expected).isoformat()))
        result.append((close, self.day_date(int(close)).isoformat()))
        return result

    @staticmethod
    def _loss_reason(
        r: random.Random, outcome: Outcome | None, disqualified: bool, project: bool
    ) -> str | None:
        if outcome == Outcome.NO_DECISION:
            return r.choice(catalog.LOSS_REASONS_NO_DECISION)
        if outcome == Outcome.LOST:
            if disqualified:
                return "Disqualified: no identified project" if not project else "Disqualified: no budget"
            return r.choice(catalog.LOSS_REASONS_LOST)
        return None

    def _buyer_phase(self, outcome: Outcome | None, stage: int, early: bool, close: float) -> BuyerPhase:
        if outcome == Outcome.WON:
            return BuyerPhase.ADOPTION if self.end - close < 180 else BuyerPhase.VALUE
        if outcome == Outcome.LOST:
            return BuyerPhase.DECISION
        if outcome == Outcome.NO_DECISION:
            return BuyerPhase.PREFERENCE if stage >= PROPOSAL else BuyerPhase.INTEREST
        if stage >= PROPOSAL:
            return BuyerPhase.DECISION
        if stage == 2 or not early:
            return BuyerPhase.PREFERENCE
        return BuyerPhase.INTEREST if stage == 1 else BuyerPhase.AWARENESS

    def _deal_contacts(
        self, r: random.Random, account: AccountInfo, sponsor: int | None
    ) -> list[tuple[int, str]]:
        others = [c for c in account.contacts if c != sponsor]
        chosen = r.sample(others, min(len(others), r.randint(1, 4)))
        result: list[tuple[int, str]] = []
        if sponsor is not None:
            role = self.contact_roles[sponsor]
            result.append(
                (sponsor, role if role == DealRole.ECONOMIC_BUYER else DealRole.DECISION_MAKER.value)
            )
        result += [(c, self.contact_roles[c]) for c in chosen]
        return result
