"""event recurrence: yearly ceremonies, and whether this year's date is confirmed

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recurrence", sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("confirmed", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("confirmed")
        batch_op.drop_column("recurrence")
