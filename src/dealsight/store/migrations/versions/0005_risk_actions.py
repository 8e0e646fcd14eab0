"""risk actions stored once per rule

``risk_actions`` holds the next action of each playbook rule whose action reads no indicator, as of the
latest scoring run; the risks stored in ``deal_insights.risks`` leave such actions out (the same text
repeated over millions of risks made a scoring run copy and write gigabytes). Insights scored before this
revision keep their actions inline and read as before; a downgrade deletes the stored insights (derived
data: `dealsight score` writes them again). See src/dealsight/store/schema.py.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_actions",
        sa.Column("rule_id", sa.String(100), primary_key=True),
        sa.Column("action", sa.Text, nullable=False),
    )


def downgrade() -> None:
    # insights scored since lack the actions the older code expects inline; they are derived data, so
    # they go (the next `dealsight score` writes them again)
    op.execute("DELETE FROM deal_insights")
    op.drop_table("risk_actions")
