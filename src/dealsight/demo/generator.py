"""The demo organisation: a seeded, realistic B2B sales team and ~2.75 years of its deals, up to ``today``.

``generate_organisation(seed, scale, today)`` is pure: the same (seed, scale, today) always gives exactly
the same records (numpy's seeded ``Generator`` draws the organisation and one seed per deal; each deal's
life is then drawn by its own ``random.Random``). All dates are relative to ``today``. Rows carry their
final ids (1, 2, ...) because the demo is written into empty tables (see :mod:`dealsight.demo.writer`).

The organisation
----------------
- A sales VP (executive) leads the top team "Global Sales"; three teams under it, one per segment
  (Enterprise, Mid-Market, Commercial = smb), each with a manager and 6-8 reps. ``users.manager_id`` forms
  the reporting line; e-mails are ``first.last@demo.dealsight.example``.
- ~600 accounts at scale 1 (firmographics by segment, 10 countries), a few subsidiaries of enterprise
  accounts (``parent_id``), 2-9 contacts each (every account has an executive).
- Planted duplicate accounts, the same company under another spelling, for duplicate detection:
  "Northwind Traders Inc." (northwind.com) / "NORTHWIND TRADERS" (no domain) / "northwind.com" (no domain);
  "Contoso Ltd" / "Contoso Limited" (both contoso.com); "Fabrikam, Inc." / "Fabrikam Incorporated" (no
  domain); "Tailspin Toys Corp." / "Tailspin Toys" (both tailspintoys.com); "Adventure Works Cycles" /
  "Adventure-Works Cycles LLC" (no domain); "Wide World Importers GmbH" / "Wide World Importers" (no
  domain); "Litware Inc." / "LitWare" (both litware.com). The duplicates carry a few deals and contacts,
  one of them the same person (name and e-mail) as a contact of the account they duplicate.
- ~5,000 opportunities at scale 1, created over the last 1,000 days with ~25% yearly growth, on
  workdays; 7 products from a $7,500 support plan to a $96,000-per-unit enterprise platform.

Hidden mechanics (each visible in the data; tests check them with a margin)
--------------------------------------------------------------------------
1. **Business problem and executive sponsor win.** A deal's chance to win is a logistic model of its
   hidden truth: +1.2 log-odds when the rep uncovered the customer's business problem, +1.1 with an engaged
   executive sponsor, +0.4 with a compelling event, +0.9 when the buyer has access to funds, +0.6 when
   there is an identified project. Deals with both a recorded problem and a sponsor win far more often.
2. **Late engagement loses, more so for high-impact purchases.** Engaging after the buyer formed a
   preference (``engaged_before_preference`` false, usually with a ``preferred_competitor``) costs 0.45
   log-odds, and 1.35 when the purchase has a high organisational impact (platform and services products,
   or a list price of $150,000 or more; ``problem_impact`` high or critical).
3. **Stalled deals die.** Lost deals stall (a stage lasting 2.6-5x its typical age) 45% of the time,
   no-decision deals 90%, won deals 6%: a deal well past its stage's typical age mostly ends lost or in no
   decision. Typical stage ages are in ``catalog.TYPICAL_STAGE_DAYS``.
4. **No decision is a quarter of the losses.** Of deals not won, 12% + 16% without a compelling event
   + 14% without funds - 5% with a sponsor end in no decision (about 25% overall), stored as "Closed Lost"
   with outcome ``no_decision`` and a "No decision: ..." loss reason. Poorly qualified deals (no project or
   no funds) are mostly disqualified early ("Disqualified: ...").
5. **Commit slips.** Reps plan close dates 0-45% shorter than reality (their hidden optimism) and push
   them a few days after they pass; optimistic reps also commit at Proposal. About half of the deals
   ever forecast as commit slip (a later close date after commit) or are lost.
6. **Quarter-end discounts.** Won deals are pulled into the last two weeks of a quarter (half of those
   that would close 2-6 weeks before its end, 40% of those closing in the first 10 days of the next) and
   closes in those two weeks get 4-10 extra points of discount (0-3 elsewhere).
7. **Reps differ.** Each rep has hidden skills: chance to uncover the problem (0.2-0.9), to reach an
   executive (0.12-0.75, x1.25 in enterprise), a close skill (+-0.25 log-odds), activity level and
   forecast optimism.
8. **Segments differ.** Enterprise deals are larger (more units of dearer products) and longer (typical
   stage ages about 2.5x those of smb) and win a little less often (-0.25 log-odds; smb +0.25).
9. **Activity decays before a loss.** Activities arrive at a per-segment daily rate; in the last stage of a
   deal that will be lost or end in no decision (and while an open one goes quiet) the rate decays
   exponentially (5-12 days); won deals get busier in Negotiation.
10. **Qualification answers fit the truth**: yes/no from the hidden facts, answered during the stage the
    question belongs to, 12% left unanswered and 8% "unknown".
11. **Quotas**: each rep's and team's target per quarter, about 1.1x what they won a year before
    (:mod:`dealsight.demo.quotas`, drawn from a random stream of their own).
13. **Renewals follow delivered value, not usage**: won deals of recurring products become subscriptions
    renewed or lost at each term's end, with confirmed values, RIQ answers, executive meetings, feature
    usage and support tickets; the hidden value an account realises decides its renewals, usage barely
    matters (:mod:`dealsight.demo.subscriptions`, a random stream of its own).
12. **Data-quality gaps** as real CRMs have: 10% of known business problems not written down, 8% of
    impacts missing, about a quarter of contact stances unknown, a few accounts without industry or domain,
    a few contacts without title or deal role; open deals whose close date already passed.

Each deal's life is simulated whole and cut at ``today`` (midnight): a deal whose life ends later is open,
with only its history up to then, so the open pipeline is mostly recent deals with a tail of stale ones.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from dealsight.demo import catalog
from dealsight.demo.deals import DealInput, DealSimulator
from dealsight.demo.people import build_people
from dealsight.demo.quotas import quota_rows
from dealsight.demo.subscriptions import customer_tables
from dealsight.domain.names import name_key

Row = dict[str, Any]
WINDOW_DAYS = 1000
DEALS_PER_SCALE = 5000
_SEGMENT_DEALS = {"smb": 0.45, "mid_market": 0.35, "enterprise": 0.2}


@dataclass
class Organisation:
    """Every row of the demo, by table name, in the order the tables must be written."""

    seed: int
    scale: float
    today: date
    start: date
    tables: dict[str, list[Row]] = field(default_factory=dict)
    stalled: set[int] = field(default_factory=set)  # hidden: ids of deals that stalled (for tests)
    value_realised: dict[int, float] = field(default_factory=dict)  # hidden: customers' value (for tests)

    def count(self, table: str) -> int:
        return len(self.tables.get(table, []))


def _creation_times(rng: np.random.Generator, count: int, start: date) -> list[float]:
    """Creation moments (days since ``start``) on workdays, growing ~25% a year, sorted."""
    growth = math.log(1.25) / 365
    u = rng.random(count)
    days = np.floor(np.log1p(u * math.expm1(growth * WINDOW_DAYS)) / growth).astype(int)
    hours = rng.uniform(8, 17, count) / 24
    result: list[float] = []
    for day, hour in zip(days.tolist(), hours.tolist(), strict=True):
        weekday = (start + timedelta(days=day)).weekday()
        if weekday >= 5:
            day += 7 - weekday if day + 7 - weekday < WINDOW_DAYS else -(weekday - 4)
        result.append(day + hour)
    return sorted(result)


def generate_organisation(
    seed: int = 7,
    scale: float = 1.0,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Organisation:
    """The demo organisation for (seed, scale, today); ``progress(done, total)`` reports deals made."""
    if today is None:
        from dealsight.domain.clock import utc_now

        today = utc_now().date()
    rng = np.random.default_rng(seed)
    start = today - timedelta(days=WINDOW_DAYS)
    people = build_people(rng, scale)
    org = Organisation(seed, scale, today, start)
    org.tables["teams"] = people.teams
    org.tables["users"] = people.users
    org.tables["accounts"] = people.accounts
    org.tables["contacts"] = people.contacts
    org.tables["stages"] = [
        {
            "id": i + 1,
            "name": s.name,
            "position": s.position,
            "probability": s.probability,
            "outcome": s.outcome,
        }
        for i, s in enumerate(catalog.STAGES)
    ]
    org.tables["products"] = [
        {
            "id": i + 1,
            "name": p.name,
            "name_key": name_key(p.name),
            "series": p.series,
            "list_price": p.list_price,
        }
        for i, p in enumerate(catalog.PRODUCTS)
    ]
    org.tables["question_sets"] = [{"id": 1, "name": catalog.QUESTION_SET, "team_id": None}]
    org.tables["qualification_questions"] = [
        {"id": i + 1, "question_set_id": 1, "key": q.key, "text": q.text, "stage": q.stage,
         "essential": q.essential, "position": i + 1}
        for i, q in enumerate(catalog.QUESTIONS)
    ]  # fmt: skip
    question_ids = {q.key: i + 1 for i, q in enumerate(catalog.QUESTIONS)}

    count = max(1, round(DEALS_PER_SCALE * scale))
    created = _creation_times(rng, count, start)
    segments = list(_SEGMENT_DEALS)
    deal_segments = rng.choice(len(segments), size=count, p=list(_SEGMENT_DEALS.values()))
    seeds = rng.integers(0, 2**62, size=count)
    reps_by_segment = {s: [rep for rep in people.reps if rep.segment == s] for s in segments}
    accounts_by_segment = {s: [a for a in people.account_infos if a.segment == s] for s in segments}
    account_p = {
        s: np.array([a.weight for a in accounts]) / sum(a.weight for a in accounts)
        for s, accounts in accounts_by_segment.items()
    }
    rep_of = {rep.user_id: rep for rep in people.reps}
    product_weights = {s: np.array(catalog.PRODUCT_WEIGHTS[s]) for s in segments}
    simulator = DealSimulator(start, today, people.contact_roles, people.contact_names)

    opportunities: list[Row] = []
    history: list[Row] = []
    deal_contacts: list[Row] = []
    activities: list[Row] = []
    activity_contacts: list[Row] = []
    answers: list[Row] = []
    # the organisation's draws for every deal at once, then one seeded life per deal
    owner_draw = rng.random(count)
    other_rep = rng.integers(0, 1 << 30, size=count)
    source_draw = rng.integers(len(catalog.SOURCES), size=count)
    account_draw = np.zeros(count, dtype=int)
    product_draw = np.zeros(count, dtype=int)
    for number, segment in enumerate(segments):
        mask = deal_segments == number
        size = int(mask.sum())
        account_draw[mask] = rng.choice(len(account_p[segment]), size=size, p=account_p[segment])
        weights = product_weights[segment]
        product_draw[mask] = rng.choice(len(weights), size=size, p=weights / weights.sum())
    for index in range(count):
        segment = segments[int(deal_segments[index])]
        account = accounts_by_segment[segment][int(account_draw[index])]
        team = reps_by_segment[segment]
        rep = (
            rep_of[account.owner_id] if owner_draw[index] < 0.75 else team[int(other_rep[index]) % len(team)]
        )
        product = catalog.PRODUCTS[int(product_draw[index])]
        source = catalog.SOURCES[int(source_draw[index])]
        deal = DealInput(index + 1, rep, account, product, created[index], source)
        records = simulator.simulate(random.Random(int(seeds[index])), deal)
        opportunities.append(records.opportunity)
        history += records.history
        deal_contacts += records.contacts
        for row, people_ids in records.activities:
            row["id"] = len(activities) + 1
            activities.append(row)
            activity_contacts += [{"activity_id": row["id"], "contact_id": c} for c in people_ids]
        answers += [
            {"opportunity_id": deal.deal_id, "question_id": question_ids[key], "answer": answer,
             "answered_at": simulator.moment(when)}
            for key, answer, when in records.answers
        ]  # fmt: skip
        if records.stalled:
            org.stalled.add(deal.deal_id)
        if progress is not None and (index % 250 == 0 or index == count - 1):
            progress(index + 1, count)
    # customers after the sale draw from a stream of their own too (see demo.subscriptions)
    customers = customer_tables(seed, today, opportunities, people.account_infos, people.contacts)
    for row, people_ids in customers.activities:
        row["id"] = len(activities) + 1
        activities.append(row)
        activity_contacts += [{"activity_id": row["id"], "contact_id": c} for c in people_ids]
    org.value_realised = customers.value_realised
    org.tables["opportunities"] = opportunities
    org.tables["opportunity_contacts"] = deal_contacts
    org.tables["opportunity_history"] = history
    org.tables["activities"] = activities
    org.tables["activity_contacts"] = activity_contacts
    org.tables["qualification_answers"] = answers
    # quotas draw from a stream of their own: the deals above do not move (see demo.quotas)
    org.tables["quotas"] = quota_rows(seed, start, today, people.users, people.teams, opportunities)
    org.tables["subscriptions"] = customers.subscriptions
    org.tables["churn_events"] = customers.churn_events
    org.tables["value_evidence"] = customers.value_evidence
    org.tables["riq_answers"] = customers.riq_answers
    org.tables["feature_usage"] = customers.feature_usage
    org.tables["support_tickets"] = customers.support_tickets
    return org
