"""The outbox as people and scripts read it: `alerts --json` rows, also served by the web view's /api/alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from monitor.store.database import Alert, Store, utcnow

ALERT_STATUSES = ("pending", "failed", "delivered", "superseded")  # superseded: undone by a revert before delivery


def alert_json(alert: Alert) -> dict[str, Any]:
    """One alert as `alerts --json` (and the web view's /api/alerts) lists it."""
    from monitor.notify.render import subject_line

    data = alert.payload.get("data", {}) if isinstance(alert.payload, dict) else {}
    try:
        subject = subject_line(alert.payload).removeprefix("[policy-monitor] ")
    except Exception:  # an unreadable old payload must not break the listing
        subject = alert.event_type
    return {
        "id": alert.id, "webhook_id": alert.idempotency_key, "channel": alert.channel,
        "type": alert.event_type, "source": data.get("source"), "summary": subject, "status": alert.status,
        "attempts": alert.attempts, "created_at": alert.created_at.isoformat(),
        "next_attempt_at": alert.next_attempt_at.isoformat() if alert.status == "pending" else None,
        "delivered_at": alert.delivered_at.isoformat() if alert.delivered_at else None,
        "last_error": alert.last_error,
    }


def is_due(when: datetime | str) -> bool:
    """Has a pending alert's next attempt time (a datetime, or an `alert_json` ISO string) come? Shown as
    "due now" rather than as a time already past (a new alert, or one held back for an unset secret)."""
    moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) <= utcnow()


def list_alerts(store: Store, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The outbox, newest first, as `alert_json` rows; `status` keeps only pending, failed or delivered."""
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    if status:
        query = query.where(Alert.status == status)
    with store.session() as session:
        return [alert_json(a) for a in session.exec(query)]
