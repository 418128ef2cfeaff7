"""Every channel kind, registered by importing its module: look one up by its `type:` word, or list them."""

from __future__ import annotations

from monitor.errors import DeliveryError
from monitor.notify import apprise_channel, email, webhook
from monitor.notify.channel import ChannelKind

# importing them registered them; named here so none is dropped
KINDS = (email.Email, webhook.Webhook, apprise_channel.Apprise)


def kind_for(type_word: str) -> type[ChannelKind]:
    """The channel kind class for a sources.yaml `type:` word."""
    try:
        return ChannelKind._registry[type_word]
    except KeyError:
        raise DeliveryError(f"no channel kind {type_word!r}", permanent=True) from None


def channel_kinds() -> dict[str, str]:
    """Every channel kind with its user documentation (the class docstring)."""
    return {name: (cls.__doc__ or "").strip() for name, cls in sorted(ChannelKind._registry.items())}


