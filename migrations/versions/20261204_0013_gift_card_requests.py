"""gift card sales confirmed by a second person; who recorded a payment

A gift card sold out of a transfer or cheque the seller recorded themselves waits in
gift_card_requests until another agent (credit or supervisor) confirms the money came in
(review M5). payments.recorded_by_id names the agent who recorded a payment, so the rule
does not rest on a label.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gift_card_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('amount', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('recipient_email', sa.String(length=254), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=300), nullable=False),
    sa.Column('gift_card_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_gift_card_requests_amount_positive')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_gift_card_requests_customer_id_customers')),
    sa.ForeignKeyConstraint(['gift_card_id'], ['gift_cards.id'], name=op.f('fk_gift_card_requests_gift_card_id_gift_cards')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_gift_card_requests_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_card_requests')),
    sa.UniqueConstraint('key', name=op.f('uq_gift_card_requests_key'))
    )
    with op.batch_alter_table('gift_card_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gift_card_requests_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gift_card_requests_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gift_card_requests_status'), ['status'], unique=False)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorded_by_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('recorded_by_id')

    with op.batch_alter_table('gift_card_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gift_card_requests_status'))
        batch_op.drop_index(batch_op.f('ix_gift_card_requests_payment_id'))
        batch_op.drop_index(batch_op.f('ix_gift_card_requests_customer_id'))

    op.drop_table('gift_card_requests')
