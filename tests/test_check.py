"""`policy-monitor check`: from sources.yaml to stored versions, as a user sees it."""

from __future__ import annotations

import sqlite3

from tests.pages import edit, render_policy, seed_text


def check(cli, config, db, *names):
    result = cli("--config", config, "--db", db, "check", "--json", *names)
    assert result.stdout, result.stderr
    return result, result.json()["results"]


def test_first_check_stores_version_one_as_new(cli, site, make_config, sqlite_url):
    url = site.set("/privacy", render_policy(seed_text(2)))
    config = make_config([{"name": "wemet", "url": url}])

    result, [r] = check(cli, config, sqlite_url)

    assert result.exit_code == 0
    assert r["status"] == "new" and r["version"] == 1 and r["previous_version"] is None
    assert r["source"] == "wemet" and r["url"] == url
    assert r["alert_topics"] == [] and r["changes"] == [] and r["error"] is None


def test_same_page_again_is_unchanged(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(seed_text(2)))}])
    check(cli, config, sqlite_url)

    _, [r] = check(cli, config, sqlite_url)

    assert r["status"] == "unchanged" and r["version"] == 1


def test_markup_only_changes_are_not_a_new_version(cli, site, make_config, sqlite_url):
    """Nav items, cookie banner, script tokens, meta tags, footer year and re-wrapped whitespace."""
    text = seed_text(3)
    config = make_config([{"name": "zw", "url": site.set("/p", render_policy(text))}])
    check(cli, config, sqlite_url)

    for noise, wrap in [(1, None), (2, 60), (3, 100), (4, 40)]:
        site.set("/p", render_policy(text, noise=noise, wrap=wrap))
        _, [r] = check(cli, config, sqlite_url)
        assert r["status"] == "unchanged", (noise, wrap)


def test_changed_sentence_is_version_two(cli, site, make_config, sqlite_url):
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}])
    check(cli, config, sqlite_url)
    site.set("/p", render_policy(edit(text, "top priority", "main concern")))

    result, [r] = check(cli, config, sqlite_url)

    assert result.exit_code == 0
    assert r["status"] == "changed" and r["version"] == 2 and r["previous_version"] == 1


def test_not_modified_response_is_unchanged(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(seed_text(2)), ETag='"v1"')}])
    check(cli, config, sqlite_url)
    site.set("/p", b"", status=304, ETag='"v1"')

    _, [r] = check(cli, config, sqlite_url)

    assert r["status"] == "unchanged" and r["version"] == 1
    assert site.requests[-1].headers.get("If-None-Match") == '"v1"'


def test_http_errors_are_errors_with_a_check_row_and_no_version(cli, site, make_config, sqlite_url):
    config = make_config([
        {"name": "gone", "url": site.set("/gone", "nope", status=404)},
        {"name": "broken", "url": site.set("/broken", "oops", status=500)},
        {"name": "refused", "url": "http://127.0.0.1:9/privacy", "timeout": "2s"},
    ])

    result, results = check(cli, config, sqlite_url)

    assert result.exit_code == 1
    assert [r["status"] for r in results] == ["error", "error", "error"]
    assert "404" in results[0]["error"] and "500" in results[1]["error"]
    assert all(r["version"] is None for r in results)
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    assert db.execute("select count(*) from version").fetchone()[0] == 0
    assert db.execute("select count(*) from \"check\" where outcome = 'error'").fetchone()[0] == 3


def test_an_error_then_the_same_page_is_unchanged(cli, site, make_config, sqlite_url):
    html = render_policy(seed_text(1))
    config = make_config([{"name": "xx", "url": site.set("/p", html)}])
    check(cli, config, sqlite_url)
    site.set("/p", "Service Unavailable", status=503)
    _, [failed] = check(cli, config, sqlite_url)
    site.set("/p", html)

    _, [r] = check(cli, config, sqlite_url)

    assert failed["status"] == "error"
    assert r["status"] == "unchanged" and r["version"] == 1


def test_empty_body_and_unmatched_selector_are_rejected(cli, site, make_config, sqlite_url):
    config = make_config([
        {"name": "empty", "url": site.set("/empty", "")},
        {"name": "blank", "url": site.set("/blank", "<html><body><nav>Home</nav></body></html>")},
        {"name": "select", "url": site.set("/s", render_policy(seed_text(0))), "select": "#no-such-id"},
    ])

    result, results = check(cli, config, sqlite_url)

    assert result.exit_code == 1
    assert [r["status"] for r in results] == ["rejected"] * 3
    assert "#no-such-id" in results[2]["error"]
    assert all(r["version"] is None for r in results)


def test_oversized_body_is_an_error_never_a_truncated_version(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "big", "url": site.set("/big", "<p>" + "x" * 50_000 + "</p>"),
                           "max_bytes": "10KB"}])

    _, [r] = check(cli, config, sqlite_url)

    assert r["status"] == "error" and "larger than" in r["error"]


def test_history_of_a_source_whose_checks_all_failed_says_so_not_an_empty_table(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "big", "url": site.set("/big", "<p>" + "x" * 50_000 + "</p>"),
                           "max_bytes": "10KB"}])
    check(cli, config, sqlite_url)
    shown = cli("--config", config, "--db", sqlite_url, "history", "big")
    assert shown.exit_code == 0 and "┏" not in shown.stdout
    assert "big: no version stored yet; its last check (" in shown.stdout
    assert "ended 'error' (1 failure in a row): `policy-monitor status` says why" in shown.stdout
    assert cli("--config", config, "--db", sqlite_url, "history", "big", "--json").json() == []


def test_checking_an_unknown_source_name_is_a_usage_error(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "wemet", "url": site.set("/p", "<p>x</p>")}])

    result = cli("--config", config, "--db", sqlite_url, "check", "nope")

    assert result.exit_code == 2
    assert "unknown source 'nope': add it to" in result.stderr and "Traceback" not in result.stderr


def test_versions_are_stored_on_postgresql_too(cli, site, make_config, postgres_url):
    text = seed_text(4)
    config = make_config([{"name": "md", "url": site.set("/p", render_policy(text))}])

    _, [first] = check(cli, config, postgres_url)
    _, [same] = check(cli, config, postgres_url)
    site.set("/p", render_policy(edit(text, "very important", "important")))
    _, [changed] = check(cli, config, postgres_url)

    assert (first["status"], same["status"], changed["status"]) == ("new", "unchanged", "changed")
    assert changed["version"] == 2


def test_history_and_show_list_what_was_stored(cli, site, make_config, sqlite_url):
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}])
    check(cli, config, sqlite_url)
    site.set("/p", render_policy(edit(text, "top priority", "main concern")))
    check(cli, config, sqlite_url)

    history = cli("--config", config, "--db", sqlite_url, "history", "wemet", "--json").json()
    shown = cli("--config", config, "--db", sqlite_url, "show", "wemet", "1", "--json").json()
    latest = cli("--config", config, "--db", sqlite_url, "show", "wemet")

    assert [h["version"] for h in history] == [1, 2]
    assert "top priority" in shown["text"] and shown["version"] == 1
    assert "main concern" in latest.stdout and latest.exit_code == 0


def test_history_of_unknown_source_is_one_clear_line(cli, make_config, sqlite_url):
    config = make_config([])
    cli("--config", config, "--db", sqlite_url, "migrate")  # a reading command never creates the database
    result = cli("--config", config, "--db", sqlite_url, "history", "ghost")
    assert result.exit_code == 2
    assert "unknown source 'ghost'" in result.stderr and "Traceback" not in result.stderr


def test_processes_opening_a_new_sqlite_database_together_all_succeed(tmp_path):
    """A daemon and a `check` started at once on a new database must not both create the tables."""
    import subprocess
    import sys

    opener = "import sys; from monitor.store.database import Store; Store(sys.argv[1])"
    for round_ in range(4):
        url = f"sqlite:///{tmp_path / f'new-{round_}.db'}"
        procs = [subprocess.Popen([sys.executable, "-c", opener, url], stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        errors = [p.communicate(timeout=60)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, errors
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            assert db.execute("select version_num from alembic_version").fetchall() == [(migrations_head(),)]


def test_a_version_that_changes_only_layout_says_so_in_the_table(cli, site, make_config, sqlite_url):
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}])
    check(cli, config, sqlite_url)
    site.set("/p", render_policy(text, style="bold"))  # headings become bold divs: new text, same clauses

    result = cli("--config", config, "--db", sqlite_url, "check")

    assert "changed" in result.stdout and "layout only: no clause changed" in result.stdout


def test_many_alert_worthy_changes_are_capped_in_the_table_and_point_to_diff(cli, site, make_config, sqlite_url):
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}])
    check(cli, config, sqlite_url)
    partners = ["Insurers", "Data Brokers", "Advertisers", "Employers", "Lenders", "Landlords"]
    added = "".join(f"\n\n{9 + i}. Sharing With {who}\n\nWe may sell your personal information to {who.lower()} "
                    f"so that they can contact you." for i, who in enumerate(partners))
    site.set("/p", render_policy(text + added))

    result = cli("--config", config, "--db", sqlite_url, "check")
    _, [stored] = check(cli, config, sqlite_url)

    details = "".join(result.stdout.replace("│", "").split())  # the details column, unwrapped
    assert "…and2more(policy-monitordiffwemet)" in details, result.stdout
    assert stored["status"] == "unchanged"


def test_a_database_made_by_the_first_release_is_upgraded_in_place(tmp_path):
    from importlib import resources

    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import create_engine

    from monitor.store.database import Source, Store

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("monitor.store") / "migrations"))
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql("insert into source (name, url, consecutive_failures, failing_reported, "
                             "unstable_reported, created_at) values ('old', 'https://example.org/p', 0, 0, 0, "
                             "'2026-01-01 00:00:00')")
    engine.dispose()

    store = Store(url)

    with store.session() as session:
        row = Store.source(session, "old")
        assert isinstance(row, Source) and row.url == "https://example.org/p" and row.final_url is None
    with sqlite3.connect(tmp_path / "old.db") as db:
        assert db.execute("select version_num from alembic_version").fetchall() == [(migrations_head(),)]


def test_a_policy_that_starts_redirecting_elsewhere_is_said_once(cli, site, make_config, sqlite_url):
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}])
    check(cli, config, sqlite_url)
    site.set("/legal/privacy", render_policy(text))
    site.set("/p", "", status=301, Location=site.url("/legal/privacy"))

    first = cli("--config", config, "--db", sqlite_url, "check", "--json")
    second = cli("--config", config, "--db", sqlite_url, "check", "--json")

    assert first.json()["results"][0]["status"] == "unchanged"
    assert "now redirects to " in first.stderr and "/legal/privacy" in first.stderr
    assert "now redirects" not in second.stderr


def migrations_head() -> str:
    """The newest migration: a database made by `check` must be at it."""
    from importlib import resources

    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("monitor.store") / "migrations"))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_check_json_streamed_one_result_at_a_time_is_what_one_dump_writes(capsys):
    from monitor.cli.common import print_json
    from monitor.cli.main import print_json_results
    from monitor.outcome import CheckResult

    results = [CheckResult("a", "https://a.example/p", "changed", version=3, previous_version=2,
                           alert_topics=["minors", "retention"], error=None),
               CheckResult("b «ü»", "https://b.example/p", "error", error='HTTP 503 "busy"\nretry later')]
    for shown in (results, results[:1], []):
        print_json({"results": [r.to_json() for r in shown]})
        whole = capsys.readouterr().out
        print_json_results(shown)
        assert capsys.readouterr().out == whole


def test_a_fact_repeated_in_several_sections_is_said_once_in_the_details(cli, site, make_config, sqlite_url):
    """Policy 3 states its age threshold (14) in three sections: lowering it changes all three, and the
    details column says so once, with the count, not three times."""
    import re

    text = seed_text(3)
    config = make_config([{"name": "tide", "url": site.set("/p", render_policy(text))}])
    check(cli, config, sqlite_url)
    site.set("/p", render_policy(re.sub(r"\b14\b", "12", text)))

    result = cli("--config", config, "--db", sqlite_url, "check")
    run = cli("--config", config, "--db", sqlite_url, "diff", "tide", "1", "2", "--format", "json")

    details = "".join(result.stdout.replace("│", "").split())  # the details column, unwrapped
    assert details.count("agethreshold14→12") == 1, result.stdout
    assert "agethreshold14→12(3sections)" in details, result.stdout
    assert [c["summary"] for c in run.json()["changes"]].count("age threshold 14 → 12") == 3  # each section's own


def test_the_details_lead_with_the_most_severe_change(cli, site, make_config, sqlite_url):
    """A recipient dropped in section 3 (medium) and the minimum age lowered in section 5 (high): the details
    column, cut to its first few summaries, leads with the high change, not with the first in the policy."""
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}])
    check(cli, config, sqlite_url)
    site.set("/p", render_policy(edit(text, "payment processors, SMS providers", "payment processors")
                                 .replace("under the age of 18", "under the age of 13")))

    result = cli("--config", config, "--db", sqlite_url, "check")
    run = cli("--config", config, "--db", sqlite_url, "diff", "wemet", "1", "2", "--format", "json")

    details = "".join(result.stdout.replace("│", "").split())  # the details column, unwrapped
    assert 0 <= details.index("agethreshold18→13") < details.index("removesrecipient:smsproviders"), result.stdout
    # `diff` keeps the policy's own order
    assert [c["summary"] for c in run.json()["changes"]] == ["removes recipient: sms providers",
                                                             "age threshold 18 → 13"]


def test_a_version_whose_changes_are_form_only_says_so_in_the_table(cli, site, make_config, sqlite_url):
    """A new user: two clauses respelt ("e-mail" → "email", "analyzers" → "analysers") read "1 change, none to
    watched topics in substance", as if a change of substance had been judged outside the watched topics."""
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}])
    check(cli, config, sqlite_url)
    first = next(line for line in text.splitlines() if line.count(" ") > 8 and not line.startswith("#"))
    words = first.split()
    site.set("/p", render_policy(text.replace(first, " ".join([*words[:3], words[4], words[3], *words[5:]]))))

    result = cli("--config", config, "--db", sqlite_url, "check")

    assert "1 change, form only" in result.stdout, result.stdout
    assert "none to watched topics" not in result.stdout


def test_changes_of_several_kinds_are_counted_under_one_total(cli, site, make_config, sqlite_url):
    """A reviewer: "1 change, form only; 1 change, none to watched topics" read as two versions' details."""
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}])
    check(cli, config, sqlite_url)
    site.set("/p", render_policy(edit(edit(text, "top priority", "main concern"),  # security: not watched
                                      "SMS providers, content review platforms",
                                      "content review platforms, SMS providers")))  # a list reordered: form

    result = cli("--config", config, "--db", sqlite_url, "check")

    details = " ".join("".join(result.stdout.replace("│", "  ").split("\n")).split())
    assert "2 changes: 1 form only, 1 none to watched topics" in details, result.stdout
