"""SCIM 2.0: a user's and an organization's externalId (the provisioning client's own id for them); API keys that held
every realm scope also get the SCIM scopes, so a key that could do everything still can

Revision ID: a7c3e5f9b2d1
Revises: c4b1379c591f
Create Date: 2026-12-03 16:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e5f9b2d1'
down_revision = 'c4b1379c591f'
branch_labels = None
depends_on = None

#: Every realm scope before SCIM, and the scopes it brings (written out, not imported).
EVERY_REALM_SCOPE_BEFORE = {
    "users:read", "users:write", "sessions:write", "clients:read", "clients:write", "providers:read",
    "providers:write", "realms:read", "realms:admin", "audit:read", "api_keys:admin", "webhooks:read",
    "webhooks:admin", "orgs:read", "orgs:write", "roles:read", "roles:write",
}
SCIM_SCOPES = ["scim:read", "scim:write"]


def _rewrite_scopes(change):
    api_keys = sa.table('api_keys', sa.column('id', sa.Integer()), sa.column('scopes', sa.JSON()))
    connection = op.get_bind()
    for key_id, scopes in connection.execute(sa.select(api_keys.c.id, api_keys.c.scopes)).all():
        changed = change(list(scopes or []))
        if changed is not None:
            connection.execute(api_keys.update().where(api_keys.c.id == key_id).values(scopes=changed))


def upgrade():
    # plain ADD COLUMN and CREATE INDEX: a batch rebuild of ``users`` would drop the table every
    # other one refers to on SQLite
    op.add_column('users', sa.Column('external_id', sa.String(length=255), nullable=True))
    op.create_index('ix_users_realm_external_id', 'users', ['realm_id', 'external_id'], unique=False)
    op.add_column('organizations', sa.Column('external_id', sa.String(length=255), nullable=True))
    _rewrite_scopes(lambda scopes: scopes + SCIM_SCOPES if EVERY_REALM_SCOPE_BEFORE <= set(scopes) else None)


def downgrade():
    _rewrite_scopes(lambda scopes: [s for s in scopes if s not in SCIM_SCOPES] if set(SCIM_SCOPES) & set(scopes)
                    else None)
    op.execute(sa.text('ALTER TABLE organizations DROP COLUMN external_id'))
    op.drop_index('ix_users_realm_external_id', table_name='users')
    op.execute(sa.text('ALTER TABLE users DROP COLUMN external_id'))
