"""realm password policy: minimum length, common-password and email checks per realm

Revision ID: e4c1a9d7b3f2
Revises: d5e2b8c4a7f1
Create Date: 2026-12-01 10:00:00

"""
import sqlalchemy as sa
from alembic import op
from flask import current_app, has_app_context

revision = 'e4c1a9d7b3f2'
down_revision = 'd5e2b8c4a7f1'
branch_labels = None
depends_on = None


def _configured_min_length() -> int:
    """Existing realms keep the minimum they had: the instance's ``login.password_min_length``."""
    settings = current_app.extensions.get("idp.settings") if has_app_context() else None
    value = settings.login.password_min_length if settings is not None else 8
    return max(8, min(128, int(value)))


def upgrade():
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_min_length', sa.Integer(), server_default='8', nullable=False))
        batch_op.add_column(sa.Column('password_block_common', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('password_block_email', sa.Boolean(), server_default=sa.true(), nullable=False))
    min_length = _configured_min_length()
    if min_length != 8:
        realms = sa.table('realms', sa.column('password_min_length', sa.Integer()))
        op.execute(realms.update().values(password_min_length=min_length))


def downgrade():
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.drop_column('password_block_email')
        batch_op.drop_column('password_block_common')
        batch_op.drop_column('password_min_length')
