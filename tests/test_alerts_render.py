"""What an alert says: the webhook envelope against its JSON Schema, the email text and HTML for every
event type, marked words, escaping, and templates read from an installed wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from monitor.config import parse_config
from monitor.notify.channels import channel_kinds
from monitor.notify.outbox import alert_id, enqueue_event_alert, envelope
from monitor.notify.render import alerts_dir, render_email, word_diff
from monitor.store.database import Store
from tests.alert_helpers import MINORS, RETENTION, SHARING, alert_rows, queue_change, rated, validate_envelope

CONFIG = parse_config("""
channels:
  siem: {type: webhook, url: "https://hooks.example.org/policy"}
  team: {type: email, to: [privacy@example.org], smtp: {host: smtp.example.org}}
sources:
  - {name: wemet, url: "https://example.org/privacy"}
""")
HEALTH_EVENTS = {
    "source.failing": {"consecutive_failures": 3, "error": "HTTP 503 from https://example.org/privacy",
                       "since": "2026-01-01T00:00:00+00:00", "last_success": "2025-12-31T23:54:28.565565+00:00"},
    "source.recovered": {"consecutive_failures": 4, "since": None},
    "source.unstable": {"reason": "returned to earlier content 3 times in the last 10 checks", "versions": [4, 5]},
}


@pytest.fixture
def store(sqlite_url):
    s = Store(sqlite_url)
    yield s
    s.dispose()


def every_event(store: Store) -> list[dict]:
    """One payload of each event type, made by the functions that make them in production."""
    queue_change(store, CONFIG, "wemet", [MINORS, SHARING, RETENTION])
    with store.session() as session:
        for event, data in HEALTH_EVENTS.items():
            enqueue_event_alert(session, CONFIG, CONFIG.sources[0], event, data, key_parts=("t", 1))
    payloads = [a.payload for a in alert_rows(store)]
    return [*payloads, envelope("test", {"channel": "siem", "message": "hello"})]


def test_every_event_type_matches_the_webhook_schema(store):
    payloads = every_event(store)
    assert {p["type"] for p in payloads} == {"policy.changed", "source.failing", "source.recovered",
                                             "source.unstable", "test"}
    for payload in payloads:
        validate_envelope(payload)


@pytest.mark.parametrize("broken", [
    {"type": "policy.deleted"},
    {"schema_version": 2},
    {"timestamp": "yesterday"},
    {"data": {"source": "wemet"}},
])
def test_the_schema_rejects_malformed_envelopes(store, broken):
    payload = next(p for p in every_event(store) if p["type"] == "policy.changed")
    with pytest.raises(jsonschema.ValidationError):
        validate_envelope({**payload, **broken})


def test_the_schemas_topics_are_the_classifiers():
    """A topic the classifier can give (`ads_ai` was missing) must validate in every payload that lists topics."""
    from monitor.meaning.topics import TOPICS

    schema = json.loads((alerts_dir() / "webhook.schema.json").read_text())
    assert schema["$defs"]["topic"]["enum"] == list(TOPICS)


def test_the_schema_requires_each_event_types_own_fields():
    with pytest.raises(jsonschema.ValidationError, match="consecutive_failures"):
        validate_envelope(envelope("source.failing", {"source": "wemet", "url": "https://x.org/", "error": "boom"}))
    with pytest.raises(jsonschema.ValidationError, match="reason"):
        validate_envelope(envelope("source.unstable", {"source": "wemet", "url": "https://x.org/"}))


def test_health_events_are_queued_once_per_channel_and_cause(store):
    with store.session() as session:
        Store.ensure_source(session, "wemet", "https://example.org/privacy")
        first = enqueue_event_alert(session, CONFIG, CONFIG.sources[0], "source.failing",
                                    HEALTH_EVENTS["source.failing"], key_parts=("failing-since", 7))
        again = enqueue_event_alert(session, CONFIG, CONFIG.sources[0], "source.failing",
                                    HEALTH_EVENTS["source.failing"], key_parts=("failing-since", 7))
    assert sorted(a.channel for a in first) == ["siem", "team"] and again == []
    assert first[0].idempotency_key == alert_id("source.failing", "wemet", "failing-since", 7, first[0].channel)
    with store.session() as session, pytest.raises(ValueError, match="unknown source event"):
        enqueue_event_alert(session, CONFIG, CONFIG.sources[0], "source.exploded", {}, key_parts=(1,))


@pytest.mark.parametrize(("event", "subject", "phrase"), [
    ("source.failing", "[policy-monitor] wemet: failing (3 checks in a row)", "Last error: HTTP 503"),
    ("source.failing", "[policy-monitor] wemet: failing (3 checks in a row)", "in a row since 2026-01-01 00:00 UTC."),
    ("source.recovered", "[policy-monitor] wemet: recovered", "can be checked again after 4 failed checks"),
    ("source.unstable", "[policy-monitor] wemet: unstable (returned to earlier content 3 times in the last 10 "
                        "checks)", "Versions involved: 4, 5"),
    ("test", "[policy-monitor] test alert for channel siem", "This is a test alert"),
])
def test_every_event_type_renders_an_email(store, event, subject, phrase):
    payload = next(p for p in every_event(store) if p["type"] == event)
    rendered = render_email(payload, "msg_1")
    assert rendered.subject == subject
    assert phrase in rendered.text
    assert "msg_1" in rendered.text and "msg_1" in rendered.html
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>")


def test_a_failing_sources_last_success_reads_like_the_other_dates_of_an_email(store):
    payload = next(p for p in every_event(store) if p["type"] == "source.failing")
    rendered = render_email(payload, "msg_1")
    for body in (rendered.text, rendered.html):
        assert "since 2026-01-01 00:00 UTC." in body and "Last successful check: 2025-12-31 23:54 UTC" in body
        assert "23:54:28" not in body and "+00:00" not in body
    assert payload["data"]["last_success"] == "2025-12-31T23:54:28.565565+00:00", "webhooks keep the ISO form"


def test_policy_change_email_lists_section_summary_severity_and_marked_words(store):
    payload = next(p for p in every_event(store) if p["type"] == "policy.changed")
    rendered = render_email(payload, "msg_1")
    assert rendered.subject == "[policy-monitor] wemet: minors, retention, sharing changed (high)"
    assert "[1] 5. Children › 5.2 Age" in rendered.text
    assert "age threshold 16 → 13 [minors; high]" in rendered.text
    assert "Before: We [-never-] sell your personal data." in rendered.text
    assert "After:  We {+may+} sell your personal data{+ to advertising partners+}." in rendered.text
    assert "<del" in rendered.html and ">never</del>" in rendered.html and ">may</ins>" in rendered.html
    assert "Versions: 1 → 2" in rendered.html.replace("&rarr;", "→")


def test_everything_from_the_policy_is_escaped_in_html():
    evil = rated("<b>3. Sharing</b>", "We share with <img src=x onerror=alert(1)>.",
                 "We share with <script>steal()</script> & partners.", ["sharing"], "high",
                 "new recipient <i>partners</i>")
    payload = envelope("policy.changed", {
        "source": "wemet", "url": "https://example.org/p?a=1&b=\"2\"", "version": 2, "previous_version": 1,
        "topics": ["sharing"], "severity": "high", "changes": [evil.to_json()], "more_changes": 0,
        "diff_command": "policy-monitor diff wemet 1 2"})
    html = render_email(payload, "msg_1").html
    for raw in ("<script>", "<img", "<b>3.", "<i>partners"):
        assert raw not in html
    assert "steal()&lt;/script&gt; &amp; partners" in html and "onerror=alert(1)&gt;" in html
    assert 'href="https://example.org/p?a=1&amp;b=&#34;2&#34;"' in html
    text = render_email(payload, "msg_1").text
    assert "{+script>steal()</script> & partners+}" in text  # plain text is not HTML: shown as written


def test_word_diff_marks_whole_words():
    assert word_diff("retain for 30 days", "retain for 90 days") == [(0, "retain for "), (-1, "30"), (1, "90"),
                                                                    (0, " days")]
    assert word_diff("", "new clause") == [(1, "new clause")]
    assert word_diff("old clause", "") == [(-1, "old clause")]
    assert word_diff("same", "same") == [(0, "same")]


def test_channel_kinds_are_documented_by_their_type_word():
    kinds = channel_kinds()
    assert set(kinds) == {"email", "webhook", "apprise"}
    assert "urls_env" in kinds["apprise"]
    assert "STARTTLS" in kinds["email"] or "starttls" in kinds["email"]
    assert "webhook-signature" in kinds["webhook"]


def test_templates_and_schema_are_read_from_an_installed_wheel(tmp_path):
    root = Path(__file__).resolve().parents[1]
    built = subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path / "dist")],
                           cwd=root, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "site")
    assert {"monitor/_alerts/email.html", "monitor/_alerts/email.txt", "monitor/_alerts/email_subject.txt",
            "monitor/_alerts/webhook.schema.json"} <= names
    probe = ("import json, monitor.notify.render as r; from monitor.notify.outbox import envelope;"
             "m = r.render_email(envelope('test', {'channel': 'c', 'message': 'm'}), 'msg_x');"
             "print(json.dumps([str(r.alerts_dir()), m.subject, r.webhook_schema()['title']]))")
    ran = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    assert ran.returncode == 0, ran.stderr
    folder, subject, title = json.loads(ran.stdout)
    assert folder == str(tmp_path / "site" / "monitor" / "_alerts")
    assert subject == "[policy-monitor] test alert for channel c" and title == "policy-monitor webhook"


def test_a_checkout_reads_the_top_level_alerts_folder():
    assert (alerts_dir() / "webhook.schema.json").is_file()
    assert alerts_dir().name in ("alerts", "_alerts")


def test_an_email_lists_the_most_severe_changes_first_and_the_webhook_keeps_document_order(store):
    """Eight medium changes, then a high one: the e-mail lists the high change as [1] (the rest in document
    order) and never cuts it; the webhook's `changes` stay in document order, and of more than 20 changes
    keep the most severe, so a high change late in a long list is never the one left out."""
    mediums = [rated(f"{n}. Retention", f"We keep logs for {n} days.", f"We keep logs for {n + 1} days.",
                     ["retention"], "medium", f"retention period {n} days → {n + 1} days") for n in range(1, 9)]
    queue_change(store, CONFIG, "wemet", [*mediums, SHARING, RETENTION])
    payload = next(a.payload for a in alert_rows(store) if a.channel == "siem")
    assert [c["section"] for c in payload["data"]["changes"]] == [*(c.change.section for c in mediums),
                                                                 "4. Sharing", "6. Retention"]
    text = render_email(payload, "msg_1").text
    assert "[1] 4. Sharing" in text and "[2] 1. Retention" in text and "[9] 8. Retention" in text
    assert "[10] 6. Retention" in text
    html = render_email(payload, "msg_1").html
    assert html.index("4. Sharing") < html.index("1. Retention")

    lows = [rated(f"{n}. Contact", "Write to us.", f"Write to us at office {n}.", ["sharing"], "low",
                  f"contact {n} changed") for n in range(1, 25)]
    queue_change(store, CONFIG, "wemet", [*lows, MINORS], seq=3)
    capped = next(a.payload for a in alert_rows(store) if a.channel == "siem" and a.payload["data"]["version"] == 3)
    validate_envelope(capped)
    sections = [c["section"] for c in capped["data"]["changes"]]
    assert len(sections) == 20 and capped["data"]["more_changes"] == 5
    assert sections == [*(c.change.section for c in lows[:19]), MINORS.change.section]
    assert "[1] 5. Children › 5.2 Age" in render_email(capped, "msg_2").text
