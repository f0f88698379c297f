"""Sales analytics: the sales facts (one per invoice and credit-note line) and their daily
roll-up, and a standard cost price per variant.

An existing database records its documents with `flask --app wsgi analytics rebuild` once.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 07:24:35.788582
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sales_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('channel_code', sa.String(length=40), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('customer_group', sa.String(length=40), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('revenue', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('cost', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('category_orders', sa.Integer(), nullable=False),
    sa.Column('uncosted_revenue', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_days')),
    sa.UniqueConstraint('day', 'currency', 'channel_code', 'category_id', 'customer_group', 'agent_id', name='uq_sales_days_cell')
    )
    with op.batch_alter_table('sales_days', schema=None) as batch_op:
        batch_op.create_index('ix_sales_days_currency_day', ['currency', 'day'], unique=False)

    op.create_table('sales_facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('invoice_line_id', sa.Integer(), nullable=False),
    sa.Column('document', sa.String(length=20), nullable=False),
    sa.Column('line_kind', sa.String(length=20), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('channel_code', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('customer_group', sa.String(length=40), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('variant_id', sa.Integer(), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('revenue', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('cost', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('unit_cost', core.db.Amount(precision=19, scale=4), nullable=True),
    sa.Column('first_of_order', sa.Boolean(), nullable=False),
    sa.Column('first_in_category', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_sales_facts_agent_id_agents')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_sales_facts_category_id_categories')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sales_facts_customer_id_customers')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_sales_facts_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['invoice_line_id'], ['invoice_lines.id'], name=op.f('fk_sales_facts_invoice_line_id_invoice_lines')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_sales_facts_order_id_orders')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_sales_facts_product_id_products')),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_sales_facts_variant_id_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_facts')),
    sa.UniqueConstraint('invoice_line_id', name=op.f('uq_sales_facts_invoice_line_id'))
    )
    with op.batch_alter_table('sales_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_facts_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_facts_category_id'), ['category_id'], unique=False)
        batch_op.create_index('ix_sales_facts_currency_day', ['currency', 'day'], unique=False)
        batch_op.create_index('ix_sales_facts_customer_day', ['customer_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_facts_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index('ix_sales_facts_order', ['order_id'], unique=False)
        batch_op.create_index('ix_sales_facts_product_day', ['product_id', 'day'], unique=False)

    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cost_price', core.db.Amount(precision=19, scale=4), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.drop_column('cost_price')

    with op.batch_alter_table('sales_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_facts_product_day')
        batch_op.drop_index('ix_sales_facts_order')
        batch_op.drop_index(batch_op.f('ix_sales_facts_invoice_id'))
        batch_op.drop_index('ix_sales_facts_customer_day')
        batch_op.drop_index('ix_sales_facts_currency_day')
        batch_op.drop_index(batch_op.f('ix_sales_facts_category_id'))
        batch_op.drop_index(batch_op.f('ix_sales_facts_agent_id'))

    op.drop_table('sales_facts')
    with op.batch_alter_table('sales_days', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_days_currency_day')

    op.drop_table('sales_days')
