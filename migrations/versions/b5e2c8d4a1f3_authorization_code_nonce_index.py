"""an index on authorization_codes.nonce: the nonce check of every authorization response
(``IdpOpenIDCode.exists_nonce``, at /authorize and again when the login finishes) read every
code of the realm, and used codes stay as long as the tokens issued from them

A hash index on PostgreSQL: a nonce may be up to 2,048 characters (``PARAMETER_CAPS``), more
than a B-tree entry holds; only equality is ever asked.

Revision ID: b5e2c8d4a1f3
Revises: 6d2f9a1c4e7b
Create Date: 2026-12-04 03:00:00

"""
from alembic import op

revision = 'b5e2c8d4a1f3'
down_revision = '6d2f9a1c4e7b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.create_index('ix_authorization_codes_nonce', ['nonce'], unique=False, postgresql_using='hash')


def downgrade():
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_authorization_codes_nonce', postgresql_using='hash')
