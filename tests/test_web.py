"""`policy-monitor serve` over HTTP: the API answers what the CLI's --json prints, pages link to every
source and change, nothing can be written, the token and the headers guard every answer."""

from __future__ import annotations

import hashlib
import json
import re
import socket

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.cli_runner import CliResult, run_cli
from tests.web_site import SCRIPT, build_monitored_site, serve_thread

TOKEN = "correct-horse-battery-staple-1234"


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    folder = tmp_path_factory.mktemp("web")
    try:
        yield build_monitored_site(folder, f"sqlite:///{folder / 'monitor.db'}", server)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def base(monitored):
    with serve_thread(monitored.config, monitored.url) as url:
        yield url


def cli_json(monitored, *args: str):
    code, out, err = run_cli("--config", monitored.config, "--db", monitored.url, *args)
    assert code == 0, err
    return json.loads(out)


def get(url: str, **kwargs) -> httpx.Response:
    return httpx.get(url, timeout=30, **kwargs)


@pytest.mark.parametrize(("path", "command"), [
    ("/api/sources", ["sources", "--json"]),
    ("/api/sources/wemet/history", ["history", "wemet", "--json"]),
    ("/api/sources/wemet/diff/1/2", ["diff", "wemet", "1", "2", "--format", "json"]),
    ("/api/sources/wemet/diff/2/3?all=1", ["diff", "wemet", "2", "3", "--format", "json", "--all"]),
    ("/api/alerts", ["alerts", "--json"]),
])
def test_the_api_answers_exactly_what_the_cli_prints_with_json(monitored, base, path, command):
    answer = get(base + path)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == cli_json(monitored, *command)


@pytest.mark.parametrize("path", ["/api", "/api/"])
def test_the_api_root_lists_its_endpoints_each_of_which_answers(base, path):
    answer = get(base + path)

    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    endpoints = answer.json()["endpoints"]
    assert [e["path"] for e in endpoints] == ["/api/sources", "/api/sources/{name}/history",
                                              "/api/sources/{name}/diff/{old}/{new}", "/api/timeline", "/api/alerts",
                                              "/feed.xml"]
    assert endpoints[0]["answers"] == "`policy-monitor sources --json`."
    for e in endpoints:
        filled = e["path"].format(name="wemet", old=1, new=2)
        assert get(base + filled).status_code == 200, filled


def test_the_timeline_is_what_the_timeline_command_prints(base, monitored):
    entries = get(base + "/api/timeline").json()

    assert entries == cli_json(monitored, "timeline", "--json")
    # material = in substance: v2→v3 of wemet rewords a sentence outside the watched topics (no alert
    # topics, still history); wemet's v1→v2 is the alerted one
    assert {(e["source"], e["previous_version"], e["version"]) for e in entries} >= {("wemet", 1, 2), ("wemet", 2, 3)}
    entry = next(e for e in entries if (e["source"], e["version"]) == ("wemet", 2))
    assert entry["alert_topics"] == ["minors", "sharing"] and entry["severity"] == "high"
    summaries = {c["summary"] for c in entry["changes"]}
    assert summaries == {"adds recipients: advertising partners, data brokers", "age threshold 18 → 13"}
    assert all(e["source"] == "kids" for e in get(base + "/api/timeline?source=kids").json())
    assert get(base + "/api/timeline?topic=minors").json() == cli_json(monitored, "timeline", "--topic", "minors",
                                                                       "--json")
    assert get(base + "/api/timeline?topic=nonsense").status_code == 400


def test_every_source_and_change_page_is_reachable_by_links_from_the_overview(base):
    seen, queue = set(), ["/"]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        page = get(base + path)
        assert page.status_code == 200, path
        for link in __import__("re").findall(r'href="(/[^"#?]*)"', page.text):
            if link.startswith("/sources/") and link not in seen:
                queue.append(link)
    assert {"/sources/wemet", "/sources/kids", "/sources/gone"} <= seen
    assert {"/sources/wemet/changes/1..2", "/sources/wemet/changes/2..3", "/sources/kids/changes/1..2"} <= seen


def test_the_overview_says_ok_failing_since_and_the_last_material_change(base):
    """The last material change as `timeline` has it: wemet's v3 rewords a sentence outside the watched
    topics, a change of substance all the same."""
    page = get(base + "/").text

    assert "failing" in page and "since" in page and "HTTP 404" in page
    assert 'href="/sources/wemet/changes/2..3"' in page
    only_failing = get(base + "/?status=failing").text
    assert "/sources/gone" in only_failing and "/sources/wemet" not in only_failing
    about_minors = get(base + "/?topic=minors").text
    assert "/sources/wemet" in about_minors and "/sources/kids" not in about_minors
    assert get(base + "/?status=weird").status_code == 400


def test_the_source_page_marks_versions_and_names_its_failing_period(base):
    wemet = get(base + "/sources/wemet").text
    assert "baseline" in wemet and "http://127.0.0.1" in wemet
    assert "/sources/wemet/changes/1..2" in wemet and "age threshold 18 → 13" in wemet
    kids = get(base + "/sources/kids").text
    assert "Redirects to" in kids and "/kids/privacy-2026" in kids
    gone = get(base + "/sources/gone").text
    assert "still failing" in gone and "HTTP 404" in gone


def test_the_change_page_highlights_words_inside_the_clause_and_links_each_section(base):
    page = get(base + "/sources/wemet/changes/1..2").text

    assert "<del>18</del>" in page and "<ins>13</ins>" in page
    assert "<ins>advertising partners, data brokers, </ins>" in page
    assert "age threshold 18 → 13" in page
    assert 'id="old-s-' in page and 'id="new-s-' in page  # both full texts, with section anchors
    assert 'class="text-section changed"' in page


def test_a_version_page_shows_each_sections_topics_as_show_sections_does(base, monitored):
    # `check` leaves every section's topics for later: the page classifies them, as `show --sections` does
    for version in ("1", "2"):
        shown = cli_json(monitored, "show", "wemet", version, "--sections", "--json")["sections"]
        page = get(base + f"/sources/wemet/versions/{version}").text
        drawn = [re.findall(r'class="topic topic-([a-z_]+)"', body)
                 for body in page.split('<section class="text-section"')[1:]]
        assert drawn == [s["topics"] for s in shown]
        assert any(drawn), "the policy has sections about something at all"


def test_policy_text_is_escaped_everywhere(base):
    for path in ("/sources/kids/changes/1..2", "/sources/kids/versions/2", "/sources/kids"):
        page = get(base + path).text
        assert SCRIPT not in page, path
    change = get(base + "/sources/kids/changes/1..2").text
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in change


def test_unknown_sources_and_versions_are_404_in_html_and_json(base):
    assert get(base + "/sources/nope").status_code == 404
    assert get(base + "/sources/wemet/changes/1..9").status_code == 404
    assert get(base + "/sources/wemet/changes/banana").status_code == 404
    missing = get(base + "/api/sources/nope/history")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/", "/api/sources", "/api/alerts", "/sources/wemet", "/static/style.css"])
def test_nothing_can_be_written(base, method, path):
    answer = httpx.request(method, base + path, timeout=30, content=b"{}")

    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD"


def test_every_answer_carries_a_strict_content_security_policy(base):
    for path in ("/", "/sources/wemet/changes/1..2", "/api/sources", "/feed.xml", "/static/style.css", "/nope"):
        headers = get(base + path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
    page = get(base + "/").text
    assert "<script>" not in page and " style=" not in page and "http://" not in page.split("<main")[0]


def test_the_feed_is_the_atom_feed_check_writes(base):
    answer = get(base + "/feed.xml")

    assert answer.headers["content-type"].startswith("application/atom+xml")
    assert b"<feed" in answer.content and b"wemet: minors, sharing changed (high)" in answer.content


def test_a_host_that_is_not_loopback_is_refused_without_a_token(base):
    """A page on another site cannot reach a loopback server by DNS rebinding: its Host is the attacker's."""
    answer = get(base + "/api/sources", headers={"Host": "evil.example"})
    assert answer.status_code == 421


def test_the_token_is_required_and_trades_a_query_token_for_a_strict_cookie(monitored):
    with serve_thread(monitored.config, monitored.url, token=TOKEN) as url:
        assert get(url + "/").status_code == 401
        assert get(url + "/api/sources").json()["error"].startswith("this policy-monitor needs its access token")
        assert get(url + "/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert get(url + "/?token=wrong").status_code == 401
        assert get(url + "/api/sources", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200

        trade = get(url + f"/sources/wemet?token={TOKEN}&x=1")
        assert trade.status_code == 303 and trade.headers["location"] == "/sources/wemet?x=1"
        cookie = trade.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
        session = cookie.split(";", 1)[0].split("=", 1)
        assert get(url + "/sources/wemet", cookies={session[0]: session[1]}).status_code == 200
        assert get(url + "/", cookies={session[0]: "forged"}).status_code == 401


def test_serving_never_writes_the_database(monitored, tmp_path):
    path = monitored.url.removeprefix("sqlite:///")
    before = hashlib.sha256(open(path, "rb").read()).hexdigest()
    with serve_thread(monitored.config, monitored.url) as url:
        for page in ("/", "/sources/wemet", "/sources/wemet/changes/1..3", "/alerts", "/api/timeline", "/feed.xml"):
            assert get(url + page).status_code == 200
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == before


def test_the_web_views_connections_refuse_writes_at_the_database(monitored):
    """Belt and braces beside the read-only store: even a bug in a view could not write."""
    import sqlalchemy

    from monitor.config import load_config
    from monitor.store.database import Store
    from monitor.web.app import create_app

    store = Store(monitored.url, migrate=False, read_only=True)
    create_app(load_config(monitored.config), store)
    try:
        with pytest.raises(sqlalchemy.exc.OperationalError, match="readonly"), store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE source SET name = 'x'")
    finally:
        store.dispose()


def test_serve_reads_postgresql_too(tmp_path, postgres_url):
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        monitored = build_monitored_site(tmp_path, postgres_url, server)
    finally:
        server.stop()
    with serve_thread(monitored.config, monitored.url) as url:
        assert [s["name"] for s in get(url + "/api/sources").json()] == ["wemet", "kids", "gone"]
        page = get(url + "/sources/wemet/changes/1..2")
        assert page.status_code == 200 and "<ins>13</ins>" in page.text
        assert [e["version"] for e in get(url + "/api/timeline?topic=minors").json()] == [2]
        assert "adds recipients" in get(url + "/?topic=sharing").text


# -- the command itself ------------------------------------------------------------------------------

def serve(monitored, *args: str) -> CliResult:
    """`serve` in this process: every test here ends before it would listen."""
    return run_cli("--config", monitored.config, "--db", monitored.url, "serve", *args)


def test_a_public_host_without_a_token_exits_2_before_binding(monitored, tmp_path, monkeypatch):
    code, _, err = serve(monitored, "--host", "0.0.0.0", "--port", "0")

    assert code == 2 and "refusing to serve on 0.0.0.0 without an access token" in err
    assert "Traceback" not in err and "serving" not in err
    config = tmp_path / "sources.yaml"
    config.write_text(monitored.config.read_text() + "web: {token_env: PM_UNSET_TOKEN}\n")
    monkeypatch.delenv("PM_UNSET_TOKEN", raising=False)
    code, _, err = run_cli("--config", config, "--db", monitored.url, "serve", "--host", "0.0.0.0")
    assert code == 2 and "PM_UNSET_TOKEN is empty or unset" in err


def test_a_taken_port_is_one_clear_line(monitored):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, _, err = serve(monitored, "--port", str(taken.getsockname()[1]))

    assert code == 1 and "cannot listen on 127.0.0.1" in err
    assert "Traceback" not in err


def test_serve_on_a_missing_database_creates_nothing(monitored, tmp_path):
    code, _, err = run_cli("--config", monitored.config, "--db", f"sqlite:///{tmp_path / 'none.db'}", "serve")

    assert code == 2 and "no database at" in err
    assert list(tmp_path.iterdir()) == []


def test_the_alerts_page_says_due_now_for_a_pending_alert_whose_time_has_passed(tmp_path, monkeypatch):
    import asyncio

    from monitor.config import load_config
    from monitor.notify.delivery import deliver_pending
    from monitor.store.database import Store
    from tests.alert_helpers import MINORS, free_port, queue_change
    from tests.conftest import write_config

    monkeypatch.delenv("TEST_WEBHOOK_UNSET", raising=False)
    dead = f"http://127.0.0.1:{free_port()}/hook"
    config_path = write_config(tmp_path / "sources.yaml", sources=[{"name": "wemet", "url": "https://example.org/p"}],
                               channels={"held": {"type": "webhook", "url": dead, "secret_env": "TEST_WEBHOOK_UNSET"},
                                         "down": {"type": "webhook", "url": dead}},
                               delivery={"backoff": "1h", "max_backoff": "2h"})   # down's retry: an hour away
    db_url = f"sqlite:///{tmp_path / 'monitor.db'}"
    store, config = Store(db_url), load_config(config_path)
    queue_change(store, config, "wemet", [MINORS])
    report = asyncio.run(deliver_pending(store, config))     # held: waits for its secret; down: retried later
    store.dispose()

    with serve_thread(config_path, db_url) as url:
        page = get(url + "/alerts").text

    assert (report.unconfigured, report.retrying) == (1, 1)
    rows = {name: row for row in page.split("<tr")[1:] for name in ("held", "down") if f">{name}<" in row}
    assert "due now" in rows["held"] and "next " not in rows["held"]
    assert "next <time" in rows["down"] and "due now" not in rows["down"]


def test_sources_added_to_the_config_show_without_a_restart_and_a_broken_edit_keeps_the_last_good_one(
        tmp_path, caplog):
    import os

    from monitor.store.database import Store
    from tests.conftest import write_config

    config_path = write_config(tmp_path / "sources.yaml", sources=[{"name": "acme", "url": "https://example.org/a"}])
    db_url = f"sqlite:///{tmp_path / 'monitor.db'}"
    Store(db_url).dispose()

    def touched_later(path) -> None:  # a file system whose clock ticks coarsely would hide the edit otherwise
        stat = os.stat(path)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    with serve_thread(config_path, db_url) as url:
        before = [s["name"] for s in get(url + "/api/sources").json()]
        write_config(config_path, sources=[{"name": "acme", "url": "https://example.org/a"},
                                           {"name": "zeta", "url": "https://example.org/z"}])
        touched_later(config_path)
        after = [s["name"] for s in get(url + "/api/sources").json()]
        config_path.write_text(config_path.read_text() + "  - name: [broken\n")
        touched_later(config_path)
        broken = [s["name"] for s in get(url + "/api/sources").json()]
        overview = get(url + "/").text

    assert before == ["acme"]
    assert after == ["acme", "zeta"]
    assert broken == ["acme", "zeta"], "a config that does not load leaves the last good one served"
    assert "zeta" in overview
    assert any("changed but does not load" in r.getMessage() for r in caplog.records)


CAPTCHA_PAGE = ("<html><head><title>Just a moment...</title></head><body><h1>Just a moment...</h1>"
                "<p>Checking if the site connection is secure</p><p>example.org needs to review the security of "
                "your connection before proceeding.</p><p>Ray ID: 7f1a2b3c4d5e6f70</p>"
                "<p>Performance &amp; security by Cloudflare</p></body></html>")


def test_the_failing_filter_lists_what_status_lists_rejected_checks_included(cli, site, make_config, sqlite_url):
    """`walled` is answered with a captcha page four checks in a row (rejected each time): `status` lists it
    failing, and so does the overview's `?status=failing`. `flaky` failed its last check only (HTTP 500, one
    of three that make a source failing): neither lists it; the overview says `error`."""
    from tests.pages import render_policy, seed_text

    config = make_config([{"name": "wemet", "url": site.url("/wemet")},
                          {"name": "walled", "url": site.url("/walled")},
                          {"name": "flaky", "url": site.url("/flaky")}])
    site.set("/wemet", render_policy(seed_text(2)))
    site.set("/walled", CAPTCHA_PAGE)
    site.set("/flaky", render_policy(seed_text(1)))
    for n in range(4):
        if n == 3:
            site.set("/flaky", "oops", status=500)
        checked = cli("--config", config, "--db", sqlite_url, "check", "--json", "--no-deliver")
        assert [r["status"] for r in checked.json()["results"]][1] == "rejected", checked.stdout
    status = cli("--config", config, "--db", sqlite_url, "status", "--json")
    assert status.exit_code == 1  # a source is failing
    failing_per_cli = [f["source"] for f in status.json()["failing"]]

    with serve_thread(config, sqlite_url) as base:
        only_failing = get(base + "/?status=failing").text
        only_errors = get(base + "/?status=error").text
        overview = get(base + "/").text
        walled_page = get(base + "/sources/walled").text

    listed = re.findall(r'<th scope="row"><a href="/sources/([^"]+)"', only_failing)
    assert failing_per_cli == listed == ["walled"]
    assert "1 of 3 sources that are <strong>failing</strong>" in only_failing
    assert re.findall(r'<th scope="row"><a href="/sources/([^"]+)"', only_errors) == ["flaky"]
    assert re.findall(r'status status-(\w+)">', overview) == ["ok", "failing", "error"]
    assert 'status-failing">failing</span> since' in walled_page and "(4 checks)" in walled_page


def test_the_overview_shows_the_most_severe_change_of_a_version_not_its_first(cli, site, make_config, sqlite_url):
    """A version whose first change (in document order) is a medium one and whose later one is high: the
    overview's one line is the high one, with the count of the others."""
    from tests.pages import edit, render_policy, seed_text

    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/wemet", render_policy(text))}])
    cli("--config", config, "--db", sqlite_url, "check", "--no-deliver")
    site.set("/wemet", render_policy(edit(edit(text, "We sign strict data confidentiality agreements",
                                               "We sign data confidentiality agreements"),
                                          "under the age of 18", "under the age of 13"), noise=1))
    [result] = cli("--config", config, "--db", sqlite_url, "check", "--json", "--no-deliver").json()["results"]
    in_order = [(c["summary"], c["severity"]) for c in result["changes"]]

    with serve_thread(config, sqlite_url) as base:
        overview = get(base + "/").text
        source = get(base + "/sources/wemet").text

    assert in_order == [("sharing clause modified", "medium"), ("age threshold 18 → 13", "high")]
    [line] = re.findall(r'<div class="summary">(.*?)</div>', overview)
    assert line == 'age threshold 18 → 13 <span class="more">(+1 more)</span>'
    # the source page's timeline lists a version's first few changes: the high one first there too
    assert 0 < source.index("age threshold 18 → 13") < source.index("sharing clause modified")


def test_material_changes_are_the_ones_timeline_lists_on_every_view(cli, site, make_config, sqlite_url):
    """A reviewer: `timeline` listed a low change about an unwatched topic, the source page left it out and
    called its version "outside watched topics". One rule now (`ChangeRecord.material`: of substance, or not
    rated), and one count of the changes not shown behind every "+N more"."""
    from tests.pages import edit, render_policy, seed_text

    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/wemet", render_policy(text)), "topics": ["minors"]}])
    cli("--config", config, "--db", sqlite_url, "check", "--no-deliver")
    site.set("/wemet", render_policy(edit(text, "You are welcome to contact us through the following means",
                                          "You may write to our privacy office by registered post only")))
    [result] = cli("--config", config, "--db", sqlite_url, "check", "--json", "--no-deliver").json()["results"]
    timeline = cli("--config", config, "--db", sqlite_url, "timeline", "--json").json()

    with serve_thread(config, sqlite_url) as base:
        overview = get(base + "/").text
        source = get(base + "/sources/wemet").text

    [change] = result["changes"]
    assert not result["alert_topics"] and change["severity"], result  # rated, of substance, no watched topic
    assert [e["summary"] for e in timeline] == [change["summary"]]
    assert change["summary"] in overview and change["summary"] in source
    assert "outside watched topics" not in source and '<span class="note">material</span>' in source


def test_a_span_of_versions_has_no_step_links_and_an_out_of_range_page_says_so(base):
    """A reviewer: /changes/1..3 offered `← v1 → v2` as its previous step, ?page=99 said "No version stored
    yet.", and the nav's API link went to /api/sources rather than the index."""
    span, back, step = (get(base + f"/sources/wemet/changes/{s}").text for s in ("1..3", "3..1", "2..3"))
    beyond = get(base + "/sources/wemet?page=99")

    assert 'rel="prev"' not in span and 'rel="next"' not in span and 'rel="prev"' not in back
    assert 'rel="prev"' in step
    assert beyond.status_code == 404 and "no page 99: wemet has 1 page of versions" in beyond.text
    assert "No version stored yet" not in beyond.text
    assert '<a href="/api">API</a>' in span
