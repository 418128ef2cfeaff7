"""`render: browser`: a policy built by JavaScript after load, checked through Debian's real Chromium.

The Makefile's `chromium` target (a dependency of `make test`) installs the browser; these tests skip
only where it really is absent, and say so.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import signal
import sqlite3
import threading
import time

import pytest

from monitor.capture.browser import BrowserPool, BrowserSettings, find_chromium
from monitor.errors import FetchError
from tests.capture_sites import LONGER_RETENTION, POLICY, serve_app, serve_policy_json, with_retention

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on the PATH: run `make chromium` "
                                                             "(apt-get install chromium) to run the browser tests")


def check(cli, config, db, *names):
    result = cli("--config", config, "--db", db, "check", "--json", *names)
    assert result.stdout, result.stderr
    return result.json()["results"]


@needs_chromium
def test_a_policy_built_by_javascript_is_stored_and_its_change_alerts(cli, site, make_config, sqlite_url):
    own = site.url("/tracker.js")  # the site's host is `localhost` or 127.0.0.1: the other one is a third party
    tracker = own.replace("localhost", "127.0.0.1") if "localhost" in own else own.replace("127.0.0.1", "localhost")
    url = serve_app(site, POLICY, tracker=tracker)
    config = make_config([{"name": "app", "url": url, "render": "browser", "timeout": "20s"}])

    [first] = check(cli, config, sqlite_url)
    serve_policy_json(site, with_retention(LONGER_RETENTION))
    [second] = check(cli, config, sqlite_url)

    assert first["status"] == "new", first
    assert second["status"] == "changed" and second["alert_topics"] == ["retention"], second
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    text = db.execute("select text from version where seq = 1").fetchone()[0]
    assert text.startswith("# Privacy Policy\n\n## Information we collect\n\nWe collect the information")
    assert "within 30 days after you close your account" in text
    assert "TRACKER" not in text and "Home" not in text  # third-party script blocked; nav dropped as usual
    fetched = {r.path for r in site.requests}
    assert {"/privacy", "/static/js/main.4f1c2a.js", "/api/policy.json"} <= fetched
    assert "/static/pixel.png" not in fetched and "/tracker.js" not in fetched  # blocked before leaving Chromium
    assert not any(r.headers.get("If-None-Match") for r in site.requests)  # a render is never conditional


def test_the_script_shell_fetched_without_a_browser_says_it_needs_one(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "app", "url": serve_app(site, POLICY)}])

    [r] = check(cli, config, sqlite_url)

    assert r["status"] == "rejected" and r["version"] is None
    assert r["error"].startswith("this page needs `render: browser`: the plain fetch got a script shell "
                                 "(an app root <div id=\"root\"> and 2 script bundles)"), r["error"]


@needs_chromium
def test_wait_for_a_page_that_never_goes_quiet_and_what_fails_a_render(cli, site, make_config, sqlite_url):
    """One check, one browser: five sources rendered side by side."""
    url = serve_app(site, POLICY, late_ms=300, poll=True)
    big = site.set("/big", "<div id=app></div><script>document.getElementById('app').textContent = "
                           "'privacy '.repeat(40000)</script>")
    gone = site.set("/gone", "gone", status=404)
    down = site.set("/down", "Service Unavailable", status=503)
    config = make_config([
        {"name": "waits", "url": url, "render": "browser", "wait_for": "#policy h2", "timeout": "10s"},
        {"name": "idles", "url": url, "render": "browser", "timeout": "2s"},
        {"name": "big", "url": big, "render": "browser", "max_bytes": "100KB"},
        {"name": "gone", "url": gone, "render": "browser"},
        {"name": "down", "url": down, "render": "browser"},
    ])

    waits, idles, big_result, gone_result, down_result = check(cli, config, sqlite_url)

    assert waits["status"] == "new", waits
    assert idles["status"] == "error"
    assert idles["error"] == ("browser: waited 2s for the page to settle (network idle); if the page keeps "
                              "polling, set `wait_for` to a selector of the policy"), idles["error"]
    assert big_result["status"] == "error" and big_result["error"] == "rendered page larger than 100 kB (max_bytes)"
    assert gone_result["status"] == "error" and gone_result["error"] == "HTTP 404 NOT FOUND"  # not retried
    assert down_result["status"] == "error" and down_result["error"] == "HTTP 503 SERVICE UNAVAILABLE after 2 attempts"
    assert [r.path for r in site.requests].count("/down") == 2 and [r.path for r in site.requests].count("/gone") == 1


def test_validate_says_when_no_chromium_can_be_found(cli, make_config):
    config = make_config([{"name": "app", "url": "https://app.example/privacy", "render": "browser"}],
                         browser={"executable": "/nonexistent/chromium"})

    result = cli("--config", config, "validate")

    assert result.exit_code == 0
    assert ("source app: `render: browser` is set but no Chromium can be found (browser.executable "
            "'/nonexistent/chromium' is not an executable file)") in " ".join(result.stderr.split())


def test_playwright_is_imported_only_when_a_browser_is_launched():
    """http-only users never load Playwright: only monitor.capture.browser names it, and only inside functions
    (or for type checkers)."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "monitor"
    at_top = {}
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only; `if TYPE_CHECKING:` blocks are not executed
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] == "playwright" for n in names):
                at_top[str(path.relative_to(package))] = names
    mentions = {str(p.relative_to(package)) for p in package.rglob("*.py") if "playwright" in p.read_text()
                and "from playwright" in p.read_text()}
    assert at_top == {}
    assert mentions == {"capture/browser.py"}


class _SlowApi(http.server.BaseHTTPRequestHandler):
    """A threaded server whose API answers slowly and counts how many requests per host overlap."""

    in_flight: dict[str, int] = {}
    most: dict[str, int] = {}
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802 — http.server's name
        host = self.headers["Host"].split(":")[0]
        if self.path == "/api":
            with self.lock:
                self.in_flight[host] = self.in_flight.get(host, 0) + 1
                self.most[host] = max(self.most.get(host, 0), self.in_flight[host])
            time.sleep(0.4)
            with self.lock:
                self.in_flight[host] -= 1
            body = json.dumps({"text": "Privacy policy text."}).encode()
        else:
            body = (b"<div id=root></div><script>fetch('/api').then(r => r.json()).then(d => "
                    b"document.getElementById('root').textContent = d.text)</script>")
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if self.path != "/api" else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@needs_chromium
def test_renders_share_one_browser_never_overlap_on_one_host_survive_its_death_and_idle_close_it():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    urls = [f"http://{host}:{port}/p{i}" for host in ("127.0.0.1", "localhost") for i in range(2)]

    async def render_all() -> tuple[list[str], int | None, int | None, str, int | None]:
        async with BrowserPool(BrowserSettings(pool=4, idle_close=1.0)) as browser:
            pages = await asyncio.gather(*(browser.render(u, timeout=20) for u in urls))
            first_pid = browser.pid
            await browser.render(urls[0], timeout=20)
            later_pid = browser.pid
            os.kill(browser.pid, signal.SIGKILL)  # the browser dies (OOM killer, a crash)
            await asyncio.sleep(0.5)
            after_death = await browser.render(urls[0], timeout=20)
            await asyncio.sleep(2.0)  # idle for longer than idle_close
            return [p.text for p in pages], first_pid, later_pid, after_death.text, browser.pid

    try:
        texts, first_pid, later_pid, after_death, when_idle = asyncio.run(render_all())
    finally:
        server.shutdown()
    assert all("Privacy policy text." in t for t in texts)
    assert first_pid is not None and first_pid == later_pid  # one browser for every render
    assert _SlowApi.most == {"127.0.0.1": 1, "localhost": 1}  # one render at a time per host
    assert "Privacy policy text." in after_death  # launched again on the next render
    assert when_idle is None  # and closed when no render came for idle_close seconds


def test_a_missing_chromium_is_a_clear_fetch_error():
    async def render() -> None:
        async with BrowserPool(BrowserSettings(executable="/nonexistent/chromium")) as browser:
            await browser.render("http://127.0.0.1:9/")

    with pytest.raises(FetchError, match=r"^render: browser: no Chromium found \(/nonexistent/chromium\)"):
        asyncio.run(render())
