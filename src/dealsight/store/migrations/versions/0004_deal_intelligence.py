"""deal intelligence: win models, deal insights, score history

``win_models`` holds each learned model with its evaluation and fitted object (one active);
``deal_insights`` the latest insight of each open deal (win probability beside the baselines, health,
risks with next actions, factors, indicators); ``deal_score_history`` each scoring run's probability per
deal. See src/dealsight/store/schema.py.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "win_models",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("trained_at", sa.DateTime, nullable=False),
        sa.Column("trained_as_of", sa.DateTime, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("outcomes", sa.JSON, nullable=False),
        sa.Column("features", sa.JSON, nullable=False),
        sa.Column("closed_deals", sa.Integer, nullable=False),
        sa.Column("snapshots", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("evaluation", sa.JSON, nullable=True),
        sa.Column("library_versions", sa.JSON, nullable=False),
        sa.Column("artifact", sa.LargeBinary, nullable=True),
    )
    op.create_table(
        "deal_insights",
        sa.Column(
            "opportunity_id",
            sa.Integer,
            sa.ForeignKey("opportunities.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("scored_at", sa.DateTime, nullable=False),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("win_models.id", ondelete="SET NULL"), nullable=True),
        sa.Column("win_probability", sa.Float, nullable=True),
        sa.Column("no_decision_probability", sa.Float, nullable=True),
        sa.Column("stage_win_rate", sa.Float, nullable=True),
        sa.Column("crm_probability", sa.Float, nullable=True),
        sa.Column("naive_bayes_probability", sa.Float, nullable=True),
        sa.Column("health", sa.String(10), nullable=False),
        sa.Column("risk_count", sa.Integer, nullable=False),
        sa.Column("top_severity", sa.String(10), nullable=True),
        sa.Column("top_risk", sa.Text, nullable=True),
        sa.Column("risks", sa.Text, nullable=False),  # JSON text (store.schema.JsonText)
        sa.Column("factors", sa.Text, nullable=False),
        sa.Column("indicators", sa.Text, nullable=False),
    )
    op.create_index("ix_deal_insights_model_id", "deal_insights", ["model_id"])
    op.create_table(
        "deal_score_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "opportunity_id",
            sa.Integer,
            sa.ForeignKey("opportunities.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("scored_at", sa.DateTime, nullable=False),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("win_models.id", ondelete="SET NULL"), nullable=True),
        sa.Column("win_probability", sa.Float, nullable=True),
        sa.Column("risk_count", sa.Integer, nullable=False),
        sa.UniqueConstraint("opportunity_id", "scored_at", name="uq_deal_score_history_run"),
    )


def downgrade() -> None:
    op.drop_table("deal_score_history")
    op.drop_index("ix_deal_insights_model_id", table_name="deal_insights")
    op.drop_table("deal_insights")
    op.drop_table("win_models")
