"""client resource servers: which clients may introspect which other clients' tokens

Revision ID: db978f315ec8
Revises: 4fe7657eb736
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'db978f315ec8'
down_revision = '4fe7657eb736'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('client_resource_servers',
    sa.Column('resource_server_id', sa.Integer(), nullable=False),
    sa.Column('served_client_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['resource_server_id'], ['clients.id'],
                            name=op.f('fk_client_resource_servers_resource_server_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['served_client_id'], ['clients.id'],
                            name=op.f('fk_client_resource_servers_served_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_server_id', 'served_client_id', name=op.f('pk_client_resource_servers'))
    )
    with op.batch_alter_table('client_resource_servers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_resource_servers_served_client_id'), ['served_client_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('client_resource_servers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_resource_servers_served_client_id'))
    op.drop_table('client_resource_servers')
