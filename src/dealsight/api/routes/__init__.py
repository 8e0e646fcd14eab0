"""The routes of the REST API, one module per resource, assembled under ``/api/v1`` by :func:`api_router`."""

from __future__ import annotations

from fastapi import APIRouter

from dealsight.api.routes import (
    account_plans,
    accounts,
    activities,
    analytics,
    audit,
    contacts,
    forecasts,
    insights,
    interviews,
    opportunities,
    people,
    quotas,
    renewals,
    roadmaps,
    subscriptions,
    surveys,
    tokens,
)
from dealsight.api.routing import API_V1

ROUTERS = (
    opportunities.router,
    insights.router,
    analytics.router,
    forecasts.router,
    accounts.router,
    contacts.router,
    subscriptions.router,
    subscriptions.value_router,
    account_plans.router,
    activities.router,
    people.me_router,
    people.users_router,
    people.teams_router,
    quotas.router,
    renewals.router,
    surveys.router,
    interviews.router,
    roadmaps.router,
    tokens.router,
    audit.router,
)

TAGS = [
    {
        "name": "opportunities",
        "description": "Deals: the pipeline list, a deal with its history, "
        "qualification answers and audit trail; creating and changing deals.",
    },
    {
        "name": "insight",
        "description": "Deal intelligence: a deal's win probability beside its baselines, risks with next "
        "actions, factors and leading indicators; the deals at risk; the win model versions.",
    },
    {
        "name": "analytics",
        "description": "Pipeline analytics for the caller's view, as of any past day: velocity and its "
        "terms, the stage funnel, days in each stage, won / lost / no decision, and the waterfall of "
        "changes between two days.",
    },
    {
        "name": "forecast",
        "description": "Period forecasts as calibrated ranges (P10/P50/P90) for the caller's view, beside "
        "the stage-weighted pipeline, commit and best case; stored forecasts over a period, what moved the "
        "forecast, and the newest backtest of each method.",
    },
    {
        "name": "accounts",
        "description": "Customers and prospects, with the deals and contacts the caller can see.",
    },
    {"name": "contacts", "description": "People at accounts: their role, influence and stance toward us."},
    {
        "name": "subscriptions",
        "description": "Customers' contracts (plan, seats, ARR, MRR, term, renewal) and their churn events.",
    },
    {
        "name": "value",
        "description": "Delivered value: outcomes customers confirmed, their answers to the RIQ (what "
        "turning the service off would do to them), and ARR booked beside value confirmed.",
    },
    {
        "name": "account plans",
        "description": "Account plans: the customer's executive goals with the deals serving them (the "
        "top-down pipeline), the relationship map (who covers whom, gaps) and the whitespace.",
    },
    {"name": "activities", "description": "Calls, e-mails, meetings, demos and notes on deals and accounts."},
    {"name": "me", "description": "The caller: who they are and what their role lets them do."},
    {"name": "users", "description": "Users and their roles and reporting lines (admins only)."},
    {"name": "teams", "description": "Teams and sub-teams; reading for everyone, changes for admins."},
    {
        "name": "quotas",
        "description": "Reps' and teams' targets per period: read within the caller's view, set by admins.",
    },
    {
        "name": "surveys",
        "description": "Needs surveys: customers' 100 points across the needs and 0-10 ratings of us and "
        "competitors, set against internal functions' beliefs; read by every role, entered by admins and "
        "managers.",
    },
    {
        "name": "renewals",
        "description": "Upcoming renewals the caller can see, with their chance of renewal, ARR at risk, the "
        "reasons in the order of weight (delivered value, the RIQ, executive contact, usage, support) and "
        "next actions.",
    },
    {
        "name": "interviews",
        "description": "Customer interviews: the interview guide (admins and managers edit it), interviews "
        "of the contacts the caller may see, and a search of what customers said.",
    },
    {
        "name": "roadmaps",
        "description": "Buying process roadmaps per product (read by every role, edited by admins and "
        "managers), their gaps, and where each deal's buyer stands on them.",
    },
    {"name": "tokens", "description": "The caller's personal API tokens."},
    {"name": "audit", "description": "Who changed what, when and from where (the whole log: admins only)."},
    {"name": "health", "description": "Is the service up (no sign-in needed)."},
]


def api_router() -> APIRouter:
    """Every API route, under ``/api/v1``."""
    router = APIRouter(prefix=API_V1)
    for part in ROUTERS:
        router.include_router(part)
    return router


__all__ = ["TAGS", "api_router"]
