"""clients.home_uri: the application's home page (OpenID Connect registration's ``client_uri``)

Revision ID: 5c0e1d7a9b3f
Revises: b414b0e14b7d
Create Date: 2026-12-03 13:20:00

Error pages and the logout page offer a way back to the app ("Back to <app>") only when the
client registered where that is; nothing is derived from a redirect URI or a request.
"""
import sqlalchemy as sa
from alembic import op

revision = '5c0e1d7a9b3f'
down_revision = 'b414b0e14b7d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients') as batch_op:
        batch_op.add_column(sa.Column('home_uri', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('clients') as batch_op:
        batch_op.drop_column('home_uri')
