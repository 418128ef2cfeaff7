"""Reverts: a blink back that undoes an alerted change sends one `policy.reverted` per undone alert, once.

Real parts only: seed pages served on loopback, `policy-monitor check --json` through the real entry
point (its own delivery pass sends the alerts), SQLite files (and PostgreSQL once), webhook receivers
that verify the Standard Webhooks signature, an SMTP server for the e-mail branch.
"""

from __future__ import annotations

import copy
import re
import time

import jsonschema
import pytest
import sqlalchemy as sa
from sqlmodel import select
from standardwebhooks.webhooks import Webhook

from monitor.config import load_config, parse_config
from monitor.errors import ConfigError
from monitor.notify.outbox import enqueue_revert_alerts
from monitor.notify.render import render_email
from monitor.outcome import CheckResult
from monitor.store.database import Alert, Source, Store, Version, compress, text_hash, utcnow
from tests.alert_helpers import (
    MINORS,
    RETENTION,
    SECRET,
    SHARING,
    Receiver,
    SmtpServer,
    alert_rows,
    email_channel,
    queue_change,
    rated,
    validate_envelope,
)
from tests.pages import edit, render_policy, seed_text

TEXT = seed_text(2)
AGE_13 = edit(TEXT, "under the age of 18", "under the age of 13")          # minors, high: alerts
A = render_policy(TEXT)
B = render_policy(AGE_13)
B_REWORDED = render_policy(edit(AGE_13, "is our top priority", "matters a great deal to us"))  # no watched topic
A_REWORDED = render_policy(edit(TEXT, "is our top priority", "matters a great deal to us"))
C = render_policy(TEXT.replace("payment processors, SMS providers",             # sharing, high: alerts
                               "payment processors, data brokers, SMS providers", 1))


class Watch:
    """One source `wemet` on the loopback site, checked with `check --json`; webhook channels by name."""

    def __init__(self, cli, site, make_config, db: str, channels: dict[str, dict], smtp: SmtpServer | None = None):
        self.cli, self.site, self.db = cli, site, db
        self.hooks: dict[str, Receiver] = {}
        config: dict[str, dict] = {}
        for name, extra in channels.items():
            if extra.get("type") == "email":
                assert smtp is not None
                config[name] = {**email_channel(smtp.port), **{k: v for k, v in extra.items() if k != "type"}}
                continue
            self.hooks[name] = Receiver(statuses=extra.get("statuses", [200])).start()
            config[name] = {"type": "webhook", "url": self.hooks[name].url, "secret_env": "TEST_WEBHOOK_SECRET",
                            **{k: v for k, v in extra.items() if k != "statuses"}}
        self.config = make_config([{"name": "wemet", "url": site.url("/p")}], config)

    def run(self, *args: str):
        return self.cli("--config", self.config, "--db", self.db, *args)

    def check(self, page: str, *options: str) -> dict:
        self.site.set("/p", page)
        run = self.cli("--config", self.config, "--db", self.db, "check", "--json", *options)
        assert run.exit_code == 0, run.stderr
        assert "Traceback" not in run.stderr
        [result] = run.json()["results"]
        return result

    def events(self, channel: str) -> list[dict]:
        """What the channel's receiver got, each signature verified, each envelope validated by the schema."""
        out = []
        for got in self.hooks[channel].received:
            payload = Webhook(SECRET).verify(got.body, got.headers)
            validate_envelope(payload)
            out.append({**payload, "webhook_id": got.headers["Webhook-Id"]})
        return out

    def alerts(self) -> list[dict]:
        return self.cli("--config", self.config, "--db", self.db, "alerts", "--json").json()

    def stop(self) -> None:
        for hook in self.hooks.values():
            hook.stop()


@pytest.fixture
def watch(cli, site, make_config, sqlite_url, monkeypatch):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    made: list[Watch] = []

    def make(channels: dict[str, dict] | None = None, *, db: str = sqlite_url, smtp: SmtpServer | None = None) -> Watch:
        made.append(Watch(cli, site, make_config, db, channels or {"siem": {}}, smtp))
        return made[-1]

    yield make
    for w in made:
        w.stop()


def test_a_blink_back_that_undoes_an_alerted_change_sends_one_policy_reverted(watch):
    w = watch({"siem": {}, "audit": {}, "sharing-desk": {"topics": ["sharing"]}})
    assert w.check(A)["status"] == "new"
    to_b = w.check(B)
    [changed_siem] = w.events("siem")
    [changed_audit] = w.events("audit")

    w.site.set("/p", A)
    run = w.run("check", "--json")
    [back] = run.json()["results"]

    assert to_b["alert_topics"] == ["minors"] and to_b["reverted_alerts"] == []
    # each channel's message names its own alert: the log must not read as if one message named both
    assert ("wemet: version 3 returns to the text of version 1; policy.reverted to 2 channels names 1 alert each "
            "(2 in all)") in run.stderr, run.stderr
    assert back["status"] == "changed" and back["version"] == 3 and back["previous_version"] == 2
    assert back["reverts_to"] == 1 and back["alert_topics"] == []      # a blink back is never a change
    assert back["reverted_alerts"] == [changed_siem["webhook_id"], changed_audit["webhook_id"]]
    for channel, changed in (("siem", changed_siem), ("audit", changed_audit)):
        first, revert = w.events(channel)                     # each channel hears of its own alert only
        assert first == changed and revert["type"] == "policy.reverted"
        assert revert["webhook_id"] not in (changed_siem["webhook_id"], changed_audit["webhook_id"])
        assert revert["data"] == {
            "source": "wemet", "url": w.site.url("/p"), "version": 3, "previous_version": 2, "reverts_to": 1,
            "reverted_alerts": [changed["webhook_id"]], "reverted_versions": [2], "topics": ["minors"],
            "summary": "the policy returned to the text of version 1: the change alerted in version 2 no longer stands",
            "reverted_details": [{           # what the withdrawn alert said, restated as it was sent
                "alert": changed["webhook_id"], "version": 2, "topics": ["minors"], "severity": "high",
                "summaries": ["age threshold 18 → 13"], "more_changes": 0,
                "summary": "reverts: age threshold 18 → 13 (minors, high), alerted in version 2"}],
            "more_reverted_details": 0,
            "diff_command": "policy-monitor diff wemet 2 3",
        }
        said = changed["data"]   # read from the alert sent, not rated again
        assert (said["topics"], said["severity"], [c["summary"] for c in said["changes"]]) == (
            ["minors"], "high", ["age threshold 18 → 13"])
    assert w.hooks["sharing-desk"].received == []        # never alerted of the minors change: told nothing
    listed = sorted((a["channel"], a["type"], a["status"]) for a in w.alerts())
    assert listed == [("audit", "policy.changed", "delivered"), ("audit", "policy.reverted", "delivered"),
                      ("siem", "policy.changed", "delivered"), ("siem", "policy.reverted", "delivered")]
    summaries = {a["summary"] for a in w.alerts() if a["type"] == "policy.reverted"}
    assert summaries == {"wemet: minors change reverted (back to version 1)"}


def test_a_cosmetic_version_in_between_still_counts(watch):
    w = watch()
    w.check(A)
    w.check(B)
    reworded = w.check(B_REWORDED)
    [changed] = w.events("siem")

    back = w.check(A)

    assert reworded["status"] == "changed" and reworded["alert_topics"] == [] and reworded["reverts_to"] is None
    assert back["reverts_to"] == 1 and back["previous_version"] == 3 and back["alert_topics"] == []
    assert back["reverted_alerts"] == [changed["webhook_id"]]
    _, revert = w.events("siem")
    assert revert["type"] == "policy.reverted" and revert["data"]["reverted_versions"] == [2]
    assert revert["data"]["version"] == 4 and revert["data"]["diff_command"] == "policy-monitor diff wemet 3 4"


def test_flapping_between_two_texts_reverts_the_alert_once(watch, db_url):
    w = watch(db=db_url)
    results = [w.check(page) for page in (A, B, A, B, A)]

    [changed, revert, *rest] = w.events("siem")
    assert [r["alert_topics"] for r in results] == [[], ["minors"], [], [], []]
    assert [r["reverts_to"] for r in results] == [None, None, 1, 2, 1]
    assert [r["reverted_alerts"] for r in results] == [[], [], [changed["webhook_id"]], [], []]
    assert (changed["type"], revert["type"]) == ("policy.changed", "policy.reverted")
    assert revert["data"]["reverted_alerts"] == [changed["webhook_id"]]
    # the third blink back in a row makes the source unstable: that is said once, and nothing else is
    assert [e["type"] for e in rest] == ["source.unstable"]


def test_a_new_alerted_change_after_a_revert_is_reverted_on_its_own(watch):
    w = watch()
    w.check(A)
    w.check(B)
    first_back = w.check(A)
    to_c = w.check(C)
    second_back = w.check(A)

    to_b_alert, first_revert, to_c_alert, second_revert = w.events("siem")
    assert to_c["alert_topics"] == ["sharing"] and to_c_alert["type"] == "policy.changed"
    assert first_back["reverted_alerts"] == [to_b_alert["webhook_id"]]
    assert second_back["reverted_alerts"] == [to_c_alert["webhook_id"]]    # B's alert was already reverted
    assert second_revert["data"]["reverted_versions"] == [4] and second_revert["data"]["topics"] == ["sharing"]
    assert second_revert["data"]["summary"] == ("the policy returned to the text of version 1: the change "
                                                "alerted in version 4 no longer stands")


def test_one_revert_names_every_alert_it_undoes(watch):
    w = watch()
    w.check(A)
    w.check(B)
    both = AGE_13.replace("payment processors, SMS providers", "payment processors, data brokers, SMS providers", 1)
    w.check(render_policy(both))

    back = w.check(A)

    to_b, to_both, revert = w.events("siem")
    assert back["reverted_alerts"] == [to_b["webhook_id"], to_both["webhook_id"]]
    assert revert["data"]["reverted_versions"] == [2, 3] and revert["data"]["topics"] == ["minors", "sharing"]
    assert revert["data"]["summary"].endswith("the changes alerted in versions 2 and 3 no longer stand")
    assert [(r["alert"], r["summary"]) for r in revert["data"]["reverted_details"]] == [
        (to_b["webhook_id"], "reverts: age threshold 18 → 13 (minors, high), alerted in version 2"),
        (to_both["webhook_id"], f"reverts: {to_both['data']['changes'][0]['summary']} (sharing, high), "
                                f"alerted in version 3")]
    assert revert["data"]["more_reverted_details"] == 0


def test_blinks_of_versions_that_never_alerted_stay_silent(watch):
    w = watch()
    results = [w.check(page) for page in (A, A_REWORDED, A, A_REWORDED)]

    assert [r["status"] for r in results] == ["new", "changed", "changed", "changed"]
    assert [r["reverts_to"] for r in results] == [None, None, 1, 2]
    assert all(r["alert_topics"] == [] and r["reverted_alerts"] == [] for r in results)
    assert w.hooks["siem"].received == [] and w.alerts() == []


def test_on_revert_false_silences_one_channel_while_another_still_hears(watch):
    with SmtpServer() as smtp:
        w = watch({"siem": {"on_revert": False}, "team": {"type": "email"}}, smtp=smtp)
        w.check(A)
        w.check(B)
        back = w.check(A)

    [changed] = w.events("siem")                          # the change, and no revert
    assert changed["type"] == "policy.changed"
    change_mail, revert_mail = smtp.received
    team_alert = change_mail.message["X-Policy-Monitor-Alert-Id"]
    assert back["reverted_alerts"] == [team_alert]        # only what a revert was sent for
    assert revert_mail.message["Subject"] == "[policy-monitor] wemet: minors change reverted (back to version 1)"
    assert revert_mail.message["X-Policy-Monitor-Event"] == "policy.reverted"
    assert revert_mail.message["In-Reply-To"] == change_mail.message["Message-ID"]   # threads under the alert
    text = revert_mail.message.get_body(("plain",)).get_content()
    assert ("The policy returned to the text of version 1: the change alerted in version 2 no longer stands."
            in text)
    assert team_alert in text and "policy-monitor diff wemet 2 3" in text
    # what the withdrawn mail said, restated: the reader need not look the id up
    assert ("Withdrawn alert:\n"
            "   - reverts: age threshold 18 → 13 (minors, high), alerted in version 2\n"
            f"     (alert {team_alert})\n") in text.replace("\r\n", "\n"), text   # (SMTP lines end in CRLF)
    html = revert_mail.message.get_body(("html",)).get_content()
    assert ("<li style=\"margin-bottom:.5em\">reverts: age threshold 18 → 13 (minors, high), alerted in version 2"
            f"<br><span style=\"color:#666\">alert <code>{team_alert}</code></span></li>") in html, html


def test_a_retried_check_cannot_queue_the_revert_twice(watch):
    w = watch()
    w.check(A)
    w.check(B)
    back = w.check(A, "--no-deliver")

    config, store = load_config(w.config), Store(w.db)
    try:  # the same version's revert queued once more, as a check retried after its commit would
        with store.session() as session:
            row = session.exec(select(Source).where(Source.name == "wemet")).one()
            version = Store.version(session, row.id, 3)
            replay = CheckResult("wemet", w.site.url("/p"), "changed", version=3, previous_version=2, reverts_to=1)
            again = enqueue_revert_alerts(session, config, config.sources[0], version, replay)
            reverts = session.exec(select(Alert).where(Alert.event_type == "policy.reverted")).all()
    finally:
        store.dispose()

    assert len(back["reverted_alerts"]) == 1
    assert again == ([], [], []) and len(reverts) == 1


def test_on_revert_is_validated_like_the_other_channel_keys():
    good = parse_config("channels:\n  siem: {type: webhook, url: 'https://h.example.org/x', on_revert: false}\n")
    assert good.channels["siem"].on_revert is False
    assert parse_config("channels:\n  siem: {type: webhook, url: 'https://h.example.org/x'}\n").channels[
        "siem"].on_revert is True
    with pytest.raises(ConfigError) as caught:
        parse_config("channels:\n  siem:\n    type: webhook\n    url: https://h.example.org/x\n"
                     "    on_revert: sometimes\n", "s.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (5, "channels.siem.on_revert")


def test_the_schema_refuses_a_revert_naming_no_alert():
    payload = {"type": "policy.reverted", "schema_version": 1, "timestamp": "2026-12-01T22:48:00+00:00",
               "data": {"source": "wemet", "url": "https://example.org/p", "version": 3, "reverts_to": 1,
                        "reverted_alerts": ["msg_0123"], "reverted_versions": [2],
                        "summary": "the policy returned to the text of version 1: the change alerted in "
                                   "version 2 no longer stands"}}
    validate_envelope(payload)
    empty = copy.deepcopy(payload)
    empty["data"]["reverted_alerts"] = []
    with pytest.raises(jsonschema.ValidationError):
        validate_envelope(empty)
    missing = copy.deepcopy(payload)
    del missing["data"]["reverted_versions"]
    with pytest.raises(jsonschema.ValidationError):
        validate_envelope(missing)
    # what the withdrawn alerts said is an addition: the payload above (without it) stays valid, and so is one with it
    restated = copy.deepcopy(payload)
    restated["data"] |= {"more_reverted_details": 0, "reverted_details": [{
        "alert": "msg_0123", "version": 2, "topics": ["minors"], "severity": "high",
        "summaries": ["age threshold 18 → 13"], "more_changes": 0,
        "summary": "reverts: age threshold 18 → 13 (minors, high), alerted in version 2"}]}
    validate_envelope(restated)
    unsaid = copy.deepcopy(restated)
    del unsaid["data"]["reverted_details"][0]["summaries"]
    with pytest.raises(jsonschema.ValidationError, match="summaries"):
        validate_envelope(unsaid)


def _back_to_v1(session, config, *, seq: int):
    """Store version `seq` of "wemet" as a blink back to v1's text and queue its reverts, as a check would."""
    row = session.exec(select(Source).where(Source.name == "wemet")).one()
    back = Version(source_id=row.id, seq=seq, url="https://example.org/p", text_hash=text_hash("wemet1"),
                   raw_hash=text_hash("wemet1"), raw=compress(b"<p>x</p>"), text="v1", reverts_to=1)
    session.add(back)
    session.flush()
    result = CheckResult("wemet", "https://example.org/p", "changed", version=seq, previous_version=seq - 1,
                         reverts_to=1)
    return enqueue_revert_alerts(session, config, config.sources[0], back, result)


def test_a_revert_of_many_alerts_restates_the_most_severe_ones_and_counts_the_rest(make_config, sqlite_url, caplog):
    """Eleven low alerts (v2–v12) and a high one (v13) undone at once: the revert names all twelve and
    restates ten, the high one among them, each from the alert its channel was sent (a channel watching only
    minors was told of v13's minors change alone); the e-mail says how many more, the payload matches the
    schema, and the log counts per channel."""
    config = load_config(make_config([{"name": "wemet", "url": "https://example.org/p"}], {
        "siem": {"type": "webhook", "url": "https://hooks.example.org/policy"},
        "minors-desk": {"type": "webhook", "url": "https://hooks.example.org/minors", "topics": ["minors"]}}))
    store = Store(sqlite_url)
    try:
        for seq in range(2, 13):
            queue_change(store, config, "wemet", [rated("4. Sharing", "We share with A.", f"We share with A and {seq}.",
                                                        ["sharing"], "low", f"recipient {seq} added")], seq=seq)
        lows = [rated(f"{n}. Contact", "Write to us.", f"Write to us at office {n}.", ["sharing"], "low",
                      f"contact {n} changed") for n in (1, 2)]
        queue_change(store, config, "wemet", [*lows, RETENTION, MINORS, SHARING], seq=13)
        with store.session() as session:
            session.execute(sa.update(Alert).values(status="delivered"))     # every channel was told
            with caplog.at_level("INFO", logger="monitor.notify"):
                named, _, _ = _back_to_v1(session, config, seq=14)
        reverts = {a.channel: a for a in alert_rows(store) if a.event_type == "policy.reverted"}
    finally:
        store.dispose()

    siem, desk = reverts["siem"].payload, reverts["minors-desk"].payload
    validate_envelope(siem)
    validate_envelope(desk)
    assert len(named) == 13 and siem["data"]["reverted_versions"] == list(range(2, 14))
    assert [r["version"] for r in siem["data"]["reverted_details"]] == [*range(2, 11), 13]   # v11, v12 left out
    assert siem["data"]["more_reverted_details"] == 2
    v13 = siem["data"]["reverted_details"][-1]
    assert (v13["topics"], v13["severity"], v13["more_changes"]) == (["minors", "retention", "sharing"], "high", 0)
    assert v13["summaries"] == ["age threshold 16 → 13", "sale of data no longer excluded",
                                "retention period 30 days → 90 days", "contact 1 changed", "contact 2 changed"]
    assert v13["summary"] == ("reverts: age threshold 16 → 13; sale of data no longer excluded; retention period "
                              "30 days → 90 days and 2 more changes (minors, retention, sharing, high), alerted in "
                              "version 13")
    assert [r["summary"] for r in desk["data"]["reverted_details"]] == [
        "reverts: age threshold 16 → 13 (minors, high), alerted in version 13"]
    text = render_email(siem, reverts["siem"].idempotency_key).text
    assert "   - reverts: recipient 2 added (sharing, low), alerted in version 2\n" in text
    assert "   ... and 2 more withdrawn alerts.\n" in text and "version 11" not in text
    html = render_email(siem, reverts["siem"].idempotency_key).html
    assert "<li>&hellip; and 2 more withdrawn alerts.</li>" in html
    assert ("wemet: version 14 returns to the text of version 1; policy.reverted to 2 channels names 1 to 12 "
            "alerts each (13 in all)") in caplog.text


def test_a_revert_of_an_alert_stored_without_summary_or_severity_restates_it_within_the_schema(
        make_config, sqlite_url):
    """An alert stored by an older version, or an unrated change: no summary, no severity. The restatement
    says "the change", not "reverts:  (…)", and leaves the severity out rather than null."""
    config = load_config(make_config([{"name": "wemet", "url": "https://example.org/p"}], {
        "siem": {"type": "webhook", "url": "https://hooks.example.org/policy"}}))
    store = Store(sqlite_url)
    try:
        queue_change(store, config, "wemet", [MINORS], seq=2)
        with store.session() as session:
            alert = session.exec(select(Alert)).one()
            payload = copy.deepcopy(alert.payload)
            payload["data"].pop("severity")
            for change in payload["data"]["changes"]:
                change["summary"] = ""
                change.pop("kind", None)
            session.execute(sa.update(Alert).values(status="delivered", payload=payload))
            _back_to_v1(session, config, seq=3)
        revert = next(a for a in alert_rows(store) if a.event_type == "policy.reverted")
    finally:
        store.dispose()

    validate_envelope(revert.payload)
    detail = revert.payload["data"]["reverted_details"][0]
    assert "severity" not in detail and detail["summaries"] == []
    assert detail["summary"] == "reverts: the change (minors), alerted in version 2"


def test_the_revert_email_escapes_what_comes_from_outside():
    from monitor.notify.outbox import envelope
    from monitor.notify.render import render_email

    rendered = render_email(envelope("policy.reverted", {
        "source": "wemet", "url": "https://example.org/p?a=1&b=<script>x()</script>", "version": 3,
        "previous_version": 2, "reverts_to": 1, "reverted_alerts": ["msg_<b>"], "reverted_versions": [2],
        "topics": ["minors"], "summary": "the policy returned to the text of version 1: <i>x</i>",
        "diff_command": "policy-monitor diff wemet 2 3"}), "msg_1")

    assert "<script>" not in rendered.html and "<i>" not in rendered.html and "<b>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html and "<code>msg_&lt;b&gt;</code> (version 2)" in rendered.html
    assert rendered.subject == "[policy-monitor] wemet: minors change reverted (back to version 1)"

    # the restated summaries come from the policy's text: escaped like the rest
    restated = render_email(envelope("policy.reverted", {
        "source": "wemet", "url": "https://example.org/p", "version": 3, "previous_version": 2, "reverts_to": 1,
        "reverted_alerts": ["msg_<b>"], "reverted_versions": [2], "topics": ["minors"],
        "summary": "the policy returned to the text of version 1: the change alerted in version 2 no longer stands",
        "reverted_details": [{"alert": "msg_<b>", "version": 2, "topics": ["minors"], "severity": "high",
                              "summaries": ["now says <script>alert(1)</script>"], "more_changes": 0,
                              "summary": "reverts: now says <script>alert(1)</script> (minors, high), alerted "
                                         "in version 2"}],
        "more_reverted_details": 0, "diff_command": "policy-monitor diff wemet 2 3"}), "msg_1")
    assert "<script>" not in restated.html and "<b>" not in restated.html
    assert ("reverts: now says &lt;script&gt;alert(1)&lt;/script&gt; (minors, high), alerted in version 2<br>"
            "<span style=\"color:#666\">alert <code>msg_&lt;b&gt;</code></span>") in restated.html
    assert "   - reverts: now says <script>alert(1)</script> (minors, high), alerted in version 2\n" in restated.text


# ---------------------------------------------------------------------------------------------
# A revert names only alerts their channel received; undone alerts never received are superseded

def _changed_alerts(w: Watch) -> dict[str, dict]:
    return {a["channel"]: a for a in w.alerts() if a["type"] == "policy.changed"}


def test_a_change_alert_still_waiting_to_be_retried_is_superseded_by_the_revert_never_sent_late(watch):
    w = watch({"siem": {"statuses": [503, 200]}})
    w.check(A)
    to_b = w.check(B)                                    # its alert's first attempt gets a 503: retried later
    waiting = _changed_alerts(w)["siem"]

    back = w.check(A)
    time.sleep(0.3)                                      # past the retry's backoff (0.05–0.2 s in the test config)
    later = w.run("alerts", "deliver", "--json").json()

    assert to_b["alert_topics"] == ["minors"] and waiting["status"] == "pending" and waiting["attempts"] == 1
    assert back["reverts_to"] == 1 and back["reverted_alerts"] == []        # the analyst was never told of B
    assert later["delivered"] == 0 and len(w.hooks["siem"].received) == 1   # the one 503'd attempt, nothing late
    [superseded] = w.run("alerts", "--status", "superseded", "--json").json()
    assert superseded["webhook_id"] == waiting["webhook_id"] and superseded["type"] == "policy.changed"
    assert superseded["last_error"] == ("superseded: version 3 returned to the text of version 1 before this alert "
                                        "was delivered, so it is not sent")
    assert [a["type"] for a in w.alerts()] == ["policy.changed"]            # and no policy.reverted was queued


def test_a_blink_back_that_only_supersedes_undelivered_alerts_says_so_rather_than_no_alert(watch):
    """A → B (its two alerts queued, not delivered) → A: nobody was told of B, so no `policy.reverted` goes
    out, but the blink stopped B's alerts; `check` says so, `check --json` names them. Then C (queued) → A."""
    w = watch({"siem": {}, "audit": {}})
    w.check(A)
    w.check(B, "--no-deliver")
    w.site.set("/p", A)
    back = w.run("check")
    w.check(C, "--no-deliver")
    queued_for_c = sorted(a["webhook_id"] for a in w.alerts() if a["status"] == "pending")
    again = w.check(A)

    details = "".join(back.stdout.replace("│", "").split())  # the details column, unwrapped
    assert "backtothetextofv1:supersedes2undeliveredalerts(nonewillbesent)" in details, back.stdout
    assert "(noalert)" not in details and "policy.reverted" not in details
    assert again["reverts_to"] == 1 and again["reverted_alerts"] == []
    assert sorted(again["superseded_alerts"]) == queued_for_c and len(queued_for_c) == 2
    assert sorted((a["type"], a["status"]) for a in w.alerts()) == [("policy.changed", "superseded")] * 4
    assert w.hooks["siem"].received == w.hooks["audit"].received == []


def test_a_change_that_comes_back_after_its_alerts_were_superseded_is_sent_after_all(watch):
    """A → B (queued, never delivered) → A (superseded: B no longer stands) → B: the change is the policy again
    and no channel was ever told of it, so its alerts go out now, once, with their own webhook ids; flapping
    on after a delivery stays as before (one policy.reverted, then silence)."""
    w = watch({"siem": {}, "audit": {}})
    w.check(A)
    w.check(B, "--no-deliver")
    queued = sorted(a["webhook_id"] for a in w.alerts() if a["status"] == "pending")
    w.check(A, "--no-deliver")
    w.site.set("/p", B)
    table = w.run("check")
    w.site.set("/p", A)
    undone = w.check(A)
    w.site.set("/p", B)
    silent = w.check(B)

    details = "".join(table.stdout.replace("│", "").split())
    assert "backtothetextofv2:thechangeisback:2alertsneverdeliveredgooutnow" in details, table.stdout
    policy = {name: [e for e in w.events(name) if e["type"].startswith("policy.")] for name in ("siem", "audit")}
    assert sorted(events[0]["webhook_id"] for events in policy.values()) == queued, "the very alerts queued for B"
    assert [e["type"] for e in policy["siem"]] == [e["type"] for e in policy["audit"]] == [
        "policy.changed", "policy.reverted"], "once; its undoing after delivery withdrawn once; then silence"
    assert len(undone["reverted_alerts"]) == 2 and silent["requeued_alerts"] == silent["reverted_alerts"] == []
    assert sorted((a["type"], a["status"]) for a in w.alerts() if a["type"].startswith("policy.")) == [
        ("policy.changed", "delivered")] * 2 + [("policy.reverted", "delivered")] * 2


def test_a_revert_still_queued_when_the_change_comes_back_is_superseded_never_sent(watch):
    """A → B (alerted, delivered) → A (its policy.reverted queued, not yet delivered) → B: sent now, the revert
    would tell the channel its alert no longer stands while the policy says B again (a new user's trial)."""
    w = watch()
    w.check(A)
    w.check(B)
    w.check(A, "--no-deliver")
    [queued] = [a for a in w.alerts() if a["type"] == "policy.reverted"]
    again = w.check(B)
    later = w.run("alerts", "deliver", "--json").json()

    assert queued["status"] == "pending" and again["reverts_to"] == 2
    assert again["superseded_alerts"] == [queued["webhook_id"]] and later["delivered"] == 0
    assert [e["type"] for e in w.events("siem")] == ["policy.changed"]
    [stale] = w.run("alerts", "--status", "superseded", "--json").json()
    assert stale["type"] == "policy.reverted" and stale["last_error"] == (
        "superseded: version 4 returned to the text of version 2, where the changes this revert withdrew stand "
        "again, so it is not sent")


def test_a_revert_names_the_delivered_alert_and_supersedes_the_failed_one(watch):
    w = watch({"siem": {}, "audit": {"statuses": [410]}})     # audit refuses for good: its alert fails
    w.check(A)
    w.check(B)
    before = _changed_alerts(w)

    back = w.check(A)
    requeued = w.run("alerts", "retry", "--failed", "--json").json()

    assert (before["siem"]["status"], before["audit"]["status"]) == ("delivered", "failed")
    assert back["reverted_alerts"] == [before["siem"]["webhook_id"]]       # only what a channel received
    changed, revert = w.events("siem")
    assert revert["type"] == "policy.reverted" and revert["data"]["reverted_alerts"] == [changed["webhook_id"]]
    assert len(w.hooks["audit"].received) == 1                             # the refused attempt; no revert
    after = _changed_alerts(w)
    assert after["audit"]["status"] == "superseded" and after["siem"]["status"] == "delivered"
    assert after["audit"]["last_error"].endswith(
        f"(it had failed: permanent failure: HTTP 410 GONE from http://127.0.0.1:{w.hooks['audit'].port}: answer 410)")
    assert requeued == {"requeued": []}                  # a superseded change is not re-queued with the failed


def test_retrying_a_superseded_alert_by_id_is_refused_and_nothing_stale_goes_out(watch):
    w = watch({"siem": {"statuses": [503, 200]}})
    w.check(A)
    w.check(B)                                           # the 503'd alert waits for its retry…
    w.check(A)                                           # …and the blink back supersedes it
    superseded = _changed_alerts(w)["siem"]

    retried = w.run("alerts", "retry", str(superseded["id"]))
    time.sleep(0.3)                                      # past any backoff: a re-queued alert would now be due
    later = w.run("alerts", "deliver", "--json").json()

    assert superseded["status"] == "superseded"
    assert retried.exit_code == 2                        # as for a delivered alert: a usage error, nothing changed
    assert retried.stderr.startswith(f"error: alert {superseded['id']} was superseded: the policy returned to an "
                                     f"earlier text before it was delivered, so it is never sent")
    assert later["delivered"] == 0 and len(w.hooks["siem"].received) == 1   # only the first, 503'd attempt
    assert _changed_alerts(w)["siem"]["status"] == "superseded"


def test_an_alert_being_sent_right_now_counts_as_received_and_is_named(watch):
    """A sender holding a live lease on the alert is delivering it: the revert names it rather than race it."""
    from monitor.notify.delivery import _claim

    w = watch()
    w.check(A)
    w.check(B, "--no-deliver")
    config, store = load_config(w.config), Store(w.db)
    try:
        with store.session() as session:
            [pending] = session.exec(select(Alert).where(Alert.event_type == "policy.changed")).all()
        [claim] = _claim(store, config, [pending], utcnow(), rounds=1)     # a sender's lease, as a delivery pass takes
    finally:
        store.dispose()

    back = w.check(A, "--no-deliver")

    assert back["reverted_alerts"] == [claim.key]
    assert sorted((a["type"], a["status"]) for a in w.alerts()) == [("policy.changed", "pending"),
                                                                    ("policy.reverted", "pending")]


BOTH = render_policy(AGE_13.replace("payment processors, SMS providers",
                                    "payment processors, data brokers, SMS providers", 1))


def test_a_change_a_later_version_undid_is_marked_reverted_wherever_it_is_listed(watch, db_url):
    """v1 → v2 adds data brokers (stands); v2 → v3 lowers the age to 13; v4 returns to v2's text. The
    timeline (lines and JSON), `history`, the web overview and source page, the API and the feed all say
    v3's change was reverted in v4; v2's, which still stands, is not marked."""
    import httpx

    from tests.web_site import serve_thread

    w = watch(db=db_url)
    for page in (A, C, BOTH):
        w.check(page)
    w.site.set("/p", C)
    back = w.run("check")  # the table: the blink is not silent, it withdraws v3's alert

    lines = w.run("timeline").stdout.splitlines()
    entries = w.run("timeline", "--json").json()
    history = w.run("history", "wemet", "--json").json()
    history_table = w.run("history", "wemet").stdout
    feed = w.run("feed").stdout

    details = "".join(back.stdout.replace("│", "").split())  # the details column, unwrapped
    assert "policy.revertedwithdraws1alert" in details and "(noalert)" not in details, back.stdout
    assert [(e["version"], e["reverted_in"]) for e in entries] == [(3, 4), (2, None)]
    [v3_line] = [line for line in lines if "v2 → v3" in line]
    assert "[reverted in v4] age threshold 18 → 13" in v3_line
    assert "reverted" not in next(line for line in lines if "v1 → v2" in line)
    assert [(h["version"], h["reverted_in"]) for h in history] == [(1, None), (2, None), (3, 4), (4, None)]
    assert "reverted" in history_table and "blink back" in history_table  # (a narrow table wraps its notes)
    assert "wemet: minors changed (high) (reverted in v4)" in feed
    assert "Reverted in v4: the policy returned to the text before this change" in feed
    assert feed.count("reverted in v") == 1  # v2's entry stands

    with serve_thread(w.config, db_url) as base:
        overview = httpx.get(base + "/", timeout=30).text
        page = httpx.get(base + "/sources/wemet", timeout=30).text
        api = httpx.get(base + "/api/timeline", timeout=30).json()
        api_history = httpx.get(base + "/api/sources/wemet/history", timeout=30).json()

    row = overview[overview.index("v2 → v3"):]
    assert re.search(r'reverted in <a href="/sources/wemet/changes/3..4">v4</a>', row[:600]), row[:600]
    material = page[page.index("Material changes"):page.index("Failing periods")]
    assert material.count(">reverted in <") == 1 and material.index("v2 → v3") < material.index("reverted in")
    versions = page[page.index('id="versions-h"'):]
    assert versions.count(">reverted in <") == 1 and 'href="/sources/wemet/versions/4">v4</a></span>' in versions
    assert api == entries and api_history == history


def test_a_change_that_returns_after_its_revert_is_no_longer_marked_and_no_alert_is_sent(watch, db_url):
    """v2 adds data brokers, v3 lowers the age to 13 (alerted), v4 returns to v2's text (v3's change reverted
    in v4), v5 returns to v3's text: the change is the policy again, so no view marks it any more; nor does
    v5 alert. v6 undoes it again: the views say reverted in v6, and that flapping stays silent too."""
    import httpx

    from tests.web_site import serve_thread

    w = watch(db=db_url)
    for page in (A, C, BOTH, C):
        w.check(page)
    def policy_alerts() -> list[str]:  # (flapping also sends source.unstable, a health alert of its own)
        return [e["type"] for e in w.events("siem") if e["type"].startswith("policy.")]

    assert policy_alerts() == ["policy.changed", "policy.changed", "policy.reverted"]

    def views() -> dict:
        timeline = {e["version"]: e["reverted_in"] for e in w.run("timeline", "--json").json()}
        history = {h["version"]: h["reverted_in"] for h in w.run("history", "wemet", "--json").json()}
        export = {v["version"]: v["reverted_in"] for v in map(__import__("json").loads,
                                                                w.run("export", "wemet", "--format", "jsonl")
                                                                .stdout.splitlines())}
        with serve_thread(w.config, db_url) as base:
            overview = httpx.get(base + "/", timeout=30).text
            page = httpx.get(base + "/sources/wemet", timeout=30).text
            api = {e["version"]: e["reverted_in"] for e in httpx.get(base + "/api/timeline", timeout=30).json()}
        return {"timeline": timeline[3], "history": history[3], "export": export[3], "api": api[3],
                "timeline line": re.findall(r"\[reverted in v\d+\]", w.run("timeline").stdout),
                "feed": re.findall(r"\(reverted in v\d+\)", w.run("feed").stdout),
                "overview": re.findall(r"reverted in <a[^>]*>v\d+", overview),
                "source page": re.findall(r">reverted in <a[^>]*>v\d+", page)}

    before = views()
    assert before["timeline"] == before["history"] == before["export"] == before["api"] == 4
    assert before["feed"] == ["(reverted in v4)"] and before["timeline line"] == ["[reverted in v4]"]

    assert w.check(BOTH)["reverts_to"] == 3  # v5: v3's text again
    assert views() == {"timeline": None, "history": None, "export": None, "api": None, "timeline line": [],
                       "feed": [], "overview": [], "source page": []}
    assert w.check(C)["reverts_to"] == 2  # v6: undone again
    again = views()
    assert again["timeline"] == again["history"] == again["export"] == again["api"] == 6
    assert again["feed"] == ["(reverted in v6)"] and again["timeline line"] == ["[reverted in v6]"]
    assert again["overview"] == ['reverted in <a href="/sources/wemet/changes/5..6">v6']
    assert len(again["source page"]) == 2  # the material change and the version list
    assert policy_alerts() == ["policy.changed", "policy.changed", "policy.reverted"]  # v5, v6: nothing more


def test_a_change_stays_marked_only_while_it_stays_undone_over_random_histories():
    """`Reverts`, read newest first (pulled, and pushed as the timeline streams), and `undone_in_any_order`,
    read oldest first, agree with the rule read the long way on 2,000 random histories. A version's text
    is the set of clauses the policy says: an ordinary version adds a clause of its own, a blink back
    returns to an earlier version's set (reverts_to the earliest version with it, as checks store it). A
    change stands while its clause is in the policy; it is marked while it is not, with the first version
    of the stretch (to the latest) in which it is not. Flapping, nested undoing and restoring all occur."""
    import random

    from monitor.store.reverts import Reverts, undone_in_any_order

    rng = random.Random(7)
    restored = undone_again = 0
    for _ in range(2000):
        texts: list[frozenset[int]] = [frozenset({1})]
        blinks: list[tuple[int, int]] = []  # (version, reverts_to), oldest first
        for seq in range(2, rng.randrange(2, 18)):
            earlier = [t for t in dict.fromkeys(texts) if t != texts[-1]]
            if earlier and rng.random() < 0.55:
                texts.append(rng.choice(earlier))
                blinks.append((seq, texts.index(texts[-1]) + 1))
            else:
                texts.append(texts[-1] | {seq})  # the clause this version's change adds
        changes = [seq for seq in range(2, len(texts) + 1) if seq in texts[seq - 1]]  # not the blinks

        expected = {seq: _undone_since(seq, texts) for seq in changes}
        for seq in changes:
            flips = "".join("+" if seq in text else "-" for text in texts[seq - 1:])
            restored += "-+" in flips
            undone_again += "-+" in flips and flips.endswith("-")

        pulled = Reverts(reversed(blinks))
        assert {seq: pulled.undone_in(seq) for seq in reversed(changes)} == expected, (texts, blinks)
        oldest_first = undone_in_any_order(reversed(blinks))  # as `export` asks: oldest first
        assert {seq: oldest_first(seq) for seq in changes} == expected, (texts, blinks)
        pushed, got, blink_of = Reverts(), {}, dict(blinks)
        for seq in range(len(texts), 0, -1):  # as the timeline gives them: each blink as its version streams by
            if seq in expected:
                got[seq] = pushed.undone_in(seq)
            if seq in blink_of:
                pushed.add(seq, blink_of[seq])
        assert got == expected, (texts, blinks)
        for blink, _ in blinks:  # a blink back itself has no change to mark
            assert Reverts(reversed(blinks)).undone_in(blink) is None and oldest_first(blink) is None
    assert restored > 1000 and undone_again > 500, (restored, undone_again)  # restored, and undone again


def _undone_since(seq: int, texts: list[frozenset[int]]) -> int | None:
    """The rule the long way: None while version `seq`'s clause is in the latest text; else the first version
    of the run (to the latest) whose texts all lack it."""
    standing = [seq in text for text in texts]
    if standing[-1]:
        return None
    since = len(texts)
    while not standing[since - 2]:
        since -= 1
    return since
