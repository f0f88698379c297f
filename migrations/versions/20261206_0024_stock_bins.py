"""Bin locations: where a variant's stock sits in a warehouse (stock_levels.bin_location).

Free text the warehouse keeps ("A-03-2"), empty until set. The pick list walks the shelves by
it and the packing slip prints it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 20:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bin_location', sa.String(length=20), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_column('bin_location')
