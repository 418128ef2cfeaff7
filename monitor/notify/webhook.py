"""The `webhook` channel: POST the alert envelope as JSON, signed per the Standard Webhooks spec."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import logging
import re
import ssl
import time
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import certifi
import httpx

from monitor.config import WebhookChannel, is_http_url
from monitor.errors import DeliveryError
from monitor.notify.channel import ChannelKind, Outgoing, SendResult
from monitor.store.database import utcnow

log = logging.getLogger("monitor.notify.webhook")

MAX_RESPONSE_BYTES = 4096
EXCERPT_CHARS = 200  # of the answer kept in an alert's last_error
RETRYABLE_4XX = (408, 429)
RETRY_AFTER_STATUSES = (429, 503)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# channels already warned of in this process: once each, not at every delivery pass of a long-running daemon
_warned_unsigned: set[str] = set()
_warned_insecure: set[str] = set()


@lru_cache(maxsize=1)
def _verified_tls() -> ssl.SSLContext:
    """One certificate-checking TLS context per process: loading the CA bundle costs ~100 ms a pass."""
    return ssl.create_default_context(cafile=certifi.where())


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed and signed (compact JSON, UTF-8)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`.

    `secret` is a Standard Webhooks secret, `whsec_` followed by base64 key bytes.
    """
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise DeliveryError("the webhook secret is not `whsec_` followed by base64", permanent=True) from None
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - utcnow()).total_seconds())


class Webhook(ChannelKind):
    """POST each alert as JSON to `url` (http or https only).

    Keys: `url`, `secret_env` (name of the environment variable holding a Standard Webhooks secret
    `whsec_<base64>`; without the key alerts are sent unsigned: `validate` warns, and each run logs it
    once; with the key but the variable unset they wait, pending), `timeout`
    (default 10s), `insecure: true` (skip TLS certificate checks; logged as a warning), and the
    filters `topics` and `min_severity`.

    Headers: `webhook-id` (stable per alert: drop duplicates), `webhook-timestamp` (Unix seconds)
    and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`). Any 2xx answer
    is success; 408, 429 and 5xx are retried (Retry-After honoured); any other 4xx (e.g. 410 Gone)
    marks the alert failed at once.
    """

    type = "webhook"

    def __init__(self) -> None:
        self._clients: dict[bool, httpx.AsyncClient] = {}

    def _client(self, insecure: bool) -> httpx.AsyncClient:
        if insecure not in self._clients:
            self._clients[insecure] = httpx.AsyncClient(
                verify=False if insecure else _verified_tls(), follow_redirects=False, trust_env=False,
                headers={"User-Agent": "policy-monitor (webhook)"},
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            )
        return self._clients[insecure]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def send(self, channel: WebhookChannel, outgoing: Outgoing) -> SendResult:
        url = channel.address()
        if url is None:  # the outbox holds such alerts back; `test-alert` gets here
            raise DeliveryError(f"environment variable {channel.url_env} (url_env) is not set")
        if not is_http_url(url):
            raise DeliveryError(f"environment variable {channel.url_env} (url_env) holds no http(s) URL")
        body = body_bytes(outgoing.payload)
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", "webhook-id": outgoing.alert_id,
                   "webhook-timestamp": str(timestamp)}
        secret = channel.secret()
        if channel.secret_env and not secret:
            # fail closed: a receiver that checks signatures would refuse an unsigned alert, and a 4xx
            # is permanent; kept pending instead, the alert goes out once the variable is set
            raise DeliveryError(f"environment variable {channel.secret_env} (secret_env) is not set: "
                                f"not sending unsigned")
        if secret:
            headers["webhook-signature"] = sign(secret, outgoing.alert_id, timestamp, body)
        elif outgoing.channel not in _warned_unsigned:
            _warned_unsigned.add(outgoing.channel)
            log.warning(f"webhook channel {outgoing.channel}: sending unsigned alerts (no secret_env)",
                        extra={"channel": outgoing.channel})
        if channel.insecure and outgoing.channel not in _warned_insecure:
            _warned_insecure.add(outgoing.channel)
            log.warning(f"webhook channel {outgoing.channel}: TLS certificate checks are off (insecure: true)",
                        extra={"channel": outgoing.channel})
        try:
            async with self._client(channel.insecure).stream(
                "POST", url, content=body, headers=headers, timeout=channel.timeout,
            ) as response:
                snippet = without_url_secrets(await _read_capped(response), url)
        except httpx.TimeoutException:
            raise DeliveryError(f"{receiver_address(url)}: timed out after {channel.timeout:g}s") from None
        except httpx.HTTPError as exc:
            where = receiver_address(url)
            said = (str(exc) or "connection failed").replace(url, where)  # the path may hold a token
            raise DeliveryError(f"{where}: {type(exc).__name__}: {said}") from None
        return _outcome(response, snippet, receiver_address(url))


def without_url_secrets(text: str, url: str) -> str:
    """`text` (a receiver's answer, quoted in errors) with the channel url's path, query and user info cut out,
    also percent-decoded: a receiver that echoes the request ("Cannot POST /hooks/tok_…?key=…") must not put
    the token it was given into the outbox, the log or the web page."""
    parts = urlsplit(url)
    secrets = {parts.path + (f"?{parts.query}" if parts.query else ""), parts.path, parts.query, parts.netloc,
               *(p for p in parts.path.split("/") if len(p) >= 8)}
    secrets |= {unquote(s) for s in secrets}
    for secret in sorted((s for s in secrets if len(s) > 1), key=len, reverse=True):  # the longest first
        text = text.replace(secret, "…")
    return text


def receiver_address(url: str) -> str:
    """`https://hooks.example.org:443` of a channel's url: where a send failed, as an SMTP error names
    host:port. Never the path or query, nor a user:password: receivers often carry a token in them."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or "?"
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port out of range: httpx refuses such a url before connecting
        port = None
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    return f"{scheme}://{host}" + (f":{port}" if port else "")


async def _read_capped(response: httpx.Response) -> str:
    """Read at most MAX_RESPONSE_BYTES of the answer: enough for an error message, never a flood."""
    chunks, size = [], 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_BYTES:
            break
    text = b"".join(chunks)[:MAX_RESPONSE_BYTES].decode("utf-8", "replace")
    return excerpt(text)


_HTML_NOISE = re.compile(r"<(script|style)\b.*?(</\1\s*>|$)|<!--.*?(-->|$)|<head\b.*?(</head\s*>|(?=<body\b))",
                         re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z!][^<>]*>")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A receiver's answer as one short line for `last_error`: an HTML error page loses its markup
    (and its <head>, scripts and styles), whitespace is collapsed, and the rest is cut between words."""
    if _TAG.search(text):
        text = html.unescape(_TAG.sub(" ", _HTML_NOISE.sub(" ", text)))
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


def _redirect_note(location: str | None, url: str) -> str:
    """Where a receiver redirected, by scheme, host and port and how the path compares with the channel url's:
    never the path or query themselves (a trailing-slash redirect repeats the url's token)."""
    if not location:
        return " (a redirect without a Location, not followed; fix the channel url)"
    try:
        target, path = urljoin(url, location), urlsplit(url).path
        moved = urlsplit(target).path
        where = receiver_address(target)
    except ValueError:  # "http://a]b/…": httpx passes it on, urllib cannot read it
        return " (a redirect to an address that cannot be read, not followed; fix the channel url)"
    how = ("the same path" if moved == path else "the same path with a slash added" if moved == path + "/"
           else "another path")
    return f" (redirect to {where}, {how}, not followed; fix the channel url)"


def _outcome(response: httpx.Response, snippet: str, where: str) -> SendResult:
    """The receiver's answer: a SendResult for 2xx, else a DeliveryError naming the status and `where` (the
    receiver's scheme://host:port), permanent for a 4xx that retrying cannot change."""
    status = response.status_code
    detail = f"HTTP {status}" + (f" {response.reason_phrase}" if response.reason_phrase else "")
    if 200 <= status < 300:
        return SendResult(detail)
    message = f"{detail} from {where}" + (f": {snippet}" if snippet else "")
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        raise DeliveryError(message, permanent=True)
    retry_after = retry_after_seconds(response.headers.get("Retry-After")) if status in RETRY_AFTER_STATUSES else None
    if 300 <= status < 400:
        message += _redirect_note(response.headers.get("Location"), str(response.request.url))
    raise DeliveryError(message, retry_after=retry_after)
