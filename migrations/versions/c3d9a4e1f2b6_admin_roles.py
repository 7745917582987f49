"""admin console roles

Revision ID: c3d9a4e1f2b6
Revises: b7e4d2c91f08
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa

import idp.models.base


revision = 'c3d9a4e1f2b6'
down_revision = 'b7e4d2c91f08'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('admin_roles',
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_admin_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_admin_roles'))
    )


def downgrade():
    op.drop_table('admin_roles')
