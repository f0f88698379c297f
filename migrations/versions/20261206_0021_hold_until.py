"""A hold may say until when it holds ("deliver after the 15th"): order_holds.hold_until.

Nothing releases a hold by itself; the hold worklist shows the day and puts holds that are
due (the day has come) first, flagged, for an agent to release.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 14:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('order_holds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_until', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('order_holds', schema=None) as batch_op:
        batch_op.drop_column('hold_until')
