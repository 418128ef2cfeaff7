"""Sections cost a check nothing: a version's sections are derived from its text and classified when shown,
never stored or classified by `check`; rows an older release stored are read as stored (real server, real
SQLite)."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from tests.pages import edit, render_policy, seed_text

ACCOUNT = "including your nickname, email address, and profile picture"


@pytest.fixture
def classified(monkeypatch) -> list[str]:
    """The sections `check` classified (the real classifier runs)."""
    import monitor.pipeline

    calls: list[str] = []
    real = monitor.pipeline.section_topics

    def counted(section, language="en"):
        calls.append(section.display_path)
        return real(section, language)

    monkeypatch.setattr(monitor.pipeline, "section_topics", counted)
    return calls


def run_check(config_path, sqlite_url):
    from monitor.config import load_config
    from monitor.pipeline import check_all
    from monitor.store.database import Store

    config = load_config(config_path)
    store = Store(sqlite_url)
    try:
        [result] = asyncio.run(check_all(config.sources, config=config, store=store))
    finally:
        store.dispose()
    return result


def stored_sections(sqlite_url) -> int:
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        return db.execute("select count(*) from section").fetchone()[0]


def show_sections(cli, config, sqlite_url, version: int) -> dict:
    shown = cli("--config", config, "--db", sqlite_url, "show", "w", str(version), "--sections", "--json")
    assert shown.exit_code == 0, shown.stderr
    return shown.json()


def test_a_check_stores_no_sections_and_classifies_none_and_show_derives_them(cli, site, make_config,
                                                                              sqlite_url, classified):
    from monitor.pipeline import section_topics, sections_of

    text = seed_text(2)
    config = make_config([{"name": "w", "url": site.set("/p", render_policy(text))}])
    assert run_check(config, sqlite_url).status == "new"
    site.set("/p", render_policy(edit(text, ACCOUNT, ACCOUNT + ", and your precise location")))
    result = run_check(config, sqlite_url)

    assert result.status == "changed"
    assert [c.change.section for c in result.changes if not c.not_rated] != [], "the change itself is rated"
    assert classified == [], "sections are classified when shown, never by a check"
    assert stored_sections(sqlite_url) == 0, "sections follow the text: derived when read, not stored"
    for version in (1, 2):
        shown = show_sections(cli, config, sqlite_url, version)
        derived = sections_of(shown["text"])
        assert [(s["key"], s["path"], s["title"], s["number"], s["level"]) for s in shown["sections"]] == \
            [(s.key, s.display_path, s.title, s.number, s.level) for s in derived]
        assert [s["topics"] for s in shown["sections"]] == [section_topics(s) for s in derived]
    assert stored_sections(sqlite_url) == 0, "`show` wrote nothing"


def test_sections_an_older_release_stored_are_read_as_stored(cli, site, make_config, sqlite_url):
    text = seed_text(2)
    config = make_config([{"name": "w", "url": site.set("/p", render_policy(text))}])
    assert run_check(config, sqlite_url).status == "new"
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:  # as a release before this one stored them
        db.execute("insert into section (version_id, position, key, number, title, level, path, text, topics) "
                   "values (1, 0, 'old', null, 'Old Title', 1, 'Old Title', 'old text', ?), "
                   "(1, 1, 'later', null, 'Later', 1, 'Later', 'We sell your data to brokers.', null)",
                   (json.dumps(["security"]),))

    shown = show_sections(cli, config, sqlite_url, 1)["sections"]

    assert [(s["key"], s["topics"]) for s in shown] == [("old", ["security"]), ("later", ["sharing"])], \
        "stored topics as stored, topics left for later classified now"


def test_a_derived_section_is_classified_with_its_own_heading_even_one_holding_the_path_separator():
    """The display path joins headings with " › "; a heading that holds " › " itself must reach the
    classifier whole, as it did when a check classified sections (a review found "Children › Accounts"
    read as "Accounts", losing minors)."""
    from monitor.pipeline import section_topics, sections_of, stored_section_topics
    from monitor.store.queries import derived_sections

    text = ("# Privacy Policy\n\nWe run a website.\n\n## Children › Accounts\n\n"
            "We will delete the account once we learn its holder is under 13.\n")
    derived = derived_sections(text)
    parsed = sections_of(text)
    assert [d.headings for d in derived] == [s.path for s in parsed]
    shown = [stored_section_topics(d) for d in derived]
    assert shown == [section_topics(s) for s in parsed]
    assert "minors" in shown[-1]
