"""Alert channels (email, webhook), rendering with the alerts/ templates, and the durable outbox.

Each channel kind is one small class named by the `type:` word users write in sources.yaml; its
docstring is the user documentation (`channel_kinds()` lists them). A kind is instantiated once
per delivery pass, so it may keep connections open between alerts (`async with kind:`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from monitor.errors import DeliveryError

__all__ = ["ChannelKind", "DeliveryError", "Outgoing", "SendResult", "channel_kinds", "kind_for"]


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


def kind_for(type_word: str) -> type[ChannelKind]:
    """The channel kind class for a sources.yaml `type:` word."""
    try:
        return ChannelKind._registry[type_word]
    except KeyError:
        raise DeliveryError(f"no channel kind {type_word!r}", permanent=True) from None


def channel_kinds() -> dict[str, str]:
    """Every channel kind with its user documentation (the class docstring)."""
    return {name: (cls.__doc__ or "").strip() for name, cls in sorted(ChannelKind._registry.items())}


# The kinds register themselves on import.
from monitor.notify import email as _email  # noqa: E402,F401
from monitor.notify import webhook as _webhook  # noqa: E402,F401
