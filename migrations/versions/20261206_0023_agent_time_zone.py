"""an agent's own time zone

The console shows an agent's times in the zone they chose on their account page; none
chosen means the console's (CONSOLE_TIMEZONE). The business day stays the console's.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 20:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("time_zone")
