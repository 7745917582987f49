"""email keys: users.email_normalized, the one form accounts are looked up by, unique per realm

Revision ID: b414b0e14b7d
Revises: db978f315ec8
Create Date: 2026-12-15 10:00:00

Each existing user gets ``idp.services.users.email_key(email)`` (computed here in Python: SQL
``lower()`` folds ASCII only on SQLite). Before this revision ``Émile@example.com`` and
``émile@example.com`` could be two accounts of one realm on SQLite; now they have one key. Such
a collision does not stop the upgrade: the oldest account of the group keeps the key, and the
others get none (NULL, which no lookup matches and the unique index allows several of), so
they cannot be found or logged in to by email until an administrator gives them another
address (``idp users set USER_ID --new-email ...``) or deletes them. A warning names each.

The key rule is today's ``email_key``; a later change to that rule needs its own migration that
computes the column again.
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = 'b414b0e14b7d'
down_revision = 'db978f315ec8'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

MAX_KEY_LENGTH = 512
BATCH = 1000

users = sa.table(
    'users',
    sa.column('id', sa.String()),
    sa.column('realm_id', sa.Integer()),
    sa.column('email', sa.String()),
    sa.column('created_at', sa.DateTime()),
    sa.column('email_normalized', sa.String()),
)


def _keys(rows) -> list[dict]:
    """Each user's key, oldest first within a realm; None for the younger of a colliding group."""
    from idp.services.users import email_key

    kept: dict[tuple[int, str], tuple[str, str]] = {}
    updates = []
    for user_id, realm_id, email in rows:
        key = email_key(email)
        if len(key) > MAX_KEY_LENGTH:
            log.warning("user %s (%s) has no email key: the address is too long to compare; "
                        "give the account another address", user_id, email)
            key = None
        elif (realm_id, key) in kept:
            first_id, first_email = kept[(realm_id, key)]
            log.warning("user %s (%s) has the same email key as the older user %s (%s) of realm id %s: "
                        "it keeps its address but cannot be found or logged in to by email until it "
                        "gets another one", user_id, email, first_id, first_email, realm_id)
            key = None
        else:
            kept[(realm_id, key)] = (user_id, email)
        updates.append({"user_id": user_id, "key": key})
    return updates


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_normalized', sa.String(length=512), nullable=True))

    bind = op.get_bind()
    rows = bind.execute(
        sa.select(users.c.id, users.c.realm_id, users.c.email)
        .order_by(users.c.realm_id, users.c.created_at, users.c.id)
    ).all()
    updates = _keys(rows)
    statement = (users.update().where(users.c.id == sa.bindparam('user_id'))
                 .values(email_normalized=sa.bindparam('key')))
    for start in range(0, len(updates), BATCH):
        bind.execute(statement, updates[start:start + BATCH])

    # an index, not a constraint: SQLite creates it without rebuilding the table
    op.create_index('uq_users_realm_email_normalized', 'users', ['realm_id', 'email_normalized'], unique=True)


def downgrade():
    op.drop_index('uq_users_realm_email_normalized', table_name='users')
    # a plain ALTER TABLE (SQLite 3.35+): a batch rebuild of ``users`` would cascade its DROP
    op.drop_column('users', 'email_normalized')
