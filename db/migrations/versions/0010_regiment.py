"""regiment: entries, decisions, marches

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 13:33:31.480769
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "regiment_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("other_spelling", sa.String(length=200), nullable=True),
        sa.Column("born", sa.Integer(), nullable=True),
        sa.Column("died", sa.Integer(), nullable=True),
        sa.Column("rank_unit", sa.String(length=200), nullable=True),
        sa.Column("relation", sa.String(length=100), nullable=True),
        sa.Column("story", sa.Text(), nullable=False),
        sa.Column("photo_key", sa.String(length=120), nullable=False),
        sa.Column("photo_mime", sa.String(length=20), nullable=False),
        sa.Column(
            "photo_refs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("submitter_platform", sa.String(length=20), nullable=False),
        sa.Column("submitter_id", sa.String(length=64), nullable=False),
        sa.Column("submitter_chat_id", sa.String(length=64), nullable=False),
        sa.Column("submitter_name", sa.String(length=200), nullable=False),
        sa.Column("signed", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regiment_entries")),
        sa.UniqueConstraint("public_id", name=op.f("uq_regiment_entries_public_id")),
    )
    with op.batch_alter_table("regiment_entries", schema=None) as batch_op:
        batch_op.create_index("ix_regiment_entries_status", ["status"], unique=False)
        batch_op.create_index(
            "ix_regiment_entries_submitter", ["submitter_platform", "submitter_id"], unique=False
        )

    op.create_table(
        "regiment_marches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("rolling", sa.Boolean(), nullable=False),
        sa.Column("spacing_seconds", sa.Integer(), nullable=False),
        sa.Column(
            "languages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regiment_marches")),
    )
    op.create_table(
        "regiment_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["regiment_entries.id"],
            name=op.f("fk_regiment_decisions_entry_id_regiment_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regiment_decisions")),
    )
    with op.batch_alter_table("regiment_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_regiment_decisions_entry_id", ["entry_id"], unique=False)

    op.create_table(
        "regiment_march_chats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("march_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["march_id"],
            ["regiment_marches.id"],
            name=op.f("fk_regiment_march_chats_march_id_regiment_marches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_regiment_march_chats_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regiment_march_chats")),
        sa.UniqueConstraint(
            "march_id",
            "subscription_id",
            name=op.f("uq_regiment_march_chats_march_id_subscription_id"),
        ),
    )
    op.create_table(
        "regiment_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("march_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["regiment_entries.id"],
            name=op.f("fk_regiment_slots_entry_id_regiment_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["march_id"],
            ["regiment_marches.id"],
            name=op.f("fk_regiment_slots_march_id_regiment_marches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regiment_slots")),
        sa.UniqueConstraint(
            "march_id", "entry_id", name=op.f("uq_regiment_slots_march_id_entry_id")
        ),
        sa.UniqueConstraint(
            "march_id", "position", name=op.f("uq_regiment_slots_march_id_position")
        ),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("regiment_slots")
    op.drop_table("regiment_march_chats")
    with op.batch_alter_table("regiment_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_regiment_decisions_entry_id")

    op.drop_table("regiment_decisions")
    op.drop_table("regiment_marches")
    with op.batch_alter_table("regiment_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_regiment_entries_submitter")
        batch_op.drop_index("ix_regiment_entries_status")

    op.drop_table("regiment_entries")
