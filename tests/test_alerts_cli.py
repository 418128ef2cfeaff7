"""`policy-monitor alerts`, `alerts deliver`, `alerts retry`, `test-alert`, and alerts sent by `check`."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from monitor.config import load_config
from monitor.store.database import Store, utcnow
from tests.alert_helpers import (
    MINORS,
    SECRET,
    SMTP_PASSWORD,
    Receiver,
    SmtpServer,
    alert_rows,
    email_channel,
    free_port,
    queue_change,
    validate_envelope,
)
from tests.pages import edit, render_policy, seed_text

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
SOURCE = {"name": "wemet", "url": "https://example.org/privacy"}


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
def three_outcomes(make_config, sqlite_url, receivers, cli):
    """One alert per channel: `ok` is delivered, `gone` (HTTP 410) failed, `down` (no server) pending."""
    ok, gone = receivers(), receivers(statuses=[410])
    channels = {"ok": {"type": "webhook", "url": ok.url}, "gone": {"type": "webhook", "url": gone.url},
                "down": {"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/hook"}}
    config_path = make_config([SOURCE], channels)
    store = Store(sqlite_url)
    queue_change(store, load_config(config_path), "wemet", [MINORS])
    store.dispose()
    result = cli("--config", config_path, "--db", sqlite_url, "alerts", "deliver")
    assert result.exit_code == 0, result.stderr
    return config_path, ok, gone, result


def test_alerts_deliver_prints_each_outcome_and_the_counts(three_outcomes):
    *_, result = three_outcomes
    assert "1 delivered, 1 to retry, 1 failed" in result.stdout
    assert "→ ok: delivered: HTTP 200 OK" in result.stdout
    assert "→ gone: failed: permanent failure: HTTP 410 GONE" in result.stdout
    assert "→ down: retrying: " in result.stdout and "(next attempt " in result.stdout


def test_alerts_lists_every_status_and_filters_by_one(three_outcomes, cli, sqlite_url):
    config_path, *_ = three_outcomes
    listing = cli("--config", config_path, "--db", sqlite_url, "alerts", "--json").json()
    by_channel = {a["channel"]: a for a in listing}
    assert {c: a["status"] for c, a in by_channel.items()} == {"ok": "delivered", "gone": "failed",
                                                               "down": "pending"}
    assert by_channel["ok"]["summary"] == "wemet: minors changed (high)"
    assert by_channel["ok"]["delivered_at"] and by_channel["ok"]["next_attempt_at"] is None
    assert by_channel["down"]["next_attempt_at"] and by_channel["down"]["attempts"] == 1
    assert by_channel["gone"]["last_error"].startswith("permanent failure: HTTP 410")
    assert all(a["webhook_id"].startswith("msg_") and a["type"] == "policy.changed" for a in listing)

    failed = cli("--config", config_path, "--db", sqlite_url, "alerts", "--status", "failed", "--json").json()
    assert [a["channel"] for a in failed] == ["gone"]
    table = cli("--config", config_path, "--db", sqlite_url, "alerts", "--status", "failed")
    assert table.exit_code == 0 and "gone" in table.stdout and "410" in table.stdout and "failed" in table.stdout
    assert "pending" not in table.stdout


def test_alerts_rejects_an_unknown_status(cli, make_config, sqlite_url):
    result = cli("--config", make_config([SOURCE]), "--db", sqlite_url, "alerts", "--status", "lost")
    assert result.exit_code == 2 and "--status must be one of pending, failed, delivered" in result.stderr


def test_alerts_retry_requeues_a_failed_alert_which_then_goes_out(three_outcomes, cli, sqlite_url):
    config_path, _, gone, _ = three_outcomes
    gone.statuses[:] = [200]  # the receiver was fixed

    retried = cli("--config", config_path, "--db", sqlite_url, "alerts", "retry", "--failed")
    assert retried.exit_code == 0 and "1 alert re-queued" in retried.stdout
    delivered = cli("--config", config_path, "--db", sqlite_url, "alerts", "deliver")

    assert "→ gone: delivered: HTTP 200 OK" in delivered.stdout
    assert len(gone.received) == 2
    assert gone.received[0].headers["Webhook-Id"] == gone.received[1].headers["Webhook-Id"]
    assert cli("--config", config_path, "--db", sqlite_url, "alerts", "--status", "failed", "--json").json() == []


def test_alerts_retry_by_id_and_its_bad_inputs(three_outcomes, cli, sqlite_url):
    config_path, *_ = three_outcomes
    rows = {a["channel"]: a["id"] for a in cli("--config", config_path, "--db", sqlite_url, "alerts",
                                                "--json").json()}
    run = lambda *args: cli("--config", config_path, "--db", sqlite_url, "alerts", "retry", *args)  # noqa: E731

    assert run("--json", str(rows["gone"])).json() == {"requeued": [rows["gone"]]}
    assert run("999").exit_code == 2 and "no alert with id 999" in run("999").stderr
    assert run(str(rows["ok"])).exit_code == 2 and "already delivered" in run(str(rows["ok"])).stderr
    assert run().exit_code == 2
    assert run("--failed", str(rows["gone"])).exit_code == 2


def test_alerts_discard_stops_a_pending_alert_which_stays_listed_and_can_come_back(three_outcomes, cli,
                                                                                   sqlite_url):
    config_path, *_ = three_outcomes
    run = lambda *args: cli("--config", config_path, "--db", sqlite_url, "alerts", *args)  # noqa: E731
    rows = {a["channel"]: a for a in run("--json").json()}

    discarded = run("discard", "--channel", "down")
    assert discarded.exit_code == 0 and f"1 alert discarded: {rows['down']['id']}" in discarded.stdout
    [down] = [a for a in run("--json", "--status", "failed").json() if a["channel"] == "down"]
    assert down["last_error"].startswith("discarded by a user on ")
    assert run("deliver").stdout == "0 delivered, 0 to retry, 0 failed\n", "nothing left to deliver"
    assert run("retry", str(down["id"]), "--json").json() == {"requeued": [down["id"]]}

    assert run("discard", str(rows["ok"]["id"])).exit_code == 2, "a delivered alert cannot be discarded"
    assert run("discard", "999").exit_code == 2 and run("discard").exit_code == 2


def test_receiver_down_then_alerts_deliver_sends_it_once_it_is_back(make_config, sqlite_url, cli):
    port = free_port()
    config_path = make_config([SOURCE], {"siem": {"type": "webhook", "url": f"http://127.0.0.1:{port}/hook"}})
    store = Store(sqlite_url)
    queue_change(store, load_config(config_path), "wemet", [MINORS])

    first = cli("--config", config_path, "--db", sqlite_url, "alerts", "deliver")
    [row] = alert_rows(store)
    assert "0 delivered, 1 to retry" in first.stdout and row.status == "pending"

    receiver = Receiver().start(port)
    try:
        time.sleep(0.3)  # past max_backoff (0.2s in the test config), so the retry is due
        second = cli("--config", config_path, "--db", sqlite_url, "alerts", "deliver")
    finally:
        receiver.stop()
    [row] = alert_rows(store)
    assert "1 delivered" in second.stdout and row.status == "delivered" and row.attempts == 2
    assert len(receiver.received) == 1
    store.dispose()


def test_test_alert_prints_the_smtp_answer_and_the_http_status(make_config, sqlite_url, cli, receivers,
                                                               monkeypatch):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    hook = receivers()
    with SmtpServer() as smtp:
        config_path = make_config([SOURCE], {
            "team": email_channel(smtp.port),
            "siem": {"type": "webhook", "url": hook.url, "secret_env": "TEST_WEBHOOK_SECRET"},
        })
        mail = cli("--config", config_path, "--db", sqlite_url, "test-alert", "team")
        web = cli("--config", config_path, "--db", sqlite_url, "test-alert", "siem")

    assert mail.exit_code == 0 and mail.stdout.strip() == "team (email): sent: 250 2.0.0 Ok: queued as TEST1"
    assert smtp.received[0].message["Subject"] == "[policy-monitor] test alert for channel team"
    assert web.exit_code == 0 and web.stdout.strip() == "siem (webhook): sent: HTTP 200 OK"
    [got] = hook.received
    payload = Webhook(SECRET).verify(got.body, got.headers)
    assert payload["type"] == "test" and payload["data"]["channel"] == "siem"
    validate_envelope(payload)


def test_test_alert_reports_failure_and_unknown_channels(make_config, sqlite_url, cli):
    port = free_port()
    config_path = make_config([SOURCE], {"siem": {"type": "webhook", "url": f"http://127.0.0.1:{port}/x"}})

    down = cli("--config", config_path, "--db", sqlite_url, "test-alert", "siem")
    unknown = cli("--config", config_path, "--db", sqlite_url, "test-alert", "nope")

    # the last line: the first unsigned send of a process may log its warning before
    assert down.exit_code == 1
    assert down.stderr.splitlines()[-1].startswith(f"siem (webhook): failed: http://127.0.0.1:{port}: ConnectError")
    assert unknown.exit_code == 2 and "unknown channel 'nope' (configured: siem)" in unknown.stderr


def test_secrets_never_reach_the_database_or_the_logs(make_config, sqlite_url, tmp_path, cli, receivers,
                                                       monkeypatch):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    hook, broken = receivers(), receivers(statuses=[500])
    with SmtpServer(password=SMTP_PASSWORD) as smtp, SmtpServer(password="other") as wrong:
        mail, refused = email_channel(smtp.port), email_channel(wrong.port)
        for channel in (mail, refused):
            channel["smtp"].update(username="bot", password_env="TEST_SMTP_PASSWORD")
        config_path = make_config([SOURCE], {
            "team": mail, "refused": refused,
            "siem": {"type": "webhook", "url": hook.url, "secret_env": "TEST_WEBHOOK_SECRET"},
            "broken": {"type": "webhook", "url": broken.url, "secret_env": "TEST_WEBHOOK_SECRET"},
        })
        store = Store(sqlite_url)
        queue_change(store, load_config(config_path), "wemet", [MINORS])
        store.dispose()
        runs = [cli("--config", config_path, "--db", sqlite_url, "-v", *args) for args in
                (["alerts", "deliver"], ["test-alert", "team"], ["test-alert", "refused"], ["alerts", "--json"],
                 ["--log-format", "json", "alerts", "deliver"])]

    assert smtp.logins and smtp.logins[0][1] == SMTP_PASSWORD  # the secret really was used
    assert len(hook.received) == 1 and "Webhook-Signature" in hook.received[0].headers
    key = SECRET.removeprefix("whsec_")
    forbidden = [SMTP_PASSWORD, SECRET, key, base64.b64decode(key).decode()]
    db_files = b"".join(p.read_bytes() for p in Path(tmp_path).glob("monitor.db*"))
    output = "".join(r.stdout + r.stderr for r in runs)
    for secret in forbidden:
        assert secret.encode() not in db_files
        assert secret not in output


# -- end to end: `policy-monitor check` with real seed pages ---------------------------------------

def test_check_sends_an_alert_for_a_minors_change_by_email_and_signed_webhook(make_config, sqlite_url, cli, site,
                                                                             receivers, monkeypatch):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    hook = receivers()
    text = seed_text(2)
    url = site.set("/privacy", render_policy(text))
    with SmtpServer() as smtp:
        config_path = make_config([{"name": "wemet", "url": url}], {
            "team": email_channel(smtp.port),
            "siem": {"type": "webhook", "url": hook.url, "secret_env": "TEST_WEBHOOK_SECRET"},
        })
        first = cli("--config", config_path, "--db", sqlite_url, "check", "--json")
        assert first.json()["results"][0]["status"] == "new" and not hook.received and not smtp.received
        site.set("/privacy", render_policy(edit(text, "under the age of 18", "under the age of 13")))
        second = cli("--config", config_path, "--db", sqlite_url, "check", "--json")

    [result] = second.json()["results"]
    assert second.exit_code == 0 and result["status"] == "changed" and "minors" in result["alert_topics"]
    [got] = hook.received
    payload = Webhook(SECRET).verify(got.body, got.headers)
    validate_envelope(payload)
    assert payload["data"]["version"] == 2 and payload["data"]["previous_version"] == 1
    assert any("13" in c["after"] and "minors" in c["topics"] for c in payload["data"]["changes"])
    [mail] = smtp.received
    assert mail.message["Subject"].startswith("[policy-monitor] wemet: minors")
    text_part = mail.message.get_body(("plain",)).get_content()
    assert "{+13+}" in text_part and "[-18-]" in text_part and "policy-monitor diff wemet 1 2" in text_part


def test_check_with_receiver_down_still_exits_zero_and_keeps_the_alert(make_config, sqlite_url, cli, site):
    text = seed_text(2)
    url = site.set("/privacy", render_policy(text))
    config_path = make_config([{"name": "wemet", "url": url}],
                              {"siem": {"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/hook"}})
    cli("--config", config_path, "--db", sqlite_url, "check")
    site.set("/privacy", render_policy(edit(text, "under the age of 18", "under the age of 13")))

    result = cli("--config", config_path, "--db", sqlite_url, "check", "--json")

    assert result.exit_code == 0 and result.json()["results"][0]["status"] == "changed"
    pending = cli("--config", config_path, "--db", sqlite_url, "alerts", "--status", "pending", "--json").json()
    assert len(pending) == 1 and pending[0]["attempts"] == 1 and "ConnectError" in pending[0]["last_error"]


def test_a_change_touching_no_watched_topic_sends_no_alert(make_config, sqlite_url, cli, site, receivers):
    hook = receivers()
    text = seed_text(2)
    url = site.set("/privacy", render_policy(text))
    config_path = make_config([{"name": "wemet", "url": url}], {"siem": {"type": "webhook", "url": hook.url}})
    cli("--config", config_path, "--db", sqlite_url, "check")
    site.set("/privacy", render_policy(edit(text, "is our top priority", "matters a great deal to us")))

    result = cli("--config", config_path, "--db", sqlite_url, "check", "--json")

    assert result.json()["results"][0]["status"] == "changed"
    assert result.json()["results"][0]["alert_topics"] == []
    assert not hook.received
    assert cli("--config", config_path, "--db", sqlite_url, "alerts", "--json").json() == []


def test_alerts_deliver_json_and_an_empty_outbox(cli, make_config, sqlite_url):
    config_path = make_config([SOURCE])
    report = cli("--config", config_path, "--db", sqlite_url, "alerts", "deliver", "--json")  # creates the database
    empty = cli("--config", config_path, "--db", sqlite_url, "alerts")

    assert empty.exit_code == 0 and empty.stdout.strip() == "no alerts"
    assert report.exit_code == 0
    assert report.json() == {"delivered": 0, "retrying": 0, "failed": 0, "unconfigured": 0, "skipped": 0,
                             "outcomes": []}


def test_an_alert_held_back_for_an_unset_secret_is_shown_due_now_not_at_a_past_time(make_config, sqlite_url, cli,
                                                                                   monkeypatch):
    monkeypatch.delenv("TEST_SMTP_UNSET", raising=False)
    channel = email_channel(free_port())
    channel["smtp"].update(username="bot", password_env="TEST_SMTP_UNSET")
    config_path = make_config([SOURCE], {"team": channel})
    store = Store(sqlite_url)
    [alert] = queue_change(store, load_config(config_path), "wemet", [MINORS])
    store.dispose()
    time.sleep(0.01)                                     # the alert's first attempt time is now in the past

    delivered = cli("--config", config_path, "--db", sqlite_url, "alerts", "deliver")
    listed = cli("--config", config_path, "--db", sqlite_url, "alerts")
    [row] = cli("--config", config_path, "--db", sqlite_url, "alerts", "--json").json()

    assert delivered.exit_code == 0
    assert (f"alert {alert.id} → team: waiting: environment variable TEST_SMTP_UNSET (smtp.password_env) is not "
            f"set; the alert waits until the delivering process has it (due now)") in delivered.stdout
    assert "0 delivered, 0 to retry, 0 failed, 1 waiting" in delivered.stdout
    assert "next attempt" not in delivered.stdout
    assert "pending, due now" in listed.stdout and "pending, next" not in listed.stdout
    assert row["status"] == "pending" and row["attempts"] == 0   # the JSON keeps the time itself
    assert row["next_attempt_at"] <= utcnow().isoformat()


def test_a_channel_topic_no_source_of_it_watches_is_warned_of_by_validate_and_check(make_config, sqlite_url, cli,
                                                                                    site, receivers):
    """A channel's `topics:` only narrows its sources' topics: `cookies` on sources with the default topics
    can never fire, and both `validate` and `check` say so with the line; a topic one source watches is fine."""
    hook = receivers()
    config_path = make_config(
        [{"name": "wemet", "url": site.url("/p")},
         {"name": "ads", "url": site.url("/q"), "topics": ["sharing", "ads_ai"], "channels": ["ads-desk"]}],
        {"cookie-desk": {"type": "webhook", "url": hook.url, "topics": ["minors", "cookies"]},
         "ads-desk": {"type": "webhook", "url": hook.url, "topics": ["ads_ai", "minors"]}})
    site.set("/p", render_policy(seed_text(2)))
    site.set("/q", render_policy(seed_text(2)))
    line = next(i for i, text in enumerate(config_path.read_text().splitlines(), 1) if "cookies" in text)

    validated = cli("--config", config_path, "validate")
    checked = cli("--config", config_path, "--db", sqlite_url, "check")

    expected = (f"{config_path}:{line}: channels.cookie-desk.topics[1]: channel cookie-desk: topic 'cookies' is not "
                f"watched by its source wemet, so it never fires: a channel's `topics:` only narrows its sources' "
                f"topics; add 'cookies' to the sources' `topics:` (or to `defaults: topics:`)")
    assert validated.exit_code == 0 and f"warning: {expected}" in validated.stderr
    assert checked.exit_code == 0 and expected in checked.stderr
    for output in (validated.stderr, checked.stderr):      # ads-desk's sources are wemet and ads:
        assert "'minors' is not watched" not in output     # wemet watches minors (ads does not: its own choice)
        assert "'ads_ai' is not watched" not in output     # ads watches ads_ai
        assert output.count("is not watched") == 1


def test_check_of_named_sources_delivers_their_alerts_only(make_config, sqlite_url, cli, site, receivers):
    hook = receivers()
    texts = {name: seed_text(n) for name, n in (("wemet", 2), ("zw", 1))}
    urls = {name: site.set(f"/{name}", render_policy(text)) for name, text in texts.items()}
    config_path = make_config([{"name": name, "url": url} for name, url in urls.items()],
                              {"siem": {"type": "webhook", "url": hook.url}})
    cli("--config", config_path, "--db", sqlite_url, "check")
    site.set("/wemet", render_policy(edit(texts["wemet"], "under the age of 18", "under the age of 13")))
    site.set("/zw", render_policy(texts["zw"] + "\n\nWe sell your personal data to data brokers."))
    held = cli("--config", config_path, "--db", sqlite_url, "check", "--no-deliver", "--json")
    assert [r["status"] for r in held.json()["results"]] == ["changed", "changed"] and not hook.received

    result = cli("--config", config_path, "--db", sqlite_url, "check", "zw", "--json")

    assert result.exit_code == 0 and result.json()["results"][0]["status"] == "unchanged"
    assert [got.json()["data"]["source"] for got in hook.received] == ["zw"], "only the named source's alert"
    pending = cli("--config", config_path, "--db", sqlite_url, "alerts", "--status", "pending", "--json").json()
    assert [a["source"] for a in pending] == ["wemet"], "the other stays queued for `alerts deliver`"
    cli("--config", config_path, "--db", sqlite_url, "alerts", "deliver")
    assert sorted(got.json()["data"]["source"] for got in hook.received) == ["wemet", "zw"]
