"""contact search indexes

The console's customer search finds a company by the name or part of the e-mail of one of
its logins (buyers and contacts: customer_users). Trigram GIN indexes on lower(full_name)
and on email (stored lower-case) let those branches use an index on PostgreSQL as the
customer branches do (0006). SQLite, the embedded demo, scans its small table.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 15:10:00
"""
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = {
    "ix_customer_users_full_name_trgm": "customer_users USING gin (lower(full_name) gin_trgm_ops)",
    "ix_customer_users_email_trgm": "customer_users USING gin (email gin_trgm_ops)",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, target in TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
