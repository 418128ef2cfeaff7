"""The alerts outbox: alerts are written with the version that caused them, then delivered and retried.

`on_queued(callback)` lets a process hear, after the commit, that it queued alerts (the daemon then
delivers them at once instead of at its next delivery tick)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import select

from monitor.meaning.significance import SEVERITY_RANK, most_severe_first
from monitor.store.database import Alert, Source, Version, utcnow
from monitor.store.reverts import undone_by, undone_in

if TYPE_CHECKING:
    from sqlmodel import Session

    from monitor.config import Config, SourceConfig
    from monitor.meaning.significance import RatedChange
    from monitor.outcome import CheckResult

SCHEMA_VERSION = 1
MAX_CHANGES_PER_ALERT = 20
MAX_ERROR_CHARS = 500
MAX_RESTATED_ALERTS = 10      # a revert restates this many of the alerts it withdraws (it may undo many)
MAX_RESTATED_SUMMARIES = 3    # change summaries in each restated alert's one line
EVENT_TYPES = ("policy.changed", "policy.reverted", "source.failing", "source.recovered", "source.unstable", "test")
SOURCE_EVENTS = ("source.failing", "source.recovered", "source.unstable")
_QUEUED = "policy_monitor_alerts_queued"   # session.info flag: this transaction queued alerts
_listeners: list[Callable[[], None]] = []
log = logging.getLogger("monitor.notify")


def on_queued(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback()` after every commit in this process that queued alerts (in the committing
    thread: hand over to your own loop from there); returns a function that stops the calls."""
    _listeners.append(callback)

    def stop() -> None:
        if callback in _listeners:
            _listeners.remove(callback)
    return stop


@event.listens_for(OrmSession, "after_commit")
def _after_commit(session: OrmSession) -> None:
    if session.info.pop(_QUEUED, False):
        for callback in list(_listeners):
            try:
                callback()
            except Exception as exc:  # noqa: BLE001 — the alerts are committed; a listener cannot undo that
                log.error(f"alerts queued, but a listener failed: {type(exc).__name__}: {exc}")


@event.listens_for(OrmSession, "after_rollback")
def _after_rollback(session: OrmSession) -> None:
    session.info.pop(_QUEUED, None)


def alert_id(*parts: object) -> str:
    """A stable id for one alert: the same cause and channel always give the same id (receivers dedupe)."""
    return "msg_" + hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


def envelope(event_type: str, data: dict[str, Any], timestamp: datetime | None = None) -> dict[str, Any]:
    """The public webhook envelope (`alerts/webhook.schema.json`); emails are rendered from it too."""
    return {"type": event_type, "schema_version": SCHEMA_VERSION,
            "timestamp": (timestamp or utcnow()).isoformat(), "data": data}


def _capped(changes: list[RatedChange]) -> list[RatedChange]:
    """At most `MAX_CHANGES_PER_ALERT` changes, in document order (as the webhook schema says): the most
    severe when there are more, so a high change late in a long list is never the one left out."""
    if len(changes) <= MAX_CHANGES_PER_ALERT:
        return changes
    kept = {id(c) for c in most_severe_first(changes, lambda c: c.severity)[:MAX_CHANGES_PER_ALERT]}
    return [c for c in changes if id(c) in kept]


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
            "changes": [c.to_json() for c in _capped(changes)],
            "more_changes": max(0, len(changes) - MAX_CHANGES_PER_ALERT),
            "diff_command": f"policy-monitor diff {source.name} {result.previous_version} {result.version}",
            **_change_link(config, source.name, result.previous_version, result.version),
        }
        alert = Alert(source_id=version.source_id, channel=name, event_type="policy.changed",
                      idempotency_key=key, payload=envelope("policy.changed", data), version_id=version.id)
        session.add(alert)
        session.info[_QUEUED] = True
        alerts.append(alert)
    return alerts


def enqueue_revert_alerts(session: Session, config: Config, source: SourceConfig, version: Version,
                          result: CheckResult) -> tuple[list[str], list[str], list[str]]:
    """Queue `policy.reverted` alerts when `version`, a blink back, undoes changes that were alerted.

    `version` restores the text of an earlier version E (`version.reverts_to`); every `policy.changed`
    alert of a version after E and before `version` no longer stands. What happens to each depends on
    whether its channel has received it:

    - **delivered** (or being sent right now, under a live lease): the channel was told, so it gets one
      `policy.reverted` alert naming *its own* undone alerts by webhook id (unless it says
      `on_revert: false`); a channel with none gets nothing;
    - **pending** (not yet sent, or waiting to be retried) or **failed**: the channel was never told,
      so the alert is marked `superseded` (kept and listed, with why in `last_error`) and never sent:
      a change that no longer stands must not arrive late, and a revert must not withdraw an alert
      nobody received. `alerts retry --failed` does not pick superseded alerts up again.

    An alert is named by at most one revert ever, so flapping between the same texts
    (A → B → A → B → A) reverts B's alert once. A superseded alert whose change this blink restores (B
    again) is queued again (`_requeue_restored`). Returns the webhook ids named, those superseded and those
    queued again (`reverted_alerts`, `superseded_alerts` and `requeued_alerts` of `check --json`).
    """
    if version.reverts_to is None:
        return [], [], []
    requeued = _requeue_restored(session, version)
    superseded = _supersede_stale_reverts(session, version)
    versions = undone_by(version.seq, version.reverts_to)
    undone = list(session.exec(
        select(Alert, Version.seq).join(Version, Alert.version_id == Version.id)
        .where(Alert.source_id == version.source_id, Alert.event_type == "policy.changed",
               Alert.status.in_(("pending", "failed", "delivered")),
               Version.seq >= versions.start, Version.seq < versions.stop)
        .order_by(Version.seq, Alert.id)
    ))
    received = []
    for alert, seq in undone:
        if _supersede(session, alert, version):
            superseded.append(alert.idempotency_key)
        else:
            received.append((alert, seq))
    if not received:
        return [], superseded, requeued
    already = {key for payload in session.exec(select(Alert.payload).where(
                   Alert.source_id == version.source_id, Alert.event_type == "policy.reverted"))
               for key in ((payload or {}).get("data") or {}).get("reverted_alerts") or ()}
    named: list[str] = []
    per_channel: list[int] = []  # how many each channel's revert names: `named` adds them up across channels
    for name, channel in config.channels_for(source).items():
        mine = [(alert, seq) for alert, seq in received
                if alert.channel == name and alert.idempotency_key not in already]
        if not channel.on_revert or not mine:
            continue
        key = alert_id("policy.reverted", source.name, version.seq, name)
        ids, seqs = [a.idempotency_key for a, _ in mine], [seq for _, seq in mine]
        named.extend(ids)
        per_channel.append(len(ids))
        if _exists(session, key):
            continue
        topics = sorted({t for a, _ in mine for t in ((a.payload or {}).get("data") or {}).get("topics") or ()})
        details = _restated(mine)
        data = {
            "source": source.name, "url": source.url, "version": version.seq,
            "previous_version": result.previous_version, "reverts_to": version.reverts_to,
            "reverted_alerts": ids, "reverted_versions": seqs, "topics": topics,
            "summary": revert_summary(version.reverts_to, seqs),
            "reverted_details": details, "more_reverted_details": len(mine) - len(details),
            "diff_command": f"policy-monitor diff {source.name} {result.previous_version} {version.seq}",
            **_change_link(config, source.name, result.previous_version, version.seq),
        }
        session.add(Alert(source_id=version.source_id, channel=name, event_type="policy.reverted",
                          idempotency_key=key, payload=envelope("policy.reverted", data), version_id=version.id))
        session.info[_QUEUED] = True
    if named:
        log.info(f"{source.name}: version {version.seq} returns to the text of version {version.reverts_to}; "
                 f"policy.reverted {_per_channel(per_channel)}",
                 extra={"source": source.name, "event": "policy.reverted", "reverted_alerts": named})
    return named, superseded, requeued


def _requeue_restored(session: Session, version: Version) -> list[str]:
    """Queue again the `superseded` change alerts whose change stands again at `version`.

    An alert is superseded when a blink back undid its change before any channel received it. When a later
    blink back returns to a text that carries the change (A → B → A → B: the rule of `monitor.store.reverts`,
    the one the views' "reverted" marks follow), the change is the policy again and nobody was ever told: the
    alert goes out after all, once (pending again, due now, its webhook id unchanged). Alerts a channel did
    receive are not sent again: later flapping stays silent."""
    rows = list(session.exec(
        select(Alert, Version.seq).join(Version, Alert.version_id == Version.id)
        .where(Alert.source_id == version.source_id, Alert.event_type == "policy.changed",
               Alert.status == "superseded")
        .order_by(Version.seq, Alert.id)))
    if not rows:
        return []
    still_undone = undone_in(session, version.source_id, {seq for _, seq in rows})
    why = (f"queued again: version {version.seq} returned to the text of version {version.reverts_to}, where "
           f"this change stands again")
    requeued = []
    for alert, seq in rows:
        if seq in still_undone:
            continue
        session.execute(sa.update(Alert).where(Alert.id == alert.id, Alert.status == "superseded")
                        .values(status="pending", next_attempt_at=utcnow(), claimed_by=None,
                                last_error=why[:MAX_ERROR_CHARS])
                        .execution_options(synchronize_session=False))
        requeued.append(alert.idempotency_key)
        log.info(f"alert {alert.id} to {alert.channel} {why}",
                 extra={"alert": alert.id, "channel": alert.channel, "event": "alert.requeued"})
    if requeued:
        session.info[_QUEUED] = True
    return requeued


def _supersede_stale_reverts(session: Session, version: Version) -> list[str]:
    """Supersede the `policy.reverted` alerts not yet received whose withdrawn changes all stand again at
    `version` (A → B alerted → A, its revert still queued → B again): sent now, a revert would tell the channel
    its alert no longer stands while it does. Received ones stay as they are (later flapping stays silent)."""
    rows = list(session.exec(select(Alert).where(Alert.source_id == version.source_id,
                                                 Alert.event_type == "policy.reverted",
                                                 Alert.status.in_(("pending", "failed")))))
    if not rows:
        return []
    withdrawn = {alert.id: set(((alert.payload or {}).get("data") or {}).get("reverted_versions") or ())
                 for alert in rows}
    still_undone = undone_in(session, version.source_id, set().union(*withdrawn.values()))
    why = (f"version {version.seq} returned to the text of version {version.reverts_to}, where the changes "
           f"this revert withdrew stand again")
    return [alert.idempotency_key for alert in rows
            if withdrawn[alert.id] and not withdrawn[alert.id] & still_undone.keys()
            and _supersede(session, alert, version, why)]


def _change_link(config: Config, source: str, old: int | None, new: int) -> dict[str, str]:
    """`change_url`, the web page of the change, when `web: {base_url: …}` says where `serve` is reached."""
    url = config.web.change_url(source, old, new)
    return {"change_url": url} if url else {}


def _supersede(session: Session, alert: Alert, version: Version, because: str | None = None) -> bool:
    """Mark an undone alert its channel never received `superseded`; False when the channel has it.

    Delivered alerts are kept as they are. A pending alert is taken only while nobody holds it: the
    update matches its status and its `next_attempt_at` as read (the lease a sender's claim moves, see
    `monitor.notify.delivery`), so an alert a sender claimed in between is left to it and counted as
    received; so is one under a live lease (being sent right now) when we read it.
    """
    if alert.status == "delivered":
        return False
    if alert.status == "pending" and alert.claimed_by is not None and alert.next_attempt_at > utcnow():
        return False
    why = "superseded: " + (because or f"version {version.seq} returned to the text of version "
                                        f"{version.reverts_to} before this alert was delivered") + ", so it is not sent"
    if alert.last_error and alert.status == "failed":
        why += f" (it had failed: {alert.last_error})"
    taken = session.execute(
        sa.update(Alert)
        .where(Alert.id == alert.id, Alert.status == alert.status,
               Alert.next_attempt_at == alert.next_attempt_at)
        .values(status="superseded", claimed_by=None, last_error=why[:MAX_ERROR_CHARS])
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken:
        log.info(f"alert {alert.id} to {alert.channel} {why}",
                 extra={"alert": alert.id, "channel": alert.channel, "event": "alert.superseded"})
    return bool(taken)


def _per_channel(counts: list[int]) -> str:
    """'names 1 alert', or 'to 2 channels names 1 alert each (2 in all)': each channel's revert names only its
    own alerts, so a total across channels alone would read as if one message named them all."""
    def alerts(n: int) -> str:
        return f"{n} alert{'s' * (n != 1)}"
    if len(counts) == 1:
        return f"names {alerts(counts[0])}"
    low, high = min(counts), max(counts)
    each = alerts(low) if low == high else f"{low} to {alerts(high)}"
    return f"to {len(counts)} channels names {each} each ({sum(counts)} in all)"


def _restated(undone: list[tuple[Alert, int]]) -> list[dict[str, Any]]:
    """What each undone alert told its channel, read from its stored `policy.changed` payload rather than
    rated again: the revert must withdraw what was said, even if the rating has changed since. At most
    `MAX_RESTATED_ALERTS`, the most severe, in the order of `reverted_alerts`."""
    items = [_restate(alert, seq) for alert, seq in undone]
    kept = {id(i) for i in most_severe_first(items, lambda i: i.get("severity"))[:MAX_RESTATED_ALERTS]}
    return [i for i in items if id(i) in kept]


def _restate(alert: Alert, seq: int) -> dict[str, Any]:
    data = (alert.payload or {}).get("data") or {}
    # most severe first, as the alert's e-mail listed them, so the one line keeps the ones that mattered most
    changes = most_severe_first(data.get("changes") or [], lambda c: c.get("severity"))
    # a change stored without a summary (or kind) says nothing: left out, not an empty "reverts:  (…)"
    summaries = [said for c in changes if (said := c.get("summary") or c.get("kind"))]
    more = int(data.get("more_changes") or 0)
    topics, severity = list(data.get("topics") or []), data.get("severity")
    shown = summaries[:MAX_RESTATED_SUMMARIES]
    left = len(summaries) - len(shown) + more
    if shown:
        said = "; ".join(shown) + (f" and {left} more change{'s' * (left != 1)}" if left else "")
    else:
        said = f"{left} changes" if left > 1 else "the change"
    rated = ", ".join([*topics, *([severity] if severity else [])])
    item = {"alert": alert.idempotency_key, "version": seq, "topics": topics,
            "summaries": summaries, "more_changes": more,
            "summary": f"reverts: {said}{f' ({rated})' if rated else ''}, alerted in version {seq}"}
    if severity:  # an alert stored without one (none rated) has none to restate; the schema has no null
        item["severity"] = severity
    return item


def revert_summary(reverts_to: int, versions: list[int]) -> str:
    """'the policy returned to the text of version 1: the change alerted in version 2 no longer stands'."""
    if len(versions) == 1:
        undone = f"the change alerted in version {versions[0]} no longer stands"
    else:
        listed = ", ".join(map(str, versions[:-1])) + f" and {versions[-1]}"
        undone = f"the changes alerted in versions {listed} no longer stand"
    return f"the policy returned to the text of version {reverts_to}: {undone}"


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
        session.info[_QUEUED] = True
        alerts.append(alert)
    return alerts


def _exists(session: Session, key: str) -> bool:
    session.flush()  # alerts added earlier in this transaction count too
    return session.exec(select(Alert.id).where(Alert.idempotency_key == key)).first() is not None
