"""delivery queue: retry instants on the ledger, fan-out markers for event items

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("not_before", db.models.UTCDateTime(timezone=True), nullable=True)
        )

    op.create_table(
        "delivery_fanouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=120), nullable=False),
        sa.Column("occurrence_date", sa.Date(), nullable=False),
        sa.Column("due_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_fanouts")),
        sa.UniqueConstraint(
            "item_key",
            "occurrence_date",
            name=op.f("uq_delivery_fanouts_item_key_occurrence_date"),
        ),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("delivery_fanouts")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("not_before")
