"""The web view in a real browser: Debian's headless chromium, driven by Playwright, against the real
`policy-monitor serve` command on loopback, over a database built by real checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.web_site import SCRIPT, build_monitored_site, serve_process

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "a-long-random-token-for-the-browser-test"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: `make chromium` installs it")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """`serve` with a token (web: {token_env}), over a database of three sources checked three times."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    folder = tmp_path_factory.mktemp("browser")
    try:
        monitored = build_monitored_site(folder, f"sqlite:///{folder / 'monitor.db'}", server,
                                         web={"token_env": "PM_WEB_TOKEN"})
    finally:
        server.stop()
    with serve_process(monitored.config, monitored.url, env={"PM_WEB_TOKEN": TOKEN}) as url:
        yield url


@pytest.fixture(scope="module")
def browser(base):
    """Started after `base`: Playwright's sync API keeps an event loop running, and checks need their own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page that records console errors (a CSP violation is one) and fails on any dialog."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))


@pytest.fixture
def signed_in(browser, base):
    """A browser tab that has traded the ?token= link for the session cookie."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = Watched(context.new_page())
    watched.page.goto(f"{base}/?token={TOKEN}")
    yield watched
    context.close()


def test_the_token_is_enforced_and_the_link_trades_it_for_an_httponly_cookie(browser, base):
    context = browser.new_context()
    page = context.new_page()

    refused = page.goto(base + "/")
    assert refused.status == 401 and "access token" in page.inner_text("body")

    page.goto(f"{base}/sources/wemet?token={TOKEN}")
    assert page.url == base + "/sources/wemet"  # the token left the address bar (and history)
    assert page.locator("h1").inner_text() == "wemet"
    [cookie] = context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
    assert page.evaluate("document.cookie") == ""  # script cannot read it
    page.goto(base + "/")  # the cookie carries on
    assert page.locator("table.sources").is_visible()
    context.close()


def test_the_overview_lists_every_source_with_its_status(signed_in, base):
    page = signed_in.page
    rows = page.locator("table.sources tbody tr")

    assert rows.count() == 3
    assert [rows.nth(i).locator("th a").inner_text() for i in range(3)] == ["wemet", "kids", "gone"]
    gone = rows.nth(2).inner_text()
    assert "failing" in gone and "since" in gone and "HTTP 404" in gone
    wemet = rows.nth(0).inner_text()
    # its last material change, as `timeline` lists it: v3 rewords a clause outside the watched topics
    assert "v2 → v3" in wemet and "security" in wemet and "low" in wemet
    assert signed_in.errors == []  # the strict CSP blocks nothing of ours


def test_filtering_works_with_script_and_without(browser, signed_in, base):
    page = signed_in.page
    page.select_option("select[name=status]", "failing")  # the script submits on change
    page.wait_for_url("**/?*status=failing*")
    assert page.locator("table.sources tbody tr").count() == 1

    context = browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    plain.goto(f"{base}/?token={TOKEN}")
    plain.select_option("select[name=topic]", "minors")
    plain.click("button[type=submit]")
    assert "topic=minors" in plain.url
    assert [a.inner_text() for a in plain.locator("table.sources tbody th a").all()] == ["wemet"]
    context.close()


def test_the_change_page_shows_the_highlighted_clause_and_its_summary(signed_in, base):
    page = signed_in.page
    page.goto(f"{base}/sources/wemet")
    page.click("text=v1 → v2")
    assert page.url == base + "/sources/wemet/changes/1..2"

    minors = page.locator("article.panel", has_text="Protection of Minors")
    assert minors.locator(".summary").inner_text() == "age threshold 18 → 13"
    assert minors.locator(".before del").inner_text() == "18"
    assert minors.locator(".after ins").inner_text() == "13"
    assert "high" in minors.locator(".sev").inner_text()
    sharing = page.locator("article.panel", has_text="adds recipients")
    assert "advertising partners, data brokers" in sharing.locator(".after ins").inner_text()
    # deletions and insertions are not told by colour alone
    assert page.eval_on_selector(".before del", "e => getComputedStyle(e).textDecorationLine") == "line-through"
    assert signed_in.errors == []


def test_a_section_permalink_opens_the_full_text_at_that_section(signed_in, base):
    page = signed_in.page
    page.goto(base + "/sources/wemet/changes/1..2")
    page.locator("article.panel", has_text="Protection of Minors").locator(".after a.in-text").click()

    target = page.locator(":target")
    assert target.get_attribute("class") == "text-section changed"
    assert page.locator("#text-new").get_attribute("open") is not None  # the script opened the fold
    assert "under the age of 13" in target.inner_text()


def test_form_only_edits_are_hidden_until_toggled_with_the_keyboard(signed_in, base):
    page = signed_in.page
    page.goto(base + "/sources/wemet/changes/2..3")
    form_only = page.locator(".form-only-list article.panel")
    assert form_only.count() >= 1 and not form_only.first.is_visible()

    page.focus("#show-form-only")
    page.keyboard.press("Space")
    assert form_only.first.is_visible()
    assert "form-only" in form_only.first.inner_text() or form_only.first.locator(".summary").inner_text()


def test_keyboard_reaches_the_content_and_moves_between_changes(signed_in, base):
    page = signed_in.page
    page.goto(base + "/sources/wemet/changes/1..2")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("j")
    first = page.evaluate("document.activeElement.id")
    page.keyboard.press("j")
    second = page.evaluate("document.activeElement.id")
    assert first.startswith("s-") and second.startswith("s-") and first != second
    assert page.url.endswith("#" + second)  # a permalink to where the reader is


def test_a_policy_that_contains_a_script_tag_shows_it_as_text_and_runs_nothing(signed_in, base):
    page = signed_in.page
    for path in ("/sources/kids/changes/1..2", "/sources/kids/versions/2"):
        page.goto(base + path)
        assert SCRIPT in page.inner_text("main")
        assert page.locator("main script").count() == 0
    assert signed_in.dialogs == []


def test_a_phone_gets_one_column_without_sideways_scrolling(browser, base):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{base}/sources/wemet/changes/1..2?token={TOKEN}")
    sides = page.locator("article.panel").first.locator(".side")
    before, after = sides.nth(0).bounding_box(), sides.nth(1).bounding_box()
    assert after["y"] > before["y"]  # stacked, not side by side
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()


def test_dark_mode_follows_the_system_setting(browser, base):
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    page.goto(f"{base}/?token={TOKEN}")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    context.close()
    assert background == "rgb(21, 23, 26)"
