"""Test helpers for the alerts tests: a real SMTP server and a real webhook receiver on loopback, and
alert rows queued through the real outbox function (for delivery tests that need no policy pages)."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import jsonschema
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.compare.diff import SectionChange
from monitor.config import Config
from monitor.meaning.significance import RatedChange
from monitor.notify.outbox import enqueue_change_alerts
from monitor.notify.render import webhook_schema
from monitor.pipeline import CheckResult
from monitor.store.database import Alert, Store, Version, compress, text_hash

SECRET = "whsec_" + base64.b64encode(b"policy-monitor-test-secret-key!!").decode()
SMTP_PASSWORD = "s3cret-smtp-pass-Zq9"


# -- the webhook schema, with date-times checked (jsonschema checks formats only with extra packages) ---

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None


def validate_envelope(payload: dict) -> None:
    """Raise jsonschema.ValidationError unless `payload` matches alerts/webhook.schema.json."""
    jsonschema.validate(payload, webhook_schema(), format_checker=FORMATS)


# -- SMTP ------------------------------------------------------------------------------------------

@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.server.refuse:
            return f"{self.server.refuse[address]} mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.server.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        self.server.auth_seen.append(session.authenticated)
        self.server.tls_seen.append(session.ssl is not None)
        return "250 2.0.0 Ok: queued as TEST1"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 (plain SMTP, optional AUTH without TLS) collecting every message."""

    def __init__(self, *, password: str | None = None, tls_context=None, ssl_context=None):
        self.received: list[ReceivedMail] = []
        self.auth_seen: list[bool] = []
        self.refuse: dict[str, str] = {}
        self.logins: list[tuple[str, str]] = []
        kwargs = {}
        if password is not None:
            def authenticate(server, session, envelope, mechanism, auth_data):
                if isinstance(auth_data, LoginPassword):
                    user, pw = auth_data.login.decode(), auth_data.password.decode()
                    self.logins.append((user, pw))
                    return AuthResult(success=pw == password, handled=False)
                return AuthResult(success=False, handled=False)

            kwargs = {"authenticator": authenticate, "auth_require_tls": False, "auth_required": True}
        if tls_context is not None:  # STARTTLS offered and required
            kwargs.update(tls_context=tls_context, require_starttls=True)
        if ssl_context is not None:  # implicit TLS from the first byte
            kwargs.update(ssl_context=ssl_context)
        self.tls_seen: list[bool] = []
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=free_port(), **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed_certificate(folder) -> tuple[str, str]:
    """(cert, key) files for 127.0.0.1, made with the openssl command."""
    import subprocess

    cert, key = f"{folder}/cert.pem", f"{folder}/key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def email_channel(port: int, **extra) -> dict:
    return {"type": "email", "to": ["privacy@example.org", "legal@example.org"], "from": "monitor@example.org",
            "smtp": {"host": "127.0.0.1", "port": port, "starttls": False, "ssl": False, "timeout": "5s"}, **extra}


# -- webhook receiver ------------------------------------------------------------------------------

@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records each POST and answers from a script of statuses
    (the last one repeats), e.g. `Receiver(statuses=[500, 500, 200])`."""

    statuses: list[int] = field(default_factory=lambda: [200])
    headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    body: bytes | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.server.expect_request("/hook", method="POST").respond_with_handler(self._handle)
        self.port = None

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self.received.append(Received(dict(request.headers), request.get_data()))
            index = min(len(self.received), len(self.statuses)) - 1
            status = self.statuses[index]
        return Response(self.body if self.body is not None else f"answer {status}", status=status,
                        headers=self.headers)

    def start(self, port: int = 0) -> Receiver:
        if port:
            self.server = HTTPServer(host="127.0.0.1", port=port, threaded=True)
            self.server.expect_request("/hook", method="POST").respond_with_handler(self._handle)
        self.server.start()
        self.port = self.server.port
        return self

    def stop(self) -> None:
        if self.server.is_running():
            self.server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


class DripServer:
    """A real TCP server on 127.0.0.1 that speaks first, as an SMTP server does: `greeting` at once, then `drip`
    a byte at a time, each within any sensible timeout. How a slow server would hold a send for hours if only
    each step had a timeout. (An HTTP one that answers slowly is `FaultyServer.drip`.)"""

    def __init__(self, *, greeting: bytes = b"", drip: bytes = b"", every: float = 0.2):
        self.greeting, self.drip, self.every = greeting, drip, every
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = threading.Event()

    def __enter__(self) -> DripServer:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed.set()
        self.listener.close()

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # (the client hanging up ends the answer)
            conn.sendall(self.greeting)
            for byte in self.drip:
                if self.closed.wait(self.every):
                    return
                conn.sendall(bytes([byte]))


# -- alerts through the real outbox function ------------------------------------------------------

def rated(section: str, before: str, after: str, topics: Iterable[str], severity: str = "medium",
          summary: str = "", kind: str = "modified") -> RatedChange:
    return RatedChange(SectionChange(kind, section, before=before, after=after), topics=tuple(topics),
                       substantive=True, severity=severity, summary=summary or f"{section} changed")


MINORS = rated("5. Children › 5.2 Age", "We do not knowingly collect data from children under 16.",
               "We do not knowingly collect data from children under 13.", ["minors"], "high",
               "age threshold 16 → 13")
SHARING = rated("4. Sharing", "We never sell your personal data.",
                "We may sell your personal data to advertising partners.", ["sharing"], "high",
                "sale of data no longer excluded")
RETENTION = rated("6. Retention", "We keep logs for 30 days.", "We keep logs for 90 days.", ["retention"],
                  "medium", "retention period 30 days → 90 days")


def queue_change(store: Store, config: Config, source: str, changes: list[RatedChange], *, seq: int = 2) -> list[Alert]:
    """Store versions seq-1 and seq of `source` and queue its change alerts, as check_source does."""
    source_cfg = config.source(source)
    assert source_cfg is not None
    with store.session() as session:
        row = Store.ensure_source(session, source_cfg.name, source_cfg.url)
        versions = []
        for n in (seq - 1, seq):
            existing = Store.version(session, row.id, n)
            if existing is None:
                existing = Version(source_id=row.id, seq=n, url=source_cfg.url, text_hash=text_hash(f"{source}{n}"),
                                   raw_hash=text_hash(f"{source}{n}"), raw=compress(b"<p>x</p>"), text=f"v{n}")
                session.add(existing)
                session.flush()
            versions.append(existing)
        result = CheckResult(source_cfg.name, source_cfg.url, "changed", version=seq, previous_version=seq - 1,
                             changes=changes)
        result.alert_topics = sorted({t for c in changes for t in c.alert_topics(source_cfg.topics)})
        alerts = enqueue_change_alerts(session, config, source_cfg, versions[1], result)
        session.flush()
        return alerts


def alert_rows(store: Store) -> list[Alert]:
    from sqlmodel import select

    with store.session() as session:
        return list(session.exec(select(Alert).order_by(Alert.id)))
