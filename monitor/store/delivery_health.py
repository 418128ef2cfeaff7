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
    failed: int    # given up on, or discarded by a user (`alerts --status failed` lists them)
    failing: bool  # its latest alert that is not pending failed (not discarded): nothing gets through now

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "pending": self.pending, "retrying": self.retrying, "failed": self.failed,
                "failing": self.failing}


@dataclass(frozen=True)
class OutboxHealth:
    """Every channel with a pending or failed alert, by name."""

    channels: list[ChannelHealth]

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
    def failing(self) -> list[str]:
        return [c.channel for c in self.channels if c.failing]

    def to_json(self) -> dict[str, Any]:
        """The `alerts` part of `status --json`."""
        return {"pending": self.pending, "retrying": self.retrying, "failed": self.failed,
                "failing_channels": self.failing, "channels": [c.to_json() for c in self.channels]}


def outbox_health(store: Store, configured: Collection[str] | None = None) -> OutboxHealth:
    """Count the outbox by channel in one grouped query (the status index serves it).

    A channel is failing as a source is: by its present state, not its past. Its alerts given up on stay
    counted until retried, but once a later alert to it is delivered it has recovered; one a user
    discarded says nothing about the channel. With `configured` (the config's channel names), a channel
    no longer in the config is never failing: nothing will be sent to it again."""
    discarded = Alert.last_error.startswith(DISCARDED)
    query = (select(Alert.channel, Alert.status, func.count(),
                    func.sum(case((Alert.attempts > 0, 1), else_=0)),
                    func.max(case((discarded, None), else_=Alert.id)))  # the latest not discarded
             .where(Alert.status.in_(("pending", "failed", "delivered")))
             .group_by(Alert.channel, Alert.status))
    counts: dict[str, dict[str, tuple[int, int, int | None]]] = {}
    with store.session() as session:
        for channel, status, count, tried, latest in session.exec(query):
            counts.setdefault(channel, {})[status] = (count, int(tried or 0), latest)
    channels = []
    for name in sorted(counts):
        by_status = counts[name]
        pending, retrying, _ = by_status.get("pending", (0, 0, None))
        failed, _, last_failed = by_status.get("failed", (0, 0, None))
        if not pending and not failed:
            continue
        last_delivered = by_status.get("delivered", (0, 0, None))[2]
        failing = (last_failed is not None and last_failed > (last_delivered or 0)
                   and (configured is None or name in configured))
        channels.append(ChannelHealth(name, pending, retrying, failed, failing))
    return OutboxHealth(channels)
