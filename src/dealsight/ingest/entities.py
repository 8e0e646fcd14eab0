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
}  # fmt: skip
