"""API keys carry scopes and an optional expiry; a key without a realm is a server-level key

Revision ID: 3b8e6f1a2c5d
Revises: b414b0e14b7d
Create Date: 2026-12-03 13:30:00

Keys made before scopes existed keep doing everything they could: each gets every scope a
realm key can hold, as the list stood when scopes arrived (written out here, not imported, so
that this migration means the same thing whatever the code becomes).
"""

import sqlalchemy as sa
from alembic import op

import idp.models.base

revision = '3b8e6f1a2c5d'
down_revision = 'b414b0e14b7d'
branch_labels = None
depends_on = None

EVERY_REALM_SCOPE = [
    "users:read", "users:write", "sessions:write", "clients:read", "clients:write", "providers:read",
    "providers:write", "realms:read", "realms:admin", "audit:read", "api_keys:admin",
]


def upgrade():
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', idp.models.base.UTCDateTime(), nullable=True))
        batch_op.alter_column('realm_id', existing_type=sa.Integer(), nullable=True)
    api_keys = sa.table('api_keys', sa.column('scopes', sa.JSON()))
    op.execute(api_keys.update().values(scopes=EVERY_REALM_SCOPE))
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.alter_column('scopes', existing_type=sa.JSON(), nullable=False)


def downgrade():
    op.execute("DELETE FROM api_keys WHERE realm_id IS NULL")
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.alter_column('realm_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scopes')
