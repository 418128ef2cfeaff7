"""The channel extension point: the `ChannelKind` base class that registers each kind by its `type:` word."""


from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from monitor.errors import DeliveryError

__all__ = ["ChannelKind", "Outgoing", "SendResult", "channel_timeout", "send_bound"]

# a send can take this many channel timeouts: each network step gets one (webhook: connect, write,
# read; SMTP: connect, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA; Apprise: connect, read, per URL in turn)
SEND_BOUND = {"webhook": 3, "email": 7, "apprise": 2}
START_ALLOWANCE = {"apprise": 5.0}  # seconds: Apprise sends from a child process, which starts and imports it first


def send_bound(channel: Any) -> float:
    """Seconds one send to `channel` may take: every step at the channel's timeout. A send is cut off there
    (`ChannelKind.send_bounded`), so a receiver that answers a byte at a time cannot outlast the alert's lease
    (the outbox would then hand the alert to another pass while this one still sends it: sent twice)."""
    steps = SEND_BOUND.get(channel.type, 3) * len(getattr(channel, "urls_env", None) or (1,))
    return steps * channel_timeout(channel) + START_ALLOWANCE.get(channel.type, 0.0)


def channel_timeout(channel: Any) -> float:
    smtp = getattr(channel, "smtp", None)
    return float(smtp.timeout if smtp is not None else getattr(channel, "timeout", 30))


@dataclass(frozen=True)
class Outgoing:
    """One alert on its way to one channel: the stable id receivers dedupe on, and the envelope."""

    alert_id: str
    channel: str
    payload: dict[str, Any]

    @property
    def event_type(self) -> str:
        return self.payload["type"]


@dataclass(frozen=True)
class SendResult:
    """What the far end answered, for logs and `test-alert` (e.g. `HTTP 200`, `250 2.0.0 OK`)."""

    detail: str


class ChannelKind:
    """Base of the channel kinds; subclasses set `type` and implement `send`."""

    type: ClassVar[str] = ""
    _registry: ClassVar[dict[str, type[ChannelKind]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.type:
            ChannelKind._registry[cls.type] = cls

    async def __aenter__(self) -> ChannelKind:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release connections kept between alerts."""

    async def send(self, channel: Any, outgoing: Outgoing) -> SendResult:
        """Deliver one alert; raise DeliveryError (with `permanent`/`retry_after`) when it fails."""
        raise NotImplementedError

    async def send_bounded(self, channel: Any, outgoing: Outgoing) -> SendResult:
        """`send`, given up after `send_bound(channel)` seconds with a DeliveryError (retried later)."""
        bound = send_bound(channel)
        try:
            async with asyncio.timeout(bound):
                return await self.send(channel, outgoing)
        except TimeoutError:
            raise DeliveryError(f"no complete answer within {bound:g}s ({channel_timeout(channel):g}s a step): "
                                "the receiver is too slow, retried later") from None
