"""Search by best match in two tiers (core.catalog.search.tiers): on PostgreSQL the search
table keeps each product's title (name, SKUs, brand) as a vector of its own, GIN-indexed,
and its name (btree), so a broad search walks the name index to the page instead of scoring
every match. SQLite's FTS5 table already has the title columns and the name.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 11:40:00
"""
from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE product_search ADD COLUMN title tsvector, "
               "ADD COLUMN name varchar(200)")
    op.execute("""
        UPDATE product_search s SET name = t.name, title = t.title
        FROM (SELECT p.id, p.name,
                     setweight(to_tsvector('simple', p.name), 'A') ||
                     setweight(to_tsvector('simple', coalesce(string_agg(
                         v.sku || ' ' || regexp_replace(v.sku, '[^A-Za-z0-9]+', ' ', 'g'),
                         ' '), '')), 'A') ||
                     setweight(to_tsvector('simple', p.brand), 'B') AS title
              FROM products p LEFT JOIN variants v ON v.product_id = p.id
              GROUP BY p.id) AS t
        WHERE t.id = s.product_id""")
    op.execute("UPDATE product_search SET title = ''::tsvector, name = '' WHERE title IS NULL")
    op.execute("ALTER TABLE product_search ALTER COLUMN title SET NOT NULL, "
               "ALTER COLUMN name SET NOT NULL")
    op.execute("CREATE INDEX ix_product_search_title ON product_search USING gin (title)")
    op.execute("CREATE INDEX ix_product_search_name ON product_search (name, product_id)")
    op.execute("ANALYZE product_search")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_product_search_name")
    op.execute("DROP INDEX ix_product_search_title")
    op.execute("ALTER TABLE product_search DROP COLUMN name, DROP COLUMN title")
