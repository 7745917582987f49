"""rate limit counters shared by all workers

Revision ID: b7e4d2c91f08
Revises: a1c0f3e2b7d4
Create Date: 2026-11-23 13:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e4d2c91f08'
down_revision = 'a1c0f3e2b7d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_limit_counters',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counters'))
    )


def downgrade():
    op.drop_table('rate_limit_counters')
