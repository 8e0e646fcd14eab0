"""backtest runs

``backtest_runs`` keeps each backtest `dealsight backtest` made (parameters and result as JSON), so the
forecast page can show the newest and the period forecast can take its dispersion from it. See
src/dealsight/store/schema.py.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backtest_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("made_at", sa.DateTime, nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
    )
    op.create_index("ix_backtest_runs_made_at", "backtest_runs", ["made_at"])


def downgrade() -> None:
    op.drop_index("ix_backtest_runs_made_at", table_name="backtest_runs")
    op.drop_table("backtest_runs")
