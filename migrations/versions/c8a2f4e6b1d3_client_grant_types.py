"""client grant types: the stored list is the truth; drop what a client cannot hold

Grant types are now chosen per client and validated against the registered grants
(``idp.oidc.grants``). Rows written before could hold a combination the rules now refuse: a
public client with client_credentials, or refresh_token without a grant that logs users in.
Those entries go; everything else (including client_credentials on existing confidential
clients, which running integrations may use) stays as it was.

Revision ID: c8a2f4e6b1d3
Revises: 3b8e6f1a2c5d
Create Date: 2026-12-03 13:30:00

"""
import json

import sqlalchemy as sa
from alembic import op

revision = 'c8a2f4e6b1d3'
down_revision = '3b8e6f1a2c5d'
branch_labels = None
depends_on = None

USER_GRANTS = ("authorization_code", "urn:ietf:params:oauth:grant-type:device_code")


def _grant_types(value):
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or [])


def upgrade():
    clients = sa.table("clients", sa.column("id", sa.Integer), sa.column("public", sa.Boolean),
                       sa.column("grant_types", sa.JSON))
    connection = op.get_bind()
    for row in connection.execute(sa.select(clients.c.id, clients.c.public, clients.c.grant_types)).all():
        before = _grant_types(row.grant_types)
        after = [g for g in before if not (g == "client_credentials" and row.public)]
        if not any(g in after for g in USER_GRANTS):
            after = [g for g in after if g != "refresh_token"]
        if after != before:
            connection.execute(sa.update(clients).where(clients.c.id == row.id).values(grant_types=after))


def downgrade():
    """Nothing to restore: the entries removed never worked."""
