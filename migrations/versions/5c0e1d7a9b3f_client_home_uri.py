"""clients.home_uri: the application's home page (OpenID Connect registration's ``client_uri``)

Revision ID: 5c0e1d7a9b3f
Revises: a4f1c7e3d9b2
Create Date: 2026-12-03 13:20:00

Error pages and the logout page offer a way back to the app ("Back to <app>") only when the
client registered where that is; nothing is derived from a redirect URI or a request.
"""
import sqlalchemy as sa
from alembic import op

revision = '5c0e1d7a9b3f'
down_revision = 'a4f1c7e3d9b2'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('clients', sa.Column('home_uri', sa.String(length=500), nullable=True))


def downgrade():
    # Plain ALTER (SQLite 3.35+ drops a column in place): a batch copy of ``clients`` would
    # cascade deletes to the tokens and consents that reference it.
    op.drop_column('clients', 'home_uri')
