"""outage pause: the circuit breaker's state on gateway_status, and the kind of each alert message

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gateway_status") as batch:
        batch.add_column(
            sa.Column("transient_streak", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("outage_since", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("outage_reason", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("next_probe_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("probes", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("alert_messages") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="failures")
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_messages") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("gateway_status") as batch:
        for column in ("probes", "next_probe_at", "outage_reason", "outage_since"):
            batch.drop_column(column)
        batch.drop_column("transient_streak")
