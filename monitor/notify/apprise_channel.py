"""The `apprise` channel: each alert as a titled text message to Apprise URLs (Slack, Teams, Matrix, ntfy…)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING

from monitor.config import AppriseChannel
from monitor.errors import DeliveryError
from monitor.notify.channel import ChannelKind, Outgoing, SendResult
from monitor.notify.render import render_email

if TYPE_CHECKING:
    from apprise import NotifyBase

MAX_DETAIL_CHARS = 300
# how each event reads in chat tools that colour or badge by notification type (Apprise's NotifyType values)
NOTIFY_TYPES = {"policy.changed": "warning", "source.failing": "failure", "source.recovered": "success"}


class Apprise(ChannelKind):
    """Send each alert through Apprise to every URL named by `urls_env` (Slack, Microsoft Teams, Matrix,
    Discord, Telegram, ntfy, and the other services Apprise knows, each by its URL).

    Keys: `urls_env` (a list of environment variable names, each holding one Apprise URL such as
    `slack://T…/B…/…` or `ntfys://ntfy.sh/topic`: the URLs carry their service's token, so they never
    go in the config; `validate` warns about a variable that is unset, and alerts wait, pending, until
    it is set), `timeout` (connect and read, default 10s), and the filters `topics` and `min_severity`.

    The message is the e-mail's subject as title and its plain-text body as text. The alert is
    delivered when every URL accepted it; when one refuses it, the whole alert is retried with the
    outbox's backoff, so URLs that had accepted it see it again: give a service its own channel when
    it must never see a duplicate. A URL Apprise cannot read fails the alert at once.
    """

    type = "apprise"

    async def send(self, channel: AppriseChannel, outgoing: Outgoing) -> SendResult:
        urls = channel.urls()
        unset = [name for name, url in urls.items() if url is None]
        if unset:  # delivery normally keeps such alerts waiting without an attempt; `test-alert` lands here
            raise DeliveryError(f"environment variable{'s' * (len(unset) != 1)} {', '.join(unset)} (urls_env) "
                                f"not set")
        rendered = render_email(outgoing.payload, outgoing.alert_id)
        notify_type = NOTIFY_TYPES.get(outgoing.event_type, "info")
        services = [_service(name, url, channel.timeout) for name, url in urls.items()]
        outcomes = await asyncio.to_thread(_notify_all, services, rendered.subject, rendered.text, notify_type)
        failed = [f"{name}: {why}" for name, why in outcomes if why is not None]
        if failed:
            raise DeliveryError(_cap("; ".join(failed)))
        return SendResult(", ".join(f"{name}: accepted" for name, _ in outcomes))


def _service(variable: str, url: str, timeout: float) -> tuple[str, NotifyBase]:
    """The Apprise plugin for one URL, named by its variable (the URL itself holds a token: never shown)."""
    import apprise  # 0.2-0.5 s to import: paid only by processes that send through it

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise DeliveryError(f"{variable}: not a URL Apprise can send to (see https://github.com/caronc/apprise/wiki)",
                            permanent=True)
    plugin.socket_connect_timeout = plugin.socket_read_timeout = timeout
    return f"{variable} ({plugin.service_name})", plugin


def _notify_all(services: list[tuple[str, NotifyBase]], title: str, body: str,
                notify_type: str) -> list[tuple[str, str | None]]:
    """Notify each service in turn (in this worker thread); each one's failure reason, or None."""
    outcomes = []
    for name, plugin in services:
        with _ThreadWarnings() as warnings:
            try:
                accepted = plugin.notify(body=body, title=title, notify_type=notify_type,
                                         body_format="text")
            except Exception as exc:  # noqa: BLE001 — a plugin bug is this URL's failure, retried
                accepted, warnings.messages = False, [f"{type(exc).__name__}: {exc}"]
        outcomes.append((name, None if accepted else ("; ".join(warnings.messages) or "refused")))
    return outcomes


class _ThreadWarnings(logging.Handler):
    """Collect the warnings Apprise logs from this thread while a block runs: its only account of why a
    service refused (other channels send from other threads at the same time)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self._thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self._thread:
            self.messages.append(record.getMessage())

    def __enter__(self) -> _ThreadWarnings:
        logging.getLogger("apprise").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("apprise").removeHandler(self)


def _cap(text: str) -> str:
    return text if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS - 1] + "…"
