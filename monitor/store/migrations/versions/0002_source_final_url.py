"""source.final_url: where the last successful fetch ended after redirects

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source') as batch:
        batch.add_column(sa.Column('final_url', sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('source') as batch:
        batch.drop_column('final_url')
