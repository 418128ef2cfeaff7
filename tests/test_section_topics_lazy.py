"""Section topics cost a check nothing: every version's are classified when shown, and topics a version
stored carry over to the next one's unchanged sections (real server, real SQLite)."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from tests.pages import edit, render_policy, seed_text

ACCOUNT = "including your nickname, email address, and profile picture"
ACCESS = "based on the principle of least privilege"


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


def stored_topics(sqlite_url, seq: int) -> dict[str, list[str] | None]:
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        rows = db.execute("select s.path, s.topics from section s join version v on v.id = s.version_id "
                          "where v.seq = ? order by s.position", (seq,)).fetchall()
    return {path: (json.loads(topics) if topics is not None else None) for path, topics in rows}


def test_no_section_is_classified_at_check_time_and_stored_topics_carry_over(site, make_config, sqlite_url,
                                                                             classified):
    text = seed_text(2)
    config = make_config([{"name": "w", "url": site.set("/p", render_policy(text))}])

    assert run_check(config, sqlite_url).status == "new"
    assert classified == [], "a first version alerts nothing: its sections are classified when shown"
    assert set(stored_topics(sqlite_url, 1).values()) == {None}

    site.set("/p", render_policy(edit(text, ACCOUNT, ACCOUNT + ", and your precise location")))
    result = run_check(config, sqlite_url)
    assert result.status == "changed"
    assert [c.change.section for c in result.changes if not c.not_rated] != [], "the change itself is rated"
    assert classified == [], "a changed version's sections are classified when shown too"
    v2 = stored_topics(sqlite_url, 2)
    assert set(v2.values()) == {None}
    [account] = [p for p in v2 if "Account Information" in p]

    # a database written by a release that classified sections at check time: its topics carry over
    # to a next version's unchanged sections, and the changed one is left for later
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        db.execute("update section set topics = ? where version_id = (select id from version where seq = 2)",
                   (json.dumps(["security"]),))
    site.set("/p", render_policy(edit(edit(text, ACCOUNT, ACCOUNT + ", and your precise location"),
                                      ACCESS, ACCESS + " and shared with our auditors")))
    assert run_check(config, sqlite_url).status == "changed"
    v3 = stored_topics(sqlite_url, 3)
    assert classified == []
    [access] = [p for p in v3 if "Access Control" in p]
    assert v3[access] is None
    assert v3[account] == ["security"], "an unchanged section keeps the topics its last version stored"
    assert all(topics == ["security"] for path, topics in v3.items() if path != access)


def test_show_sections_classifies_what_was_left_for_later_without_writing(cli, site, make_config, sqlite_url):
    from monitor.pipeline import section_topics, sections_of

    text = seed_text(2)
    config = make_config([{"name": "w", "url": site.set("/p", render_policy(text))}])
    cli("--config", config, "--db", sqlite_url, "check", "--json")

    shown = cli("--config", config, "--db", sqlite_url, "show", "w", "--sections", "--json")

    assert shown.exit_code == 0, shown.stderr
    sections = shown.json()["sections"]
    expected = [section_topics(s) for s in sections_of(shown.json()["text"])]
    assert [s["topics"] for s in sections] == expected
    assert any(expected), "the policy has classified sections at all"
    assert set(stored_topics(sqlite_url, 1).values()) == {None}, "`show` wrote nothing"
