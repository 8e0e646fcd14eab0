"""needs surveys

``surveys`` holds each needs survey's definition (name, day, needs and vendors in order, which vendor is
us); ``survey_respondents`` who answered (a customer, linked to a contact or account when known, with
segment and industry; or an internal person of a function), unique per survey by name; ``survey_points``
the 100 points each respondent spread across the needs; ``survey_ratings`` their 0-10 rating of each
vendor on each need. See src/dealsight/store/schema.py and docs/needs.md.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    ]


def _respondent() -> sa.Column[object]:
    return sa.Column(
        "respondent_id",
        sa.Integer,
        sa.ForeignKey("survey_respondents.id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("conducted_on", sa.Date, nullable=False),
        sa.Column("needs", sa.JSON, nullable=False),
        sa.Column("vendors", sa.JSON, nullable=False),
        sa.Column("us", sa.String(60), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("name", name=op.f("uq_surveys_name")),
    )
    op.create_table(
        "survey_respondents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("survey_id", sa.Integer, sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("respondent", sa.String(200), nullable=False),
        sa.Column("respondent_key", sa.String(200), nullable=False),
        sa.Column("respondent_type", sa.String(10), nullable=False),
        sa.Column("function", sa.String(20), nullable=True),
        sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
        sa.Column("segment", sa.String(40), nullable=True),
        sa.Column("industry", sa.String(120), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint(
            "survey_id", "respondent_key", name=op.f("uq_survey_respondents_survey_id_respondent_key")
        ),
        sa.CheckConstraint(
            "(respondent_type = 'customer' AND function IS NULL) OR "
            "(respondent_type = 'internal' AND function IS NOT NULL)",
            name=op.f("ck_survey_respondents_respondent_type"),
        ),
    )
    op.create_table(
        "survey_points",
        _respondent(),
        sa.Column("need", sa.String(60), primary_key=True),
        sa.Column("points", sa.Float, nullable=False),
        sa.CheckConstraint("points >= 0 AND points <= 100", name=op.f("ck_survey_points_points_range")),
    )
    op.create_table(
        "survey_ratings",
        _respondent(),
        sa.Column("vendor", sa.String(60), primary_key=True),
        sa.Column("need", sa.String(60), primary_key=True),
        sa.Column("rating", sa.Float, nullable=False),
        sa.CheckConstraint("rating >= 0 AND rating <= 10", name=op.f("ck_survey_ratings_rating_range")),
    )


def downgrade() -> None:
    for table in ("survey_ratings", "survey_points", "survey_respondents", "surveys"):
        op.drop_table(table)
