"""worker, dispatch and host_turn tables for the distributed mode (`policy-monitor worker` and `dispatcher`)

Revision ID: 0006_distributed_workers
Revises: 0004
Create Date: 2026-12-03 13:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006_distributed_workers'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'worker',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('role', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('host', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('heartbeat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('heartbeat_interval', sa.Float(), nullable=False),
        sa.Column('stopped_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('running', sa.Integer(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('engine_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('worker') as batch:
        batch.create_index(batch.f('ix_worker_name'), ['name'], unique=False)
    op.create_table(
        'dispatch',
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('next_run_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('queued_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('source'),
    )
    with op.batch_alter_table('dispatch') as batch:
        batch.create_index(batch.f('ix_dispatch_next_run_at'), ['next_run_at'], unique=False)
    op.create_table(
        'host_turn',
        sa.Column('host', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('next_start_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('host'),
    )


def downgrade() -> None:
    op.drop_table('host_turn')
    with op.batch_alter_table('dispatch') as batch:
        batch.drop_index(batch.f('ix_dispatch_next_run_at'))
    op.drop_table('dispatch')
    with op.batch_alter_table('worker') as batch:
        batch.drop_index(batch.f('ix_worker_name'))
    op.drop_table('worker')
