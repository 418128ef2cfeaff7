"""The `apprise` channel: each alert as a titled text message to Apprise URLs (Slack, Teams, Matrix, ntfy…).

Apprise sends from a child process (`python -m monitor.notify.apprise_channel`, the message and URLs on its
standard input, the outcome on its standard output): a thread could not be stopped at the send's bound, so a
service answering a byte at a time would get the alert after it was counted as failed, and again at the retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
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
        request = {"urls": urls, "timeout": channel.timeout, "title": rendered.subject, "body": rendered.text,
                   "type": NOTIFY_TYPES.get(outgoing.event_type, "info")}
        answer = await _in_child(request)
        if "error" in answer:
            raise DeliveryError(answer["error"], permanent=bool(answer.get("permanent")))
        outcomes = [(name, why) for name, why in answer["outcomes"]]
        failed = [f"{name}: {why}" for name, why in outcomes if why is not None]
        if failed:
            raise DeliveryError(_cap("; ".join(failed)))
        return SendResult(", ".join(f"{name}: accepted" for name, _ in outcomes))


async def _in_child(request: dict) -> dict:
    """Send through a child process and read its answer; the child is killed if the send is given up
    (`send_bounded` cancels it at the bound), so nothing is sent after the alert's outcome is recorded."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor.notify.apprise_channel", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await child.communicate(json.dumps(request).encode())
    finally:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
    try:
        return json.loads(out)
    except ValueError:
        last = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise DeliveryError(_cap(f"the Apprise sender ended without an answer (exit {child.returncode}): {last}")) \
            from None


def _send_here(request: dict) -> dict:
    """The child's work: each URL's plugin, then the message to each; the answer as `_in_child` reads it."""
    try:
        services = [_service(name, url, request["timeout"]) for name, url in request["urls"].items()]
    except DeliveryError as exc:
        return {"error": str(exc), "permanent": exc.permanent}
    return {"outcomes": _notify_all(services, request["title"], request["body"], request["type"])}


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
    """Notify each service in turn; each one's failure reason, or None."""
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


if __name__ == "__main__":  # the child process of `_in_child`
    sys.stdout.write(json.dumps(_send_here(json.loads(sys.stdin.read()))))
