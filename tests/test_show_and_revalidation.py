"""`policy-monitor show NAME [VERSION] --sections` (the section tree with topics), and revalidation of
an unchanged page by `Last-Modified` / `If-Modified-Since` (the ETag path is in test_check.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from tests.faulty_server import FaultyServer
from tests.pages import edit, render_policy, seed_text

STAMP = "Tue, 01 Oct 2024 10:00:00 GMT"
LATER = "Wed, 02 Oct 2024 10:00:00 GMT"


def check(cli, config, db):
    result = cli("--config", config, "--db", db, "check", "--json")
    assert result.stdout, result.stderr
    [r] = result.json()["results"]
    return r


def versions(sqlite_url: str) -> int:
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        return db.execute("select count(*) from version").fetchone()[0]


# ---- show --sections ----

def test_show_sections_prints_the_section_tree_with_topics_and_no_body_text(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(seed_text(2)))}])
    check(cli, config, sqlite_url)

    result = cli("--config", config, "--db", sqlite_url, "show", "wemet", "--sections")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    titles = [line.split("  [")[0] for line in lines]
    assert titles[:4] == ["Wemet Privacy Policy", "1. Scope and Types of Information Collected",
                          "  1.1 Account Information", "  1.2 Technical Device Information"]
    assert "3. Sharing and Disclosure of Personal Information" in titles
    assert "  3.2 Sharing with Partners to Implement Core Functionality or Provide Necessary Services" in titles, \
        "a long title stays on one line"
    assert "5. Protection of Minors' Information" in titles and "8. Contact Us" in titles
    minors = next(line for line in lines if line.startswith("5. Protection of Minors"))
    assert "minors" in minors.split("  [", 1)[1].rstrip("]").split(", ")
    sharing = next(line for line in lines if line.startswith("3. Sharing and Disclosure"))
    assert "sharing" in sharing.split("  [", 1)[1].rstrip("]").split(", ")
    assert "Thank you for choosing Wemet" not in result.stdout, "the tree, not the text"


def test_show_sections_renders_exactly_the_json_section_tree(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(seed_text(2)))}])
    check(cli, config, sqlite_url)

    shown = cli("--config", config, "--db", sqlite_url, "show", "wemet", "--sections")
    tree = cli("--config", config, "--db", sqlite_url, "show", "wemet", "--sections", "--json").json()["sections"]

    expected = [
        "  " * max(s["level"] - 1, 0) + (s["path"].split(" › ")[-1] or "(preamble)")
        + (f"  [{', '.join(s['topics'])}]" if s["topics"] else "")
        for s in tree
    ]
    assert len(tree) > 10
    assert shown.stdout.splitlines() == expected


def test_show_sections_of_an_older_version_is_that_version_s_tree(cli, site, make_config, sqlite_url):
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}])
    check(cli, config, sqlite_url)
    added = ("\n\n9. Sharing With Data Brokers\n\nWe may sell your personal information to data brokers "
             "so that they can contact you.")
    site.set("/p", render_policy(text + added))
    assert check(cli, config, sqlite_url)["version"] == 2

    first = cli("--config", config, "--db", sqlite_url, "show", "wemet", "1", "--sections")
    second = cli("--config", config, "--db", sqlite_url, "show", "wemet", "2", "--sections")
    latest = cli("--config", config, "--db", sqlite_url, "show", "wemet", "--sections")

    assert first.exit_code == second.exit_code == latest.exit_code == 0
    assert "9. Sharing With Data Brokers" not in first.stdout
    new_line = next(line for line in second.stdout.splitlines() if line.startswith("9. Sharing With Data Brokers"))
    assert "sharing" in new_line
    assert latest.stdout == second.stdout
    assert first.stdout.splitlines() == [line for line in second.stdout.splitlines() if line != new_line]


def test_show_sections_of_an_unknown_source_or_version_is_one_line(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(seed_text(2)))}])
    check(cli, config, sqlite_url)

    missing = cli("--config", config, "--db", sqlite_url, "show", "wemet", "3", "--sections")
    unknown = cli("--config", config, "--db", sqlite_url, "show", "nope", "--sections")

    assert missing.exit_code == 2 and "wemet has no version 3" in missing.stderr
    assert unknown.exit_code == 2 and "nope" in unknown.stderr
    assert "Traceback" not in missing.stderr + unknown.stderr
    assert missing.stdout == unknown.stdout == ""


# ---- Last-Modified revalidation ----

def test_not_modified_by_last_modified_is_unchanged(cli, site, make_config, sqlite_url):
    """The Last-Modified twin of test_check.test_not_modified_response_is_unchanged: no ETag at all."""
    config = make_config([{"name": "wemet",
                           "url": site.set("/p", render_policy(seed_text(2)), **{"Last-Modified": STAMP})}])
    first = check(cli, config, sqlite_url)
    site.set("/p", b"", status=304, **{"Last-Modified": STAMP})

    r = check(cli, config, sqlite_url)

    assert first["status"] == "new"
    assert r["status"] == "unchanged" and r["version"] == 1 and r["error"] is None
    assert versions(sqlite_url) == 1
    request = site.requests[-1]
    assert request.headers.get("If-Modified-Since") == STAMP
    assert "If-None-Match" not in request.headers
    assert "If-Modified-Since" not in site.requests[0].headers, "the first fetch is unconditional"


@pytest.fixture
def server() -> Iterator[FaultyServer]:
    with FaultyServer() as running:
        yield running


def test_a_server_answering_if_modified_since_keeps_one_version_until_the_page_changes(
        cli, make_config, sqlite_url, server):
    """A server that really compares If-Modified-Since with Last-Modified: 304 while the page is as old
    as the stored one (several times: a 304 keeps the validator), the new page in full once it is newer."""
    text = seed_text(2)
    server.page("/p", render_policy(text), last_modified=STAMP)
    config = make_config([{"name": "wemet", "url": server.url("/p")}])

    first = check(cli, config, sqlite_url)
    again = [check(cli, config, sqlite_url) for _ in range(2)]
    server.page("/p", render_policy(edit(text, "top priority", "main concern")), last_modified=LATER)
    changed = check(cli, config, sqlite_url)
    after = check(cli, config, sqlite_url)

    assert first["status"] == "new" and first["version"] == 1
    assert [(r["status"], r["version"]) for r in again] == [("unchanged", 1), ("unchanged", 1)]
    assert changed["status"] == "changed" and changed["version"] == 2
    assert after["status"] == "unchanged" and after["version"] == 2
    assert versions(sqlite_url) == 2

    sent = [request.headers.get("if-modified-since") for request in server.requests_to("/p")]
    assert sent == [None, STAMP, STAMP, STAMP, LATER]
    assert all("if-none-match" not in request.headers for request in server.requests_to("/p"))
    shown = cli("--config", config, "--db", sqlite_url, "show", "wemet", "--json").json()
    assert "main concern" in shown["text"] and shown["version"] == 2
