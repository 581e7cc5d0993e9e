"""delivery workers: who holds claims, and when each was last seen alive

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "delivery_workers",
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("platforms", sa.String(length=200), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_delivery_workers")),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("delivery_workers")
