"""b2b buying: company buyers' spending limits, invitations and e-mail changes; a cart per
login; shopping lists; quotes (QT-000123) with their lines; customers' credit limits; the
delivery date a buyer asks for on an order

Existing carts of a customer become the cart of the customer's first login.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 22:11:30.854924
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('buyer_invitations',
    sa.Column('invited_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['customer_users.id'], name=op.f('fk_buyer_invitations_user_id_customer_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buyer_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_buyer_invitations_token_hash'))
    )
    with op.batch_alter_table('buyer_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_buyer_invitations_user_id'), ['user_id'], unique=False)

    op.create_table('email_changes',
    sa.Column('new_email', sa.String(length=254), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['customer_users.id'], name=op.f('fk_email_changes_user_id_customer_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_changes')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_email_changes_token_hash'))
    )
    with op.batch_alter_table('email_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_changes_user_id'), ['user_id'], unique=False)

    op.create_table('quotes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('channel_code', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('prices_include_tax', sa.Boolean(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('comment', sa.String(length=2000), nullable=False),
    sa.Column('note', sa.String(length=2000), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('subtotal', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('discount_total', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('net_total', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('tax_total', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('gross_total', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('reject_reason', sa.String(length=1000), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_quotes_agent_id_agents')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_quotes_customer_id_customers')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_quotes_order_id_orders')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['customer_users.id'], name=op.f('fk_quotes_requested_by_id_customer_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotes')),
    sa.UniqueConstraint('number', name=op.f('uq_quotes_number'))
    )
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quotes_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_quotes_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quotes_status'), ['status'], unique=False)

    op.create_table('shopping_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['customer_users.id'], name=op.f('fk_shopping_lists_created_by_id_customer_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_shopping_lists_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shopping_lists')),
    sa.UniqueConstraint('customer_id', 'name', name='uq_shopping_lists_name')
    )
    with op.batch_alter_table('shopping_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shopping_lists_customer_id'), ['customer_id'], unique=False)

    op.create_table('quote_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('list_unit_price', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('unit_price', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('override_reason', sa.String(length=60), nullable=False),
    sa.Column('net', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('tax', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('gross', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_quote_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_lines_quote_id_quotes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_quote_lines_variant_id_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_lines')),
    sa.UniqueConstraint('quote_id', 'variant_id', name='uq_quote_lines_variant')
    )
    with op.batch_alter_table('quote_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_lines_quote_id'), ['quote_id'], unique=False)

    op.create_table('shopping_list_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_shopping_list_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['list_id'], ['shopping_lists.id'], name=op.f('fk_shopping_list_lines_list_id_shopping_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_shopping_list_lines_variant_id_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shopping_list_lines')),
    sa.UniqueConstraint('list_id', 'variant_id', name='uq_shopping_list_lines_variant')
    )
    with op.batch_alter_table('shopping_list_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shopping_list_lines_list_id'), ['list_id'], unique=False)

    with op.batch_alter_table('carts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_carts_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_carts_user_id_customer_users'), 'customer_users', ['user_id'], ['id'])

    with op.batch_alter_table('customer_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_limit', core.db.Amount(precision=19, scale=4), nullable=True))
        batch_op.add_column(sa.Column('monthly_limit', core.db.Amount(precision=19, scale=4), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=False, server_default=''))

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_limit', core.db.Amount(precision=19, scale=4), nullable=True))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requested_date', sa.Date(), nullable=True))

    op.execute("UPDATE carts SET user_id = (SELECT min(u.id) FROM customer_users u "
               "WHERE u.customer_id = carts.customer_id) WHERE customer_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('requested_date')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('credit_limit')

    with op.batch_alter_table('customer_users', schema=None) as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('monthly_limit')
        batch_op.drop_column('order_limit')

    with op.batch_alter_table('carts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_carts_user_id_customer_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_carts_user_id'))
        batch_op.drop_column('user_id')

    with op.batch_alter_table('shopping_list_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shopping_list_lines_list_id'))

    op.drop_table('shopping_list_lines')
    with op.batch_alter_table('quote_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quote_lines_quote_id'))

    op.drop_table('quote_lines')
    with op.batch_alter_table('shopping_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shopping_lists_customer_id'))

    op.drop_table('shopping_lists')
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quotes_status'))
        batch_op.drop_index(batch_op.f('ix_quotes_customer_id'))
        batch_op.drop_index(batch_op.f('ix_quotes_created_at'))

    op.drop_table('quotes')
    with op.batch_alter_table('email_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_changes_user_id'))

    op.drop_table('email_changes')
    with op.batch_alter_table('buyer_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_buyer_invitations_user_id'))

    op.drop_table('buyer_invitations')
