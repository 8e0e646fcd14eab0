"""customer interviews and buying process roadmaps

``interview_guides`` and ``interview_questions`` hold each named, versioned interview guide (a retired
question keeps its answers); ``interviews`` one conversation with a customer contact (optionally about one
deal) on a day, by an interviewer, with the guide version it followed; ``interview_answers`` each answer
with the wording that was asked; ``interview_answer_tags`` their ``kind:value`` tags. ``roadmaps``,
``roadmap_stages`` and ``roadmap_questions`` hold each product's buying process roadmap (stages with
concerns and tools, questions with the answer that satisfies them and the tools that give it);
``deal_roadmap_answers`` which roadmap questions a deal's buyer has had answered, when and by which tool.
See src/dealsight/store/schema.py, docs/interviews.md and docs/roadmaps.md.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "deal_roadmap_answers",
    "roadmap_questions",
    "roadmap_stages",
    "roadmaps",
    "interview_answer_tags",
    "interview_answers",
    "interviews",
    "interview_questions",
    "interview_guides",
)


def _id() -> sa.Column[object]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    ]


def _interview_tables() -> None:
    op.create_table(
        "interview_guides",
        _id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *_timestamps(),
        sa.UniqueConstraint("name", name=op.f("uq_interview_guides_name")),
    )
    op.create_table(
        "interview_questions",
        _id(),
        sa.Column(
            "guide_id", sa.Integer, sa.ForeignKey("interview_guides.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("topic", sa.String(30), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("retired_at", sa.DateTime, nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("guide_id", "key", name=op.f("uq_interview_questions_guide_id_key")),
    )
    op.create_table(
        "interviews",
        _id(),
        sa.Column("external_id", sa.String(128), nullable=True),
        sa.Column("guide_id", sa.Integer, sa.ForeignKey("interview_guides.id"), nullable=False),
        sa.Column("guide_version", sa.Integer, nullable=False),
        sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "opportunity_id",
            sa.Integer,
            sa.ForeignKey("opportunities.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "interviewer_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("interviewed_on", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("external_id", name=op.f("uq_interviews_external_id")),
    )
    op.create_index("ix_interviews_contact_day", "interviews", ["contact_id", "interviewed_on"])
    op.create_index("ix_interviews_opportunity_id", "interviews", ["opportunity_id"])
    op.create_table(
        "interview_answers",
        _id(),
        sa.Column(
            "interview_id", sa.Integer, sa.ForeignKey("interviews.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("question_id", sa.Integer, sa.ForeignKey("interview_questions.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("question_text", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
    )
    op.create_index("ix_interview_answers_interview", "interview_answers", ["interview_id", "position"])
    op.create_index("ix_interview_answers_question_id", "interview_answers", ["question_id"])
    op.create_table(
        "interview_answer_tags",
        sa.Column(
            "answer_id",
            sa.Integer,
            sa.ForeignKey("interview_answers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("value", sa.String(200), primary_key=True),
        sa.Column("value_key", sa.String(200), nullable=False),
    )
    op.create_index("ix_interview_answer_tags_kind_value", "interview_answer_tags", ["kind", "value_key"])


def _roadmap_tables() -> None:
    op.create_table(
        "roadmaps",
        _id(),
        sa.Column("product", sa.String(200), nullable=False),
        sa.Column("product_key", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *_timestamps(),
        sa.UniqueConstraint("product_key", name=op.f("uq_roadmaps_product_key")),
    )
    op.create_table(
        "roadmap_stages",
        sa.Column(
            "roadmap_id", sa.Integer, sa.ForeignKey("roadmaps.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("stage", sa.String(20), primary_key=True),
        sa.Column("concerns", sa.JSON, nullable=False),
        sa.Column("tools", sa.JSON, nullable=False),
    )
    op.create_table(
        "roadmap_questions",
        _id(),
        sa.Column("roadmap_id", sa.Integer, sa.ForeignKey("roadmaps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("concern", sa.Text, nullable=True),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("tools", sa.JSON, nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("roadmap_id", "key", name=op.f("uq_roadmap_questions_roadmap_id_key")),
    )
    op.create_table(
        "deal_roadmap_answers",
        sa.Column(
            "opportunity_id",
            sa.Integer,
            sa.ForeignKey("opportunities.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "question_id",
            sa.Integer,
            sa.ForeignKey("roadmap_questions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("answered_on", sa.Date, nullable=False),
        sa.Column("tool", sa.String(200), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column(
            "answered_by_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
    )
    op.create_index("ix_deal_roadmap_answers_question_id", "deal_roadmap_answers", ["question_id"])


def upgrade() -> None:
    _interview_tables()
    _roadmap_tables()


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
