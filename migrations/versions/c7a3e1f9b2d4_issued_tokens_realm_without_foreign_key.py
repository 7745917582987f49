"""issued_tokens.realm_id without its foreign key: every token inserted checked it by locking the
realm's one row (``FOR KEY SHARE``), so concurrent refreshes and token responses of a realm all
queued on that row (PostgreSQL turns concurrent share locks into multixacts). Realms are never
deleted, so the ``ON DELETE CASCADE`` it carried never ran. The column and its index stay; the
user's and the authorization code's keys stay (a user's deletion still ends their tokens).

Revision ID: c7a3e1f9b2d4
Revises: b5e2c8d4a1f3
Create Date: 2026-12-04 04:05:00

"""
from alembic import op

revision = 'c7a3e1f9b2d4'
down_revision = 'b5e2c8d4a1f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issued_tokens', schema=None) as batch_op:
        batch_op.drop_constraint('fk_issued_tokens_realm_id_realms', type_='foreignkey')


def downgrade():
    with op.batch_alter_table('issued_tokens', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_issued_tokens_realm_id_realms', 'realms', ['realm_id'], ['id'],
                                    ondelete='CASCADE')
