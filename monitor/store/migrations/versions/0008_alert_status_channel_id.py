"""alert (status, channel, id): the outbox's health without reading its delivered alerts

`status` and the web overview count the pending and failed alerts (found by their status, however many were
delivered) and ask, per channel with a failed alert, whether a later alert to it was delivered: answered
from this index's first entry after the failure. Status first, not channel: with the planner's statistics
(ANALYZE, PRAGMA optimize) SQLite walked a (channel, status, id) index whole to group by channel.

Revision ID: 0008_alert_status_channel_id
Revises: 0007_text_fingerprint
Create Date: 2026-12-06 10:00:00
"""
from alembic import op

revision = '0008_alert_status_channel_id'
down_revision = '0007_text_fingerprint'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_alert_status_channel_id', 'alert', ['status', 'channel', 'id'])


def downgrade() -> None:
    op.drop_index('ix_alert_status_channel_id', table_name='alert')
