"""whole ledger references: accounting_ref as text, so a long reference is kept whole

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("sync_log", "attempts")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "accounting_ref",
                existing_type=sa.String(length=128),
                type_=sa.Text(),
                existing_nullable=True,
            )


def downgrade() -> None:
    # Going back cuts nothing silently: PostgreSQL refuses a reference that no longer fits.
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "accounting_ref",
                existing_type=sa.Text(),
                type_=sa.String(length=128),
                existing_nullable=True,
            )
