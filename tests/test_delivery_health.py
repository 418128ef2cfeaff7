"""Alerts that do not get out show where people look: `status` (its line, `--json`, its exit code) and the
web overview, through real deliveries to webhook receivers on loopback."""

from __future__ import annotations

import httpx
import pytest

from monitor.config import load_config
from monitor.store.database import Store
from tests.alert_helpers import MINORS, RETENTION, Receiver, free_port, queue_change
from tests.web_site import serve_thread

SOURCE = {"name": "wemet", "url": "https://example.org/privacy"}


@pytest.fixture
def outbox(make_config, db_url, cli):
    """One change alerted to three channels: `ok` delivers, `gone` answers 410 (failed at once, then 200 to the
    next alert), `down` has no server (retrying)."""
    ok, gone = Receiver().start(), Receiver(statuses=[410, 200]).start()
    channels = {"ok": {"type": "webhook", "url": ok.url}, "gone": {"type": "webhook", "url": gone.url},
                "down": {"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/hook"}}
    config = make_config([SOURCE], channels)

    def change(seq: int, rated) -> None:
        store = Store(db_url)
        queue_change(store, load_config(config), "wemet", [rated], seq=seq)
        store.dispose()
        assert cli("--config", config, "--db", db_url, "alerts", "deliver").exit_code == 0

    change(2, MINORS)
    yield config, change
    ok.stop()
    gone.stop()


def test_status_counts_alerts_not_delivered_and_exits_1_while_a_channel_is_failing(outbox, db_url, cli):
    config, change = outbox

    document = cli("--config", config, "--db", db_url, "status", "--json")
    text = cli("--config", config, "--db", db_url, "status")

    assert document.exit_code == text.exit_code == 1, text.stdout  # no source fails: the `gone` channel does
    assert document.json()["failing"] == []
    assert document.json()["alerts"] == {
        "pending": 1, "retrying": 1, "failed": 1, "discarded": 0, "failing_channels": ["gone"], "failing_judged": True,
        "channels": [{"channel": "down", "pending": 1, "retrying": 1, "failed": 0, "discarded": 0, "failing": False,
                      "waiting": 0, "waiting_for": None},
                     {"channel": "gone", "pending": 0, "retrying": 0, "failed": 1, "discarded": 0, "failing": True,
                      "waiting": 0, "waiting_for": None}]}
    assert "alerts pending: 1 (retrying: 1) · failed: 1 · failing channels: 1" in text.stdout
    assert "`policy-monitor alerts retry --failed`" in text.stdout

    change(3, RETENTION)  # `gone` takes this one: it has recovered, as a source does; its failed alert stays counted
    recovered = cli("--config", config, "--db", db_url, "status", "--json")

    assert recovered.exit_code == 0
    assert recovered.json()["alerts"]["failing_channels"] == []
    assert recovered.json()["alerts"]["failed"] == 1 and recovered.json()["alerts"]["retrying"] == 2


def test_alerts_a_user_discarded_are_counted_apart_and_neither_fail_a_channel_nor_ask_for_a_retry(
        outbox, db_url, cli):
    config, _ = outbox
    assert cli("--config", config, "--db", db_url, "alerts", "discard", "--channel", "down").exit_code == 0
    assert cli("--config", config, "--db", db_url, "alerts", "discard", "--channel", "gone").exit_code == 0  # none

    health = cli("--config", config, "--db", db_url, "status", "--json").json()["alerts"]
    text = cli("--config", config, "--db", db_url, "status").stdout

    assert health["channels"][0] == {"channel": "down", "pending": 0, "retrying": 0, "failed": 0, "discarded": 1,
                                     "failing": False, "waiting": 0, "waiting_for": None}
    assert (health["failed"], health["discarded"], health["failing_channels"]) == (1, 1, ["gone"])
    assert "failed: 1 · discarded: 1 · failing channels: 1" in text


def test_a_discarded_alert_alone_asks_for_no_retry_and_makes_no_notice(outbox, db_url, cli):
    config, change = outbox
    change(3, RETENTION)  # `gone` recovers
    assert cli("--config", config, "--db", db_url, "alerts", "retry", "--failed").exit_code == 0
    assert cli("--config", config, "--db", db_url, "alerts", "deliver").exit_code == 0  # `gone` takes it now
    assert cli("--config", config, "--db", db_url, "alerts", "discard", "--channel", "down").exit_code == 0

    status = cli("--config", config, "--db", db_url, "status")
    with serve_thread(config, db_url) as base:
        page = httpx.get(base + "/", timeout=30).text

    assert status.exit_code == 0, status.stdout
    assert "failed: 0 · discarded: 2 · failing channels: 0" in status.stdout
    assert "retry --failed" not in status.stdout
    assert "Alerts not delivered" not in page


def test_without_a_config_status_counts_the_outbox_but_judges_no_channel(outbox, db_url, cli, tmp_path,
                                                                         monkeypatch):
    # a channel failed in the database may be one since removed from the config, which never fails
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # no ./sources.yaml, no --config

    document = cli("--db", db_url, "status", "--json")
    text = cli("--db", db_url, "status")

    assert document.exit_code == text.exit_code == 0, text.stdout
    health = document.json()["alerts"]
    assert (health["failed"], health["failing_channels"], health["failing_judged"]) == (1, [], False)
    assert "failing channels: not judged without a config (sources.yaml)" in text.stdout


def test_the_outbox_health_reads_the_pending_and_failed_alerts_never_the_delivered(make_config, tmp_path):
    """On SQLite, with the planner's statistics: an index search for every statement, no scan of the outbox."""
    import sqlite3

    from sqlalchemy import event

    from monitor.store.delivery_health import outbox_health

    path = tmp_path / "outbox.db"
    store = Store(f"sqlite:///{path}")
    store.dispose()
    with sqlite3.connect(path) as db:
        row = "(?, ?, ?, '{}', 'policy.changed', 1, '2026-01-01', '2026-01-01')"
        insert = ("INSERT INTO alert (channel, status, idempotency_key, payload, event_type, attempts, created_at, "
                  f"next_attempt_at) VALUES {row}")
        db.executemany(insert, [(f"c{i % 3}", "delivered", f"d{i}") for i in range(3000)])
        db.executemany(insert, [("c0", "failed", "f0"), ("c1", "pending", "p1"), ("c2", "failed", "f2")])
        db.execute(insert, ("c2", "delivered", "d-late"))
        db.execute("ANALYZE")
    store = Store(f"sqlite:///{path}")
    statements = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, context, many: statements.append((statement, params)))

    health = outbox_health(store, {"c0", "c1", "c2"})
    store.dispose()

    assert health.failing == ["c0"] and (health.pending, health.failed) == (1, 2)  # c2 delivered after failing
    with sqlite3.connect(path) as db:
        plans = [row[3] for statement, params in statements if statement.lstrip().upper().startswith("SELECT")
                 for row in db.execute("EXPLAIN QUERY PLAN " + statement, params)]
    assert len(plans) >= 2 and any("COVERING INDEX ix_alert_status_channel_id" in p for p in plans)
    assert not [p for p in plans if p.startswith("SCAN")], plans


def test_the_web_overview_says_alerts_are_failing_and_links_to_them(outbox, db_url):
    config, _ = outbox

    with serve_thread(config, db_url) as base:
        page = httpx.get(base + "/", timeout=30).text
        alerts = httpx.get(base + "/alerts?status=failed", timeout=30).text

    assert "Alerts not delivered:" in page and "1 failed, 1 being retried; failing channel: gone." in page
    assert 'href="/alerts?status=failed"' in page
    assert "410" in alerts  # where the link leads: the failed alert with its error


def test_status_says_nothing_of_an_outbox_with_nothing_left_to_send(make_config, db_url, cli):
    config = make_config([SOURCE])
    cli("--config", config, "--db", db_url, "migrate")  # `status` reads; it never creates the database

    document = cli("--config", config, "--db", db_url, "status", "--json")
    text = cli("--config", config, "--db", db_url, "status")

    assert document.exit_code == text.exit_code == 0
    assert document.json()["alerts"] == {"pending": 0, "retrying": 0, "failed": 0, "discarded": 0,
                                         "failing_channels": [], "failing_judged": True, "channels": []}
    assert "alerts" not in text.stdout  # as with no due source: no line, no table


def test_a_channel_waiting_for_its_secret_says_so(make_config, db_url, cli, monkeypatch):
    monkeypatch.delenv("TRIAL_WEBHOOK_SECRET", raising=False)
    receiver = Receiver().start()
    config = make_config([SOURCE], {"signed": {"type": "webhook", "url": receiver.url,
                                               "secret_env": "TRIAL_WEBHOOK_SECRET"}})
    store = Store(db_url)
    queue_change(store, load_config(config), "wemet", [MINORS], seq=2)
    store.dispose()
    cli("--config", config, "--db", db_url, "alerts", "deliver")

    document = cli("--config", config, "--db", db_url, "status", "--json").json()
    text = cli("--config", config, "--db", db_url, "status").stdout

    [channel] = document["alerts"]["channels"]
    assert (channel["pending"], channel["retrying"], channel["waiting"]) == (1, 0, 1)
    assert "TRIAL_WEBHOOK_SECRET" in channel["waiting_for"] and "is not set" in channel["waiting_for"]
    assert "signed: 1 waiting: environment variable TRIAL_WEBHOOK_SECRET (secret_env) is not set" in text, text
    assert receiver.received == []
    receiver.stop()

