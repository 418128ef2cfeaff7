"""Email alerts through the outbox, received by a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import asyncio
import ssl
import time
from datetime import timedelta

import pytest

from monitor.config import load_config
from monitor.notify.delivery import deliver_pending
from monitor.store.database import Store, utcnow
from tests.alert_helpers import (
    MINORS,
    RETENTION,
    SHARING,
    SMTP_PASSWORD,
    DripServer,
    SmtpServer,
    alert_rows,
    email_channel,
    free_port,
    queue_change,
    rated,
    self_signed_certificate,
)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SOURCE = {"name": "wemet", "url": "https://example.org/privacy"}
SCRIPTED = rated("3. Sharing › 3.1 Partners", "We share data with our payment processor.",
                 "We share data with our payment processor and <script>alert('x')</script> ad partners.",
                 ["sharing"], "high", "new recipients: ad partners")


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def setup(make_config, sqlite_url):
    stores = []

    def make(channel: dict, **top):
        config = load_config(make_config([SOURCE], {"privacy-team": channel}, **top))
        stores.append(Store(sqlite_url))
        return config, stores[-1]

    yield make
    for s in stores:
        s.dispose()


def deliver(store, config, after: float = 0):
    return asyncio.run(deliver_pending(store, config, now=utcnow() + timedelta(seconds=after)))


def test_email_alert_arrives_as_text_and_html_with_the_changed_clause(setup, smtp):
    config, store = setup(email_channel(smtp.port))
    [alert] = queue_change(store, config, "wemet", [MINORS, SCRIPTED, RETENTION])

    report = deliver(store, config)

    assert report.delivered == 1
    [mail] = smtp.received
    msg = mail.message
    assert mail.mail_from == "monitor@example.org"
    assert sorted(mail.rcpt_tos) == ["legal@example.org", "privacy@example.org"]
    assert msg["Subject"] == "[policy-monitor] wemet: minors, retention, sharing changed (high)"
    assert msg["From"] == "monitor@example.org" and msg["To"] == "privacy@example.org, legal@example.org"
    assert msg["Message-ID"] == f"<{alert.idempotency_key}@policy-monitor>"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()

    assert "5. Children › 5.2 Age" in text and "age threshold 16 → 13" in text
    assert "children under [-16-]." in text and "children under {+13+}." in text
    assert "https://example.org/privacy" in text and "Versions: 1 -> 2" in text
    assert "policy-monitor diff wemet 1 2" in text

    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert 'children under <ins style="background:#dfd;color:#060">13</ins>' in html
    assert '<del style="background:#fdd;color:#900">16</del>' in html
    assert '<a href="https://example.org/privacy">' in html
    [row] = alert_rows(store)
    assert row.status == "delivered" and row.attempts == 1


def test_long_change_lists_are_capped_with_a_count_of_the_rest(setup, smtp):
    config, store = setup(email_channel(smtp.port))
    many = [rated(f"{i}. Retention", f"We keep logs for {i} days.", f"We keep logs for {i + 1} days.",
                  ["retention"], "medium", f"retention {i} → {i + 1} days") for i in range(1, 26)]
    queue_change(store, config, "wemet", many)

    deliver(store, config)

    text = smtp.received[0].message.get_body(("plain",)).get_content()
    assert "retention 10 → 11 days" in text and "retention 11 → 12 days" not in text
    assert "... and 15 more changes." in text


def test_smtp_login_uses_the_password_from_the_environment(setup, monkeypatch):
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    with SmtpServer(password=SMTP_PASSWORD) as server:
        channel = email_channel(server.port)
        channel["smtp"].update(username="bot", password_env="TEST_SMTP_PASSWORD")
        config, store = setup(channel)
        queue_change(store, config, "wemet", [SHARING])
        report = deliver(store, config)
    assert report.delivered == 1 and server.logins == [("bot", SMTP_PASSWORD)] and server.auth_seen == [True]


def test_wrong_smtp_password_is_a_permanent_failure(setup, monkeypatch):
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "not-it")
    with SmtpServer(password=SMTP_PASSWORD) as server:
        channel = email_channel(server.port)
        channel["smtp"].update(username="bot", password_env="TEST_SMTP_PASSWORD")
        config, store = setup(channel)
        queue_change(store, config, "wemet", [SHARING])
        report = deliver(store, config)
    [row] = alert_rows(store)
    assert report.failed == 1 and not server.received
    assert row.status == "failed" and row.last_error.startswith("permanent failure: SMTP 535")
    assert "not-it" not in row.last_error


def test_an_unset_password_variable_keeps_the_alert_waiting_with_no_attempt_counted(setup, monkeypatch):
    """As for a webhook's unset `secret_env`: the secret is read at send time, so the alert waits for it."""
    monkeypatch.delenv("TEST_SMTP_UNSET", raising=False)
    with SmtpServer(password=SMTP_PASSWORD) as server:
        channel = email_channel(server.port)
        channel["smtp"].update(username="bot", password_env="TEST_SMTP_UNSET")
        config, store = setup(channel)
        queue_change(store, config, "wemet", [SHARING])

        reports = [deliver(store, config, after=3600 * i) for i in range(15)]  # more passes than max_attempts
        [waiting] = alert_rows(store)
        monkeypatch.setenv("TEST_SMTP_UNSET", SMTP_PASSWORD)
        sent = deliver(store, config)

    assert all(r.unconfigured == 1 and r.attempted == 0 for r in reports)
    assert waiting.status == "pending" and waiting.attempts == 0, "waiting for the password is not a failed attempt"
    assert waiting.last_error == ("environment variable TEST_SMTP_UNSET (smtp.password_env) is not set; the alert "
                                  "waits until the delivering process has it")
    assert sent.delivered == 1 and len(server.received) == 1 and server.logins == [("bot", SMTP_PASSWORD)]


def test_smtp_server_down_is_retried_then_delivered_once_it_is_up(setup):
    port = free_port()
    config, store = setup(email_channel(port))
    [alert] = queue_change(store, config, "wemet", [MINORS])

    now = utcnow()
    down = asyncio.run(deliver_pending(store, config, now=now))
    [row] = alert_rows(store)
    assert down.retrying == 1 and row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at >= now and "refused" in row.last_error.lower()

    server = SmtpServer()
    server.controller.port = port
    with server:
        up = deliver(store, config, after=3600)
    assert up.delivered == 1 and len(server.received) == 1
    assert server.received[0].message["Message-ID"] == f"<{alert.idempotency_key}@policy-monitor>"


def test_a_refused_recipient_among_several_still_delivers_to_the_others(setup, smtp):
    smtp.refuse["legal@example.org"] = "550"
    config, store = setup(email_channel(smtp.port))
    queue_change(store, config, "wemet", [MINORS])

    report = deliver(store, config)

    assert report.delivered == 1 and smtp.received[0].rcpt_tos == ["privacy@example.org"]
    assert "refused: legal@example.org 550" in report.outcomes[0].detail


def test_every_recipient_refused_permanently_fails_the_alert(setup, smtp):
    smtp.refuse.update({"legal@example.org": "550", "privacy@example.org": "550"})
    config, store = setup(email_channel(smtp.port))
    queue_change(store, config, "wemet", [MINORS])

    report = deliver(store, config)

    [row] = alert_rows(store)
    assert report.failed == 1 and row.status == "failed" and "every recipient refused" in row.last_error


def test_channels_with_different_topic_filters_each_get_only_their_own(make_config, sqlite_url, smtp):
    channels = {
        "kids": email_channel(smtp.port, to=["kids@example.org"], topics=["minors"]),
        "dpo": email_channel(smtp.port, to=["dpo@example.org"], topics=["sharing", "retention"]),
        "urgent": email_channel(smtp.port, to=["urgent@example.org"], min_severity="high"),
    }
    config = load_config(make_config([SOURCE], channels))
    store = Store(sqlite_url)
    queue_change(store, config, "wemet", [MINORS, RETENTION])

    asyncio.run(deliver_pending(store, config))

    by_rcpt = {m.rcpt_tos[0]: m.message for m in smtp.received}
    assert set(by_rcpt) == {"kids@example.org", "dpo@example.org", "urgent@example.org"}
    assert by_rcpt["kids@example.org"]["Subject"] == "[policy-monitor] wemet: minors changed (high)"
    assert by_rcpt["dpo@example.org"]["Subject"] == "[policy-monitor] wemet: retention changed (medium)"
    assert by_rcpt["urgent@example.org"]["Subject"] == "[policy-monitor] wemet: minors changed (high)"
    dpo_text = by_rcpt["dpo@example.org"].get_body(("plain",)).get_content()
    assert "6. Retention" in dpo_text and "Children" not in dpo_text
    urgent_text = by_rcpt["urgent@example.org"].get_body(("plain",)).get_content()
    assert "Retention" not in urgent_text  # medium is below its min_severity
    store.dispose()


def test_a_change_no_channel_watches_queues_no_alert(make_config, sqlite_url, smtp):
    channels = {"kids": email_channel(smtp.port, topics=["minors"])}
    config = load_config(make_config([SOURCE], channels))
    store = Store(sqlite_url)

    assert queue_change(store, config, "wemet", [RETENTION]) == []
    assert asyncio.run(deliver_pending(store, config)).attempted == 0
    assert not smtp.received and alert_rows(store) == []
    store.dispose()


@pytest.fixture
def certificate(tmp_path):
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return cert, context


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_starttls_and_implicit_tls_check_the_certificate(setup, certificate, monkeypatch, mode):
    cert, context = certificate
    server_kwargs = {"tls_context": context} if mode == "starttls" else {"ssl_context": context}
    with SmtpServer(**server_kwargs) as server:
        channel = email_channel(server.port)
        channel["smtp"].update(starttls=mode == "starttls", ssl=mode == "ssl")
        config, store = setup(channel)
        queue_change(store, config, "wemet", [MINORS])

        untrusted = deliver(store, config)
        [row] = alert_rows(store)
        assert untrusted.retrying == 1 and "CERTIFICATE_VERIFY_FAILED" in row.last_error and not server.received

        monkeypatch.setenv("SSL_CERT_FILE", cert)  # now the system trust store includes our test CA
        trusted = deliver(store, config, after=3600)
    assert trusted.delivered == 1 and len(server.received) == 1
    if mode == "starttls":  # aiosmtpd records the upgrade; implicit TLS showed itself by the refused certificate
        assert server.tls_seen == [True]


def test_an_smtp_server_answering_a_byte_at_a_time_is_cut_off_at_the_send_bound(setup):
    """Each byte of the greeting comes within the timeout: the connection is shut at the bound, the thread
    sending ends, and the alert is retried (not left to a lease that runs out mid-send)."""
    with DripServer(greeting=b"220", drip=b"-" + b"x" * 4000 + b"\r\n", every=0.2) as server:
        channel = email_channel(server.port)
        channel["smtp"]["timeout"] = "0.5s"
        config, store = setup(channel)
        queue_change(store, config, "wemet", [MINORS])
        started = time.monotonic()
        report = deliver(store, config)
        took = time.monotonic() - started
    [row] = alert_rows(store)
    assert report.retrying == 1 and row.status == "pending"
    assert "no complete answer within 2.5s (0.5s a step)" in row.last_error, row.last_error
    assert took < 3.5 + 1, took


def test_a_server_that_does_not_greet_with_220_gets_no_mail(setup):
    """The greeting is checked as smtplib's own constructor checks it: a "554 no SMTP service" server that would
    then accept the message is refused for good, a "421 closing" one is retried."""
    for greeting, status in ((b"554 mail.example.org no SMTP service here\r\n", "failed"),
                             (b"421 mail.example.org busy, closing\r\n", "pending")):
        with DripServer(greeting=greeting) as server:
            config, store = setup(email_channel(server.port))
            queue_change(store, config, "wemet", [MINORS])
            deliver(store, config)
        [row] = alert_rows(store)
        assert row.status == status and f"SMTP {greeting[:3].decode()} mail.example.org" in row.last_error, \
            row.last_error
        store.dispose()
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM alert")
