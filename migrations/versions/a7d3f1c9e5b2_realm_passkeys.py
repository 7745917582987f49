"""passkeys: realm settings (passkey sign-in, user verification, the offer after a login);
otp_challenges.user_id nullable (a passkey sign-in's challenge has no user yet)

Revision ID: a7d3f1c9e5b2
Revises: 4db1ed83930a
Create Date: 2026-12-03 16:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a7d3f1c9e5b2'
down_revision = '4db1ed83930a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('passkey_sign_in', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('passkey_user_verification_required', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
        batch_op.add_column(sa.Column('passkey_offer_after_login', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('otp_challenges', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.String(length=32), nullable=True)


def downgrade():
    otp_challenges = sa.table('otp_challenges', sa.column('user_id', sa.String(32)))
    op.execute(otp_challenges.delete().where(otp_challenges.c.user_id.is_(None)))
    with op.batch_alter_table('otp_challenges', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.String(length=32), nullable=False)
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.drop_column('passkey_offer_after_login')
        batch_op.drop_column('passkey_user_verification_required')
        batch_op.drop_column('passkey_sign_in')
