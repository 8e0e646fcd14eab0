"""customer value: subscriptions, churn events, value evidence, RIQ answers, feature usage, support tickets

``subscriptions`` holds each account's contracts (plan, seats, ARR and MRR, term, billing frequency,
auto-renew, renewal date, trial, upgrades and downgrades, status); ``churn_events`` each churn with its
day, reason and feedback; ``value_evidence`` the delivered value ledger (outcomes the customer confirmed,
by whom, when); ``riq_answers`` the answers to the really important question (impact, recovery, who,
when);
``feature_usage`` and ``support_tickets`` the weaker renewal signals. Every row hangs off an account and
carries a day. See src/dealsight/store/schema.py and docs/customer-value.md.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "subscriptions": {
        "ix_subscriptions_account_term": ["account_id", "term_start"],
        "ix_subscriptions_renewal_date": ["renewal_date"],
    },
    "churn_events": {"ix_churn_events_account_day": ["account_id", "churned_on"]},
    "value_evidence": {"ix_value_evidence_account_day": ["account_id", "confirmed_on"]},
    "riq_answers": {"ix_riq_answers_account_day": ["account_id", "answered_on"]},
    "feature_usage": {"ix_feature_usage_account_day": ["account_id", "used_on"]},
    "support_tickets": {"ix_support_tickets_account_opened": ["account_id", "opened_at"]},
}


def _key() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("external_id", sa.String(128), nullable=True),
    ]


def _unique_external_id(table: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint("external_id", name=op.f(f"uq_{table}_external_id"))


def _account() -> sa.Column[object]:
    return sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    )


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    ]


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        *_key(),
        _account(),
        sa.Column("product", sa.String(200), nullable=True),
        sa.Column("plan", sa.String(100), nullable=True),
        sa.Column("seats", sa.Integer, nullable=True),
        sa.Column("arr", sa.Numeric(18, 2), nullable=False),
        sa.Column("mrr", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
        sa.Column("term_start", sa.Date, nullable=False),
        sa.Column("term_end", sa.Date, nullable=True),
        sa.Column("billing_frequency", sa.String(20), nullable=False, server_default="annual"),
        sa.Column("auto_renew", sa.Boolean, nullable=True),
        sa.Column("renewal_date", sa.Date, nullable=False),
        sa.Column("is_trial", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("upgraded", sa.Boolean, nullable=True),
        sa.Column("downgraded", sa.Boolean, nullable=True),
        sa.Column("plan_changed_on", sa.Date, nullable=True),
        *_timestamps(),
        _unique_external_id("subscriptions"),
        sa.CheckConstraint("arr >= 0 AND mrr >= 0", name="ck_subscriptions_revenue_not_negative"),
        sa.CheckConstraint("seats >= 0", name="ck_subscriptions_seats_not_negative"),
        sa.CheckConstraint("term_end >= term_start", name="ck_subscriptions_term_order"),
    )
    op.create_table(
        "churn_events",
        *_key(),
        _account(),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("churned_on", sa.Date, nullable=False),
        sa.Column("reason", sa.String(30), nullable=False, server_default="unknown"),
        sa.Column("feedback", sa.Text, nullable=True),
        sa.Column("refund_amount", sa.Numeric(18, 2), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
        sa.Column("was_reactivated", sa.Boolean, nullable=True),
        *_timestamps(),
        _unique_external_id("churn_events"),
        sa.CheckConstraint("refund_amount >= 0", name="ck_churn_events_refund_not_negative"),
    )
    op.create_table(
        "value_evidence",
        *_key(),
        _account(),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(40), nullable=True),
        sa.Column("baseline", sa.Float, nullable=True),
        sa.Column("achieved", sa.Float, nullable=True),
        sa.Column("monetary_value", sa.Numeric(18, 2), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
        sa.Column(
            "confirmed_by_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("confirmer_title", sa.String(200), nullable=True),
        sa.Column("confirmer_level", sa.String(20), nullable=True),
        sa.Column("confirmed_on", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        *_timestamps(),
        _unique_external_id("value_evidence"),
        sa.CheckConstraint("monetary_value >= 0", name="ck_value_evidence_value_not_negative"),
    )
    op.create_table(
        "riq_answers",
        *_key(),
        _account(),
        sa.Column("impact", sa.String(20), nullable=False),
        sa.Column("recovery", sa.String(20), nullable=True),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column(
            "answered_by_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("answered_on", sa.Date, nullable=False),
        sa.Column("asked_by_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        *_timestamps(),
        _unique_external_id("riq_answers"),
    )
    op.create_table(
        "feature_usage",
        *_key(),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _account(),
        sa.Column("used_on", sa.Date, nullable=False),
        sa.Column("feature", sa.String(200), nullable=False),
        sa.Column("usage_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("duration_seconds", sa.Integer, nullable=True),
        sa.Column("error_count", sa.Integer, nullable=True),
        sa.Column("is_beta", sa.Boolean, nullable=True),
        _unique_external_id("feature_usage"),
    )
    op.create_table(
        "support_tickets",
        *_key(),
        _account(),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("closed_at", sa.DateTime, nullable=True),
        sa.Column("priority", sa.String(10), nullable=True),
        sa.Column("first_response_minutes", sa.Integer, nullable=True),
        sa.Column("resolution_hours", sa.Float, nullable=True),
        sa.Column("satisfaction", sa.Integer, nullable=True),
        sa.Column("escalated", sa.Boolean, nullable=True),
        _unique_external_id("support_tickets"),
        sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name="ck_support_tickets_satisfaction_range"),
    )
    for table, indexes in INDEXES.items():
        for name, columns in indexes.items():
            op.create_index(name, table, columns)


def downgrade() -> None:
    for table, indexes in reversed(INDEXES.items()):
        for name in indexes:
            op.drop_index(name, table_name=table)
    for table in reversed(INDEXES):
        op.drop_table(table)
