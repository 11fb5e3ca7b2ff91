"""failed queue indexes: the record's kind on its sync log entry, partial indexes of the queue

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The failed queue: failed, or being retried after failing (a failed entry always has an
# error). Written out here, as migrations never change with the code that came after them.
IN_QUEUE = "state IN ('failed', 'syncing') AND last_error IS NOT NULL"
INDEXES = {
    "ix_sync_log_queue": ["record_id"],
    "ix_sync_log_queue_kind": ["kind", "record_id"],
    "ix_sync_log_queue_class": ["error_class", "record_id"],
    "ix_sync_log_queue_kind_class": ["kind", "error_class", "record_id"],
}


def upgrade() -> None:
    # The kind is copied onto the sync log so one index can hold both it and the queue's
    # condition: listing a kind the queue holds few of must not read the whole queue.
    op.add_column("sync_log", sa.Column("kind", sa.String(length=16), nullable=True))
    op.execute(
        "UPDATE sync_log SET kind ="
        " (SELECT kind FROM records WHERE records.id = sync_log.record_id)"
    )
    with op.batch_alter_table("sync_log") as batch:
        batch.alter_column("kind", existing_type=sa.String(length=16), nullable=False)
    where = sa.text(IN_QUEUE)
    for name, columns in INDEXES.items():
        op.create_index(name, "sync_log", columns, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="sync_log")
    with op.batch_alter_table("sync_log") as batch:
        batch.drop_column("kind")
