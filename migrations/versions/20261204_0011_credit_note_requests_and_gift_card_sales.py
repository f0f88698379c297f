"""approvals: credit-note requests; the payment a gift card was sold for

Credit notes and cancellations beyond the requester's limit wait in credit_note_requests
for a second person; a gift card's issue movement names the recorded payment (transfer or
cheque) whose money bought it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('credit_note_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('amount', core.db.Amount(precision=19, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=300), nullable=False),
    sa.Column('credit_note_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_credit_note_requests_amount_positive')),
    sa.ForeignKeyConstraint(['credit_note_id'], ['invoices.id'], name=op.f('fk_credit_note_requests_credit_note_id_invoices')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_credit_note_requests_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_note_requests'))
    )
    with op.batch_alter_table('credit_note_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_note_requests_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_note_requests_status'), ['status'], unique=False)

    with op.batch_alter_table('gift_card_movements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_gift_card_movements_payment_id'), ['payment_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_gift_card_movements_payment_id_payments'), 'payments', ['payment_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('gift_card_movements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_gift_card_movements_payment_id_payments'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_gift_card_movements_payment_id'))
        batch_op.drop_column('payment_id')

    with op.batch_alter_table('credit_note_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_note_requests_status'))
        batch_op.drop_index(batch_op.f('ix_credit_note_requests_invoice_id'))

    op.drop_table('credit_note_requests')
