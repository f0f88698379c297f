"""promotion uses by e-mail; confirmed e-mail addresses of logins

Promotion redemptions record the buyer's e-mail (lower-cased), so per-customer limits
hold for guests; existing ones take their order's e-mail. Logins get the time their
e-mail address was confirmed (every existing login counts as confirmed) and a table of
single-use confirmation links.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('promotion_redemptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=False,
                                      server_default=''))
        batch_op.create_index('ix_promotion_redemptions_email', ['promotion_id', 'email'],
                              unique=False)
        batch_op.create_index('ix_promotion_redemptions_reference', ['reference'], unique=False)
    op.execute("UPDATE promotion_redemptions SET email = COALESCE((SELECT lower(orders.email) "
               "FROM orders WHERE orders.number = promotion_redemptions.reference), '')")

    with op.batch_alter_table('customer_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', core.db.UTCDateTime(timezone=True),
                                      nullable=True))
    op.execute("UPDATE customer_users SET email_confirmed_at = created_at")

    op.create_table('email_confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['customer_users.id'], name=op.f('fk_email_confirmations_user_id_customer_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_confirmations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_email_confirmations_token_hash'))
    )
    with op.batch_alter_table('email_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_confirmations_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('email_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_confirmations_user_id'))
    op.drop_table('email_confirmations')

    with op.batch_alter_table('customer_users', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed_at')

    with op.batch_alter_table('promotion_redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_promotion_redemptions_reference')
        batch_op.drop_index('ix_promotion_redemptions_email')
        batch_op.drop_column('email')
