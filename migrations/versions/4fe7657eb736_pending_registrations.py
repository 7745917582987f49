"""pending registrations: users.registration_pending_since (a hosted registration not yet verified)

Revision ID: 4fe7657eb736
Revises: 0e9869bbd20b
Create Date: 2026-12-10 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import idp.models.base

revision = '4fe7657eb736'
down_revision = '0e9869bbd20b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registration_pending_since', idp.models.base.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_registration_pending_since'), ['registration_pending_since'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_registration_pending_since'))
        batch_op.drop_column('registration_pending_since')
