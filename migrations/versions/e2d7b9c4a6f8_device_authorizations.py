"""device authorizations: RFC 8628 devices waiting for their user

Revision ID: e2d7b9c4a6f8
Revises: c8a2f4e6b1d3
Create Date: 2026-12-03 13:30:00

"""
import sqlalchemy as sa
from alembic import op

import idp.models.base

revision = 'e2d7b9c4a6f8'
down_revision = 'c8a2f4e6b1d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('device_authorizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('device_code_digest', sa.String(length=64), nullable=False),
    sa.Column('user_code_digest', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('interval', sa.Integer(), nullable=False),
    sa.Column('last_polled_at', idp.models.base.UTCDateTime(), nullable=True),
    sa.Column('user_id', sa.String(length=32), nullable=True),
    sa.Column('auth_time', sa.Integer(), nullable=True),
    sa.Column('amr', sa.JSON(), nullable=False),
    sa.Column('acr', sa.String(length=64), nullable=True),
    sa.Column('session_sid', sa.String(length=64), nullable=True),
    sa.Column('created_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_device_authorizations_realm_id_realms'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_device_authorizations_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_authorizations')),
    sa.UniqueConstraint('device_code_digest', name=op.f('uq_device_authorizations_device_code_digest')),
    sa.UniqueConstraint('realm_id', 'user_code_digest', name='uq_device_authorizations_user_code')
    )
    with op.batch_alter_table('device_authorizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_authorizations_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_authorizations_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('device_authorizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_authorizations_expires_at'))
        batch_op.drop_index(batch_op.f('ix_device_authorizations_realm_id'))

    op.drop_table('device_authorizations')
