"""alert.claimed_by: host:pid of the process whose lease an alert is under, so a dead one's is taken over

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert') as batch:
        batch.add_column(sa.Column('claimed_by', sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert') as batch:
        batch.drop_column('claimed_by')
