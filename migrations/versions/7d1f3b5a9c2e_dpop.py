"""DPoP (RFC 9449): proofs seen (replay detection), keys bound to codes and tokens, and the
per-client "DPoP required" setting (``dpop_bound_access_tokens``, RFC 9449 §5.2)

Revision ID: 7d1f3b5a9c2e
Revises: 6d3f9a2b8e41
Create Date: 2026-12-03 16:40:00

"""
import sqlalchemy as sa
from alembic import op

import idp.models.base

revision = '7d1f3b5a9c2e'
down_revision = '6d3f9a2b8e41'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dpop_proofs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proof_digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dpop_proofs')),
    sa.UniqueConstraint('proof_digest', name=op.f('uq_dpop_proofs_proof_digest'))
    )
    with op.batch_alter_table('dpop_proofs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dpop_proofs_expires_at'), ['expires_at'], unique=False)
    # Plain ADD COLUMN: a batch copy of clients or tokens on SQLite would, with foreign keys on,
    # cascade the drop of the old table to the rows that reference it.
    op.add_column('clients', sa.Column('dpop_bound_access_tokens', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.add_column('authorization_codes', sa.Column('dpop_jkt', sa.String(length=64), nullable=True))
    op.add_column('issued_tokens', sa.Column('dpop_jkt', sa.String(length=64), nullable=True))


def downgrade():
    op.drop_column('issued_tokens', 'dpop_jkt')
    op.drop_column('authorization_codes', 'dpop_jkt')
    op.drop_column('clients', 'dpop_bound_access_tokens')
    with op.batch_alter_table('dpop_proofs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dpop_proofs_expires_at'))
    op.drop_table('dpop_proofs')
