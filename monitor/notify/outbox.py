"""The alerts outbox: alerts are written with the version that caused them, then delivered and retried."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import select

from monitor.meaning.significance import SEVERITY_RANK
from monitor.store.database import Alert, Source, Version, utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from monitor.config import Config, SourceConfig
    from monitor.outcome import CheckResult

SCHEMA_VERSION = 1
MAX_CHANGES_PER_ALERT = 20
EVENT_TYPES = ("policy.changed", "source.failing", "source.recovered", "source.unstable", "test")
SOURCE_EVENTS = ("source.failing", "source.recovered", "source.unstable")


def alert_id(*parts: object) -> str:
    """A stable id for one alert: the same cause and channel always give the same id (receivers dedupe)."""
    return "msg_" + hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


def envelope(event_type: str, data: dict[str, Any], timestamp: datetime | None = None) -> dict[str, Any]:
    """The public webhook envelope (`alerts/webhook.schema.json`); emails are rendered from it too."""
    return {"type": event_type, "schema_version": SCHEMA_VERSION,
            "timestamp": (timestamp or utcnow()).isoformat(), "data": data}


def enqueue_change_alerts(session: Session, config: Config, source: SourceConfig, version: Version,
                          result: CheckResult) -> list[Alert]:
    """Queue one `policy.changed` alert per channel whose filters some alert-worthy change passes."""
    alerts = []
    for name, channel in config.channels_for(source).items():
        wanted = set(channel.topics or source.topics)
        floor = SEVERITY_RANK[channel.min_severity]
        changes = [c for c in result.changes
                   if set(c.alert_topics(source.topics)) & wanted and SEVERITY_RANK[c.severity] >= floor]
        if not changes:
            continue
        key = alert_id("policy.changed", source.name, version.seq, name)
        if _exists(session, key):
            continue
        topics = sorted({t for c in changes for t in c.alert_topics(source.topics)} & wanted)
        severity = max((c.severity for c in changes), key=SEVERITY_RANK.__getitem__)
        data = {
            "source": source.name, "url": source.url, "version": result.version,
            "previous_version": result.previous_version, "topics": topics, "severity": severity,
            "changes": [c.to_json() for c in changes[:MAX_CHANGES_PER_ALERT]],
            "more_changes": max(0, len(changes) - MAX_CHANGES_PER_ALERT),
            "diff_command": f"policy-monitor diff {source.name} {result.previous_version} {result.version}",
        }
        alert = Alert(source_id=version.source_id, channel=name, event_type="policy.changed",
                      idempotency_key=key, payload=envelope("policy.changed", data), version_id=version.id)
        session.add(alert)
        alerts.append(alert)
    return alerts


def enqueue_event_alert(session: Session, config: Config, source_cfg: SourceConfig, event_type: str,
                        data: dict[str, Any], *, key_parts: tuple | list) -> list[Alert]:
    """Queue a source health alert (`source.failing`, `source.recovered`, `source.unstable`) for every
    channel of the source, inside the caller's transaction.

    `data` is merged into the envelope's `data` after `source` and `url` (which are filled in here);
    what the schema expects per event type (see `alerts/webhook.schema.json`):

    - `source.failing`: `consecutive_failures` (int), `error` (str), optional `since` (ISO time of
      the first failure), `last_success` (ISO time or null);
    - `source.recovered`: `consecutive_failures` (int, how many failed before), optional `since`;
    - `source.unstable`: `reason` (str), optional `versions` (list of version numbers flipping).

    `key_parts` make the alert's stable id together with the event type, source and channel, e.g.
    `("failing-since", first_failed_check_id)`: the same parts never queue a second alert, so a
    retried daemon round cannot alert twice. Channel `topics`/`min_severity` filters do not apply
    to health events (a broken source matters whatever topics a channel watches).

    >>> enqueue_event_alert(session, config, source, "source.failing",       # doctest: +SKIP
    ...                     {"consecutive_failures": 3, "error": "HTTP 503"}, key_parts=("check", 41))
    """
    if event_type not in SOURCE_EVENTS:
        raise ValueError(f"unknown source event {event_type!r}; expected one of {', '.join(SOURCE_EVENTS)}")
    row = session.exec(select(Source).where(Source.name == source_cfg.name)).first()
    alerts = []
    for name in config.channels_for(source_cfg):
        key = alert_id(event_type, source_cfg.name, *key_parts, name)
        if _exists(session, key):
            continue
        payload = envelope(event_type, {"source": source_cfg.name, "url": source_cfg.url, **data})
        alert = Alert(source_id=row.id if row else None, channel=name, event_type=event_type,
                      idempotency_key=key, payload=payload)
        session.add(alert)
        alerts.append(alert)
    return alerts


def _exists(session: Session, key: str) -> bool:
    session.flush()  # alerts added earlier in this transaction count too
    return session.exec(select(Alert.id).where(Alert.idempotency_key == key)).first() is not None
