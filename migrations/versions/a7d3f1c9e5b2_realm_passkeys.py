"""passkeys: realm settings (passkey sign-in, user verification, the offer after a login);
otp_challenges.user_id nullable (a passkey sign-in's challenge has no user yet);
users.factor_offer_seen_at (the offer of a passkey after a login is made once)

Revision ID: a7d3f1c9e5b2
Revises: a7c3e5f9b2d1
Create Date: 2026-12-03 16:40:00

"""
import sqlalchemy as sa
from alembic import op

from idp.models.base import UTCDateTime

revision = 'a7d3f1c9e5b2'
down_revision = 'a7c3e5f9b2d1'
branch_labels = None
depends_on = None


REALM_COLUMNS = ('passkey_sign_in', 'passkey_user_verification_required', 'passkey_offer_after_login')


def upgrade():
    # in place: a batch rebuild of ``realms`` on SQLite would drop the table every other one
    # refers to (and cascade the deletion to them)
    op.add_column('realms', sa.Column('passkey_sign_in', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('realms', sa.Column('passkey_user_verification_required', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
    op.add_column('realms', sa.Column('passkey_offer_after_login', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.add_column('users', sa.Column('factor_offer_seen_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('otp_challenges', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.String(length=32), nullable=True)


def downgrade():
    otp_challenges = sa.table('otp_challenges', sa.column('user_id', sa.String(32)))
    op.execute(otp_challenges.delete().where(otp_challenges.c.user_id.is_(None)))
    with op.batch_alter_table('otp_challenges', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.String(length=32), nullable=False)
    op.execute(sa.text('ALTER TABLE users DROP COLUMN factor_offer_seen_at'))
    for column in reversed(REALM_COLUMNS):
        op.execute(sa.text(f'ALTER TABLE realms DROP COLUMN {column}'))
