"""change.not_rated and a nullable change.severity: a change that could not be rated is still stored

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 10:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('change') as batch:
        batch.add_column(sa.Column('not_rated', sa.String(), nullable=True))
        batch.alter_column('severity', existing_type=sa.String(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('change') as batch:
        batch.execute("UPDATE change SET severity = 'low' WHERE severity IS NULL")
        batch.alter_column('severity', existing_type=sa.String(), nullable=False)
        batch.drop_column('not_rated')
