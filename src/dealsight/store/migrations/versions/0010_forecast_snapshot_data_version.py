"""forecast snapshots: the data version they were made from, and what was already won

``forecast_snapshots.data_version`` is the marker of the data a forecast was computed from (see
:mod:`dealsight.services.forecast_cache`): the forecast page and ``GET /api/v1/forecast`` serve a stored
forecast of the same as-of day, period and method only when the data has not changed since. ``won_amount``
and ``won_count`` are what the group had already won in the period by as-of, so a stored forecast holds
every figure the page shows. All three are NULL on snapshots stored before (never served as current).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("forecast_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("won_amount", sa.Float, nullable=True))
        batch_op.add_column(sa.Column("won_count", sa.Integer, nullable=True))
        batch_op.add_column(sa.Column("data_version", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("forecast_snapshots", schema=None) as batch_op:
        batch_op.drop_column("data_version")
        batch_op.drop_column("won_count")
        batch_op.drop_column("won_amount")
