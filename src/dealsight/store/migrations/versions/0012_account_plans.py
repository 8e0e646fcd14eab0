"""account plans

``account_goals`` holds each account's executive goals (the goal in the customer's words, the executive at
the customer who owns it, our owner, target date, priority, measure of success, status, a note);
``account_goal_deals`` which deals serve which goals (the top-down pipeline); ``contact_coverage`` who on
our side covers which contact (the relationship map). See src/dealsight/store/schema.py and
docs/account-plans.md.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("contact_coverage", "account_goal_deals", "account_goals")


def upgrade() -> None:
    op.create_table(
        "account_goals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("external_id", sa.String(128), nullable=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("goal", sa.String(300), nullable=False),
        sa.Column(
            "executive_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("target_date", sa.Date, nullable=True),
        sa.Column("priority", sa.String(10), nullable=False, server_default="medium"),
        sa.Column("measure", sa.String(300), nullable=True),
        sa.Column("status", sa.String(20), nullable=False, server_default="identified"),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
        sa.UniqueConstraint("external_id", name=op.f("uq_account_goals_external_id")),
    )
    op.create_index("ix_account_goals_account_id", "account_goals", ["account_id"])
    op.create_table(
        "account_goal_deals",
        sa.Column(
            "goal_id", sa.Integer, sa.ForeignKey("account_goals.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "opportunity_id",
            sa.Integer,
            sa.ForeignKey("opportunities.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("linked_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    )
    op.create_index("ix_account_goal_deals_opportunity_id", "account_goal_deals", ["opportunity_id"])
    op.create_table(
        "contact_coverage",
        sa.Column(
            "contact_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    )
    op.create_index("ix_contact_coverage_user_id", "contact_coverage", ["user_id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
