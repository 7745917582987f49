"""pushed authorization requests (RFC 9126) and the per-realm and per-client "PAR required"

Revision ID: a4f1c7e3d9b2
Revises: e2d7b9c4a6f8
Create Date: 2026-12-03 14:00:00

"""
import sqlalchemy as sa
from alembic import op

import idp.models.base

revision = 'a4f1c7e3d9b2'
down_revision = 'e2d7b9c4a6f8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pushed_authorization_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('request_uri_digest', sa.String(length=64), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('used_at', idp.models.base.UTCDateTime(), nullable=True),
    sa.Column('expires_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'],
                            name=op.f('fk_pushed_authorization_requests_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pushed_authorization_requests')),
    sa.UniqueConstraint('request_uri_digest', name=op.f('uq_pushed_authorization_requests_request_uri_digest'))
    )
    with op.batch_alter_table('pushed_authorization_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pushed_authorization_requests_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pushed_authorization_requests_expires_at'), ['expires_at'],
                              unique=False)
    # Plain ADD COLUMN: a batch copy of realms or clients on SQLite would, with foreign keys on,
    # cascade the drop of the old table to every user, token and consent.
    op.add_column('realms', sa.Column('require_pushed_authorization_requests', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.add_column('clients', sa.Column('require_pushed_authorization_requests', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+), for the same reason.
    op.drop_column('clients', 'require_pushed_authorization_requests')
    op.drop_column('realms', 'require_pushed_authorization_requests')
    with op.batch_alter_table('pushed_authorization_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pushed_authorization_requests_expires_at'))
        batch_op.drop_index(batch_op.f('ix_pushed_authorization_requests_realm_id'))
    op.drop_table('pushed_authorization_requests')
