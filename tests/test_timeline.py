"""`timeline` and `feed`: the stored history read as a list of material changes and as an Atom feed,
from a database built by real checks (tests/history_helpers.py)."""

from __future__ import annotations

import feedparser

from tests.history_helpers import AGE, BROKERS, SHORT, WEMET, build_history
from tests.pages import edit

MATERIAL = [("2026-06-20 09:00", "wemet", "v4 → v5", "high", "sharing", "adds recipient: data brokers"),
            ("2026-05-12 09:00", "zw", "v2 → v3", "medium", "retention",
             "retention period as long as necessary → 3 years"),
            ("2026-02-10 09:00", "wemet", "v1 → v2", "high", "minors", "age threshold 18 → 13")]


def cells(line: str) -> tuple[str, ...]:
    """A timeline line's columns (they are separated by at least two spaces)."""
    import re

    return tuple(re.split(r"\s{2,}", line.strip()))


def test_the_timeline_lists_material_changes_newest_first(history):
    result = history.cli("timeline")

    assert result.exit_code == 0, result
    header, *lines = result.stdout.splitlines()
    assert cells(header) == ("date (UTC)", "source", "versions", "severity", "topics", "summary")
    assert [cells(line) for line in lines] == MATERIAL


def test_blinks_form_only_versions_and_first_captures_appear_only_with_all(history):
    result = history.cli("timeline", "--all")

    rows = [cells(line) for line in result.stdout.splitlines()[1:]]
    assert [(r[1], r[2], r[-1]) for r in rows] == [
        ("wemet", "v4 → v5", "adds recipient: data brokers"),
        ("zw", "v2 → v3", "retention period as long as necessary → 3 years"),
        ("zw", "v1 → v2", "no change in substance: date stamp updated"),
        ("wemet", "v3 → v4", "back to the text of v2 (a blink back: never a change alert)"),
        ("wemet", "v2 → v3", "no change in substance: 2 form-only edits"),
        ("wemet", "v1 → v2", "age threshold 18 → 13"),
        ("zw", "v1", "first version captured"),
        ("wemet", "v1", "first version captured"),
    ]


def test_filters_by_source_topic_severity_and_date(history):
    def versions(*args: str) -> list[tuple[str, int]]:
        result = history.cli("timeline", "--json", *args)
        assert result.exit_code == 0, result
        return [(e["source"], e["version"]) for e in result.json()]

    assert versions("wemet") == [("wemet", 5), ("wemet", 2)]
    assert versions("--topic", "minors") == [("wemet", 2)]
    assert versions("--severity", "high") == [("wemet", 5), ("wemet", 2)]
    assert versions("--severity", "medium") == [("wemet", 5), ("zw", 3), ("wemet", 2)]
    assert versions("--since", "2026-03-01") == [("wemet", 5), ("zw", 3)]
    assert versions("--since", "2026-05-12T09:00") == [("wemet", 5), ("zw", 3)]
    assert versions("zw", "--topic", "sharing") == []


def test_topic_and_severity_together_ask_for_one_change_that_is_both(site, tmp_path, sqlite_url):
    # v2 adds a recipient (sharing, high) and raises the age threshold (minors, medium): a high change and a
    # minors change, but no high minors change
    both = edit(BROKERS, "under the age of 13", "under the age of 21")
    history = build_history(site, tmp_path, sqlite_url, steps=[("wemet", WEMET, "2026-01-05T09:00"),
                                                              ("wemet", both, "2026-02-10T09:00")])

    def versions(*args: str) -> list[int]:
        result = history.cli("timeline", "--json", *args)
        assert result.exit_code == 0, result
        return [e["version"] for e in result.json()]

    [entry] = history.cli("timeline", "--json").json()
    assert sorted((c["topics"][0], c["severity"]) for c in entry["changes"]) == [("minors", "medium"),
                                                                                  ("sharing", "high")]
    assert versions("--topic", "minors", "--severity", "high") == []
    assert versions("--topic", "minors", "--severity", "medium") == [2]
    assert versions("--topic", "sharing", "--severity", "high") == [2]
    assert versions("--severity", "high") == [2] and versions("--topic", "minors") == [2]
    # the line says first what the filter asked for (a regulator's trial: `--topic minors` showed a line naming
    # only the sharing change); the topic is read in any case
    [unfiltered] = history.cli("timeline", "--json").json()
    [minors] = history.cli("timeline", "--json", "--topic", "MINORS").json()
    minors_summary = next(c["summary"] for c in entry["changes"] if c["topics"][0] == "minors")
    assert not unfiltered["summary"].startswith(minors_summary) and minors["summary"].startswith(minors_summary)
    sharing_summary = next(c["summary"] for c in entry["changes"] if c["topics"][0] == "sharing")
    feed = history.cli("feed", "--topic", "minors").stdout  # so does a feed of one topic
    assert feed.index(minors_summary) < feed.index(sharing_summary)


def test_timeline_json_carries_each_change(history):
    [newest, *_] = history.cli("timeline", "--json").json()

    assert newest["fetched_at"] == "2026-06-20T09:00:00+00:00"
    assert newest["previous_version"] == 4 and newest["kind"] == "change"
    assert newest["topics"] == ["sharing"] and newest["alert_topics"] == ["sharing"]
    [change] = newest["changes"]
    assert change["section"].startswith("3. Sharing") and change["summary"] == "adds recipient: data brokers"


def test_bad_input_is_a_clear_usage_error(history):
    for args, message in [
        (["nosuch"], "unknown source 'nosuch'"),
        (["--since", "2026-13-01"], "--since must be a date like 2026-01-31"),
        (["--since", "last week"], "--since must be a date"),
        (["--severity", "urgent"], "unknown severity 'urgent' (severities, lowest first: low, medium, high)"),
        (["--topic", "privacy"], "unknown topic 'privacy' (topics: sharing, retention, minors"),
    ]:
        result = history.cli("timeline", *args)
        assert result.exit_code == 2, (args, result)
        assert message in result.stderr and "Traceback" not in result.stderr
        assert result.stdout == ""


def test_an_empty_timeline_says_so(history):
    result = history.cli("timeline", "--since", "2027-01-01")

    assert result.exit_code == 0
    assert result.stdout.startswith("no material changes")


# -- feed ------------------------------------------------------------------------------------------

def test_feed_prints_the_document_the_feed_setting_writes(site, tmp_path):
    feed = tmp_path / "changes.xml"
    history = build_history(site, tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", SHORT[:2], feed=str(feed))
    history.check("wemet", edit(AGE, "under the age of 13", "under the age of 12"))  # rewrites the file
    assert len(feedparser.parse(feed.read_bytes()).entries) == 2

    printed = history.cli("feed")

    assert printed.exit_code == 0, printed
    assert printed.stdout.encode("utf-8") == feed.read_bytes()


def test_the_feed_is_valid_atom_with_stable_entry_ids(history):
    first = feedparser.parse(history.cli("feed").stdout)
    again = feedparser.parse(history.cli("feed").stdout)

    assert not first.bozo, first.bozo_exception
    assert first.version == "atom10"
    assert [e.id for e in first.entries] == ["urn:policy-monitor:wemet:v5", "urn:policy-monitor:zw:v3",
                                             "urn:policy-monitor:wemet:v2"]
    assert [e.id for e in again.entries] == [e.id for e in first.entries]
    assert first.entries[0].title == "wemet: sharing changed (high)"
    assert [t.term for t in first.entries[1].tags] == ["retention"]
    assert first.entries[2].updated == "2026-02-10T09:00:00Z"


def test_feed_filters_by_topic_and_source_and_keeps_entry_ids(history):
    minors = feedparser.parse(history.cli("feed", "--topic", "minors").stdout)
    zw = feedparser.parse(history.cli("feed", "--source", "zw").stdout)

    assert not minors.bozo and not zw.bozo
    assert [e.id for e in minors.entries] == ["urn:policy-monitor:wemet:v2"]
    assert [e.id for e in zw.entries] == ["urn:policy-monitor:zw:v3"]
    assert minors.feed.id == "urn:policy-monitor:feed:topic=minors" and "topic=minors" in minors.feed.title


def test_feed_works_without_a_feed_setting_or_a_config(history, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no sources.yaml here

    from tests.history_helpers import run_cli

    result = run_cli("--db", history.db, "feed")

    assert result.exit_code == 0, result
    assert len(feedparser.parse(result.stdout).entries) == 3


def test_feed_bad_input_is_a_usage_error(history):
    unknown_topic = history.cli("feed", "--topic", "privacy")
    unknown_source = history.cli("feed", "--source", "nosuch")

    assert unknown_topic.exit_code == 2 and "unknown topic 'privacy'" in unknown_topic.stderr
    assert unknown_source.exit_code == 2 and "unknown source 'nosuch'" in unknown_source.stderr


def test_timeline_and_feed_read_postgresql_too(site, tmp_path, postgres_url):
    history = build_history(site, tmp_path, postgres_url, SHORT)

    timeline = history.cli("timeline", "--json", "--all")
    feed = feedparser.parse(history.cli("feed", "--topic", "sharing").stdout)

    assert [(e["version"], e["severity"], e["summary"]) for e in timeline.json()] == [
        (3, "high", "adds recipient: data brokers"), (2, "high", "age threshold 18 → 13"),
        (1, None, "first version captured")]
    assert [e.id for e in feed.entries] == ["urn:policy-monitor:wemet:v3"]


def test_a_database_from_before_migration_0005_learns_which_changes_are_substantive(sqlite_url):
    """Rows stored before `change.substantive` existed get it from their summaries: the fixed ones
    significance gives form-only edits, moves and date stamps are not substance; unrated changes neither."""
    import sqlite3

    from tests.test_read_only import _at_revision

    _at_revision(sqlite_url, "0004")
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    with db:
        db.execute("insert into source (id, name, url, consecutive_failures, failing_reported, unstable_reported, "
                   "created_at) values (1, 'old', 'https://example.org/p', 0, 0, 0, '2026-01-01 00:00:00')")
        for seq in (1, 2):
            db.execute("insert into version (id, source_id, seq, fetched_at, url, content_type, text_hash, raw_hash, "
                       "raw, text, normalizer_version) values (?, 1, ?, '2026-01-01 00:00:00', 'u', '', 'h', 'h', "
                       "x'00', 't', 1)", (seq, seq))
        summaries = [("age threshold 18 → 13", None), ("form-only edit, no change in substance", None),
                     ("date stamp updated", None), ("section renamed: Kids → Children", None),
                     ("sharing clause modified", None), ("not rated: language de", "language de")]
        for position, (summary, not_rated) in enumerate(summaries):
            db.execute("insert into change (source_id, old_version_id, new_version_id, position, section, kind, "
                       "topics, alert_topics, severity, summary, not_rated, before, after) values "
                       "(1, 1, 2, ?, 's', 'modified', '[]', '[]', 'low', ?, ?, '', '')", (position, summary, not_rated))
    db.close()

    _at_revision(sqlite_url, "head")

    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    flags = [row[0] for row in db.execute("select substantive from change order by position")]
    db.close()
    assert flags == [1, 0, 0, 0, 1, 0]


def test_the_topics_column_shows_the_alert_topics_and_counts_what_does_not_fit():
    from monitor.report.timeline import TOPICS_WIDTH, topics_cell

    many = ("ads_ai", "changes", "collection", "contact", "cookies", "minors", "sharing")

    assert topics_cell(()) == "-"
    assert topics_cell(("minors", "sharing")) == "minors, sharing"
    assert topics_cell(many) == "ads_ai, changes +5"
    assert topics_cell(("retention", "sharing", "minors")) == "retention +2"
    assert all(len(topics_cell(many[:n])) <= TOPICS_WIDTH for n in range(1, len(many) + 1)), "summaries stay aligned"
