"""The cheap "same text" route: a page whose bytes change but whose text does not is not normalized again.

Real parts: a loopback HTTP server that puts a fresh nonce in attributes at every request, a real SQLite
file, the real `check_all`. `normalize` is wrapped (not replaced) to count the full normalizations.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from pathlib import Path

import pytest
from werkzeug import Response

from monitor.capture import fingerprint as fingerprint_module
from monitor.capture.fingerprint import READ_ATTRIBUTES, fingerprint
from monitor.capture.normalize import normalize
from tests.pages import edit, render_policy, seed_text

# -- the fingerprint itself -------------------------------------------------------------------------

PAGE = ('<html><head><meta name="csrf" content="{nonce}"><script nonce="{nonce}">var t="{nonce}";</script>'
        '</head><body data-request="{nonce}"><main><h2>Sharing</h2><p class="lead">We do not sell data.</p>'
        '<p><a href="/x?utm={nonce}">more</a></p></main></body></html>')


def page(nonce: str = "1", **swap: str) -> str:
    html = PAGE.replace("{nonce}", nonce)
    for old, new in swap.items():
        html = html.replace(old.replace("_", " "), new)
    return html


def test_nonces_in_attributes_scripts_and_link_parameters_keep_the_fingerprint():
    assert fingerprint(page("a1")) == fingerprint(page("b2"))
    assert normalize(page("a1")) == normalize(page("b2"))


@pytest.mark.parametrize("old, new", [
    ("We do not sell data.", "We sell data."),                        # the text
    ("<h2>Sharing</h2>", "<p>Sharing</p>"),                           # the structure
    ('<p class="lead">', '<p class="lead" hidden>'),                  # hidden
    ('<p class="lead">', '<p class="lead" aria-hidden="true">'),      # aria-*
    ('<p class="lead">', '<p class="lead" style="display:none">'),    # inline style
    ('<p class="lead">', '<p class="sr-only">'),                      # class
    ('<p class="lead">', '<p class="lead" role="dialog">'),           # role
    ('<a href="/x', '<a href="#x'),                                   # an in-page link (skip links)
])
def test_anything_the_normalizer_reads_changes_the_fingerprint(old, new):
    assert old in PAGE
    changed = PAGE.replace("{nonce}", "1").replace(old, new)
    assert fingerprint(changed) != fingerprint(page("1"))


def test_the_text_of_a_comment_is_not_read_where_it_stands_is():
    """A build stamp in a comment changes at every deploy; the normalizer never reads it."""
    stamped = page().replace("<main>", "<main><!-- built {stamp} -->")
    assert fingerprint(stamped.replace("{stamp}", "12:00")) == fingerprint(stamped.replace("{stamp}", "12:05"))
    assert fingerprint(stamped) != fingerprint(page())  # a comment more: a normalization more, never a miss


def test_a_kept_tree_is_normalized_once_by_the_next_reader_of_the_same_page():
    """`check` fingerprints a new page, then normalizes it in the same process: one parse serves both."""
    from monitor.capture import html_tree

    body = render_policy(seed_text(1))
    fingerprint(body, keep_tree=True)
    assert html_tree._kept is not None and html_tree._kept[0] == body
    assert normalize(body) == normalize(body + " ")  # the kept tree taken by the first normalize, then gone
    assert html_tree._kept is None
    fingerprint(body, keep_tree=True)
    assert normalize(body.replace("</main>", "<p>More.</p></main>")).endswith("More.")  # another page: parsed
    assert html_tree._kept is None
    fingerprint("<p>x</p>" * (html_tree.KEEP_MAX_CHARS // 8 + 1), keep_tree=True)  # a huge page: not kept
    assert html_tree._kept is None


def test_select_and_remove_are_part_of_the_fingerprint_and_their_attributes_are_read():
    assert fingerprint(page(), select="main") != fingerprint(page())
    assert fingerprint(page(), remove=("p.lead",)) != fingerprint(page())
    # a selector naming an attribute makes that attribute count, nonce or not
    a, b = page("a1"), page("b2")
    assert fingerprint(a, select="[data-request] main") != fingerprint(b, select="[data-request] main")


def test_markdown_and_plain_text_are_fingerprinted_whole():
    assert fingerprint("# T\n\nA.", content_type="text/markdown") != fingerprint("# T\n\nB.",
                                                                                 content_type="text/markdown")
    assert fingerprint("A.", content_type="text/plain") == fingerprint("A.", content_type="text/plain")


def test_every_attribute_the_drop_and_block_rules_read_is_in_the_fingerprint():
    """A rule that starts reading a new attribute must add it to READ_ATTRIBUTES, or a page could change
    that attribute without a new version."""
    capture = Path(fingerprint_module.__file__).parent
    source = (capture / "page_chrome.py").read_text() + (capture / "normalize.py").read_text()
    names = set(re.findall(r"(?:attr_text\(\w+, ?|has_attr\(|\btag\.get\()['\"]([\w-]+)['\"]", source))
    assert names, "the rules' attribute reads were not found: update this test's pattern"
    unread = {n for n in names if n not in READ_ATTRIBUTES and not n.startswith("aria-") and n != "href"}
    assert unread == set()


# -- the route, through a real check ----------------------------------------------------------------

class NonceSite:
    """Serves the policy text `self.text` with a new nonce in attributes at every request, no validators."""

    def __init__(self, httpserver, text: str):
        self.text, self.noise, self.requests = text, 0, 0
        httpserver.expect_request("/p").respond_with_handler(self.handle)
        self.url = httpserver.url_for("/p")

    def handle(self, request) -> Response:
        self.requests += 1
        nonce = uuid.uuid4().hex
        html = render_policy(self.text, noise=self.noise).replace(
            '<body class="page-privacy">', f'<body class="page-privacy" data-nonce="{nonce}">', 1)
        html = html.replace("<script>", f'<script nonce="{nonce}">')
        return Response(html, headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"})


@pytest.fixture
def normalizations(monkeypatch) -> list[str]:
    """Counts the full normalizations `check` makes (the real function runs)."""
    import monitor.pipeline

    calls: list[bytes] = []
    real = monitor.pipeline.document_text

    def counted(body, **kwargs):
        calls.append(body[:20])
        return real(body, **kwargs)

    monkeypatch.setattr(monitor.pipeline, "document_text", counted)
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


def versions(sqlite_url) -> int:
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        return db.execute("select count(*) from version").fetchone()[0]


def test_a_page_whose_nonce_changes_but_text_does_not_is_unchanged_without_a_full_normalization(
        httpserver, make_config, sqlite_url, normalizations):
    site = NonceSite(httpserver, seed_text(2))
    config = make_config([{"name": "p", "url": site.url}])

    assert run_check(config, sqlite_url).status == "new"
    assert len(normalizations) == 1
    for _ in range(2):
        result = run_check(config, sqlite_url)
        assert result.status == "unchanged" and result.version == 1
    assert site.requests == 3, "every check fetched the page"
    assert len(normalizations) == 1, "the fingerprint matched: no second normalization"
    assert versions(sqlite_url) == 1


def test_a_page_whose_text_changes_is_normalized_and_becomes_a_version(httpserver, make_config, sqlite_url,
                                                                      normalizations):
    text = seed_text(2)
    site = NonceSite(httpserver, text)
    config = make_config([{"name": "p", "url": site.url}])
    run_check(config, sqlite_url)

    site.text = edit(text, "top priority", "main concern")
    result = run_check(config, sqlite_url)

    assert result.status == "changed" and result.version == 2 and result.previous_version == 1
    assert len(normalizations) == 2
    assert versions(sqlite_url) == 2
    assert run_check(config, sqlite_url).status == "unchanged" and len(normalizations) == 2, \
        "the new version's fingerprint is remembered"


def test_chrome_text_that_changes_costs_one_normalization_and_then_the_new_fingerprint_is_remembered(
        httpserver, make_config, sqlite_url, normalizations):
    """A new cookie-banner text or nav item changes the fingerprint but not the policy text."""
    site = NonceSite(httpserver, seed_text(3))
    config = make_config([{"name": "p", "url": site.url}])
    run_check(config, sqlite_url)

    site.noise = 5
    assert run_check(config, sqlite_url).status == "unchanged"
    assert len(normalizations) == 2, "a different fingerprint takes the full path"
    assert run_check(config, sqlite_url).status == "unchanged"
    assert len(normalizations) == 2, "…once: the page's new fingerprint stands for the same text"
    assert versions(sqlite_url) == 1


def test_a_new_selector_in_the_config_is_not_answered_from_the_old_fingerprint(httpserver, make_config, tmp_path,
                                                                            sqlite_url, normalizations):
    site = NonceSite(httpserver, seed_text(2))
    run_check(make_config([{"name": "p", "url": site.url}]), sqlite_url)

    narrowed = make_config([{"name": "p", "url": site.url, "remove": ["main h1"]}])
    result = run_check(narrowed, sqlite_url)

    assert len(normalizations) == 2
    assert result.status == "changed", "the title is gone from the text: a new version, not a stale 'unchanged'"
