"""What each importable entity holds: its fields, their types, and how a record is recognised again.

Field kinds: ``text``, ``date``, ``datetime``, ``decimal``, ``int``, ``share`` (0..1, or a percentage),
``bool``, ``list`` (values separated by ``;`` or ``,``), an enum class, or ``ref`` (a reference to another
record, resolved by the importer by external id, e-mail or name).

Re-imports update rather than duplicate: a record is recognised by its ``external_id`` when the file has
one, else (accounts, users, products) by its normalised name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from dealsight.domain.customer_value import (
    BillingFrequency,
    ChurnReason,
    ContactLevel,
    RecoveryEffort,
    RiqImpact,
    SubscriptionStatus,
    TicketPriority,
)
from dealsight.domain.enums import (
    ActivityType,
    BuyerPhase,
    DealRole,
    ForecastCategory,
    HistoryField,
    ImpactLevel,
    Influence,
    Outcome,
    Stance,
    UserRole,
)
from dealsight.store import schema

FieldKind = str | type[StrEnum]


@dataclass(frozen=True)
class EntitySpec:
    name: str
    table: sa.Table | None
    fields: dict[str, FieldKind]
    required: tuple[str, ...]
    name_keyed: bool = False
    """Records without an external id are recognised by their normalised name."""

    def max_length(self, field: str) -> int | None:
        if self.table is None or field not in self.table.c:
            return None
        length = getattr(self.table.c[field].type, "length", None)
        return int(length) if length else None


ENTITIES: dict[str, EntitySpec] = {
    "accounts": EntitySpec(
        "accounts",
        schema.accounts,
        {
            "external_id": "text", "name": "text", "domain": "text", "industry": "text", "segment": "text",
            "country": "text", "employees": "int", "annual_revenue": "decimal", "parent": "ref",
            "owner": "ref",
        },
        ("name",),
        name_keyed=True,
    ),
    "users": EntitySpec(
        "users",
        schema.users,
        {
            "external_id": "text", "name": "text", "email": "text", "role": UserRole, "team": "ref",
            "parent_team": "ref", "manager": "ref", "active": "bool",
        },
        ("name",),
        name_keyed=True,
    ),
    "products": EntitySpec(
        "products",
        schema.products,
        {"external_id": "text", "name": "text", "series": "text", "list_price": "decimal"},
        ("name",),
        name_keyed=True,
    ),
    "contacts": EntitySpec(
        "contacts",
        schema.contacts,
        {
            "external_id": "text", "name": "text", "first_name": "text", "last_name": "text", "email": "text",
            "title": "text", "account": "ref", "opportunity": "ref", "deal_role": DealRole,
            "influence": Influence, "stance": Stance, "is_executive": "bool",
        },
        ("external_id",),
    ),
    "opportunities": EntitySpec(
        "opportunities",
        schema.opportunities,
        {
            "external_id": "text", "name": "text", "account": "ref", "owner": "ref", "stage": "text",
            "amount": "decimal", "currency": "text", "forecast_category": ForecastCategory,
            "probability": "share", "close_date": "date", "expected_close_date": "date",
            "created_date": "date", "closed_date": "date", "outcome": Outcome, "loss_reason": "text",
            "competitors": "list", "product": "text", "source": "text", "business_problem": "text",
            "problem_impact": ImpactLevel, "executive_sponsor": "ref", "compelling_event": "text",
            "decision_criteria": "text", "buyer_phase": BuyerPhase, "engaged_before_preference": "bool",
            "preferred_competitor": "text", "unique_business_value": "text", "list_price": "decimal",
            "discount": "share", "margin": "share", "last_modified": "datetime",
        },
        ("external_id", "stage"),
    ),
    "activities": EntitySpec(
        "activities",
        schema.activities,
        {
            "external_id": "text", "type": ActivityType, "occurred_at": "datetime", "opportunity": "ref",
            "account": "ref", "user": "ref", "contacts": "list", "subject": "text", "notes": "text",
        },
        ("external_id", "type", "occurred_at"),
    ),
    "history": EntitySpec(
        "history",
        schema.opportunity_history,
        {
            "opportunity": "ref", "changed_at": "datetime", "field": HistoryField, "old_value": "text",
            "new_value": "text", "changed_by": "ref", "stage": "text", "amount": "decimal",
            "close_date": "date", "forecast_category": ForecastCategory,
        },
        ("opportunity", "changed_at"),
    ),
    # customer value (docs/customer-value.md; written by dealsight.ingest.customer_value)
    "subscriptions": EntitySpec(
        "subscriptions",
        schema.subscriptions,
        {
            "external_id": "text", "account": "ref", "product": "text", "plan": "text", "seats": "int",
            "arr": "decimal", "mrr": "decimal", "currency": "text", "term_start": "date", "term_end": "date",
            "billing_frequency": BillingFrequency, "auto_renew": "bool", "renewal_date": "date",
            "is_trial": "bool", "status": SubscriptionStatus, "churned": "bool", "upgraded": "bool",
            "downgraded": "bool", "plan_changed_on": "date",
        },
        ("external_id", "account", "term_start"),
    ),
    "churn_events": EntitySpec(
        "churn_events",
        schema.churn_events,
        {
            "external_id": "text", "account": "ref", "subscription": "ref", "churned_on": "date",
            "reason": ChurnReason, "feedback": "text", "refund_amount": "decimal", "currency": "text",
            "was_reactivated": "bool",
        },
        ("account", "churned_on"),
    ),
    "value_evidence": EntitySpec(
        "value_evidence",
        schema.value_evidence,
        {
            "external_id": "text", "account": "ref", "subscription": "ref", "metric": "text", "unit": "text",
            "baseline": "decimal", "achieved": "decimal", "monetary_value": "decimal", "currency": "text",
            "confirmed_by": "ref", "confirmer_title": "text", "confirmer_level": ContactLevel,
            "confirmed_on": "date", "note": "text",
        },
        ("account", "metric", "confirmed_on"),
    ),
    "riq_answers": EntitySpec(
        "riq_answers",
        schema.riq_answers,
        {
            "external_id": "text", "account": "ref", "impact": RiqImpact, "recovery": RecoveryEffort,
            "answer": "text", "answered_by": "ref", "answered_on": "date", "asked_by": "ref",
        },
        ("account", "impact", "answered_on"),
    ),
    "feature_usage": EntitySpec(
        "feature_usage",
        schema.feature_usage,
        {
            "external_id": "text", "subscription": "ref", "used_on": "date", "feature": "text",
            "usage_count": "int", "duration_seconds": "int", "error_count": "int", "is_beta": "bool",
        },
        ("external_id", "subscription", "used_on", "feature"),
    ),
    "support_tickets": EntitySpec(
        "support_tickets",
        schema.support_tickets,
        {
            "external_id": "text", "account": "ref", "opened_at": "datetime", "closed_at": "datetime",
            "priority": TicketPriority, "first_response_minutes": "int", "resolution_hours": "decimal",
            "satisfaction": "int", "escalated": "bool",
        },
        ("external_id", "account", "opened_at"),
    ),
}  # fmt: skip

ENUM_ALIASES: dict[type[StrEnum], dict[str, StrEnum]] = {
    ForecastCategory: {
        "best case": ForecastCategory.BEST_CASE, "upside": ForecastCategory.BEST_CASE,
        "commit": ForecastCategory.COMMIT, "committed": ForecastCategory.COMMIT,
        "closed won": ForecastCategory.CLOSED, "won": ForecastCategory.CLOSED,
        "omit": ForecastCategory.OMITTED, "omitted": ForecastCategory.OMITTED,
        "not forecasted": ForecastCategory.OMITTED, "most likely": ForecastCategory.COMMIT,
    },
    Outcome: {"closed won": Outcome.WON, "closed lost": Outcome.LOST, "no decision": Outcome.NO_DECISION},
    UserRole: {"sales rep": UserRole.REP, "account executive": UserRole.REP, "ae": UserRole.REP,
               "sales manager": UserRole.MANAGER, "exec": UserRole.EXECUTIVE},
    ActivityType: {"e-mail": ActivityType.EMAIL, "phone": ActivityType.CALL, "phone call": ActivityType.CALL,
                   "event": ActivityType.MEETING, "todo": ActivityType.TASK},
    HistoryField: {"close date": HistoryField.CLOSE_DATE, "closedate": HistoryField.CLOSE_DATE,
                   "stage name": HistoryField.STAGE, "stagename": HistoryField.STAGE,
                   "forecast category": HistoryField.FORECAST_CATEGORY,
                   "forecastcategoryname": HistoryField.FORECAST_CATEGORY},
    DealRole: {"economic decision maker": DealRole.ECONOMIC_BUYER, "business user": DealRole.USER,
               "evaluator": DealRole.INFLUENCER, "technical evaluator": DealRole.TECHNICAL_BUYER,
               "executive sponsor": DealRole.DECISION_MAKER, "decision maker": DealRole.DECISION_MAKER},
    BillingFrequency: {"month": BillingFrequency.MONTHLY, "quarter": BillingFrequency.QUARTERLY,
                       "semi-annual": BillingFrequency.SEMIANNUAL, "half-yearly": BillingFrequency.SEMIANNUAL,
                       "year": BillingFrequency.ANNUAL, "yearly": BillingFrequency.ANNUAL,
                       "annually": BillingFrequency.ANNUAL},
    SubscriptionStatus: {"ended": SubscriptionStatus.CHURNED, "cancelled": SubscriptionStatus.CHURNED,
                         "canceled": SubscriptionStatus.CHURNED, "live": SubscriptionStatus.ACTIVE},
    ChurnReason: {"price": ChurnReason.PRICING, "too expensive": ChurnReason.PRICING,
                  "cost": ChurnReason.BUDGET, "missing features": ChurnReason.FEATURES,
                  "product": ChurnReason.FEATURES, "service": ChurnReason.SUPPORT,
                  "switched to competitor": ChurnReason.COMPETITOR, "no value": ChurnReason.NO_VALUE,
                  "value": ChurnReason.NO_VALUE, "acquired": ChurnReason.BUSINESS_CHANGE,
                  "out of business": ChurnReason.BUSINESS_CHANGE},
    RiqImpact: {"no impact": RiqImpact.NONE, "low": RiqImpact.MINOR, "medium": RiqImpact.MAJOR,
                "high": RiqImpact.MAJOR, "severe": RiqImpact.CRITICAL},
    RecoveryEffort: {"day": RecoveryEffort.DAYS, "week": RecoveryEffort.WEEKS, "month": RecoveryEffort.MONTHS,
                     "never": RecoveryEffort.CANNOT, "could not": RecoveryEffort.CANNOT,
                     "cannot recover": RecoveryEffort.CANNOT},
    ContactLevel: {"exec": ContactLevel.EXECUTIVE, "c-level": ContactLevel.EXECUTIVE,
                   "vp": ContactLevel.EXECUTIVE, "director": ContactLevel.MANAGER,
                   "individual contributor": ContactLevel.STAFF, "user": ContactLevel.STAFF},
}  # fmt: skip
