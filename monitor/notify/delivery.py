"""Outbox delivery: one pass over due alerts, with leases, retries, backoff with jitter, and giving up visibly.

A pass picks the pending alerts whose `next_attempt_at` has come, claims each by moving its
`next_attempt_at` into the future (a lease: `UPDATE … WHERE id = ? AND next_attempt_at = <old>`,
so a daemon and a `check` never send the same alert at once), sends it, and records the outcome in
its own short transaction. A crash between sending and recording leaves the lease to expire and
the alert is sent again later with the same id: at worst a duplicate receivers can drop, never a loss.

A claim also records its owner (`claimed_by`, host:pid like the source locks), so a lease need not
be waited out when its owner is known dead: each pass first makes the alerts claimed by a process of
this host that no longer exists due at once (`release_dead_claims`), and a pass that is cancelled
(a stop) hands back the claims it has not recorded yet.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from monitor.config import Config, DeliveryConfig
from monitor.errors import DeliveryError
from monitor.notify.channel import ChannelKind, Outgoing, send_bound
from monitor.notify.channels import kind_for
from monitor.store.database import Alert, Source, Store, pid_alive, process_owner, utcnow

log = logging.getLogger("monitor.notify")

CHUNK = 64                 # alerts claimed per transaction; keeps every lease short
_ALERTS = Alert.__table__  # Core statements: a third of the ORM's cost per outcome, which matters at 1,000s
LEASE_MARGIN = 5.0         # seconds added to the lease for recording the outcome
MAX_ERROR_CHARS = 500
_claimed_here = False      # has this process claimed an alert yet? (claims under our owner before that are a
                           # predecessor's with the same host and pid, e.g. a restarted container's pid 1)


@dataclass
class Outcome:
    """What happened to one alert in a pass."""

    alert: int
    channel: str
    status: str          # delivered | retrying | failed | unconfigured (channel missing, or its secret unset)
    detail: str
    attempts: int
    next_attempt_at: datetime | None = None


@dataclass
class DeliveryReport:
    """Counts of one delivery pass; `outcomes` has one entry per alert looked at."""

    delivered: int = 0
    retrying: int = 0      # failed this time, still pending with a next attempt
    failed: int = 0        # gave up: permanent failure, too many attempts or too old
    unconfigured: int = 0  # channel no longer in the config, or its secret unset: left pending, no attempt
    skipped: int = 0       # claimed by another process first
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)
        self.outcomes.append(outcome)

    def to_json(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "outcomes"},
                "outcomes": [{**asdict(o), "next_attempt_at": o.next_attempt_at.isoformat()
                              if o.next_attempt_at else None} for o in self.outcomes]}


def backoff_delay(attempts: int, settings: DeliveryConfig, retry_after: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Seconds until the next attempt after `attempts` failed ones: exponential with equal jitter (half
    fixed, half random, so retries spread out but never come right away), and never sooner than the
    server's Retry-After (capped at `max_retry_after`): a short Retry-After must not burn all attempts
    in a minute."""
    ceiling = min(settings.max_backoff, settings.backoff * 2 ** max(attempts - 1, 0))
    delay = ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, 0.0), settings.max_retry_after))
    return delay


def release_dead_claims(store: Store, now: datetime | None = None) -> int:
    """Make the pending alerts claimed by a process of this host that no longer exists (`kill -9`, a
    crash) due at `now`, instead of leaving them leased until the lease expires; returns how many.

    Claims of other hosts, and of live processes, are left to their leases."""
    host, me = socket.gethostname(), process_owner()
    now = now or utcnow()
    released = 0
    with store.engine.begin() as conn:
        claims = conn.execute(sa.select(_ALERTS.c.id, _ALERTS.c.claimed_by).where(
            _ALERTS.c.status == "pending", _ALERTS.c.claimed_by.is_not(None))).all()
        for alert_id, owner in claims:
            owner_host, _, pid = owner.rpartition(":")
            if owner_host != host or not pid.isdigit():
                continue
            if (owner == me and _claimed_here) or (owner != me and pid_alive(int(pid))):
                continue
            released += conn.execute(
                _ALERTS.update()
                .where(_ALERTS.c.id == alert_id, _ALERTS.c.status == "pending", _ALERTS.c.claimed_by == owner)
                .values(next_attempt_at=now, claimed_by=None)
            ).rowcount
    return released


@dataclass(frozen=True)
class _Claimed:
    id: int
    key: str
    channel: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    lease: datetime


async def deliver_pending(store: Store, config: Config, *, now: datetime | None = None,
                          limit: int | None = None, sources: Sequence[str] | None = None) -> DeliveryReport:
    """Deliver every due pending alert once (with `sources`, only those sources' alerts); never raises for
    delivery failures.

    `now` (default: the current time) decides which alerts are due and when the next attempt is;
    tests pass a later time instead of sleeping through backoffs. Leases, backoffs and ages are taken
    from a clock that starts at `now` and runs on with real time, so the tenth chunk of a long pass
    is leased from when it is claimed, not from when the pass began.
    """
    offset = (now - utcnow()) if now else timedelta(0)
    now = utcnow() + offset

    def clock() -> datetime:
        return utcnow() + offset
    report = DeliveryReport()
    released = release_dead_claims(store, now)
    if released:
        log.info(f"taking over {released} alert(s) claimed by a process that no longer runs",
                 extra={"released_claims": released})
    due = _due_alerts(store, now, limit, sources)
    if not due:
        return report
    why_by_channel = {name: _why_waiting(config, name) for name in {a.channel for a in due}}  # once per channel
    waiting = {a.id: why for a in due if (why := why_by_channel[a.channel])}
    for alert in due:
        if alert.id in waiting:
            report.add(_mark_waiting(store, alert, waiting[alert.id]))
    ready = [a for a in due if a.id not in waiting]
    semaphore = asyncio.Semaphore(config.daemon.concurrency)
    async with AsyncExitStack() as stack:
        kinds: dict[str, ChannelKind] = {}
        for type_word in sorted({config.channels[a.channel].type for a in ready}):
            kinds[type_word] = await stack.enter_async_context(kind_for(type_word)())

        async def one(claim: _Claimed) -> None:
            try:
                async with semaphore:
                    outcome = await _attempt(store, config, kinds, claim, clock)
            except asyncio.CancelledError:  # the pass is stopped: the claim is handed back, due at once
                _release(store, claim, clock())
                raise
            report.add(outcome)

        for start in range(0, len(ready), CHUNK):
            chunk = ready[start:start + CHUNK]
            claimed = _claim(store, config, chunk, clock(), rounds=-(-len(chunk) // config.daemon.concurrency))
            report.skipped += len(chunk) - len(claimed)
            await asyncio.gather(*(one(c) for c in claimed))
    if report.attempted:  # alerts waiting for a missing channel were each logged once, not every pass
        log.info(f"delivery pass: {report.delivered} delivered, {report.retrying} to retry, "
                 f"{report.failed} failed, {report.unconfigured} waiting for their channel's configuration",
                 extra={"delivered": report.delivered, "retrying": report.retrying, "failed": report.failed})
    return report


def _due_alerts(store: Store, now: datetime, limit: int | None, sources: Sequence[str] | None) -> list[Alert]:
    query = (select(Alert).where(Alert.status == "pending", Alert.next_attempt_at <= now)
             .order_by(Alert.next_attempt_at, Alert.id))
    if sources is not None:
        query = query.where(Alert.source_id.in_(select(Source.id).where(Source.name.in_(list(sources)))))
    if limit:
        query = query.limit(limit)
    with store.session() as session:
        return list(session.exec(query))


def _why_waiting(config: Config, channel_name: str) -> str | None:
    """Why alerts to a channel cannot be attempted at all now (no attempt is counted), or None."""
    channel = config.channels.get(channel_name)
    if channel is None:
        return f"channel {channel_name!r} is not in the config; the alert waits until it is"
    unset = channel.unset_secrets()  # one rule for every kind: a secret not set yet is not a failed attempt
    if unset:
        return (f"environment variable{'s' * (len(unset) != 1)} {', '.join(unset)} "
                f"{'are' if len(unset) > 1 else 'is'} not set; the alert waits until the delivering process "
                f"has {'them' if len(unset) > 1 else 'it'}")
    return None


def _mark_waiting(store: Store, alert: Alert, message: str) -> Outcome:
    """Leave the alert pending, attempts untouched (it goes out once the cause is fixed) and say why."""
    if alert.last_error != message:
        with store.engine.begin() as conn:
            conn.execute(_ALERTS.update().where(_ALERTS.c.id == alert.id, _ALERTS.c.status == "pending")
                         .values(last_error=message))
        log.warning(f"alert {alert.id}: {message}", extra={"alert": alert.id, "channel": alert.channel})
    return Outcome(alert.id, alert.channel, "unconfigured", message, alert.attempts, alert.next_attempt_at)


def _claim(store: Store, config: Config, alerts: list[Alert], now: datetime, rounds: int) -> list[_Claimed]:
    """Lease each alert by moving its next attempt into the future; an alert another process leased
    (or delivered) since we read it is left alone.

    The lease outlasts the slowest way the chunk can go (`rounds` sends in a row on one concurrency
    slot, each as slow as the chunk's slowest channel allows), so a sender that keeps to its
    timeouts is not overtaken; one that died is overtaken soon after, by a resend with the same id.
    """
    global _claimed_here
    _claimed_here = True
    claimed = []
    slowest = max(send_bound(config.channels[a.channel]) for a in alerts)
    lease = now + timedelta(seconds=rounds * slowest + LEASE_MARGIN)
    owner = process_owner()
    with store.engine.begin() as conn:
        for alert in alerts:
            taken = conn.execute(
                _ALERTS.update()
                .where(_ALERTS.c.id == alert.id, _ALERTS.c.status == "pending",
                       _ALERTS.c.next_attempt_at == alert.next_attempt_at)
                .values(next_attempt_at=lease, claimed_by=owner)
            ).rowcount
            if taken == 1:
                claimed.append(_Claimed(alert.id, alert.idempotency_key, alert.channel, alert.payload,
                                        alert.attempts, alert.created_at, lease))
    return claimed


def _release(store: Store, claim: _Claimed, now: datetime) -> None:
    """Hand back a claim whose outcome was not recorded (the pass was cancelled): due at `now` again.
    Best effort: if the database is away, the lease expires as after a crash."""
    try:
        with store.engine.begin() as conn:
            conn.execute(_ALERTS.update()
                         .where(_ALERTS.c.id == claim.id, _ALERTS.c.status == "pending",
                                _ALERTS.c.claimed_by == process_owner())
                         .values(next_attempt_at=now, claimed_by=None))
    except Exception as exc:  # noqa: BLE001
        log.debug(f"alert {claim.id}: claim not handed back: {type(exc).__name__}: {exc}")


async def _attempt(store: Store, config: Config, kinds: dict[str, ChannelKind], claim: _Claimed,
                   clock: Callable[[], datetime]) -> Outcome:
    channel = config.channels[claim.channel]
    outgoing = Outgoing(claim.key, claim.channel, claim.payload)
    try:
        result = await kinds[channel.type].send_bounded(channel, outgoing)
    except DeliveryError as exc:
        return _record_failure(store, config.delivery, claim, str(exc), exc.permanent, exc.retry_after, clock())
    except Exception as exc:  # a bug must not stop the pass nor lose the alert: it is retried
        log.exception(f"alert {claim.id}: unexpected error while sending", extra={"alert": claim.id})
        return _record_failure(store, config.delivery, claim, f"internal error: {type(exc).__name__}: {exc}",
                               False, None, clock())
    attempts = claim.attempts + 1
    with store.engine.begin() as conn:
        conn.execute(_ALERTS.update().where(_ALERTS.c.id == claim.id, _ALERTS.c.status == "pending")
                     .values(status="delivered", delivered_at=utcnow(), attempts=attempts, last_error=None,
                             claimed_by=None))
    log.info(f"alert {claim.id} delivered to {claim.channel}: {result.detail}",
             extra={"alert": claim.id, "channel": claim.channel, "attempts": attempts})
    return Outcome(claim.id, claim.channel, "delivered", result.detail, attempts)


def _record_failure(store: Store, settings: DeliveryConfig, claim: _Claimed, error: str, permanent: bool,
                    retry_after: float | None, now: datetime) -> Outcome:
    attempts = claim.attempts + 1
    error = error[:MAX_ERROR_CHARS]
    age = (now - claim.created_at).total_seconds()
    if permanent:
        status, message = "failed", f"permanent failure: {error}"
    elif attempts >= settings.max_attempts:
        status, message = "failed", f"gave up after {attempts} attempt{'s' * (attempts != 1)}: {error}"
    elif age >= settings.max_age:
        status, message = "failed", f"gave up after {age / 3600:.1f}h of attempts: {error}"
    else:
        status, message = "retrying", error
    next_at = now + timedelta(seconds=backoff_delay(attempts, settings, retry_after)) if status == "retrying" else None
    values: dict[str, Any] = {"attempts": attempts, "last_error": message, "claimed_by": None}
    if status == "failed":
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = next_at
    with store.engine.begin() as conn:
        conn.execute(_ALERTS.update().where(_ALERTS.c.id == claim.id, _ALERTS.c.status == "pending")
                     .values(**values))
    level = logging.ERROR if status == "failed" else logging.WARNING
    log.log(level, f"alert {claim.id} to {claim.channel}: {message}"
            + (f"; next attempt at {next_at:%Y-%m-%d %H:%M:%S}Z" if next_at else ""),
            extra={"alert": claim.id, "channel": claim.channel, "attempts": attempts})
    return Outcome(claim.id, claim.channel, status, message, attempts, next_at)


async def send_now(config: Config, channel_name: str, outgoing: Outgoing) -> str:
    """Send one alert to one channel right now, outside the outbox (for `test-alert`); raise DeliveryError."""
    channel = config.channels[channel_name]
    async with kind_for(channel.type)() as kind:
        return (await kind.send_bounded(channel, outgoing)).detail
