"""federation and step-up hardening: per-provider allow-list of upstream MFA values, whether a
link's email was proven, when a session last passed our second factor, and account-page work in
progress kept with the session

Revision ID: a91e3c7d5f20
Revises: f7a3c5e9d1b4
Create Date: 2026-12-03 10:00:00

``trust_email`` (whether the upstream's ``email_verified`` proves an address) starts on for the
kinds whose providers verify addresses (google, apple, github) and off for the others
(microsoft, whose ``email`` claim is not verified, and generic oidc). Providers already in
``upstream`` mode accepted any ``amr`` containing ``mfa`` or an ``acr``
containing "mfa"/"multi-factor"; they now accept exactly ``amr`` "mfa" (set below) and no
``acr`` value until the operator names them (``idp providers set``). Existing links keep NULL
in ``email_verified``: nobody recorded whether their address was proven, so the next password
reset or email verification of their account removes them (and mails the owner).
"""
import sqlalchemy as sa
from alembic import op

revision = 'a91e3c7d5f20'
down_revision = 'f7a3c5e9d1b4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('upstream_mfa_amr', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('upstream_mfa_acr', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('trust_email', sa.Boolean(), nullable=True))
    providers = sa.table('identity_providers', sa.column('id', sa.Integer), sa.column('mfa_mode', sa.String),
                         sa.column('kind', sa.String), sa.column('trust_email', sa.Boolean),
                         sa.column('upstream_mfa_amr', sa.JSON), sa.column('upstream_mfa_acr', sa.JSON))
    op.execute(providers.update().values(trust_email=providers.c.kind.in_(['google', 'apple', 'github'])))
    op.execute(providers.update().where(providers.c.mfa_mode == 'upstream')
               .values(upstream_mfa_amr=['mfa'], upstream_mfa_acr=[]))
    op.execute(providers.update().where(providers.c.mfa_mode != 'upstream')
               .values(upstream_mfa_amr=[], upstream_mfa_acr=[]))
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.alter_column('upstream_mfa_amr', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('upstream_mfa_acr', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('trust_email', existing_type=sa.Boolean(), nullable=False)

    with op.batch_alter_table('federated_identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified', sa.Boolean(), nullable=True))

    with op.batch_alter_table('browser_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mfa_at', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pending', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('browser_sessions', schema=None) as batch_op:
        batch_op.drop_column('pending')
        batch_op.drop_column('mfa_at')

    with op.batch_alter_table('federated_identities', schema=None) as batch_op:
        batch_op.drop_column('email_verified')

    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.drop_column('trust_email')
        batch_op.drop_column('upstream_mfa_acr')
        batch_op.drop_column('upstream_mfa_amr')
