"""delivery workers: the key of the lock each holds while its process runs

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("delivery_workers") as batch:
        batch.add_column(sa.Column("lock_key", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("delivery_workers") as batch:
        batch.drop_column("lock_key")
