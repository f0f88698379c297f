"""returns: the return authorisation, its lines, receipts and credit notes; stock movements

Returns (RMA-000123) of order lines with reasons, receipts (restock or scrap) and the credit
notes they led to; stock movements for restocked and written-off units; each product's and
category's return window and whether a product can be returned at all; the ledger account
for restocking fees (4020).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:04:52.297847
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('returns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('resolution', sa.String(length=20), nullable=False),
    sa.Column('refund_method', sa.String(length=20), nullable=False),
    sa.Column('ship_back', sa.Boolean(), nullable=False),
    sa.Column('replace_on', sa.String(length=20), nullable=False),
    sa.Column('replacement_order_id', sa.Integer(), nullable=True),
    sa.Column('value', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('restocking_fee', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('refund_shipping', sa.Boolean(), nullable=False),
    sa.Column('needs_supervisor', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=300), nullable=False),
    sa.Column('label_sent_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refunded_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_returns_customer_id_customers')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_returns_order_id_orders')),
    sa.ForeignKeyConstraint(['replacement_order_id'], ['orders.id'], name=op.f('fk_returns_replacement_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_returns')),
    sa.UniqueConstraint('key', name=op.f('uq_returns_key')),
    sa.UniqueConstraint('number', name=op.f('uq_returns_number'))
    )
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_returns_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_returns_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_returns_requested_at'), ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_returns_status'), ['status'], unique=False)

    op.create_table('stock_movements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('warehouse', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_stock_movements_variant_id_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements'))
    )
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_movements_reference'), ['reference'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_movements_variant_id'), ['variant_id'], unique=False)

    op.create_table('return_credit_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('credit_note_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['credit_note_id'], ['invoices.id'], name=op.f('fk_return_credit_notes_credit_note_id_invoices')),
    sa.ForeignKeyConstraint(['return_id'], ['returns.id'], name=op.f('fk_return_credit_notes_return_id_returns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_credit_notes')),
    sa.UniqueConstraint('credit_note_id', name=op.f('uq_return_credit_notes_credit_note_id'))
    )
    with op.batch_alter_table('return_credit_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_credit_notes_return_id'), ['return_id'], unique=False)

    op.create_table('return_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('unit_gross', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('fee_percent', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('quantity_received', sa.Integer(), nullable=False),
    sa.Column('quantity_restocked', sa.Integer(), nullable=False),
    sa.Column('quantity_scrapped', sa.Integer(), nullable=False),
    sa.Column('quantity_credited', sa.Integer(), nullable=False),
    sa.Column('replacement_variant_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_return_lines_quantity_positive')),
    sa.CheckConstraint('quantity_credited >= 0 AND quantity_credited <= quantity', name=op.f('ck_return_lines_credited_within_quantity')),
    sa.CheckConstraint('quantity_received >= 0 AND quantity_received <= quantity', name=op.f('ck_return_lines_received_within_quantity')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_return_lines_order_line_id_order_lines')),
    sa.ForeignKeyConstraint(['replacement_variant_id'], ['variants.id'], name=op.f('fk_return_lines_replacement_variant_id_variants')),
    sa.ForeignKeyConstraint(['return_id'], ['returns.id'], name=op.f('fk_return_lines_return_id_returns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_return_lines_variant_id_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_lines')),
    sa.UniqueConstraint('return_id', 'order_line_id', name='uq_return_lines_line')
    )
    with op.batch_alter_table('return_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_lines_order_line_id'), ['order_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_lines_return_id'), ['return_id'], unique=False)

    op.create_table('return_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('return_line_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('condition', sa.String(length=20), nullable=False),
    sa.Column('disposition', sa.String(length=20), nullable=False),
    sa.Column('received_by', sa.String(length=200), nullable=False),
    sa.Column('received_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_return_receipts_quantity_positive')),
    sa.ForeignKeyConstraint(['return_line_id'], ['return_lines.id'], name=op.f('fk_return_receipts_return_line_id_return_lines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_receipts'))
    )
    with op.batch_alter_table('return_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_receipts_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_receipts_return_line_id'), ['return_line_id'], unique=False)

    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('return_days', sa.Integer(), nullable=True))

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('returnable', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('return_days', sa.Integer(), nullable=True))

    accounts = sa.table('ledger_accounts', sa.column('code', sa.String),
                        sa.column('name', sa.String), sa.column('type', sa.String))
    op.bulk_insert(accounts, [{'code': '4020', 'name': 'Restocking fees (returns)',
                               'type': 'revenue'}])


def downgrade() -> None:
    op.execute("DELETE FROM ledger_accounts WHERE code = '4020'")
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('return_days')
        batch_op.drop_column('returnable')

    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('return_days')

    with op.batch_alter_table('return_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_receipts_return_line_id'))
        batch_op.drop_index(batch_op.f('ix_return_receipts_key'))

    op.drop_table('return_receipts')
    with op.batch_alter_table('return_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_lines_return_id'))
        batch_op.drop_index(batch_op.f('ix_return_lines_order_line_id'))

    op.drop_table('return_lines')
    with op.batch_alter_table('return_credit_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_credit_notes_return_id'))

    op.drop_table('return_credit_notes')
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_movements_variant_id'))
        batch_op.drop_index(batch_op.f('ix_stock_movements_reference'))

    op.drop_table('stock_movements')
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_returns_status'))
        batch_op.drop_index(batch_op.f('ix_returns_requested_at'))
        batch_op.drop_index(batch_op.f('ix_returns_order_id'))
        batch_op.drop_index(batch_op.f('ix_returns_customer_id'))

    op.drop_table('returns')
