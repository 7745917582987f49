"""dynamic client registration (RFC 7591/7592) and token exchange (RFC 8693): initial access
tokens, self-registered clients with their registration access token digest, the realm
switches, and the act/audience of exchanged tokens

Revision ID: 6d2f9a1c4e7b
Revises: 4db1ed83930a
Create Date: 2026-12-03 16:40:00

"""
from alembic import op
import sqlalchemy as sa

import idp.models.base


revision = '6d2f9a1c4e7b'
down_revision = '4db1ed83930a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'initial_access_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('realm_id', sa.Integer(), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('max_uses', sa.Integer(), nullable=True),
        sa.Column('uses', sa.Integer(), nullable=False),
        sa.Column('created_at', idp.models.base.UTCDateTime(), nullable=False),
        sa.Column('expires_at', idp.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_digest'),
    )
    with op.batch_alter_table('initial_access_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_initial_access_tokens_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_initial_access_tokens_expires_at'), ['expires_at'], unique=False)
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('self_registered', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('registration_token_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('expires_at', idp.models.base.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_clients_expires_at'), ['expires_at'], unique=False)
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dynamic_client_registration', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('anonymous_client_registration', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('issued_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('act', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('audience', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('issued_tokens', schema=None) as batch_op:
        batch_op.drop_column('audience')
        batch_op.drop_column('act')
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.drop_column('anonymous_client_registration')
        batch_op.drop_column('dynamic_client_registration')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_expires_at'))
        batch_op.drop_column('expires_at')
        batch_op.drop_column('registration_token_digest')
        batch_op.drop_column('self_registered')
    with op.batch_alter_table('initial_access_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_initial_access_tokens_expires_at'))
        batch_op.drop_index(batch_op.f('ix_initial_access_tokens_realm_id'))
    op.drop_table('initial_access_tokens')
