"""order confirmation e-mail sent once

orders.confirmation_emailed_at: when the confirmation e-mail of the order went out, so a
redelivered background task does not send it twice.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:00:00
"""
import sqlalchemy as sa
from alembic import op

import core.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("confirmation_emailed_at", core.db.UTCDateTime(timezone=True),
                                    nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("confirmation_emailed_at")
