"""seen requests: the signatures of Slack requests already served, to refuse replays

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_requests",
        sa.Column("signature_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("signature_hash"),
    )
    op.create_index("ix_seen_requests_expires_at", "seen_requests", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_seen_requests_expires_at", table_name="seen_requests")
    op.drop_table("seen_requests")
