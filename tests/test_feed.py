"""The Atom feed: the latest alert-worthy changes, for a feed reader, written by `check` and the daemon."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from monitor.notify.feed import render_feed
from tests.pages import edit, render_policy, seed_text

ATOM = "{http://www.w3.org/2005/Atom}"


TEXT = seed_text(2)
AGE_LOWERED = edit(TEXT, "under the age of 18", "under the age of 13")


def watch(cli, site, make_config, sqlite_url, feed):
    """A source checked once (its baseline) with a feed configured; returns check(), which checks again."""
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(TEXT))}], feed=str(feed))

    def check():
        return cli("--config", config, "--db", sqlite_url, "check")

    check()
    return check


def entries_of(path) -> list[ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{ATOM}feed" and root.find(f"{ATOM}updated") is not None
    return root.findall(f"{ATOM}entry")


def test_check_writes_one_entry_per_alert_worthy_version_newest_first(cli, site, make_config, sqlite_url, tmp_path):
    feed = tmp_path / "changes.xml"
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}], feed=str(feed))
    cli("--config", config, "--db", sqlite_url, "check")
    assert not feed.exists(), "a baseline is not news"

    site.set("/p", render_policy(edit(text, "under the age of 18", "under the age of 13")))
    cli("--config", config, "--db", sqlite_url, "check")
    site.set("/p", render_policy(edit(text, "under the age of 18", "under the age of 13").replace(
        "payment processors, SMS providers", "payment processors, data brokers, SMS providers")))
    cli("--config", config, "--db", sqlite_url, "check")

    newest, older = entries_of(feed)
    assert newest.findtext(f"{ATOM}title") == "wemet: sharing changed (high)"
    assert newest.findtext(f"{ATOM}id") == "urn:policy-monitor:wemet:v3"
    assert "adds recipient: data brokers" in newest.findtext(f"{ATOM}summary")
    assert "policy-monitor diff wemet 2 3" in newest.findtext(f"{ATOM}summary")
    assert older.findtext(f"{ATOM}title") == "wemet: minors changed (high)"
    assert [c.get("term") for c in older.findall(f"{ATOM}category")] == ["minors"]
    assert older.find(f"{ATOM}link").get("href") == site.url("/p")


def test_cosmetic_versions_and_blinks_back_never_enter_the_feed(cli, site, make_config, sqlite_url, tmp_path):
    feed = tmp_path / "changes.xml"
    check = watch(cli, site, make_config, sqlite_url, feed)
    site.set("/p", render_policy(AGE_LOWERED))
    check()
    for page in (render_policy(TEXT), render_policy(TEXT, style="bold")):  # a blink back, then layout only
        site.set("/p", page)
        check()

    assert [e.findtext(f"{ATOM}id") for e in entries_of(feed)] == ["urn:policy-monitor:wemet:v2"]


def test_policy_text_is_escaped_by_the_xml_writer():
    from datetime import UTC, datetime

    from monitor.notify.feed import FeedEntry

    hostile = FeedEntry("x", "https://example.org/?a=1&b=<2>", 2, 1, datetime(2026, 1, 1, tzinfo=UTC), ["sharing"],
                        "high", [("<script>alert(1)</script>", "adds recipient: \"A&B\" <brokers>")])
    root = ET.fromstring(render_feed([hostile]))  # parses: nothing broke out of its element
    [entry] = root.findall(f"{ATOM}entry")
    assert "<script>alert(1)</script>: adds recipient" in entry.findtext(f"{ATOM}summary")
    assert entry.find(f"{ATOM}link").get("href") == "https://example.org/?a=1&b=<2>"


def test_a_feed_that_cannot_be_written_is_logged_and_check_still_succeeds(cli, site, make_config, sqlite_url,
                                                                          tmp_path):
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}],
                         feed=str(tmp_path / "no-such-dir" / "changes.xml"))
    cli("--config", config, "--db", sqlite_url, "check")
    site.set("/p", render_policy(edit(text, "under the age of 18", "under the age of 13")))

    result = cli("--config", config, "--db", sqlite_url, "check")

    assert result.exit_code == 0 and "cannot write the feed" in result.stderr


def test_control_characters_from_a_page_never_make_the_feed_invalid_xml():
    from datetime import UTC, datetime

    from monitor.notify.feed import FeedEntry

    entry = FeedEntry("x", "https://example.org/p", 2, 1, datetime(2026, 1, 1, tzinfo=UTC), ["sharing"], "high",
                      [("Sharing\x01 with\x0c Partners", "adds recipient: brokers\x00")])
    [parsed] = ET.fromstring(render_feed([entry])).findall(f"{ATOM}entry")
    assert "Sharing with Partners: adds recipient: brokers" in parsed.findtext(f"{ATOM}summary")


def test_the_feed_file_is_readable_by_others_like_any_published_file(cli, site, make_config, sqlite_url, tmp_path):
    import os
    import stat

    feed = tmp_path / "changes.xml"
    check = watch(cli, site, make_config, sqlite_url, feed)
    site.set("/p", render_policy(AGE_LOWERED))
    old_mask = os.umask(0o022)
    try:
        check()
    finally:
        os.umask(old_mask)

    assert stat.S_IMODE(feed.stat().st_mode) == 0o644


def test_a_blink_back_rewrites_the_feed_with_the_undone_entry_marked(cli, site, make_config, sqlite_url, tmp_path):
    """No channel at all: the feed is news of its own, and its v2 entry no longer stands once v3 returns to v1."""
    feed = tmp_path / "changes.xml"
    check = watch(cli, site, make_config, sqlite_url, feed)
    site.set("/p", render_policy(AGE_LOWERED))
    check()
    [before] = entries_of(feed)
    site.set("/p", render_policy(TEXT))

    check()

    [entry] = entries_of(feed)
    assert before.findtext(f"{ATOM}title") == "wemet: minors changed (high)"
    assert entry.findtext(f"{ATOM}title") == "wemet: minors changed (high) (reverted in v3)"
    assert entry.findtext(f"{ATOM}summary").startswith(
        "Reverted in v3: the policy returned to the text before this change, which no longer stands.\n")
    assert entry.findtext(f"{ATOM}updated") >= before.findtext(f"{ATOM}updated")
    assert ET.parse(feed).getroot().findtext(f"{ATOM}updated") == entry.findtext(f"{ATOM}updated")


def test_the_feed_runs_the_same_statements_for_two_entries_as_for_six(cli, site, make_config, sqlite_url):
    """Two sources, each changing its age threshold; `a` then returns to its first text (undoing all three of
    its entries), `b` to its second (undoing two). Each entry's changes, previous version and revert are
    read for the whole feed at once, so six entries, five of them reverted, cost what two did."""
    from sqlalchemy import event

    from monitor.notify.feed import feed_document
    from monitor.store.database import Store

    config = make_config([{"name": name, "url": site.url(f"/{name}")} for name in ("a", "b")])

    def check(name: str, text: str) -> None:
        site.set(f"/{name}", render_policy(text))
        assert cli("--config", config, "--db", sqlite_url, "check", name).exit_code == 0

    def feed() -> tuple[list[str], int]:
        store = Store(sqlite_url, read_only=True)  # a fresh one each time: the same connection set-up
        executed: list[str] = []
        event.listen(store.engine, "before_cursor_execute", lambda conn, cursor, statement, *_: executed.append(
            statement))
        try:
            document = feed_document(store)
        finally:
            store.dispose()
        return [e.findtext(f"{ATOM}title") for e in ET.fromstring(document).findall(f"{ATOM}entry")], len(executed)

    def age(years: int) -> str:
        return edit(TEXT, "under the age of 18", f"under the age of {years}")

    for name in ("a", "b"):
        check(name, TEXT)
        check(name, age(13))
    two, statements_for_two = feed()
    for name in ("a", "b"):
        check(name, age(14))
        check(name, age(15))
    check("a", TEXT)     # a v5: back to v1, undoing v2, v3, v4
    check("b", age(13))  # b v5: back to v2, undoing v3, v4
    six, statements_for_six = feed()

    assert two == ["b: minors changed (high)", "a: minors changed (high)"]
    assert [(title.split(":")[0], title.endswith(" (reverted in v5)")) for title in six] == [
        ("b", True), ("b", True), ("a", True), ("a", True), ("b", False), ("a", True)]
    assert statements_for_six == statements_for_two, (statements_for_two, statements_for_six)


def test_with_web_base_url_an_entry_links_to_its_change_page_as_alerts_do(cli, site, make_config, sqlite_url, tmp_path,
                                                                          monkeypatch):
    """`web.base_url` set: the entry's link is the change page, the very `change_url` the webhook carried (and a
    page `serve` answers), the policy page a second link with rel="related"; the file `check` writes, `feed`
    and the served /feed alike."""
    import httpx
    from standardwebhooks.webhooks import Webhook

    from tests.alert_helpers import SECRET, Receiver
    from tests.web_site import serve_thread

    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    feed = tmp_path / "changes.xml"
    hook = Receiver().start()
    try:
        config = make_config([{"name": "we.met", "url": site.set("/p", render_policy(TEXT))}],
                             {"siem": {"type": "webhook", "url": hook.url, "secret_env": "TEST_WEBHOOK_SECRET"}},
                             feed=str(feed), web={"base_url": "http://monitor.example:8080/pm"})
        cli("--config", config, "--db", sqlite_url, "check")
        site.set("/p", render_policy(AGE_LOWERED))
        changed = cli("--config", config, "--db", sqlite_url, "check")
        assert len(hook.received) == 1, (changed.stdout, changed.stderr)
        [got] = hook.received
    finally:
        hook.stop()
    change_url = Webhook(SECRET).verify(got.body, got.headers)["data"]["change_url"]
    assert change_url == "http://monitor.example:8080/pm/sources/we.met/changes/1..2"

    printed = cli("--config", config, "--db", sqlite_url, "feed").stdout
    with serve_thread(config, sqlite_url) as base:
        served = httpx.get(base + "/feed.xml", timeout=30)
        page = httpx.get(base + change_url.removeprefix("http://monitor.example:8080/pm"), timeout=30)
    for document in (ET.parse(feed).getroot(), ET.fromstring(printed), ET.fromstring(served.content)):
        [entry] = document.findall(f"{ATOM}entry")
        assert [(link.get("rel"), link.get("href")) for link in entry.findall(f"{ATOM}link")] == [
            (None, change_url), ("related", site.url("/p"))]
    assert page.status_code == 200 and "18" in page.text and "13" in page.text


def test_without_web_base_url_an_entry_links_to_the_policy_page_only(cli, site, make_config, sqlite_url, tmp_path):
    feed = tmp_path / "changes.xml"
    check = watch(cli, site, make_config, sqlite_url, feed)
    site.set("/p", render_policy(AGE_LOWERED))
    check()

    [entry] = entries_of(feed)
    assert [(link.get("rel"), link.get("href")) for link in entry.findall(f"{ATOM}link")] == [(None, site.url("/p"))]


def test_an_entry_lists_its_most_severe_change_first(cli, site, make_config, sqlite_url, tmp_path):
    """A recipient dropped in section 3 (medium) and the minimum age lowered in section 5 (high): the entry,
    whose list is capped, names the high change first."""
    feed = tmp_path / "changes.xml"
    check = watch(cli, site, make_config, sqlite_url, feed)
    site.set("/p", render_policy(edit(TEXT, "payment processors, SMS providers", "payment processors")
                                 .replace("under the age of 18", "under the age of 13")))
    check()
    (entry,) = entries_of(feed)
    lines = entry.findtext(f"{ATOM}summary").splitlines()
    assert lines[0].endswith("age threshold 18 → 13") and lines[1].endswith("removes recipient: sms providers")
