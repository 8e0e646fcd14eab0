"""The demo organisation's needs survey, drawn from a random stream of its own (``default_rng([seed,
SURVEY_STREAM])``), so the demo's deals, people and customers stay the same with or without it.

- **The survey**: the default needs (brand, product, quality, price, service), our own vendor ``us`` and the
  demo's five competitors (the names its deals meet), conducted :data:`SURVEY_DAYS_AGO` days before today.
- **Customers**: one contact of each customer account (an account with a won deal), its champion when it has
  one; the answers link to the contact and its account and take the account's segment and industry. Their
  100 points scatter (Dirichlet) around their segment's **true weights** (:data:`SEGMENT_WEIGHTS`: smb
  customers weight price, enterprise customers service and quality); their 0-10 ratings scatter around
  each vendor's **planted strengths** (:data:`STRENGTHS`: we lead on service and quality; Apex Analytics
  on brand and product; Quantara is the cheap one). A customer always rates us, the competitors its
  deals met, and each other competitor with a chance of :data:`KNOWS_COMPETITOR`.
- **Our people** answer as they believe customers would: the VP and the team managers for leadership,
  eight reps for sales, and colleagues in marketing and customer service (:func:`colleague_users`: six
  users the sales organisation lacks, read-only: role executive, no team, no login). Each function holds
  a **planted wrong belief** (:data:`BELIEFS`): its need gets :data:`BIAS` of the points, the rest follow
  customers' overall weights (marketing overweights brand, sales price, service quality, leadership
  product), so that need is the function's largest perception gap. They also rate us more kindly than
  customers do (+0.8), and sales rate our price lower (-1.5).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from dealsight.demo import catalog
from dealsight.domain.enums import DealRole, Outcome, UserRole
from dealsight.domain.names import name_key
from dealsight.domain.surveys import DEFAULT_NEEDS, OUR_VENDOR, Function, label_key

Row = dict[str, Any]
SURVEY_STREAM = 8
SURVEY_DAYS_AGO = 40
MAX_CUSTOMERS = 240
SALES_RESPONDENTS = 8
KNOWS_COMPETITOR = 0.45
CONCENTRATION = 25.0
"""Of the Dirichlet around a segment's weights: larger, customers closer to them."""
BIAS = 0.35
"""Of the points an internal respondent gives their function's planted need, beside customers' weights."""
SEGMENT_WEIGHTS: dict[str, dict[str, float]] = {
    "smb": {"brand": 8, "product": 20, "quality": 17, "price": 35, "service": 20},
    "mid_market": {"brand": 10, "product": 24, "quality": 22, "price": 20, "service": 24},
    "enterprise": {"brand": 7, "product": 22, "quality": 26, "price": 10, "service": 35},
}
STRENGTHS: dict[str, dict[str, float]] = {
    OUR_VENDOR: {"brand": 6.2, "product": 7.6, "quality": 8.0, "price": 5.2, "service": 8.4},
    "Apex Analytics": {"brand": 8.6, "product": 8.6, "quality": 7.8, "price": 6.6, "service": 5.4},
    "Quantara": {"brand": 5.6, "product": 6.0, "quality": 5.4, "price": 8.6, "service": 5.8},
    "Brightline Systems": {"brand": 6.8, "product": 7.0, "quality": 7.4, "price": 6.2, "service": 6.6},
    "Veridian Software": {"brand": 6.0, "product": 6.6, "quality": 6.0, "price": 7.0, "service": 7.0},
    "Northstar Cloud": {"brand": 7.2, "product": 7.4, "quality": 6.4, "price": 6.4, "service": 5.6},
}
BELIEFS = {
    Function.MARKETING: "brand",
    Function.SALES: "price",
    Function.SERVICE: "quality",
    Function.LEADERSHIP: "product",
}
COLLEAGUES = ((Function.MARKETING, 3), (Function.SERVICE, 3))
"""The colleagues outside sales the demo adds: how many of each function, in this order (ids follow)."""


def colleague_users(users: list[Row]) -> list[Row]:
    """Marketing and customer-service colleagues (:data:`COLLEAGUES`, in that order) after ``users``:
    named from the demo's name pool (names not taken), read-only (role executive), no team, no login."""
    taken = {u["name"] for u in users}
    names = (f"{first} {last}" for last in reversed(catalog.LAST_NAMES) for first in catalog.FIRST_NAMES)
    free = [name for name in names if name not in taken]
    rows: list[Row] = []
    for number, _ in enumerate(f for f, count in COLLEAGUES for _ in range(count)):
        name = free[number * 7]  # spread over the pool rather than one family name
        rows.append(
            {
                "id": len(users) + number + 1,
                "name": name,
                "name_key": name_key(name),
                "email": f"{name_key(name).replace(' ', '.')}@demo.dealsight.example",
                "role": UserRole.EXECUTIVE.value,
                "team_id": None,
                "manager_id": None,
                "active": True,
            }
        )
    return rows


def functions_of(users: list[Row]) -> dict[int, Function]:
    """The function of each of our people: leadership (the VP and the team managers), sales (reps), and the
    colleagues of :func:`colleague_users` (the users without a team, in id order)."""
    found: dict[int, Function] = {}
    for user in users:
        if user["team_id"] is not None:
            found[user["id"]] = Function.SALES if user["role"] == UserRole.REP.value else Function.LEADERSHIP
    outside = sorted(u["id"] for u in users if u["team_id"] is None)
    order = [f for f, count in COLLEAGUES for _ in range(count)]
    for user_id, function in zip(outside, order, strict=False):
        found[user_id] = function
    return found


def whole_points(shares: np.ndarray, needs: tuple[str, ...]) -> dict[str, int]:
    """Shares (adding up to 1) as whole points adding up to exactly 100 (largest remainders first)."""
    raw = shares * 100
    points = np.floor(raw).astype(int)
    for index in np.argsort(-(raw - points), kind="stable")[: 100 - int(points.sum())]:
        points[index] += 1
    return {need: int(p) for need, p in zip(needs, points, strict=True)}


def _rating(rng: np.random.Generator, mean: float) -> float:
    return float(np.clip(np.rint(mean + rng.normal(0.0, 1.1)), 0, 10))


def _ratings(
    rng: np.random.Generator, vendors: list[str], shift: dict[str, float] | None = None
) -> list[Row]:
    shift = shift or {}
    return [
        {
            "vendor": vendor,
            "need": need,
            "rating": _rating(rng, STRENGTHS[vendor][need] + shift.get(need, 0.0)),
        }
        for vendor in vendors
        for need in DEFAULT_NEEDS
    ]


def _customers(tables: dict[str, list[Row]]) -> list[tuple[Row, Row, set[str]]]:
    """(account, contact, competitors its deals met) of each customer account, by account id."""
    won: dict[int, set[str]] = {}
    met: dict[int, set[str]] = {}
    for deal in tables["opportunities"]:
        if deal["account_id"] is None:
            continue
        met.setdefault(deal["account_id"], set()).update(deal.get("competitors") or [])
        if deal["outcome"] == Outcome.WON.value:
            won.setdefault(deal["account_id"], set())
    by_account: dict[int, list[Row]] = {}
    for contact in tables["contacts"]:
        by_account.setdefault(contact["account_id"], []).append(contact)
    found = []
    for account in tables["accounts"]:
        people = by_account.get(account["id"], [])
        if account["id"] not in won or not people or not account["segment"]:
            continue
        champion = [p for p in people if p["deal_role"] == DealRole.CHAMPION.value]
        found.append((account, (champion or people)[0], met.get(account["id"], set())))
    return found


def survey_tables(seed: int, today: date, tables: dict[str, list[Row]]) -> dict[str, list[Row]]:
    """The demo's colleagues outside sales (``users``, all of them) and its needs survey (``surveys``,
    ``survey_respondents``, ``survey_points``, ``survey_ratings``)."""
    rng = np.random.default_rng([seed, SURVEY_STREAM])
    users = tables["users"] + colleague_users(tables["users"])
    competitors = list(catalog.COMPETITORS)
    conducted = today - timedelta(days=SURVEY_DAYS_AGO)
    survey = {
        "id": 1, "name": f"Needs and competitors {conducted.year}", "conducted_on": conducted,
        "needs": list(DEFAULT_NEEDS), "vendors": [OUR_VENDOR, *competitors], "us": OUR_VENDOR,
    }  # fmt: skip
    respondents: list[Row] = []
    points: list[Row] = []
    ratings: list[Row] = []

    def add(row: Row, allocation: dict[str, int], rated: list[Row]) -> None:
        row = {
            "id": len(respondents) + 1,
            "survey_id": 1,
            "respondent_key": label_key(row["respondent"]),
            **row,
        }
        respondents.append(row)
        points.extend(
            {"respondent_id": row["id"], "need": n, "points": float(p)} for n, p in allocation.items()
        )
        ratings.extend({"respondent_id": row["id"], **r} for r in rated)

    customers = _customers(tables)
    chosen = sorted(rng.permutation(len(customers))[:MAX_CUSTOMERS].tolist())
    for index in chosen:
        account, contact, met = customers[index]
        segment = account["segment"]
        industry = account["industry"].lower() if account["industry"] else None
        weights = np.array([SEGMENT_WEIGHTS[segment][n] for n in DEFAULT_NEEDS]) / 100
        known = [c for c in competitors if c in met or rng.random() < KNOWS_COMPETITOR]
        add(
            {"respondent": f"{contact['name']} ({account['name']})", "respondent_type": "customer",
             "function": None, "contact_id": contact["id"], "account_id": account["id"],
             "segment": segment.lower(), "industry": industry},
            whole_points(rng.dirichlet(weights * CONCENTRATION), DEFAULT_NEEDS),
            _ratings(rng, [OUR_VENDOR, *known]),
        )  # fmt: skip
    overall = np.mean([[SEGMENT_WEIGHTS[a["segment"]][n] for n in DEFAULT_NEEDS] for a, _, _ in customers] or
                      [[20.0] * len(DEFAULT_NEEDS)], axis=0) / 100  # fmt: skip
    functions = functions_of(users)
    reps = [u for u in users if functions.get(u["id"]) is Function.SALES]
    picked_reps = {reps[i]["id"] for i in rng.permutation(len(reps))[:SALES_RESPONDENTS].tolist()}
    for user in users:
        function = functions.get(user["id"])
        if function is None or (function is Function.SALES and user["id"] not in picked_reps):
            continue
        believed = (1 - BIAS) * overall + BIAS * np.array([n == BELIEFS[function] for n in DEFAULT_NEEDS])
        shift = {n: 0.8 for n in DEFAULT_NEEDS} | ({"price": -1.5} if function is Function.SALES else {})
        add(
            {"respondent": user["name"], "respondent_type": "internal", "function": function.value,
             "contact_id": None, "account_id": None, "segment": None, "industry": None},
            whole_points(rng.dirichlet(believed * CONCENTRATION * 2), DEFAULT_NEEDS),
            _ratings(rng, [OUR_VENDOR], shift) + _ratings(rng, competitors[:2]),
        )  # fmt: skip
    return {
        "users": users,
        "surveys": [survey],
        "survey_respondents": respondents,
        "survey_points": points,
        "survey_ratings": ratings,
    }


__all__ = [
    "BELIEFS",
    "SEGMENT_WEIGHTS",
    "STRENGTHS",
    "SURVEY_STREAM",
    "colleague_users",
    "functions_of",
    "survey_tables",
    "whole_points",
]
