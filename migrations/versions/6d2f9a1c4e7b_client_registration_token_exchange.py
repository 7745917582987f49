"""dynamic client registration (RFC 7591/7592) and token exchange (RFC 8693): initial access
tokens, self-registered clients with their registration access token digest, the realm
switches, and the act/audience of exchanged tokens

Revision ID: 6d2f9a1c4e7b
Revises: 7d1f3b5a9c2e
Create Date: 2026-12-03 16:40:00

"""
from alembic import op
import sqlalchemy as sa

import idp.models.base


revision = '6d2f9a1c4e7b'
down_revision = '7d1f3b5a9c2e'
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
        sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_initial_access_tokens_realm_id_realms'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_initial_access_tokens')),
        sa.UniqueConstraint('token_digest', name=op.f('uq_initial_access_tokens_token_digest')),
    )
    op.create_index(op.f('ix_initial_access_tokens_realm_id'), 'initial_access_tokens', ['realm_id'])
    op.create_index(op.f('ix_initial_access_tokens_expires_at'), 'initial_access_tokens', ['expires_at'])
    # Plain ADD COLUMN: a batch copy of realms or clients on SQLite would, with foreign keys on,
    # cascade-delete the rows that reference them.
    op.add_column('clients', sa.Column('self_registered', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('clients', sa.Column('registration_token_digest', sa.String(length=64), nullable=True))
    op.add_column('clients', sa.Column('expires_at', idp.models.base.UTCDateTime(), nullable=True))
    op.create_index(op.f('ix_clients_expires_at'), 'clients', ['expires_at'])
    op.add_column('realms', sa.Column('dynamic_client_registration', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.add_column('realms', sa.Column('anonymous_client_registration', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.add_column('issued_tokens', sa.Column('act', sa.JSON(), nullable=True))
    op.add_column('issued_tokens', sa.Column('audience', sa.JSON(), nullable=True))


def downgrade():
    op.drop_column('issued_tokens', 'audience')
    op.drop_column('issued_tokens', 'act')
    op.drop_column('realms', 'anonymous_client_registration')
    op.drop_column('realms', 'dynamic_client_registration')
    op.drop_index(op.f('ix_clients_expires_at'), table_name='clients')
    op.drop_column('clients', 'expires_at')
    op.drop_column('clients', 'registration_token_digest')
    op.drop_column('clients', 'self_registered')
    op.drop_index(op.f('ix_initial_access_tokens_expires_at'), table_name='initial_access_tokens')
    op.drop_index(op.f('ix_initial_access_tokens_realm_id'), table_name='initial_access_tokens')
    op.drop_table('initial_access_tokens')
