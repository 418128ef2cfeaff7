"""The channel extension point: the `ChannelKind` base class that registers each kind by its `type:` word."""


from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["ChannelKind", "Outgoing", "SendResult"]


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
