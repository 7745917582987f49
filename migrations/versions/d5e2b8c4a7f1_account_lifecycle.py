"""account life cycle: single-use email links, remembered devices, realm settings for email
verification and "remember this device"

Revision ID: d5e2b8c4a7f1
Revises: c3d9a4e1f2b6
Create Date: 2026-11-24 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import idp.models.base

revision = 'd5e2b8c4a7f1'
down_revision = 'c3d9a4e1f2b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('email_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.Column('used_at', idp.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_email_links_realm_id_realms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_email_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_links')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_email_links_token_digest'))
    )
    with op.batch_alter_table('email_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_links_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_links_user_id'), ['user_id'], unique=False)

    op.create_table('remembered_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('cookie_digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', idp.models.base.UTCDateTime(), nullable=True),
    sa.Column('ip_address', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=400), nullable=True),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_remembered_devices_realm_id_realms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_remembered_devices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remembered_devices')),
    sa.UniqueConstraint('cookie_digest', name=op.f('uq_remembered_devices_cookie_digest'))
    )
    with op.batch_alter_table('remembered_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remembered_devices_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remembered_devices_user_id'), ['user_id'], unique=False)

    # Existing realms keep today's behaviour: no verification required, no remembered devices.
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_email_verification', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('remember_device_days', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.drop_column('remember_device_days')
        batch_op.drop_column('require_email_verification')

    with op.batch_alter_table('remembered_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remembered_devices_user_id'))
        batch_op.drop_index(batch_op.f('ix_remembered_devices_realm_id'))
    op.drop_table('remembered_devices')

    with op.batch_alter_table('email_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_links_user_id'))
        batch_op.drop_index(batch_op.f('ix_email_links_realm_id'))
    op.drop_table('email_links')
