"""The outbox's health for `status` and the web overview: alerts pending, retrying and failed, per channel."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case
from sqlmodel import func, select

from monitor.store.database import Alert, Store

# what `alerts discard` writes as the last error (with the date after it): a user's choice, not a failure
DISCARDED = "discarded by a user"


@dataclass(frozen=True)
class ChannelHealth:
    """One channel's alerts that are not out yet or never will be, and whether delivery to it is broken."""

    channel: str
    pending: int   # waiting to go out, the retrying ones included
    retrying: int  # pending after at least one failed attempt
    failed: int     # given up on (`alerts retry --failed` sends them again)
    discarded: int  # failed too (`alerts --status failed` lists them), but by a user's choice: no news
    failing: bool   # a failed alert and none delivered after it: nothing gets through now
    waiting: int = 0  # pending, never tried: the channel's configuration is missing here (a secret unset…)
    waiting_for: str | None = None  # why, as the delivering process said it

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "pending": self.pending, "retrying": self.retrying, "failed": self.failed,
                "discarded": self.discarded, "failing": self.failing, "waiting": self.waiting,
                "waiting_for": self.waiting_for}


@dataclass(frozen=True)
class OutboxHealth:
    """Every channel with a pending, failed or discarded alert, by name."""

    channels: list[ChannelHealth]
    judged: bool = True  # False without a config: no channel is marked failing (which ones remain is unknown)

    @property
    def pending(self) -> int:
        return sum(c.pending for c in self.channels)

    @property
    def retrying(self) -> int:
        return sum(c.retrying for c in self.channels)

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.channels)

    @property
    def discarded(self) -> int:
        return sum(c.discarded for c in self.channels)

    @property
    def failing(self) -> list[str]:
        return [c.channel for c in self.channels if c.failing]

    def to_json(self) -> dict[str, Any]:
        """The `alerts` part of `status --json`."""
        return {"pending": self.pending, "retrying": self.retrying, "failed": self.failed,
                "discarded": self.discarded, "failing_channels": self.failing, "failing_judged": self.judged,
                "channels": [c.to_json() for c in self.channels]}


def outbox_health(store: Store, configured: Collection[str] | None = None) -> OutboxHealth:
    """Count the outbox's pending and failed alerts by channel: work bounded by those, never by the delivered.

    One grouped query over the pending and failed alerts (the status index finds them), one over the pending
    ones never tried that wait for their channel's configuration (each channel's latest reason), then, per
    channel with a failed alert, one look for a delivered alert after its latest failure (the
    `(status, channel, id)` index answers it from its first entry, however many alerts were delivered).

    A channel is failing as a source is: by its present state, not its past. Its alerts given up on stay
    counted until retried, but once a later alert to it is delivered it has recovered; one a user
    discarded is counted apart and says nothing about the channel. A channel no longer in `configured` (the
    config's channel names) is never failing: nothing will be sent to it again; without a config
    (`configured` None) which channels remain is unknown, so none is marked failing."""
    discarded = case((Alert.last_error.startswith(DISCARDED), 1), else_=0)
    query = (select(Alert.channel, Alert.status, discarded, func.count(),
                     func.sum(case((Alert.attempts > 0, 1), else_=0)), func.max(Alert.id))
             .where(Alert.status.in_(("pending", "failed")))
             .group_by(Alert.channel, Alert.status, discarded))
    counts: dict[str, dict[str, int]] = {}
    last_failed: dict[str, int] = {}
    with store.session() as session:
        for channel, status, by_user, count, tried, latest in session.exec(query):
            c = counts.setdefault(channel, {"pending": 0, "retrying": 0, "failed": 0, "discarded": 0})
            if status == "pending":
                c["pending"] += count
                c["retrying"] += int(tried or 0)
            elif by_user:
                c["discarded"] += count
            else:
                c["failed"] += count
                last_failed[channel] = latest
        # pending and never tried, with a reason: a delivery pass found the channel's configuration missing
        never_tried = (Alert.status == "pending", Alert.attempts == 0, Alert.last_error.is_not(None))
        waiting = {channel: (n, session.exec(select(Alert.last_error).where(*never_tried, Alert.id == latest)).one())
                   for channel, n, latest in session.exec(select(Alert.channel, func.count(), func.max(Alert.id))
                                                          .where(*never_tried).group_by(Alert.channel)).all()}
        failing = set()
        if configured is not None:
            for channel, failed_id in last_failed.items():
                if channel not in configured:
                    continue
                recovered = session.exec(select(Alert.id).where(
                    Alert.channel == channel, Alert.status == "delivered", Alert.id > failed_id).limit(1)).first()
                if recovered is None:
                    failing.add(channel)
    return OutboxHealth([ChannelHealth(name, c["pending"], c["retrying"], c["failed"], c["discarded"],
                                       name in failing, *waiting.get(name, (0, None)))
                         for name, c in sorted(counts.items())],
                        judged=configured is not None)
