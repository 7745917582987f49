"""indexes on the expiry columns the purge reads (idp purge, the periodic purge)

Revision ID: 0e9869bbd20b
Revises: a91e3c7d5f20
Create Date: 2026-12-15 10:00:00

"""
from alembic import op

revision = '0e9869bbd20b'
down_revision = 'a91e3c7d5f20'
branch_labels = None
depends_on = None

INDEXES = [
    ('login_transactions', 'expires_at'),
    ('authorization_codes', 'expires_at'),
    ('issued_tokens', 'refresh_expires_at'),
    ('otp_challenges', 'expires_at'),
    ('email_links', 'expires_at'),
    ('browser_sessions', 'expires_at'),
    ('browser_sessions', 'revoked_at'),
    ('remembered_devices', 'expires_at'),
    ('rate_limit_counters', 'expires_at'),
]


def upgrade():
    for table, column in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def downgrade():
    for table, column in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
