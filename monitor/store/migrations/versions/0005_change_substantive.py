"""change.substantive: whether a change is one of substance (not form-only, a move or a date stamp), for `timeline`

Existing rows are filled from their summaries: a change that is not substantive always carries one of
the fixed summaries significance.py gives such changes, and an unrated change is never substantive.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# The summaries monitor.meaning.significance gives a change that is not substantive (as of 0004's release).
NOT_SUBSTANTIVE = (
    "form-only edit, no change in substance", "date stamp updated", "section moved", "section renamed",
    "section split", "sections merged", "table of contents or navigation changed",
    "a line became a heading, or a heading a line",
)


def upgrade() -> None:
    with op.batch_alter_table('change') as batch:
        batch.add_column(sa.Column('substantive', sa.Boolean(), nullable=True))
    change = sa.table('change', sa.column('substantive', sa.Boolean()), sa.column('summary', sa.String()),
                      sa.column('not_rated', sa.String()))
    substance = sa.and_(change.c.not_rated.is_(None), change.c.summary.not_in(NOT_SUBSTANTIVE),
                        sa.not_(change.c.summary.like('section renamed: %')))
    op.execute(change.update().values(substantive=sa.case((substance, sa.true()), else_=sa.false())))
    with op.batch_alter_table('change') as batch:
        batch.alter_column('substantive', existing_type=sa.Boolean(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('change') as batch:
        batch.drop_column('substantive')
