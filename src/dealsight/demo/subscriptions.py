"""The demo's customers after the sale: subscriptions and their renewals, churn, the value they confirmed,
their RIQ answers, executive meetings, feature usage and support tickets.

Every won deal of a recurring product (all but Implementation Services) starts a subscription a few days
after it closed, its ARR the won amount. Each term ends in a renewal decision, simulated until ``today``:
renewed (a new subscription row for the next term, sometimes upgraded or downgraded) or lost (the row
churned, with a churn event and its reason). A quarter of the smb subscriptions are monthly plans renewing
automatically instead: one row, decided each anniversary. The draws come from a stream of their own
(``default_rng([seed, CUSTOMER_STREAM])``), so adding them moves no deal, account or person of the demo.

Hidden mechanics (docs/demo.md; tests/test_demo_renewals.py checks them on the data)
-----------------------------------------------------------------------------------
Each customer account has hidden states, drawn at its first subscription:

- **value realised** ``v`` in (0, 1): Beta(1.5 + 1.2 x problem recorded on the won deal + 0.8 x sponsor,
  2); it drifts by N(0, 0.12) each term. Confirmed values arrive at Poisson(3 v^2) a year of term,
  each worth ARR x v x lognormal(0.5, 0.5); the RIQ (asked in 65% of the terms, in their second half)
  answers an impact and a recovery effort read from ``v`` with noise.
- **executive engagement** ``e`` (yes with chance 0.2 + 0.45 v + 0.15 x sponsor on the won deal): engaged
  accounts meet an executive about 3 times a term (account-level meetings, no deal), others 0.4 times; an
  engaged executive confirms 75% of the values (20% otherwise).
- **adoption** ``u``: 0.8 x Beta(2, 2) + 0.2 v, nearly independent of value: monthly usage of 2-4
  features at Poisson(40 u) each; in the last three months of a term that will be lost usage falls by a
  fifth, 40% of the time (a weak, late signal).
- **support**: tickets at a rate of their own (Gamma(2, 0.3) a month), 10% escalated, 70% rated 1-5.

The renewal decision: log-odds ``-2.2 + 6.5 v + 0.7 e + 0.5 (u - 0.5) - 0.3 x (2 or more escalations in
the term)``: value decides, usage barely matters. Accounts with heavy usage and no confirmed value churn
often; accounts with executive-confirmed value renew even with modest usage. A renewal adds upgrades
with chance 0.08 + 0.3 v (ARR x 1.1-1.5) and downgrades with 0.12 (1 - v) (ARR x 0.6-0.9). A lost
renewal's reason is mostly ``no_value`` when ``v`` < 0.4; 30% of the customers who leave say so 10-60 days
before the term ends (the churn event's day).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from dealsight.demo.people import AccountInfo
from dealsight.domain.customer_value import add_months

Row = dict[str, Any]
CUSTOMER_STREAM = 6
"""The customer-value draws come from ``default_rng([seed, CUSTOMER_STREAM])``."""
ONE_OFF_PRODUCTS = frozenset({"Implementation Services"})
METRICS = (
    ("Forecast accuracy", "%", 62.0, 1.25),
    ("Hours spent on pipeline reporting a week", "hours", 40.0, 0.45),
    ("Win rate of qualified deals", "%", 21.0, 1.3),
    ("Days to close an enterprise deal", "days", 140.0, 0.8),
    ("Revenue recovered from stalled deals", "USD", 0.0, 0.0),
    ("Renewal rate of the customer's own customers", "%", 81.0, 1.08),
)
FEATURES = ("Dashboards", "Forecasting", "Deal insight", "Data import", "Alerts", "API")
CHURN_FEEDBACK = {
    "no_value": "We could not show what it changed for us.",
    "budget": "Budget cut for next year.",
    "competitor": "Moved to a tool bundled with our CRM.",
    "pricing": "Too expensive for what we use.",
    "business_change": "Reorganised; the team that used it was merged.",
    "features": "Missing the integrations we needed.",
}
_LEVELS = ("none", "minor", "major", "critical")
_RECOVERY = ("days", "weeks", "months", "cannot")


@dataclass
class CustomerTables:
    """The rows made here, by table name; activities without ids (the generator numbers them)."""

    subscriptions: list[Row] = field(default_factory=list)
    churn_events: list[Row] = field(default_factory=list)
    value_evidence: list[Row] = field(default_factory=list)
    riq_answers: list[Row] = field(default_factory=list)
    feature_usage: list[Row] = field(default_factory=list)
    support_tickets: list[Row] = field(default_factory=list)
    activities: list[tuple[Row, list[int]]] = field(default_factory=list)
    value_realised: dict[int, float] = field(default_factory=dict)  # hidden: account id -> v, for tests


@dataclass
class _Account:
    info: AccountInfo
    value: float
    engaged: bool
    adoption: float
    ticket_rate: float


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class CustomerSimulator:
    """Simulates every subscription of the won deals, with its evidence, up to ``today`` (exclusive)."""

    def __init__(self, seed: int, today: date, accounts: Iterable[AccountInfo], contacts: list[Row]) -> None:
        self.rng = np.random.default_rng([seed, CUSTOMER_STREAM])
        self.today = today
        self.accounts = {info.id: info for info in accounts}
        self.names = {c["id"]: c["name"] for c in contacts}
        self.titles = {c["id"]: c["title"] for c in contacts}
        self.state: dict[int, _Account] = {}
        self.out = CustomerTables()

    # draws ---------------------------------------------------------------------------------------------
    def _uniform(self, low: float = 0.0, high: float = 1.0) -> float:
        return float(self.rng.uniform(low, high))

    def _chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def _poisson(self, mean: float) -> int:
        return int(self.rng.poisson(max(mean, 0.0)))

    def _day_in(self, start: date, end: date) -> date:
        span = max((end - start).days, 1)
        return start + timedelta(days=int(self.rng.integers(0, span)))

    def _account(self, deal: Row) -> _Account:
        account_id = deal["account_id"]
        if account_id not in self.state:
            problem, sponsor = deal["business_problem"] is not None, deal["executive_sponsor_id"] is not None
            value = float(self.rng.beta(1.5 + 1.2 * problem + 0.8 * sponsor, 2.0))
            self.state[account_id] = _Account(
                self.accounts[account_id],
                value,
                self._chance(0.2 + 0.45 * value + 0.15 * sponsor),
                0.8 * float(self.rng.beta(2.0, 2.0)) + 0.2 * value,
                float(self.rng.gamma(2.0, 0.3)),
            )
            self.out.value_realised[account_id] = value
        return self.state[account_id]

    # one subscription ----------------------------------------------------------------------------------
    def subscribe(self, deal: Row, segment: str) -> None:
        """The subscriptions of one won deal: its first term and every renewal until today."""
        if deal["product"] in ONE_OFF_PRODUCTS or deal["closed_date"] is None:
            return
        account = self._account(deal)
        start = deal["closed_date"] + timedelta(days=int(self.rng.integers(1, 15)))
        if start >= self.today:
            return
        arr = Decimal(deal["amount"])
        if segment == "smb" and self._chance(0.25):
            self._monthly_plan(deal, account, start, arr)
            return
        months = 24 if segment == "enterprise" and self._chance(0.3) else 12
        frequency = "annual" if self._chance(0.7) else "quarterly"
        previous: Row | None = None
        value = account.value
        while True:
            end = add_months(start, months) - timedelta(days=1)
            value = min(max(value + float(self.rng.normal(0, 0.12)), 0.01), 0.99)
            row: Row = {
                "id": len(self.out.subscriptions) + 1,
                "external_id": None,
                "account_id": deal["account_id"],
                "product": deal["product"],
                "plan": "Annual contract" if months == 12 else "Two-year contract",
                "seats": None,
                "arr": arr,
                "mrr": (arr / 12).quantize(Decimal("0.01")),
                "currency": "USD",
                "term_start": start,
                "term_end": end,
                "billing_frequency": frequency,
                "auto_renew": False,
                "renewal_date": end,
                "is_trial": False,
                "status": "active",
                "upgraded": previous is not None and arr > previous["arr"],
                "downgraded": previous is not None and arr < previous["arr"],
                "plan_changed_on": start if previous is not None and arr != previous["arr"] else None,
            }
            self.out.subscriptions.append(row)
            last_day = min(end, self.today - timedelta(days=1))
            escalations = self._tickets(account, start, last_day)
            renews = self._chance(_logistic(self._renew_log_odds(account, value, escalations)))
            self._evidence(account, row, value, start, last_day, renews)
            if end >= self.today:
                return
            if not renews:
                self._churn(row, value, end)
                return
            previous, start = row, end + timedelta(days=1)
            if start >= self.today:
                return
            if self._chance(0.08 + 0.3 * value):
                arr = Decimal(round(float(arr) * self._uniform(1.1, 1.5), -2))
            elif self._chance(0.12 * (1 - value)):
                arr = Decimal(round(float(arr) * self._uniform(0.6, 0.9), -2))

    def _monthly_plan(self, deal: Row, account: _Account, start: date, arr: Decimal) -> None:
        """A monthly plan renewing automatically: one row, decided at each anniversary."""
        row: Row = {
            "id": len(self.out.subscriptions) + 1, "external_id": None, "account_id": deal["account_id"],
            "product": deal["product"], "plan": "Monthly plan", "seats": None, "arr": arr,
            "mrr": (arr / 12).quantize(Decimal("0.01")), "currency": "USD", "term_start": start,
            "term_end": None, "billing_frequency": "monthly", "auto_renew": True,
            "renewal_date": add_months(start, 1), "is_trial": False, "status": "active", "upgraded": None,
            "downgraded": None, "plan_changed_on": None,
        }  # fmt: skip
        self.out.subscriptions.append(row)
        value, year = account.value, 1
        term_start = start
        while True:
            anniversary = add_months(start, 12 * year)
            value = min(max(value + float(self.rng.normal(0, 0.12)), 0.01), 0.99)
            last_day = min(anniversary - timedelta(days=1), self.today - timedelta(days=1))
            escalations = self._tickets(account, term_start, last_day)
            renews = self._chance(_logistic(self._renew_log_odds(account, value, escalations)))
            self._evidence(account, row, value, term_start, last_day, renews)
            if anniversary >= self.today:
                return
            if not renews:
                row.update(status="churned", term_end=anniversary, renewal_date=anniversary)
                self._churn(row, value, anniversary)
                return
            term_start, year = anniversary, year + 1

    @staticmethod
    def _renew_log_odds(account: _Account, value: float, escalations: int) -> float:
        return (
            -2.2
            + 6.5 * value
            + 0.7 * account.engaged
            + 0.5 * (account.adoption - 0.5)
            - 0.3 * (escalations >= 2)
        )

    # what happens during a term -------------------------------------------------------------------------
    def _tickets(self, account: _Account, start: date, end: date) -> int:
        """Support tickets of the account in [start, end] (drawn together); returns how many escalated."""
        n = self._poisson(account.ticket_rate * max((end - start).days, 0) / 30.44)
        if not n:
            return 0
        rng, midnight = self.rng, datetime.combine(self.today, time())
        days = rng.integers(0, max((end - start).days + 1, 1), n).tolist()
        minutes = rng.integers(9 * 60, 18 * 60, n).tolist()
        hours = rng.lognormal(2.5, 1.0, n).tolist()
        escalated = (rng.random(n) < 0.1).tolist()
        priorities = rng.choice(4, size=n, p=[0.3, 0.45, 0.2, 0.05]).tolist()
        responses = rng.integers(5, 600, n).tolist()
        ratings = np.where(rng.random(n) < 0.7, rng.choice(5, size=n, p=[0.08, 0.12, 0.25, 0.3, 0.25]) + 1, 0)
        for day, minute, hour, up, priority, response, rating in zip(
            days, minutes, hours, escalated, priorities, responses, ratings.tolist(), strict=True
        ):
            opened = datetime.combine(start + timedelta(days=day), time()) + timedelta(minutes=minute)
            closed = opened + timedelta(hours=hour)
            self.out.support_tickets.append(
                {
                    "id": len(self.out.support_tickets) + 1, "external_id": None,
                    "account_id": account.info.id, "opened_at": opened,
                    "closed_at": closed if closed < midnight else None,
                    "priority": ("low", "medium", "high", "urgent")[priority],
                    "first_response_minutes": response,
                    "resolution_hours": round(hour, 1) if closed < midnight else None,
                    "satisfaction": rating or None, "escalated": up,
                }
            )  # fmt: skip
        return sum(escalated)

    def _evidence(
        self, account: _Account, row: Row, value: float, start: date, end: date, renews: bool
    ) -> None:
        """Values confirmed, the RIQ, executive meetings and monthly usage of one term, up to ``end``."""
        if end < start:
            return
        years = ((end - start).days + 1) / 365.25
        executives = account.info.executives
        others = [c for c in account.info.contacts if c not in executives] or executives
        for _ in range(self._poisson(3.0 * value**2 * years)):
            name, unit, baseline, factor = METRICS[int(self.rng.integers(len(METRICS)))]
            by_executive = bool(executives) and self._chance(0.75 if account.engaged else 0.2)
            people = executives if by_executive else others
            contact = people[int(self.rng.integers(len(people)))] if people else None
            money = round(float(row["arr"]) * value * float(self.rng.lognormal(0.5, 0.5)), -2)
            achieved = baseline * (factor + (value - 0.5) * 0.2) if factor else money
            level = "executive" if by_executive else ("manager" if self._chance(0.5) else "staff")
            self.out.value_evidence.append(
                {
                    "id": len(self.out.value_evidence) + 1, "external_id": None,
                    "account_id": account.info.id, "subscription_id": row["id"], "metric": name,
                    "unit": unit, "baseline": baseline, "achieved": round(achieved, 1),
                    "monetary_value": Decimal(money), "currency": "USD", "confirmed_by_id": contact,
                    "confirmer_title": self.titles.get(contact) if contact else None,
                    "confirmer_level": level,
                    "confirmed_on": self._day_in(start, end + timedelta(days=1)), "note": None,
                }
            )  # fmt: skip
        if self._chance(0.65):
            middle = start + (end - start) / 2
            impact = min(max(int((value + float(self.rng.normal(0, 0.12))) * 4), 0), 3)
            recovery = min(max(impact + int(self.rng.integers(-1, 2)), 0), 3)
            answerer = executives if account.engaged and executives else others
            self.out.riq_answers.append(
                {
                    "id": len(self.out.riq_answers) + 1, "external_id": None, "account_id": account.info.id,
                    "impact": _LEVELS[impact], "recovery": _RECOVERY[recovery], "answer": None,
                    "answered_by_id": answerer[int(self.rng.integers(len(answerer)))] if answerer else None,
                    "answered_on": self._day_in(middle, end + timedelta(days=1)),
                    "asked_by_id": account.info.owner_id,
                }
            )  # fmt: skip
        for _ in range(self._poisson((3.0 if account.engaged else 0.4) * years)):
            if not executives:
                break
            contact = executives[int(self.rng.integers(len(executives)))]
            when = datetime.combine(self._day_in(start, end + timedelta(days=1)), time(10))
            activity: Row = {
                "type": "meeting", "occurred_at": when + timedelta(minutes=int(self.rng.integers(0, 420))),
                "opportunity_id": None, "account_id": account.info.id, "user_id": account.info.owner_id,
                "subject": f"Executive business review with {self.names[contact]}",
            }  # fmt: skip
            self.out.activities.append((activity, [contact]))
        self._usage(account, row, start, end, renews)

    def _usage(self, account: _Account, row: Row, start: date, end: date, renews: bool) -> None:
        features = FEATURES[: 2 + int(self.rng.integers(0, 3))]
        fades = not renews and self._chance(0.4)
        term_end = row["term_end"] or add_months(start, 12)
        months = []
        month = date(start.year, start.month, 1)
        while month <= end:
            months.append(month)
            month = add_months(month, 1)
        if not months:
            return
        rates = [
            40.0 * account.adoption * (0.8 if fades and (term_end - m).days < 92 else 1.0) for m in months
        ]
        counts = self.rng.poisson(np.repeat(rates, len(features)).reshape(len(months), len(features)))
        usage = self.out.feature_usage
        for month, row_counts in zip(months, counts.tolist(), strict=True):
            for feature, count in zip(features, row_counts, strict=True):
                if count:
                    usage.append(
                        {"id": len(usage) + 1, "external_id": None, "subscription_id": row["id"],
                         "account_id": account.info.id, "used_on": max(month, start), "feature": feature,
                         "usage_count": count, "duration_seconds": None, "error_count": None, "is_beta": None}
                    )  # fmt: skip

    def _churn(self, row: Row, value: float, end: date) -> None:
        row["status"] = "churned"
        if value < 0.4 and self._chance(0.7):
            reason = "no_value"
        else:
            reasons = ("budget", "competitor", "pricing", "business_change", "features")
            reason = reasons[int(self.rng.integers(len(reasons)))]
        notice = end - timedelta(days=int(self.rng.integers(10, 61))) if self._chance(0.3) else end
        self.out.churn_events.append(
            {
                "id": len(self.out.churn_events) + 1, "external_id": None, "account_id": row["account_id"],
                "subscription_id": row["id"], "churned_on": min(notice, self.today - timedelta(days=1)),
                "reason": reason, "feedback": CHURN_FEEDBACK.get(reason), "refund_amount": None,
                "currency": "USD", "was_reactivated": False,
            }
        )  # fmt: skip


def customer_tables(
    seed: int, today: date, opportunities: list[Row], accounts: Iterable[AccountInfo], contacts: list[Row]
) -> CustomerTables:
    """Subscriptions and customer value of every won deal, in the order the deals closed."""
    simulator = CustomerSimulator(seed, today, accounts, contacts)
    segments = {info.id: info.segment for info in simulator.accounts.values()}
    won = sorted(
        (o for o in opportunities if o["outcome"] == "won"), key=lambda o: (o["closed_date"], o["id"])
    )
    for deal in won:
        simulator.subscribe(deal, str(segments[deal["account_id"]]))
    return simulator.out


__all__ = ["CUSTOMER_STREAM", "CustomerSimulator", "CustomerTables", "customer_tables"]
