"""The `email` channel: multipart text + HTML alerts over SMTP (STARTTLS, implicit TLS or plain)."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from monitor.config import EmailChannel
from monitor.errors import DeliveryError
from monitor.notify.channel import ChannelKind, Outgoing, SendResult, send_bound
from monitor.notify.render import render_email


def message_id(alert_id: str) -> str:
    """The Message-ID of an alert: derived from its stable id, so a resend is recognisable as the same mail."""
    return f"<{alert_id}@policy-monitor>"


def default_sender() -> str:
    return f"policy-monitor@{socket.gethostname() or 'localhost'}"


def build_message(channel: EmailChannel, outgoing: Outgoing) -> EmailMessage:
    """The email for one alert: subject, text part and HTML part rendered with the `alerts/` templates."""
    rendered = render_email(outgoing.payload, outgoing.alert_id)
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = channel.from_ or default_sender()
    msg["To"] = ", ".join(channel.to)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(outgoing.alert_id) if outgoing.alert_id else make_msgid("policy-monitor")
    msg["X-Policy-Monitor-Event"] = outgoing.event_type
    msg["X-Policy-Monitor-Alert-Id"] = outgoing.alert_id
    if outgoing.event_type == "policy.reverted":  # threads under the alerts it withdraws
        undone = [message_id(a) for a in outgoing.payload.get("data", {}).get("reverted_alerts") or ()]
        if undone:
            msg["In-Reply-To"], msg["References"] = undone[-1], " ".join(undone)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    # quoted-printable keeps policy text 7-bit clean for servers without 8BITMIME
    msg.set_content(rendered.text, cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    return msg


class Email(ChannelKind):
    """Send each alert as an email (plain text and HTML) to every address in `to`.

    Keys: `to` (one or more addresses), `from` (default `policy-monitor@<hostname>`), and `smtp`:
    `host`, `port` (default 587), `starttls` (default true), `ssl` (implicit TLS, usually port 465),
    `username`, `password_env` (name of the environment variable holding the password, read at send
    time), `timeout`. `starttls: false` with `ssl: false` is plain SMTP, for loopback or a trusted
    relay. Filters: `topics`, `min_severity`.

    The Message-ID is derived from the alert id, so a resend after a crash is the same message.
    A 4xx SMTP answer or a connection failure is retried; a 5xx answer (e.g. unknown recipient,
    authentication refused) marks the alert failed.
    """

    type = "email"

    async def send(self, channel: EmailChannel, outgoing: Outgoing) -> SendResult:
        msg = build_message(channel, outgoing)
        # the thread is not cancelled with the send (`send_bounded`): its socket is shut a moment before the bound
        return await asyncio.to_thread(_send_blocking, channel, msg, max(send_bound(channel) - 1.0, 0.5))


def _send_blocking(channel: EmailChannel, msg: EmailMessage, deadline: float) -> SendResult:
    """Send `msg`; after `deadline` seconds the connection is shut, so a server answering a byte at a time (each
    within the timeout) fails the send, as a silent one does, and the thread ends."""
    smtp_cfg = channel.smtp
    context = ssl.create_default_context()
    # made before it connects, so that a greeting sent a byte at a time is cut off too
    client = (smtplib.SMTP_SSL(timeout=smtp_cfg.timeout, context=context) if smtp_cfg.ssl
              else smtplib.SMTP(timeout=smtp_cfg.timeout))
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        _shut(client)

    timer = threading.Timer(deadline, cut_off)
    timer.daemon = True
    timer.start()
    try:
        return _send_with(client, context, channel, msg)
    except DeliveryError as exc:
        if expired.is_set():
            raise DeliveryError(f"SMTP {smtp_cfg.host}:{smtp_cfg.port}: no complete answer within "
                                f"{deadline:g}s ({smtp_cfg.timeout:g}s a step); retried later") from exc
        raise
    finally:
        timer.cancel()


def _shut(client: smtplib.SMTP) -> None:
    sock = getattr(client, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _send_with(client: smtplib.SMTP, context: ssl.SSLContext, channel: EmailChannel, msg: EmailMessage) -> SendResult:
    """Connect `client` (not yet connected) and send `msg` through it; a DeliveryError for every failure."""
    smtp_cfg = channel.smtp
    password = smtp_cfg.password()
    if smtp_cfg.password_env and password is None:  # the outbox holds such alerts back; `test-alert` gets here
        raise DeliveryError(f"environment variable {smtp_cfg.password_env} (smtp.password_env) is not set")
    try:
        client._host = smtp_cfg.host  # the TLS server name (STARTTLS, SMTP_SSL); __init__ sets it only when it connects
        code, greeting = client.connect(smtp_cfg.host, smtp_cfg.port)
        if code != 220:  # as SMTP(host, port) itself refuses a server that does not greet with 220
            client.close()
            raise smtplib.SMTPConnectError(code, greeting)
        with client:
            client.ehlo_or_helo_if_needed()
            if smtp_cfg.starttls and not smtp_cfg.ssl:
                client.starttls(context=context)
                client.ehlo()
            if smtp_cfg.username:
                client.login(smtp_cfg.username, password or "")
            return _transmit(client, msg)
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise DeliveryError(f"SMTP {exc.smtp_code} {' '.join(text.split())[:200]}",
                            permanent=exc.smtp_code >= 500) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {code for code, _ in exc.recipients.values()}
        detail = "; ".join(f"{rcpt}: {code} {_decode(resp)}" for rcpt, (code, resp) in exc.recipients.items())
        permanent = all(c >= 500 for c in codes)
        raise DeliveryError(f"every recipient refused: {detail}"[:300], permanent=permanent) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"SMTP server does not support this: {exc}", permanent=True) from None
    except (smtplib.SMTPException, OSError) as exc:
        name = type(exc).__name__
        raise DeliveryError(f"SMTP {smtp_cfg.host}:{smtp_cfg.port}: {name}: {exc or 'connection failed'}") from None


def _transmit(client: smtplib.SMTP, msg: EmailMessage) -> SendResult:
    """MAIL, RCPT and DATA by hand (like smtplib's sendmail) to keep the server's final answer."""
    sender = msg["From"]
    recipients = [a.strip() for a in msg["To"].split(",") if a.strip()]
    code, resp = client.mail(_address(sender))
    if code != 250:
        client.rset()
        raise smtplib.SMTPSenderRefused(code, resp, sender)
    refused = {}
    for rcpt in recipients:
        code, resp = client.rcpt(_address(rcpt))
        if code not in (250, 251):
            refused[rcpt] = (code, resp)
    if len(refused) == len(recipients):
        client.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    code, resp = client.data(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))  # SMTP wants CRLF
    if code != 250:
        client.rset()
        raise smtplib.SMTPDataError(code, resp)
    detail = f"{code} {_decode(resp)}"
    if refused:
        detail += " (refused: " + ", ".join(f"{r} {c}" for r, (c, _) in refused.items()) + ")"
    return SendResult(detail)


def _address(header_value: str) -> str:
    from email.utils import parseaddr

    return parseaddr(header_value)[1] or header_value


def _decode(resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return " ".join(text.split())[:200]
