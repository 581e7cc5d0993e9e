"""organized events: languages, place, end, reminders, sequence, publication, authorship;
and what each subscription follows

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 13:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration; events already stored count as published when they changed."""
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("languages", db.models.JsonType, nullable=True))
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("city", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("lat", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("lon", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("ends_at", db.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("reminders", db.models.JsonType, nullable=True))
        batch_op.add_column(sa.Column("sequence", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("announced_at", db.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("created_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("origin", sa.String(length=100), nullable=True))
    op.execute("UPDATE events SET announced_at = updated_at WHERE status <> 'draft'")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("follow", sa.String(length=160), server_default="all", nullable=False)
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("follow")
    with op.batch_alter_table("events", schema=None) as batch_op:
        for name in (
            "origin",
            "created_by",
            "announced_at",
            "sequence",
            "reminders",
            "ends_at",
            "lon",
            "lat",
            "city",
            "country",
            "languages",
        ):
            batch_op.drop_column(name)
