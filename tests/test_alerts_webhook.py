"""Webhook alerts through the outbox, against a real HTTP receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from monitor.config import load_config
from monitor.notify.delivery import deliver_pending
from monitor.store.database import Store, utcnow
from tests.alert_helpers import (
    MINORS,
    RETENTION,
    SECRET,
    SHARING,
    Receiver,
    alert_rows,
    queue_change,
    self_signed_certificate,
    validate_envelope,
)
from tests.faulty_server import FaultyServer

SOURCE = {"name": "wemet", "url": "https://example.org/privacy"}


@pytest.fixture
def setup(make_config, sqlite_url, monkeypatch):
    """(config, store) for a source `wemet` with one webhook channel `siem` pointing at `url`."""
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    stores = []

    def make(url: str, **channel):
        top = {"delivery": channel.pop("delivery")} if "delivery" in channel else {}
        path = make_config([SOURCE], {"siem": {"type": "webhook", "url": url,
                                               "secret_env": "TEST_WEBHOOK_SECRET", **channel}}, **top)
        stores.append(Store(sqlite_url))
        return load_config(path), stores[-1]

    yield make
    for s in stores:
        s.dispose()


def deliver(store, config, *, after: float = 0):
    return asyncio.run(deliver_pending(store, config, now=utcnow() + timedelta(seconds=after)))


def test_receiver_verifies_the_signature_with_standard_webhooks(setup, receiver):
    config, store = setup(receiver.url)
    [alert] = queue_change(store, config, "wemet", [MINORS, RETENTION])

    report = deliver(store, config)

    assert report.delivered == 1 and report.failed == report.retrying == 0
    [got] = receiver.received
    payload = Webhook(SECRET).verify(got.body, got.headers)
    assert got.headers["Webhook-Id"] == alert.idempotency_key
    assert got.headers["Webhook-Signature"].startswith("v1,")
    assert payload["type"] == "policy.changed" and payload["data"]["source"] == "wemet"
    assert payload["data"]["topics"] == ["minors", "retention"] and payload["data"]["severity"] == "high"
    assert payload["data"]["changes"][0]["summary"] == "age threshold 16 → 13"
    validate_envelope(payload)
    [row] = alert_rows(store)
    assert row.status == "delivered" and row.attempts == 1 and row.delivered_at is not None


def test_a_tampered_body_fails_verification(setup, receiver):
    config, store = setup(receiver.url)
    queue_change(store, config, "wemet", [MINORS])
    deliver(store, config)

    [got] = receiver.received
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(got.body.replace(b"13", b"18"), got.headers)


def test_receiver_failing_twice_gets_the_alert_once_after_three_attempts(setup):
    receiver = Receiver(statuses=[500, 500, 200]).start()
    try:
        config, store = setup(receiver.url)
        queue_change(store, config, "wemet", [SHARING])

        now = utcnow()
        first = asyncio.run(deliver_pending(store, config, now=now))
        [row] = alert_rows(store)
        assert first.retrying == 1 and row.status == "pending" and row.attempts == 1
        assert "HTTP 500" in row.last_error and now <= row.next_attempt_at <= now + timedelta(seconds=0.2)
        deliver(store, config, after=3600)
        third = deliver(store, config, after=7200)
        later = deliver(store, config, after=10800)
    finally:
        receiver.stop()

    [row] = alert_rows(store)
    assert third.delivered == 1 and later.attempted == 0
    assert row.status == "delivered" and row.attempts == 3 and row.last_error is None
    assert [r.headers["Webhook-Id"] for r in receiver.received] == [row.idempotency_key] * 3
    assert len({r.body for r in receiver.received}) == 1  # a retry resends the same bytes


def test_gone_410_fails_at_once_and_stays_visible(setup):
    receiver = Receiver(statuses=[410]).start()
    try:
        config, store = setup(receiver.url)
        queue_change(store, config, "wemet", [MINORS])
        report = deliver(store, config)
        again = deliver(store, config, after=3600)
    finally:
        receiver.stop()

    [row] = alert_rows(store)
    assert report.failed == 1 and again.attempted == 0 and len(receiver.received) == 1
    assert row.status == "failed" and row.attempts == 1
    assert row.last_error.startswith(f"permanent failure: HTTP 410 GONE from http://127.0.0.1:{receiver.port}")
    assert "/hook" not in row.last_error, "the receiver's address, never its path"


def test_a_receiver_that_echoes_the_request_never_puts_the_urls_token_in_the_outbox_or_the_log(setup, caplog):
    # an Express-style 404 quotes the request line: the token in the channel url's query must not be kept
    receiver = Receiver(statuses=[404], body=b"Cannot POST /hook?api_key=SUPERSECRET1234").start()
    try:
        config, store = setup(receiver.url + "?api_key=SUPERSECRET1234")
        queue_change(store, config, "wemet", [MINORS])
        report = deliver(store, config)
    finally:
        receiver.stop()

    [row] = alert_rows(store)
    assert report.failed == 1 and len(receiver.received) == 1
    where = f"http://127.0.0.1:{receiver.port}"
    assert row.last_error == f"permanent failure: HTTP 404 NOT FOUND from {where}: Cannot POST …"
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("monitor")]  # (not the receiver's own log)
    assert ours and not [line for line in ours if "SUPERSECRET" in line or "api_key" in line]


def one_pass(setup, receiver: Receiver):
    """Queue one alert for `receiver`, make one delivery pass; (report, the alert's row)."""
    receiver.start()
    try:
        config, store = setup(receiver.url)
        queue_change(store, config, "wemet", [MINORS])
        report = deliver(store, config)
    finally:
        receiver.stop()
    [row] = alert_rows(store)
    return report, row


@pytest.mark.parametrize("status", [408, 429, 503])
def test_timeouts_and_overload_answers_are_retried(setup, status):
    report, row = one_pass(setup, Receiver(statuses=[status]))
    assert report.retrying == 1 and row.status == "pending" and f"HTTP {status}" in row.last_error


def next_attempt_in(setup, status: int, retry_after: str, delivery: dict) -> float:
    """Seconds from a failed delivery to its next attempt, for a receiver answering `status` with Retry-After."""
    receiver = Receiver(statuses=[status], headers={"Retry-After": retry_after}).start()
    try:
        config, store = setup(receiver.url, delivery=delivery)
        queue_change(store, config, "wemet", [MINORS])
        now = utcnow()
        asyncio.run(deliver_pending(store, config, now=now))
    finally:
        receiver.stop()
    [row] = alert_rows(store)
    assert row.status == "pending"
    return (row.next_attempt_at - now).total_seconds()


@pytest.mark.parametrize(("retry_after", "expected"), [("5", 5), ("86400", 3600)])
def test_retry_after_is_honoured_up_to_the_cap(setup, retry_after, expected):
    delay = next_attempt_in(setup, 429, retry_after,
                            {"backoff": "0.05s", "max_backoff": "0.2s", "max_retry_after": "1h"})
    assert delay == pytest.approx(expected, abs=0.5)


def test_a_short_retry_after_does_not_shorten_the_backoff(setup):
    """A receiver saying "Retry-After: 1" on every answer must not use up all attempts within a minute."""
    assert 30 <= next_attempt_in(setup, 503, "1", {"backoff": "60s", "max_backoff": "6h"}) <= 61


def test_gives_up_after_max_attempts_and_marks_failed(setup):
    receiver = Receiver(statuses=[502]).start()
    try:
        config, store = setup(receiver.url, delivery={"max_attempts": 3, "backoff": "1s", "max_backoff": "2s"})
        queue_change(store, config, "wemet", [MINORS])
        reports = [deliver(store, config, after=3600 * i) for i in range(5)]
    finally:
        receiver.stop()
    [row] = alert_rows(store)
    assert [r.attempted for r in reports] == [1, 1, 1, 0, 0] and len(receiver.received) == 3
    assert row.status == "failed" and row.attempts == 3
    assert row.last_error.startswith("gave up after 3 attempts: HTTP 502")


def test_gives_up_when_the_alert_is_older_than_max_age(setup):
    receiver = Receiver(statuses=[500]).start()
    try:
        config, store = setup(receiver.url, delivery={"max_age": "1h", "backoff": "1s", "max_backoff": "2s"})
        queue_change(store, config, "wemet", [MINORS])
        deliver(store, config)
        deliver(store, config, after=2 * 3600)
    finally:
        receiver.stop()
    [row] = alert_rows(store)
    assert row.status == "failed" and row.attempts == 2 and "gave up after 2.0h" in row.last_error


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_receiver_down_keeps_the_alert_pending_until_it_is_back(setup):
    port = free_port()
    config, store = setup(f"http://127.0.0.1:{port}/hook")
    queue_change(store, config, "wemet", [MINORS])

    now = utcnow()
    down = asyncio.run(deliver_pending(store, config, now=now))
    [row] = alert_rows(store)
    assert down.retrying == 1 and row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at >= now and "Connect" in row.last_error

    receiver = Receiver().start(port)
    try:
        up = deliver(store, config, after=3600)
    finally:
        receiver.stop()
    [row] = alert_rows(store)
    assert up.delivered == 1 and row.status == "delivered" and row.attempts == 2
    assert len(receiver.received) == 1


def test_a_receiver_that_cannot_be_reached_is_named_by_scheme_host_and_port_never_its_path(setup, caplog):
    """As an SMTP error names host:port; the path and query of a webhook url often carry its token."""
    import logging

    silent = socket.create_server(("127.0.0.1", 0))  # listens, never answers
    down, quiet = free_port(), silent.getsockname()[1]
    logger = logging.getLogger("monitor")
    logger.addHandler(caplog.handler)  # the CLI's logging setup may have stopped propagation
    errors = []
    try:
        for attempt, port in enumerate((down, quiet)):  # one alert, its receiver moved
            config, store = setup(f"http://127.0.0.1:{port}/hook/T0KEN-PATH?key=T0KEN-QUERY", timeout="0.3s")
            if not attempt:
                queue_change(store, config, "wemet", [MINORS])
            assert deliver(store, config, after=3600 * attempt).retrying == 1
            [row] = alert_rows(store)
            errors.append(row.last_error)
    finally:
        logger.removeHandler(caplog.handler)
        silent.close()

    assert errors[0].startswith(f"http://127.0.0.1:{down}: ConnectError: "), errors
    assert errors[1] == f"http://127.0.0.1:{quiet}: timed out after 0.3s"
    logged = {r.getMessage() for r in caplog.records if r.name.startswith("monitor.notify")}
    assert all(any(error in line for line in logged) for error in errors), logged
    assert not any("T0KEN" in text for text in [*errors, *logged])


def test_a_channel_removed_from_the_config_leaves_its_alert_pending_with_the_reason(setup, receiver, make_config):
    config, store = setup(receiver.url)
    queue_change(store, config, "wemet", [MINORS])
    without = load_config(make_config([SOURCE], {"other": {"type": "webhook", "url": receiver.url}}))

    report = deliver(store, without)

    [row] = alert_rows(store)
    assert report.unconfigured == 1 and report.attempted == 0 and not receiver.received
    assert row.status == "pending" and row.attempts == 0
    assert "'siem' is not in the config" in row.last_error
    assert deliver(store, config).delivered == 1  # back in the config: it goes out


def test_two_processes_delivering_at_once_send_each_alert_once(setup, receiver, sqlite_url):
    config, store = setup(receiver.url)
    for seq in range(2, 42):
        queue_change(store, config, "wemet", [MINORS], seq=seq)
    reports = []
    own_stores = [Store(sqlite_url, migrate=False) for _ in range(2)]  # own engines, like two processes

    def one_process(own: Store) -> None:
        reports.append(asyncio.run(deliver_pending(own, config)))
        own.dispose()

    threads = [threading.Thread(target=one_process, args=(own,)) for own in own_stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    ids = [r.headers["Webhook-Id"] for r in receiver.received]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert len(reports) == 2 and sum(r.delivered for r in reports) == 40
    assert all(row.status == "delivered" and row.attempts == 1 for row in alert_rows(store))


def test_an_interrupted_send_is_resent_with_the_same_id_after_its_lease(setup, receiver):
    """A process that claimed an alert and died before recording: the lease runs out, the alert goes out."""
    from monitor.notify.channel import channel_timeout
    from monitor.notify.delivery import _claim

    config, store = setup(receiver.url)
    [alert] = queue_change(store, config, "wemet", [MINORS])
    now = utcnow()
    [claimed] = _claim(store, config, alert_rows(store), now, rounds=1)  # ...and the claiming process dies here
    timeout = channel_timeout(config.channels[alert.channel])
    assert claimed.lease - now == timedelta(seconds=3 * timeout + 5), "a send's three timeouts, and a margin"

    assert deliver(store, config).attempted == 0  # leased: nobody else sends it meanwhile
    report = asyncio.run(deliver_pending(store, config, now=claimed.lease + timedelta(seconds=1)))

    assert report.delivered == 1
    assert [r.headers["Webhook-Id"] for r in receiver.received] == [alert.idempotency_key]


def test_a_secret_variable_that_is_not_set_keeps_the_alert_pending_rather_than_unsigned_and_validate_warns(
        setup, receiver, monkeypatch, cli):
    """One unset variable, both readers of it: delivery (`unset_secrets`) holds the alert back, `validate`
    (`config_warnings`) warns; once it is set, the alert goes out and the warning is gone."""
    monkeypatch.delenv("TEST_WEBHOOK_UNSET", raising=False)
    config, store = setup(receiver.url, secret_env="TEST_WEBHOOK_UNSET")
    queue_change(store, config, "wemet", [MINORS])

    reports = [deliver(store, config, after=3600 * i) for i in range(15)]  # more passes than max_attempts
    validated = cli("--config", config.path, "validate")

    [row] = alert_rows(store)
    assert all(r.unconfigured == 1 and r.attempted == 0 for r in reports) and receiver.received == []
    assert row.status == "pending" and row.attempts == 0, "waiting for the secret is not a failed attempt"
    assert row.last_error == ("environment variable TEST_WEBHOOK_UNSET (secret_env) is not set; the alert waits "
                              "until the delivering process has it")
    assert validated.exit_code == 0
    assert "OK - 1 source, 1 channel" in validated.stdout
    assert "warning:" in validated.stderr and "channel siem" in validated.stderr
    assert "TEST_WEBHOOK_UNSET is not set" in validated.stderr
    monkeypatch.setenv("TEST_WEBHOOK_UNSET", SECRET)
    assert "warning" not in cli("--config", config.path, "validate").stderr
    assert deliver(store, config).delivered == 1 and len(receiver.received) == 1


def test_unsigned_webhooks_are_sent_with_one_warning_and_validate_says_so(make_config, sqlite_url, receiver,
                                                                          caplog, cli):
    import logging

    channel = "unsigned-hook"  # a name no other test uses: the warning is once per process and channel
    config = load_config(make_config([SOURCE], {channel: {"type": "webhook", "url": receiver.url}}))
    validated = cli("--config", config.path, "validate")
    assert validated.exit_code == 0 and "OK - 1 source, 1 channel" in validated.stdout
    line = next(n for n, text in enumerate(Path(config.path).read_text().splitlines(), 1) if f"{channel}:" in text)
    assert (f"warning: {config.path}:{line}: channels.{channel}: channel {channel}: no `secret_env`, so its alerts "
            f"are sent unsigned and its receiver cannot tell them from forged ones"
            in " ".join(validated.stderr.split())), "said at the channel's line"
    store = Store(sqlite_url)
    queue_change(store, config, "wemet", [MINORS])
    queue_change(store, config, "wemet", [SHARING], seq=3)
    logger = logging.getLogger("monitor")
    logger.addHandler(caplog.handler)  # the CLI's logging setup may have stopped propagation
    try:
        reports = [deliver(store, config), deliver(store, config)]
        queue_change(store, config, "wemet", [RETENTION], seq=4)
        reports.append(deliver(store, config))
    finally:
        logger.removeHandler(caplog.handler)
        store.dispose()

    assert sum(r.delivered for r in reports) == 3
    assert all("Webhook-Signature" not in r.headers for r in receiver.received)
    assert all(r.headers["Webhook-Id"].startswith("msg_") for r in receiver.received)
    warnings = {id(r): r.getMessage() for r in caplog.records if "sending unsigned" in r.getMessage()}
    assert list(warnings.values()) == [f"webhook channel {channel}: sending unsigned alerts (no secret_env)"]


def test_outbox_on_postgresql_retries_and_never_sends_twice(make_config, postgres_url, monkeypatch):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    receiver = Receiver(statuses=[503, 200]).start()
    try:
        config = load_config(make_config([SOURCE], {"siem": {"type": "webhook", "url": receiver.url,
                                                             "secret_env": "TEST_WEBHOOK_SECRET"}}))
        store = Store(postgres_url)
        for seq in range(2, 22):
            queue_change(store, config, "wemet", [MINORS], seq=seq)
        stores = [Store(postgres_url, migrate=False) for _ in range(2)]
        reports = []
        threads = [threading.Thread(target=lambda s=s: reports.append(asyncio.run(deliver_pending(s, config))))
                   for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        later = deliver(store, config, after=3600)
    finally:
        receiver.stop()
    rows = alert_rows(store)
    for s in [store, *stores]:
        s.dispose()
    assert sum(r.retrying for r in reports) == 1 and sum(r.delivered for r in reports) == 19
    assert later.delivered == 1
    assert len(receiver.received) == 21 and len({r.headers["Webhook-Id"] for r in receiver.received}) == 20
    assert sorted(r.attempts for r in rows) == [1] * 19 + [2] and {r.status for r in rows} == {"delivered"}
    for got in receiver.received:
        Webhook(SECRET).verify(got.body, got.headers)


@pytest.fixture
def https_receiver(tmp_path):
    """A receiver speaking HTTPS with a self-signed certificate (made with the openssl command)."""
    import shutil
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver = Receiver()
    from pytest_httpserver import HTTPServer

    receiver.server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    receiver.server.expect_request("/hook", method="POST").respond_with_handler(receiver._handle)
    receiver.start()
    yield receiver
    receiver.stop()


def test_tls_certificates_are_checked_unless_the_channel_says_insecure(setup, https_receiver, caplog):
    import logging

    url = https_receiver.url.replace("http://", "https://")
    config, store = setup(url)
    queue_change(store, config, "wemet", [MINORS])
    refused = deliver(store, config)
    [row] = alert_rows(store)
    assert refused.retrying == 1 and not https_receiver.received and "CERTIFICATE_VERIFY_FAILED" in row.last_error

    insecure_config, _ = setup(url, insecure=True)
    logger = logging.getLogger("monitor")
    logger.addHandler(caplog.handler)
    try:
        accepted = deliver(store, insecure_config, after=3600)
        queue_change(store, insecure_config, "wemet", [MINORS], seq=3)
        later = deliver(store, insecure_config, after=3600)  # another pass, as a daemon makes: no second warning
    finally:
        logger.removeHandler(caplog.handler)
    assert accepted.delivered == later.delivered == 1 and len(https_receiver.received) == 2
    assert sum("TLS certificate checks are off" in r.getMessage() for r in caplog.records) == 1


def test_a_huge_error_body_is_read_only_up_to_a_small_cap(setup):
    report, row = one_pass(setup, Receiver(statuses=[500], body=b"<html>" + b"x" * 5_000_000))
    assert report.retrying == 1 and row.last_error.startswith("HTTP 500")
    assert len(row.last_error) < 300


@pytest.mark.parametrize("url", ["ftp://example.org/hook", "file:///etc/passwd", "hooks.example.org/x"])
def test_webhook_urls_must_be_http_or_https(make_config, url):
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match="not an http"):
        load_config(make_config([SOURCE], {"siem": {"type": "webhook", "url": url}}))


def test_a_receiver_answering_a_byte_at_a_time_is_cut_off_at_the_send_bound_not_kept_for_hours(setup):
    """Each byte comes within the timeout, so only a bound on the whole send ends it; without one, the alert's
    lease ran out mid-send and another pass sent it again."""
    with FaultyServer() as server:
        server.drip("/hook", b"x" * 4096, interval=0.2)
        config, store = setup(server.url("/hook"), timeout="0.5s")
        queue_change(store, config, "wemet", [MINORS])
        started = time.monotonic()
        report = deliver(store, config)
        took = time.monotonic() - started
    [row] = alert_rows(store)
    assert report.retrying == 1 and row.status == "pending" and row.attempts == 1
    assert "no complete answer within 1.5s (0.5s a step)" in row.last_error
    assert took < 1.5 + 2, took  # the bound, and a pass's own work


def test_a_redirect_is_named_by_host_and_how_the_path_moved_never_by_the_token_it_repeats(setup, caplog):
    receiver = Receiver(statuses=[308], headers={"Location": "https://hooks.example.org/hook/?api_key=SUPERSECRET1234"})
    receiver.start()
    try:
        config, store = setup(receiver.url + "?api_key=SUPERSECRET1234")
        queue_change(store, config, "wemet", [MINORS])
        deliver(store, config)
    finally:
        receiver.stop()
    [row] = alert_rows(store)
    assert "(redirect to https://hooks.example.org:443, the same path with a slash added, not followed; fix the " \
           "channel url)" in row.last_error
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("monitor")]
    assert "SUPERSECRET" not in row.last_error and not [line for line in ours if "SUPERSECRET" in line]
    # a Location urllib cannot read is a clear note too, never an internal error
    with FaultyServer() as odd:
        odd.status("/hook", 301, headers={"Location": "http://a]b/hooks"})
        config, store = setup(odd.url("/hook"))
        queue_change(store, config, "wemet", [MINORS])
        deliver(store, config)
    rows = alert_rows(store)
    assert "(a redirect to an address that cannot be read, not followed; fix the channel url)" in rows[-1].last_error


def test_a_webhook_whose_address_is_its_secret_reads_it_from_url_env_and_waits_while_it_is_unset(
        make_config, sqlite_url, monkeypatch, caplog):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    monkeypatch.delenv("TEST_HOOK_URL", raising=False)
    config = load_config(make_config([SOURCE], {"siem": {"type": "webhook", "url_env": "TEST_HOOK_URL",
                                                         "secret_env": "TEST_WEBHOOK_SECRET"}}))
    store = Store(sqlite_url)
    receiver = Receiver(statuses=[404, 200], body=b"Cannot POST /hook?key=TOKEN-IN-THE-URL-123").start()
    try:
        queue_change(store, config, "wemet", [MINORS])
        waiting = deliver(store, config)
        [row] = alert_rows(store)
        assert waiting.delivered == 0 and row.status == "pending" and row.attempts == 0
        monkeypatch.setenv("TEST_HOOK_URL", receiver.url + "?key=TOKEN-IN-THE-URL-123")
        deliver(store, config, after=60)
        [row] = alert_rows(store)
        assert row.status == "failed" and "Cannot POST …" in row.last_error  # the 404, its echo cut
        assert len(receiver.received) == 1
        assert not [r for r in caplog.records if r.name.startswith("monitor") and "TOKEN-IN-THE-URL" in r.getMessage()]
        assert "TOKEN-IN-THE-URL" not in row.last_error and "TOKEN-IN-THE-URL" not in json.dumps(row.payload)
    finally:
        receiver.stop()
        store.dispose()
