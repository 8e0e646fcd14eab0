"""Account plans for the demo's larger accounts, drawn from a random stream of their own
(``default_rng([seed, PLAN_STREAM])``), so the deals, people and customers of the demo stay the same.

- **Which accounts**: the largest by open and won amount (one in fifty accounts, at least three), and each
  rep's largest account, so every demo login has a plan to open.
- **Goals**: two to four executive goals per account from :data:`GOALS` (enterprise accounts get more),
  each owned at the customer by an executive whose title fits (one goal in eight has no owner recorded),
  owned on our side by the account's owner (now and then the team's manager), with a target date, a
  priority (the first goal high), a measure of success and a status.
- **Top-down pipeline**: a deal serves a goal when its recorded business problem is one the goal is about
  (:data:`GOALS`' problems); deals without a recorded problem serve none, so some open deals are unaligned,
  and goals whose problems no deal names have no deal: the gaps a plan exists to show.
- **Coverage**: the account's owner covers the champion and one or two other working contacts and, half the
  time, an executive; the team's manager covers an executive half the time; the VP is the executive
  sponsor of the most senior executive of the largest accounts; a customer-service colleague covers a
  day-to-day contact of customers. Goal owners nobody covers, and influential detractors, stay as the data
  has them: the relationship gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from dealsight.demo import catalog
from dealsight.demo.surveys import functions_of
from dealsight.domain.account_plans import GoalPriority, GoalStatus
from dealsight.domain.enums import DealRole, Outcome, Segment, UserRole
from dealsight.domain.surveys import Function

Row = dict[str, Any]
PLAN_STREAM = 9
ACCOUNTS_PER_PLAN = 50
"""One account in this many (by size) gets a plan, beside each rep's largest."""


@dataclass(frozen=True)
class GoalDef:
    goal: str
    measure: str
    titles: tuple[str, ...]
    """The executives who usually own it, by title, most likely first."""
    problems: tuple[int, ...]
    """Indexes of :data:`dealsight.demo.catalog.BUSINESS_PROBLEMS` that serve it."""


GOALS = (
    GoalDef("Forecast revenue within 5% every quarter", "forecast error under 5% two quarters running",
            ("Chief Financial Officer", "Chief Operating Officer", "VP Sales"), (0, 7)),
    GoalDef("See deals at risk before the quarter is lost", "at-risk deals flagged 30 days before close",
            ("VP Sales", "Chief Executive Officer"), (1, 2)),
    GoalDef("Win back the win rate: 30% by year end", "win rate of qualified deals at 30%",
            ("VP Sales", "Chief Executive Officer"), (3,)),
    GoalDef("Ramp new reps in five months instead of nine", "median days to a new rep's first win under 150",
            ("VP Sales", "VP Operations"), (4,)),
    GoalDef("Cut customer churn by three points", "gross revenue retention at 92% or more",
            ("Chief Operating Officer", "Chief Executive Officer", "VP Operations"), (5,)),
    GoalDef("Protect margin: quarter-end discounts under 10%", "quarter-end discounts average under 10%",
            ("Chief Financial Officer", "VP Sales"), (6,)),
    GoalDef("Grow expansion revenue 20% from existing customers", "expansion ARR up 20% on last year",
            ("Chief Executive Officer", "VP Sales"), (8,)),
    GoalDef("One view of what customers value, in marketing and sales", "one needs survey a year, acted on",
            ("Chief Executive Officer", "VP Operations"), (9,)),
    GoalDef("Retire the forecast spreadsheets: one system of record", "no forecast rebuilt outside it",
            ("Chief Information Officer", "Chief Financial Officer"), (7, 2)),
)  # fmt: skip
STATUSES = (
    (GoalStatus.IN_PROGRESS, 0.55),
    (GoalStatus.IDENTIFIED, 0.2),
    (GoalStatus.AT_RISK, 0.15),
    (GoalStatus.ACHIEVED, 0.1),
)
WORKING_ROLES = (DealRole.CHAMPION.value, DealRole.TECHNICAL_BUYER.value, DealRole.INFLUENCER.value)


def _sizes(opportunities: list[Row]) -> dict[int, float]:
    """Open and won amount per account."""
    sizes: dict[int, float] = {}
    for deal in opportunities:
        if deal["account_id"] is not None and deal["outcome"] in (None, Outcome.WON.value):
            sizes[deal["account_id"]] = sizes.get(deal["account_id"], 0.0) + float(deal["amount"] or 0)
    return sizes


def planned_accounts(accounts: list[Row], opportunities: list[Row]) -> tuple[list[Row], set[int]]:
    """The accounts that get a plan (the largest overall and each rep's largest, by id), and the ids of the
    largest overall."""
    sizes = _sizes(opportunities)
    ranked = sorted((a for a in accounts if sizes.get(a["id"])), key=lambda a: (-sizes[a["id"]], a["id"]))
    largest = {a["id"] for a in ranked[: max(3, len(accounts) // ACCOUNTS_PER_PLAN)]}
    best: dict[int, Row] = {}
    for account in ranked:
        best.setdefault(account["owner_id"], account)
    chosen = largest | {a["id"] for a in best.values()}
    return [a for a in accounts if a["id"] in chosen], largest


def _executive(rng: np.random.Generator, goal: GoalDef, executives: list[Row]) -> Row | None:
    if not executives or rng.random() < 0.125:
        return None
    for title in goal.titles:
        fitting = [c for c in executives if c["title"] == title]
        if fitting:
            return fitting[0]
    return executives[int(rng.integers(len(executives)))]


def _goals(
    rng: np.random.Generator,
    account: Row,
    executives: list[Row],
    owner: int,
    manager: int | None,
    today: date,
) -> list[tuple[GoalDef, Row]]:
    count = (
        int(rng.integers(3, 5)) if account["segment"] == Segment.ENTERPRISE.value else int(rng.integers(2, 4))
    )
    picked = rng.choice(len(GOALS), size=count, replace=False)
    statuses = [status for status, _ in STATUSES]
    weights = np.array([weight for _, weight in STATUSES])
    rows = []
    for number, index in enumerate(sorted(picked.tolist())):
        definition = GOALS[index]
        status = statuses[int(rng.choice(len(statuses), p=weights))]
        ahead = int(rng.integers(-60, 40)) if status is GoalStatus.ACHIEVED else int(rng.integers(45, 420))
        executive = _executive(rng, definition, executives)
        priority = (
            GoalPriority.HIGH
            if number == 0
            else (GoalPriority.MEDIUM, GoalPriority.LOW)[int(rng.random() < 0.3)]
        )
        rows.append(
            (
                definition,
                {
                    "account_id": account["id"], "goal": definition.goal, "measure": definition.measure,
                    "executive_id": executive["id"] if executive else None,
                    "owner_id": manager if manager is not None and rng.random() < 0.2 else owner,
                    "target_date": today + timedelta(days=ahead), "priority": priority.value,
                    "status": status.value, "note": None, "external_id": None,
                },
            )
        )  # fmt: skip
    return rows


def _coverage(
    rng: np.random.Generator, people: list[Row], owner: int, manager: int | None, vp: int | None, large: bool
) -> list[tuple[int, int]]:
    """(contact id, user id) pairs of who covers whom at one account."""
    executives = [c for c in people if c["is_executive"]]
    working = [c for c in people if not c["is_executive"] and c["deal_role"] in WORKING_ROLES]
    pairs = [(c["id"], owner) for c in working[: int(rng.integers(1, 4))]]
    if executives and rng.random() < 0.5:
        pairs.append((executives[int(rng.integers(len(executives)))]["id"], owner))
    if executives and manager is not None and rng.random() < 0.5:
        pairs.append((executives[int(rng.integers(len(executives)))]["id"], manager))
    if executives and vp is not None and large:
        pairs.append((executives[0]["id"], vp))
    return list(dict.fromkeys(pairs))


def account_plan_tables(seed: int, today: date, tables: dict[str, list[Row]]) -> dict[str, list[Row]]:
    """``account_goals``, ``account_goal_deals`` and ``contact_coverage`` of the demo's larger accounts."""
    rng = np.random.default_rng([seed, PLAN_STREAM])
    users = {u["id"]: u for u in tables["users"]}
    vp = next(
        (u["id"] for u in tables["users"] if u["role"] == UserRole.EXECUTIVE.value and u["team_id"]), None
    )
    functions = functions_of(tables["users"])
    service = [user_id for user_id, f in functions.items() if f is Function.SERVICE]
    people: dict[int, list[Row]] = {}
    for contact in tables["contacts"]:
        people.setdefault(contact["account_id"], []).append(contact)
    deals: dict[int, list[Row]] = {}
    for deal in tables["opportunities"]:
        deals.setdefault(deal["account_id"], []).append(deal)
    problem_index = {text: number for number, text in enumerate(catalog.BUSINESS_PROBLEMS)}
    accounts, largest = planned_accounts(tables["accounts"], tables["opportunities"])
    goals: list[Row] = []
    links: list[Row] = []
    coverage: list[Row] = []
    for account in accounts:
        owner = account["owner_id"]
        manager = users[owner]["manager_id"] if owner in users else None
        contacts = people.get(account["id"], [])
        executives = [c for c in contacts if c["is_executive"]]
        for definition, row in _goals(rng, account, executives, owner, manager, today):
            row["id"] = len(goals) + 1
            goals.append(row)
            for deal in deals.get(account["id"], []):
                problem = problem_index.get(deal["business_problem"] or "")
                if problem in definition.problems and deal["outcome"] in (None, Outcome.WON.value):
                    links.append({"goal_id": row["id"], "opportunity_id": deal["id"]})
        pairs = _coverage(rng, contacts, owner, manager, vp, account["id"] in largest)
        won = any(d["outcome"] == Outcome.WON.value for d in deals.get(account["id"], []))
        if service and won and contacts:
            staff = [c for c in contacts if not c["is_executive"]] or contacts
            pairs.append((staff[-1]["id"], service[int(rng.integers(len(service)))]))
        coverage += [{"contact_id": c, "user_id": u} for c, u in dict.fromkeys(pairs)]
    return {"account_goals": goals, "account_goal_deals": links, "contact_coverage": coverage}


__all__ = ["GOALS", "PLAN_STREAM", "account_plan_tables", "planned_accounts"]
