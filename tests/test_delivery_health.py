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
        "pending": 1, "retrying": 1, "failed": 1, "failing_channels": ["gone"],
        "channels": [{"channel": "down", "pending": 1, "retrying": 1, "failed": 0, "failing": False},
                     {"channel": "gone", "pending": 0, "retrying": 0, "failed": 1, "failing": True}]}
    assert "alerts pending: 1 (retrying: 1) · failed: 1 · failing channels: 1" in text.stdout
    assert "`policy-monitor alerts retry --failed`" in text.stdout

    change(3, RETENTION)  # `gone` takes this one: it has recovered, as a source does; its failed alert stays counted
    recovered = cli("--config", config, "--db", db_url, "status", "--json")

    assert recovered.exit_code == 0
    assert recovered.json()["alerts"]["failing_channels"] == []
    assert recovered.json()["alerts"]["failed"] == 1 and recovered.json()["alerts"]["retrying"] == 2


def test_alerts_a_user_discarded_are_failed_but_fail_no_channel(outbox, db_url, cli):
    config, _ = outbox
    assert cli("--config", config, "--db", db_url, "alerts", "discard", "--channel", "down").exit_code == 0

    health = cli("--config", config, "--db", db_url, "status", "--json").json()["alerts"]

    assert health["channels"][0] == {"channel": "down", "pending": 0, "retrying": 0, "failed": 1, "failing": False}
    assert health["failing_channels"] == ["gone"]


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
    assert document.json()["alerts"] == {"pending": 0, "retrying": 0, "failed": 0, "failing_channels": [],
                                         "channels": []}
    assert "alerts" not in text.stdout  # as with no due source: no line, no table
