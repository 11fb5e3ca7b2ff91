"""alert messages: the ts of each posted alert, the outbox rows it showed, and job leases

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("parked", sa.Integer(), nullable=False),
        sa.Column("shown", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_messages_channel_opened", "alert_messages", ["channel", "opened_at"])
    with op.batch_alter_table("alert_outbox") as batch:
        batch.add_column(sa.Column("alert_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_alert_outbox_alert_id", "alert_messages", ["alert_id"], ["id"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    with op.batch_alter_table("alert_outbox") as batch:
        batch.drop_constraint("fk_alert_outbox_alert_id", type_="foreignkey")
        batch.drop_column("alert_id")
    op.drop_index("ix_alert_messages_channel_opened", table_name="alert_messages")
    op.drop_table("alert_messages")
