"""One policy over several pages: `url:` as a list, parts fetched and guarded each on their own, one version."""

from __future__ import annotations

import sqlite3

import pytest

from monitor.capture.document import BUNDLE_TYPE, unbundle
from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.store.database import decompress
from tests.capture_sites import LONGER_RETENTION, POLICY, policy_pdf, with_retention
from tests.conftest import dedent


def check(cli, config, db, *names):
    result = cli("--config", config, "--db", db, "check", "--json", *names)
    assert result.stdout, result.stderr
    return result.json()["results"]


def page(sections, title: str) -> str:
    body = "".join(f"<h2>{h}</h2>" + "".join(f"<p>{p}</p>" for p in ps) for h, ps in sections)
    return f"<html><body><nav><a href='/'>Home</a></nav><main><h1>{title}</h1>{body}</main></body></html>"


def serve_two_pages(site, sections=POLICY) -> list[str]:
    return [site.set("/privacy", page(sections[:2], "Privacy Policy")),
            site.set("/privacy/part-2", page(sections[2:], "Privacy Policy (continued)"))]


def version_rows(db_url: str) -> list[tuple]:
    db = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    return db.execute("select seq, url, content_type, text, raw from version order by seq").fetchall()


def test_the_parts_are_joined_in_order_into_one_version(cli, site, make_config, sqlite_url):
    urls = serve_two_pages(site)
    config = make_config([{"name": "split", "url": urls}])

    [first] = check(cli, config, sqlite_url)
    site.set("/privacy/part-2", page(with_retention(LONGER_RETENTION)[2:], "Privacy Policy (continued)"))
    [second] = check(cli, config, sqlite_url)

    assert first["status"] == "new" and first["url"] == urls[0]
    assert second["status"] == "changed" and second["alert_topics"] == ["retention"], second
    (_, url, content_type, text, raw), _ = version_rows(sqlite_url)
    assert url == urls[0] and content_type == BUNDLE_TYPE
    assert text.index("## Information we collect") < text.index("# Privacy Policy (continued)") \
        < text.index("## How long we keep information")
    assert [part.url for part in unbundle(decompress(raw))] == urls  # the raw pages, kept for renormalize


@pytest.mark.parametrize(("status", "body", "outcome", "error"), [
    (503, "Service Unavailable", "error", "part 2 of 2 ({url}): HTTP 503 SERVICE UNAVAILABLE after 2 attempts"),
    (200, "<html><body><p>Loading...</p></body></html>", "rejected",
     "part 2 of 2 ({url}): near-empty page: 1 word, too few to be a policy"),
])
def test_a_failing_part_fails_the_check_and_never_stores_a_version_without_it(
        cli, site, make_config, sqlite_url, status, body, outcome, error):
    urls = serve_two_pages(site)
    config = make_config([{"name": "split", "url": urls}])
    [first] = check(cli, config, sqlite_url)
    site.set("/privacy/part-2", body, status=status)

    [r] = check(cli, config, sqlite_url)

    assert first["status"] == "new"
    assert r["status"] == outcome and r["version"] == 1
    assert r["error"] == error.format(url=urls[1])
    assert len(version_rows(sqlite_url)) == 1


def test_parts_may_mix_html_and_pdf_and_renormalize_rederives_the_same_text(cli, site, make_config, sqlite_url):
    urls = [site.set("/privacy", page(POLICY[:2], "Privacy Policy")),
            site.set("/privacy-annex.pdf", policy_pdf(POLICY[2:], title="Annex"), content_type="application/pdf")]
    config = make_config([{"name": "mixed", "url": urls}])

    [r] = check(cli, config, sqlite_url)
    renormalized = cli("--config", config, "--db", sqlite_url, "renormalize", "--json")

    assert r["status"] == "new", r
    [(_, _, _, text, _)] = version_rows(sqlite_url)
    assert "## How we share information" in text and "# Annex\n\n## How long we keep information" in text
    # the same text from the stored raw parts
    assert renormalized.exit_code == 0 and renormalized.json() == {"rederived": [], "skipped": []}


def test_a_single_page_keeps_conditional_requests_and_parts_do_not_use_them(cli, site, make_config, sqlite_url):
    one = site.set("/one", page(POLICY, "Privacy Policy"), ETag='"v1"')
    urls = serve_two_pages(site)
    config = make_config([{"name": "one", "url": one}, {"name": "split", "url": urls}])
    check(cli, config, sqlite_url)
    site.requests.clear()

    check(cli, config, sqlite_url)

    sent = {r.path: r.headers.get("If-None-Match") for r in site.requests}
    assert sent == {"/one": '"v1"', "/privacy": None, "/privacy/part-2": None}


def test_url_list_problems_are_named_with_their_line():
    text = dedent("""
        sources:
          - name: split
            url:
              - https://example.org/privacy
              - ftp://example.org/privacy/2
          - name: twice
            url: [https://example.org/a, https://example.org/a]
          - name: none
            url: []
          - name: odd
            url: {page: https://example.org/a}
          - name: plain
            url: https://example.org/p
            wait_for: main
    """)
    with pytest.raises(ConfigError) as info:
        parse_config(text, "sources.yaml")

    assert [str(p) for p in info.value.problems] == [
        "sources.yaml:5: sources[0].url[1]: 'ftp://example.org/privacy/2' is not an http(s) URL",
        "sources.yaml:7: sources[1].url: 'https://example.org/a' is listed twice; each part of a policy is fetched "
        "once",
        "sources.yaml:9: sources[2].url: give one URL, or a list of 1 to 20 URLs",
        "sources.yaml:11: sources[3].url: expected a URL, or a list of the URLs one policy is split over",
        "sources.yaml:14: sources[4].wait_for: `wait_for` only applies to `render: browser` (this source is fetched "
        "over plain HTTP)",
    ]


def test_a_single_url_and_the_browser_keys_load_as_expected():
    config = parse_config(dedent("""
        browser: {executable: /usr/bin/chromium, pool: 3, max_heap: 128MB}
        sources:
          - name: one
            url: https://example.org/privacy
          - name: app
            url: [https://app.example.org/legal/privacy, https://app.example.org/legal/cookies]
            render: browser
            wait_for: "#policy h2"
            allow_hosts: [cdn.example.net, "*.termly.io"]
    """))

    one, app = config.sources
    assert one.url == "https://example.org/privacy" and one.urls == (one.url,) and one.render == "http"
    assert app.url == "https://app.example.org/legal/privacy" and len(app.urls) == 2
    assert (app.render, app.wait_for, app.allow_hosts) == ("browser", "#policy h2", ("cdn.example.net", "*.termly.io"))
    assert (config.browser.executable, config.browser.pool, config.browser.max_heap) == ("/usr/bin/chromium", 3,
                                                                                         128_000_000)
