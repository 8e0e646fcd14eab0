"""composite indexes for the pipeline lists

The single-column indexes on ``opportunities.owner_id`` and ``opportunities.stage`` become composite:
``(owner_id, stage, expected_close_date, currency, amount)`` for a scope's or an owner's pipeline and
``(stage, expected_close_date, currency, amount)`` for everyone's. Open deals, their count, the pipeline
page's default order (by expected close date) and its summary (count and amount by stage) are then read
from the index alone. Each index still serves its first column alone, so imports keep as many indexes up
to date as before.

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

PIPELINE = ["stage", "expected_close_date", "currency", "amount"]


def upgrade() -> None:
    op.create_index("ix_opportunities_pipeline_by_owner", "opportunities", ["owner_id", *PIPELINE])
    op.create_index("ix_opportunities_pipeline_by_stage", "opportunities", PIPELINE)
    op.drop_index("ix_opportunities_owner_id", table_name="opportunities")
    op.drop_index("ix_opportunities_stage", table_name="opportunities")


def downgrade() -> None:
    op.create_index("ix_opportunities_owner_id", "opportunities", ["owner_id"])
    op.create_index("ix_opportunities_stage", "opportunities", ["stage"])
    op.drop_index("ix_opportunities_pipeline_by_stage", table_name="opportunities")
    op.drop_index("ix_opportunities_pipeline_by_owner", table_name="opportunities")
