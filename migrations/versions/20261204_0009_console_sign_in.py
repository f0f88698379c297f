"""console sign-in: single sign-on binding, two-step sign-in, idle sessions

Agents get the identity provider's issuer and subject they are bound to, an encrypted
TOTP secret with its replay and throttle columns, and single-use recovery codes;
sign-in sessions get the time of their last request (console idle timeout).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sso_issuer', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('sso_subject', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', core.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('mfa_failures', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('mfa_failed_at', core.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_unique_constraint('uq_agents_sso', ['sso_issuer', 'sso_subject'])
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.alter_column('mfa_failures', server_default=None)

    op.create_table('agent_recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'],
                            name=op.f('fk_agent_recovery_codes_agent_id_agents'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_recovery_codes'))
    )
    with op.batch_alter_table('agent_recovery_codes', schema=None) as batch_op:
        batch_op.create_index('ix_agent_recovery_codes_agent_hash', ['agent_id', 'code_hash'],
                              unique=False)

    # Sessions open at upgrade count as last seen when they started.
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', core.db.UTCDateTime(timezone=True),
                                      nullable=True))
    op.execute("UPDATE login_sessions SET last_seen_at = created_at")
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=core.db.UTCDateTime(timezone=True),
                              nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
    with op.batch_alter_table('agent_recovery_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_agent_recovery_codes_agent_hash')
    op.drop_table('agent_recovery_codes')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_constraint('uq_agents_sso', type_='unique')
        batch_op.drop_column('mfa_failed_at')
        batch_op.drop_column('mfa_failures')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('sso_subject')
        batch_op.drop_column('sso_issuer')
