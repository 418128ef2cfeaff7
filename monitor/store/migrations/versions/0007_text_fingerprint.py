"""source.text_fingerprint (the cheap "same text" route) and a nullable section.topics (classified lazily)

source.text_fingerprint: the fingerprint (monitor.capture.fingerprint) of the last page whose text was the
latest version's; a page with the same fingerprint has that text, without a full normalization.
section.topics NULL: not classified yet (the first version's sections are classified on display).

Revision ID: 0007_text_fingerprint
Revises: 0006_distributed_workers
Create Date: 2026-12-05 13:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_text_fingerprint'
down_revision = '0006_distributed_workers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source') as batch:
        batch.add_column(sa.Column('text_fingerprint', sa.String(), nullable=True))
    with op.batch_alter_table('section') as batch:
        batch.alter_column('topics', existing_type=sa.JSON(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('section') as batch:
        batch.execute("UPDATE section SET topics = '[]' WHERE topics IS NULL")
        batch.alter_column('topics', existing_type=sa.JSON(), nullable=False)
    # a plain DROP COLUMN (SQLite >= 3.35): a batch rebuild of `source` would drop a table that other
    # tables' foreign keys point at, which SQLite refuses
    op.drop_column('source', 'text_fingerprint')
