"""composite indexes for the pipeline lists

The single-column indexes on ``opportunities.owner_id`` and ``opportunities.stage`` become composite:
``(owner_id, stage, expected_close_date)`` answers a scope's or an owner's open deals, their count and the
pipeline page's default order (by expected close date) from the index alone, and ``(stage,
expected_close_date)`` the same for everyone's deals. Each still serves its first column alone, so imports
keep as many indexes up to date as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_opportunities_owner_id_stage_expected_close_date",
        "opportunities",
        ["owner_id", "stage", "expected_close_date"],
        unique=False,
    )
    op.create_index(
        "ix_opportunities_stage_expected_close_date",
        "opportunities",
        ["stage", "expected_close_date"],
        unique=False,
    )
    op.drop_index("ix_opportunities_owner_id", table_name="opportunities")
    op.drop_index("ix_opportunities_stage", table_name="opportunities")


def downgrade() -> None:
    op.create_index("ix_opportunities_owner_id", "opportunities", ["owner_id"], unique=False)
    op.create_index("ix_opportunities_stage", "opportunities", ["stage"], unique=False)
    op.drop_index("ix_opportunities_stage_expected_close_date", table_name="opportunities")
    op.drop_index("ix_opportunities_owner_id_stage_expected_close_date", table_name="opportunities")
