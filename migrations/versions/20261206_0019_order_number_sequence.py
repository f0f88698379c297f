"""Order numbers from a PostgreSQL sequence (core.numbering.SEQUENCES): checkouts no longer
queue on the order series' row lock. It starts after the table series and after every
order's number. Invoice and credit-note numbers stay in the table, gapless. SQLite keeps the
table for every series.

Web processes of an earlier release still take order numbers from the table: stop them
before this migration runs (a number both give is refused by the orders' unique number,
and that checkout fails).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 11:20:00
"""
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE order_number_seq AS bigint START WITH 1 MINVALUE 1")
    # After the last number the table gave, or any order holds, whichever is higher.
    op.execute("""SELECT setval('order_number_seq', greatest(
        coalesce((SELECT max(next_value) FROM number_series WHERE name = 'order'), 1),
        coalesce((SELECT max(substring(number FROM '[0-9]+$')::bigint) + 1 FROM orders), 1)),
        false)""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The table series goes on after the last number the sequence gave.
    op.execute("UPDATE number_series SET next_value = (SELECT CASE WHEN is_called THEN "
               "last_value + 1 ELSE last_value END FROM order_number_seq) WHERE name = 'order'")
    op.execute("DROP SEQUENCE order_number_seq")
