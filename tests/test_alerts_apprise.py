"""The `apprise` channel through the real outbox, against real HTTP receivers on loopback (Apprise's
`json://` and `form://` services), with URLs only from environment variables."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.notify.delivery import deliver_pending
from monitor.store.database import Store, utcnow
from tests.alert_helpers import MINORS, RETENTION, Receiver, alert_rows, queue_change

SOURCE = {"name": "wemet", "url": "https://example.org/privacy"}
TOKEN = "tok-9f3Kq7Zx"  # stands for the secret part of a real service URL


@pytest.fixture
def receivers():
    started: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        started.append(Receiver(**kwargs).start())
        return started[-1]

    yield make
    for r in started:
        r.stop()


@pytest.fixture
def setup(make_config, sqlite_url):
    stores = []

    def make(*urls_env: str, **channel):
        top = {"delivery": channel.pop("delivery")} if "delivery" in channel else {}
        path = make_config([SOURCE], {"chat": {"type": "apprise", "urls_env": list(urls_env), "timeout": "5s",
                                               **channel}}, **top)
        stores.append(Store(sqlite_url))
        return path, load_config(path), stores[-1]

    yield make
    for s in stores:
        s.dispose()


def deliver(store, config, *, after: float = 0):
    return asyncio.run(deliver_pending(store, config, now=utcnow() + timedelta(seconds=after)))


def test_an_alert_reaches_a_json_receiver_with_the_emails_subject_and_text(setup, receivers, monkeypatch):
    receiver = receivers()
    monkeypatch.setenv("CHAT_URL", f"json://127.0.0.1:{receiver.port}/hook")
    _, config, store = setup("CHAT_URL")
    [alert] = queue_change(store, config, "wemet", [MINORS, RETENTION])

    report = deliver(store, config)

    assert report.delivered == 1 and report.retrying == report.failed == 0
    [got] = receiver.received
    body = got.json()
    assert body["title"] == "[policy-monitor] wemet: minors, retention changed (high)"
    assert "age threshold 16 → 13" in body["message"] and "retention period 30 days → 90 days" in body["message"]
    assert "policy-monitor diff wemet 1 2" in body["message"] and alert.idempotency_key in body["message"]
    assert body["type"] == "warning"
    [row] = alert_rows(store)
    assert row.status == "delivered" and row.attempts == 1 and row.last_error is None


def test_a_failing_receiver_is_retried_visibly_then_delivered(setup, receivers, monkeypatch, cli, caplog):
    receiver = receivers(statuses=[500, 200])
    monkeypatch.setenv("CHAT_URL", f"form://bot:{TOKEN}@127.0.0.1:{receiver.port}/hook")
    path, config, store = setup("CHAT_URL")
    queue_change(store, config, "wemet", [MINORS])

    first = deliver(store, config)

    [row] = alert_rows(store)
    assert first.retrying == 1 and row.status == "pending" and row.attempts == 1
    assert row.last_error.startswith("CHAT_URL (Form): ") and "500" in row.last_error
    assert TOKEN not in row.last_error
    listing = cli("--config", path, "--db", store.url, "alerts", "--json")
    [listed] = json.loads(listing.stdout)
    assert listed["status"] == "pending" and listed["attempts"] == 1 and "500" in listed["last_error"]

    second = deliver(store, config, after=3600)

    [row] = alert_rows(store)
    assert second.delivered == 1 and row.status == "delivered" and row.attempts == 2
    logged = [record.getMessage() for record in caplog.records]  # ours and Apprise's own
    assert any("500" in line for line in logged) and not any(TOKEN in line for line in logged)
    assert len(receiver.received) == 2
    form = parse_qs(receiver.received[1].body.decode())
    assert form["title"] == ["[policy-monitor] wemet: minors changed (high)"] and "age threshold" in form["message"][0]


def test_every_url_must_accept_and_a_refusal_names_its_variable(setup, receivers, monkeypatch):
    ok, down = receivers(), receivers(statuses=[503])
    monkeypatch.setenv("TEAM_A", f"json://127.0.0.1:{ok.port}/hook")
    monkeypatch.setenv("TEAM_B", f"json://127.0.0.1:{down.port}/hook")
    _, config, store = setup("TEAM_A", "TEAM_B", delivery={"max_attempts": 2, "backoff": "1s"})
    queue_change(store, config, "wemet", [MINORS])

    deliver(store, config)
    deliver(store, config, after=3600)

    [row] = alert_rows(store)
    assert row.status == "failed" and row.attempts == 2
    assert row.last_error.startswith("gave up after 2 attempts: TEAM_B (JSON): ") and "503" in row.last_error
    assert "TEAM_A" not in row.last_error
    assert len(ok.received) == len(down.received) == 2  # the whole alert is retried (documented)


def test_an_unset_variable_keeps_alerts_waiting_and_validate_warns(setup, receivers, monkeypatch, cli):
    monkeypatch.delenv("CHAT_URL", raising=False)
    path, config, store = setup("CHAT_URL")
    queue_change(store, config, "wemet", [MINORS])

    report = deliver(store, config)

    [row] = alert_rows(store)
    assert report.unconfigured == 1 and report.attempted == 0
    assert row.status == "pending" and row.attempts == 0 and "CHAT_URL (urls_env) is not set" in row.last_error
    result = cli("--config", path, "validate")
    assert result.exit_code == 0
    assert "channel chat: environment variable CHAT_URL is not set here" in result.stderr

    receiver = receivers()
    monkeypatch.setenv("CHAT_URL", f"json://127.0.0.1:{receiver.port}/hook")
    assert deliver(store, config).delivered == 1 and len(receiver.received) == 1


def test_a_url_apprise_cannot_read_fails_the_alert_at_once(setup, monkeypatch):
    monkeypatch.setenv("CHAT_URL", "nosuchservice://whatever")
    _, config, store = setup("CHAT_URL")
    queue_change(store, config, "wemet", [MINORS])

    report = deliver(store, config)

    [row] = alert_rows(store)
    assert report.failed == 1 and row.status == "failed"
    assert row.last_error.startswith("permanent failure: CHAT_URL: not a URL Apprise can send to")


def test_urls_written_in_the_config_are_refused_with_their_line(make_config):
    path = make_config([SOURCE], {"chat": {"type": "apprise", "urls": [f"slack://{TOKEN}/B0/C0"]}})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    messages = [str(p) for p in caught.value.problems]
    assert any("channels.chat.urls: Apprise URLs carry their service's token" in m for m in messages), messages
    assert any("channels.chat.urls_env: required key is missing" in m for m in messages), messages
    assert not any("unknown key" in m for m in messages)


def test_test_alert_sends_through_apprise(setup, receivers, monkeypatch, cli):
    receiver = receivers()
    monkeypatch.setenv("CHAT_URL", f"json://127.0.0.1:{receiver.port}/hook")
    path, _, _ = setup("CHAT_URL")

    result = cli("--config", path, "test-alert", "chat")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "chat (apprise): sent: CHAT_URL (JSON): accepted"
    assert "test alert from policy-monitor for channel chat" in receiver.received[0].json()["message"]


def test_a_send_that_outlasts_its_bound_is_stopped_so_the_retry_is_the_only_delivery(setup, monkeypatch):
    """Apprise sends from a child process, killed at the bound: from a thread, the send ran on after the alert
    was counted as failed, so the service got it then and again at the retry."""
    import time

    from tests.faulty_server import FaultyServer

    with FaultyServer() as server:
        server.drip("/hook", b"x" * 4096, interval=0.2)
        monkeypatch.setenv("APPRISE_HOOK", server.url("/hook").replace("http://", "json://"))
        _, config, store = setup("APPRISE_HOOK", timeout="0.5s")
        queue_change(store, config, "wemet", [MINORS])
        report = deliver(store, config)
        [request] = server.requests_to("/hook")
        deadline = time.monotonic() + 5  # (the child killed, its socket closes at once)
        while not request.hung_up and time.monotonic() < deadline:
            time.sleep(0.1)
    [row] = alert_rows(store)
    assert report.retrying == 1 and "no complete answer within 6s (0.5s a step)" in row.last_error
    assert request.hung_up, "the sender hung up: nothing is sent after the outcome was recorded"
