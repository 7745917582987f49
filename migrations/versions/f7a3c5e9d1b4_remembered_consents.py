"""remembered consents: the scopes each user allowed each third-party client

Revision ID: f7a3c5e9d1b4
Revises: e4c1a9d7b3f2
Create Date: 2026-12-08 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import idp.models.base

revision = 'f7a3c5e9d1b4'
down_revision = 'e4c1a9d7b3f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('granted_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_consents_realm_id_realms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_consents_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents')),
    sa.UniqueConstraint('user_id', 'client_id', name='uq_consents_user_client')
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consents_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_user_id'))
        batch_op.drop_index(batch_op.f('ix_consents_realm_id'))

    op.drop_table('consents')
