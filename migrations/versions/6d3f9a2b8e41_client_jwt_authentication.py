"""client authentication by JWT (RFC 7523: private_key_jwt, client_secret_jwt), clients' public
keys (jwks, jwks_uri), request objects (RFC 9101) and the used assertion ids

Revision ID: 6d3f9a2b8e41
Revises: a7d3f1c9e5b2
Create Date: 2026-12-03 16:40:00

"""
import sqlalchemy as sa
from alembic import op

import idp.models.base

revision = '6d3f9a2b8e41'
down_revision = 'a7d3f1c9e5b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('used_jwt_ids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_used_jwt_ids')),
    sa.UniqueConstraint('digest', name=op.f('uq_used_jwt_ids_digest'))
    )
    with op.batch_alter_table('used_jwt_ids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_jwt_ids_expires_at'), ['expires_at'], unique=False)
    # Plain ADD COLUMN: a batch copy of clients on SQLite would, with foreign keys on, cascade
    # the drop of the old table to every token and consent.
    op.add_column('clients', sa.Column('token_endpoint_auth_method', sa.String(length=32), nullable=True))
    op.add_column('clients', sa.Column('jwks', sa.JSON(), nullable=True))
    op.add_column('clients', sa.Column('jwks_uri', sa.String(length=2000), nullable=True))
    op.add_column('clients', sa.Column('client_secret_encrypted', sa.Text(), nullable=True))
    op.add_column('clients', sa.Column('require_signed_request_object', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))


def downgrade():
    op.drop_column('clients', 'require_signed_request_object')
    op.drop_column('clients', 'client_secret_encrypted')
    op.drop_column('clients', 'jwks_uri')
    op.drop_column('clients', 'jwks')
    op.drop_column('clients', 'token_endpoint_auth_method')
    with op.batch_alter_table('used_jwt_ids', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_jwt_ids_expires_at'))
    op.drop_table('used_jwt_ids')
