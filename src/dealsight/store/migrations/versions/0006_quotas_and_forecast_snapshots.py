"""quotas and forecast snapshots

``quotas`` holds the target of one rep or one team for one period (exactly one of ``user_id`` and
``team_id``; unique per owner and period through two partial unique indexes, since NULLs never collide in
a unique constraint); ``forecast_snapshots`` every period forecast as it was made (P10/P50/P90 and expected
won count and amount, beside the stage-weighted pipeline, commit, best case and quota), read by group and
period in time order. See src/dealsight/store/schema.py.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    ]


def upgrade() -> None:
    op.create_table(
        "quotas",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=True),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
        *_timestamps(),
        sa.CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)", name="ck_quotas_one_owner"),
        sa.CheckConstraint("amount >= 0", name="ck_quotas_amount_not_negative"),
        sa.CheckConstraint("period_end >= period_start", name="ck_quotas_period_order"),
    )
    for owner in ("user", "team"):
        op.create_index(
            f"uq_quotas_{owner}_period",
            "quotas",
            [f"{owner}_id", "period_start", "period_end"],
            unique=True,
            sqlite_where=sa.text(f"{owner}_id IS NOT NULL"),
            postgresql_where=sa.text(f"{owner}_id IS NOT NULL"),
        )
    op.create_index("ix_quotas_period", "quotas", ["period_start", "period_end"])
    op.create_table(
        "forecast_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("made_at", sa.DateTime, nullable=False),
        sa.Column("as_of", sa.DateTime, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
        sa.Column("method", sa.String(40), nullable=False),
        *(
            sa.Column(f"won_{what}_{stat}", sa.Float, nullable=False)
            for what in ("count", "amount")
            for stat in ("p10", "p50", "p90", "expected")
        ),
        sa.Column("stage_weighted", sa.Float, nullable=False),
        sa.Column("commit_amount", sa.Float, nullable=True),
        sa.Column("best_case_amount", sa.Float, nullable=True),
        sa.Column("quota", sa.Float, nullable=True),
        sa.Column("reach_probability", sa.Float, nullable=True),
        sa.Column("open_deals", sa.Integer, nullable=False),
        sa.Column("new_deals_expected", sa.Float, nullable=True),
        sa.CheckConstraint("level IN ('company', 'team', 'rep')", name="ck_forecast_snapshots_level"),
    )
    op.create_index(
        "ix_forecast_snapshots_group",
        "forecast_snapshots",
        ["period_start", "period_end", "level", "team_id", "user_id", "as_of"],
    )


def downgrade() -> None:
    op.drop_index("ix_forecast_snapshots_group", table_name="forecast_snapshots")
    op.drop_table("forecast_snapshots")
    op.drop_index("ix_quotas_period", table_name="quotas")
    op.drop_index("uq_quotas_team_period", table_name="quotas")
    op.drop_index("uq_quotas_user_period", table_name="quotas")
    op.drop_table("quotas")
