"""customer search indexes

Trigram (pg_trgm) GIN indexes so the console's search-as-you-type finds a customer by any
part of the name, e-mail, phone digits or address company among hundreds of thousands,
and a btree on lower(email) for the exact e-mail match. Only PostgreSQL gets
them: on SQLite (the embedded demo) a scan of a small table is fast enough.

customers.number, customers.postal_code, customer_addresses.customer_id and orders.number
already have btree indexes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 12:00:00
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = {
    "ix_customers_name_trgm": "customers USING gin (lower(name) gin_trgm_ops)",
    "ix_customers_email_trgm": "customers USING gin (lower(email) gin_trgm_ops)",
    "ix_customers_phone_digits_trgm": "customers USING gin (phone_digits gin_trgm_ops)",
    "ix_customer_addresses_company_trgm":
        "customer_addresses USING gin (lower(company) gin_trgm_ops)",
}
BTREE_INDEXES = {
    # The exact e-mail match compares lower(email); the plain email index cannot serve it.
    "ix_customers_email_lower": "customers (lower(email))",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, target in {**TRIGRAM_INDEXES, **BTREE_INDEXES}.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in {**TRIGRAM_INDEXES, **BTREE_INDEXES}:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    # The extension stays: other objects may use it, and it holds no data.
