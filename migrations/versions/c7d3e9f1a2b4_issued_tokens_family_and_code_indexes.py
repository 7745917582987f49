"""issued_tokens: the family and code indexes include the realm

A family's tokens and a code's tokens are revoked by statements that name the realm as well
(``tokens.revoke_family``, ``revoke_tokens_of_code``). With single-column indexes on
``family_id``, ``authorization_code_id`` and ``realm_id``, PostgreSQL's generic plan for such a
prepared statement could pick the realm's index and go through every token of the realm. The
composite indexes match both columns; their leading column still serves the lookups (and the
foreign key's ``ON DELETE SET NULL``) the single-column ones did.

Revision ID: c7d3e9f1a2b4
Revises: b5e2c8d4a1f3
Create Date: 2026-12-04 10:15:00

"""
from alembic import op

revision = 'c7d3e9f1a2b4'
down_revision = 'b5e2c8d4a1f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issued_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_issued_tokens_family_id_realm_id', ['family_id', 'realm_id'], unique=False)
        batch_op.create_index('ix_issued_tokens_authorization_code_id_realm_id', ['authorization_code_id', 'realm_id'],
                              unique=False)
        batch_op.drop_index('ix_issued_tokens_family_id')
        batch_op.drop_index('ix_issued_tokens_authorization_code_id')


def downgrade():
    with op.batch_alter_table('issued_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_issued_tokens_authorization_code_id', ['authorization_code_id'], unique=False)
        batch_op.create_index('ix_issued_tokens_family_id', ['family_id'], unique=False)
        batch_op.drop_index('ix_issued_tokens_authorization_code_id_realm_id')
        batch_op.drop_index('ix_issued_tokens_family_id_realm_id')
