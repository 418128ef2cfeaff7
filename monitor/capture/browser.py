"""Render script-built pages in one shared headless Chromium (Playwright), politely and within bounds.

`BrowserPool.render(url, ...)` returns the same `FetchResult` as `Fetcher.fetch`, holding the DOM
after the page's scripts ran, so the guard, `normalize` and `select`/`remove` run unchanged on it.

- One Chromium (Debian's `chromium`, found on the PATH or named by `browser.executable`; never
  downloaded) is launched on the first render and shared by every source; if it dies it is launched
  again on the next render, and after five minutes without a render it is closed (the daemon checks
  every few hours: the memory goes back between runs). Playwright is imported then too: http-only users never load it.
- At most `pool` renders run at once, each in a fresh browser context (its own cookies and storage,
  thrown away afterwards: one source's visit never changes what another sees, as with the http
  fetcher's per-fetch cookies), and never two at once for one host.
- A page has settled when the network has been idle for 500 ms, or, with `wait_for`, when that CSS
  selector matches; the whole render has a hard timeout (the source's `timeout`).
- Images, media, fonts and requests to other sites (trackers, ads, analytics) are refused by route
  interception: a policy needs none of them. `allow_hosts` lets a source load from named other
  hosts (a CDN serving the app bundle, a policy-hosting service's embed).
- Bounded: each renderer's JavaScript heap is capped (V8 --max-old-space-size), renderer processes are
  limited to the pool size, and a DOM larger than the source's `max_bytes` is refused.
- No conditional requests: the policy's text comes from scripts and API calls, so an unchanged HTML
  shell says nothing about an unchanged policy; every render is a full one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
import os
import random
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from monitor.capture.fetch import USER_AGENT, FetchResult, human_size, inward_redirect
from monitor.errors import FetchError

if TYPE_CHECKING:  # imported for real only when a browser is launched
    from playwright.async_api import Browser, Playwright, Route

log = logging.getLogger("monitor.capture.browser")

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
# Flags for a browser that runs unattended as root in a container: no sandbox (needs user namespaces),
# no GPU, no QUIC (so every request goes through the same interception), and none of the background
# traffic a desktop browser makes on its own (updates, sync, field trials).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--mute-audio")
BLOCKED_RESOURCES = frozenset({"image", "media", "font", "imageset", "texttrack", "manifest", "beacon", "ping",
                               "csp_report"})
SETTLED_IDLE = "networkidle"  # Playwright: no network connection for at least 500 ms
INSTALL_HINT = "install Debian's chromium (`make chromium`, or `apt-get install chromium`) or set `browser.executable`"


@dataclass(frozen=True)
class BrowserSettings:
    executable: str | None = None  # None: the first of CHROMIUM_NAMES on the PATH
    pool: int = 2                  # renders at once
    max_heap: int = 256 * 2**20    # bytes of JavaScript heap per renderer
    retries: int = 2               # extra attempts after a transient failure (as `fetch.retries`)
    backoff: float = 1.0           # first retry waits about this long, doubling each time, plus jitter
    idle_close: float = 300.0      # close the browser after this many seconds without a render


def find_chromium(executable: str | None = None) -> str | None:
    """The Chromium to launch: `executable` if it is an executable file (or a name on the PATH), else the
    first of CHROMIUM_NAMES on the PATH; None when there is none."""
    if executable:
        if os.path.isfile(executable) and os.access(executable, os.X_OK):
            return executable
        return shutil.which(executable)
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def playwright_missing() -> str | None:
    """Why Playwright cannot be imported here (without importing it), or None when it can."""
    import importlib.util

    if importlib.util.find_spec("playwright") is None:
        return "the Playwright package is not installed: pip install 'policy-monitor[browser]'"
    return None


def site_of(host: str) -> str:
    """The registrable part of a host name, near enough to tell first-party from third-party requests:
    the last two labels, three under a two-letter country code's generic second level (`co.uk`,
    `com.au`); an IP address or a one-label name is its own site.

    >>> site_of("www.example.co.uk"), site_of("api.example.com"), site_of("127.0.0.1")
    ('example.co.uk', 'example.com', '127.0.0.1')
    """
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        pass
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVELS:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


_SECOND_LEVELS = frozenset({"co", "com", "net", "org", "gov", "ac", "edu", "or", "ne", "go", "gob", "nic", "ltd",
                            "plc"})


def allowed_request(url: str, page_url: str, allow_hosts: tuple[str, ...] = ()) -> bool:
    """Whether a render may load `url`: same site as the page, or a host the source allows.

    >>> allowed_request("https://cdn.example.com/app.js", "https://www.example.com/privacy")
    True
    >>> allowed_request("https://www.google-analytics.com/g/collect", "https://www.example.com/privacy")
    False
    >>> allowed_request("https://app.termly.io/embed.js", "https://example.com/privacy", ("*.termly.io",))
    True
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return parts.scheme in ("data", "blob")
    host, page_host = (parts.hostname or ""), (urlsplit(page_url).hostname or "")
    if site_of(host) == site_of(page_host):
        return True
    for allowed in allow_hosts:
        name, _, port = allowed.lower().partition(":")
        if port and str(parts.port or (443 if parts.scheme == "https" else 80)) != port:
            continue
        if host == name or (name.startswith("*.") and (host == name[2:] or host.endswith(name[1:]))):
            return True
    return False


class BrowserPool:
    """One headless Chromium for many renders, launched when first needed.

    >>> async with BrowserPool(BrowserSettings(pool=2)) as browser:              # doctest: +SKIP
    ...     page = await browser.render("https://example.org/privacy", timeout=30, max_bytes=10_000_000)
    >>> page.text[:15]                                                          # doctest: +SKIP
    '<html><head><ti'

    Every failure is a `FetchError` (transient when trying later may help), as from `Fetcher.fetch`.
    """

    def __init__(self, settings: BrowserSettings | None = None):
        self.settings = settings or BrowserSettings()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._launching: asyncio.Lock | None = None
        self._slots: asyncio.Semaphore | None = None
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._agent: str | None = None  # Chromium's own User-Agent, read once
        self._pid: int | None = None
        self._active = 0                 # renders in progress
        self._last_used = 0.0            # monotonic time the last render ended
        self._reaper: asyncio.Task | None = None
        self.renders = 0  # renders finished (the benchmark reads it)

    async def __aenter__(self) -> BrowserPool:
        # asyncio primitives belong to one event loop: made here, in the loop that uses them
        self._launching, self._slots, self._host_locks = asyncio.Lock(), asyncio.Semaphore(self.settings.pool), {}
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._reaper is not None and self._reaper is not asyncio.current_task():
            self._reaper.cancel()
        self._reaper = None
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        if browser is not None:
            try:
                await browser.close()
            except Exception as exc:  # noqa: BLE001 — a browser that already died is closed enough
                log.debug(f"closing the browser: {type(exc).__name__}: {exc}")
        if playwright is not None:
            await playwright.stop()

    @property
    def pid(self) -> int | None:
        """The browser's main process id while it runs, else None (Linux; elsewhere always None)."""
        return self._pid if self._browser is not None and self._browser.is_connected() else None

    def memory(self) -> int | None:
        """Memory of the browser and all its processes (renderers, network, GPU) in bytes, or None: their
        proportional set size, so pages the processes share are counted once, not once per process."""
        pid = self.pid
        return sum(_resident(p) for p in {pid, *_descendants(pid)}) if pid else None

    async def render(self, url: str, *, language: str = "en", timeout: float = 30.0, max_bytes: int = 10_000_000,
                     wait_for: str | None = None, allow_hosts: tuple[str, ...] = ()) -> FetchResult:
        """Load `url` in a fresh context, let its scripts run until it settles, return the DOM as HTML.

        A transient failure (a 5xx, a network error, a crashed page) is tried again like the http
        fetcher's, with backoff; a page that did not settle in time is not (it would cost the whole
        timeout again)."""
        if self._slots is None:
            raise RuntimeError("use the pool as `async with BrowserPool() as browser:`")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"not an http(s) URL: {url}")
        started = time.monotonic()
        for attempt in range(1, self.settings.retries + 2):
            try:
                page = await self._attempt(url, parts.netloc.lower(), language, timeout, max_bytes, wait_for,
                                           allow_hosts, started)
                return dataclasses.replace(page, attempts=attempt)
            except FetchError as exc:
                if not exc.transient or isinstance(exc, _SettleTimeout) or attempt > self.settings.retries:
                    if attempt > 1 and exc.transient:
                        raise FetchError(f"{exc} after {attempt} attempts", transient=True,
                                         status_code=exc.status_code) from None
                    raise
                delay = self.settings.backoff * 2 ** (attempt - 1) + random.uniform(0, self.settings.backoff)
                log.debug(f"render {url}: {exc}; retry {attempt} of {self.settings.retries} in {delay:.1f}s")
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _attempt(self, url: str, host: str, language: str, timeout: float, max_bytes: int,
                       wait_for: str | None, allow_hosts: tuple[str, ...], started: float) -> FetchResult:
        async with self._host_turn(host), self._slots:
            browser = await self._running_browser()
            self._active += 1
            try:
                async with asyncio.timeout(timeout):
                    return await self._render(browser, url, language, timeout, max_bytes, wait_for, allow_hosts,
                                              started)
            except TimeoutError:
                settle = f"`wait_for` {wait_for!r} to match" if wait_for else "the page to settle (network idle)"
                hint = "" if wait_for else "; if the page keeps polling, set `wait_for` to a selector of the policy"
                raise _SettleTimeout(f"browser: waited {timeout:g}s for {settle}{hint}", transient=True) from None
            finally:
                self.renders += 1
                self._active -= 1
                self._last_used = time.monotonic()

    async def _render(self, browser: Browser, url: str, language: str, timeout: float, max_bytes: int,
                      wait_for: str | None, allow_hosts: tuple[str, ...], started: float) -> FetchResult:
        from playwright.async_api import Error as PlaywrightError

        context = await browser.new_context(
            user_agent=f"{await self._browser_agent(browser)} {USER_AGENT}", locale=language,
            extra_http_headers={"Accept-Language": language}, service_workers="block", accept_downloads=False)
        try:
            async def screen(route: Route) -> None:
                request = route.request
                if request.resource_type in BLOCKED_RESOURCES or not allowed_request(request.url, url, allow_hosts):
                    await route.abort("blockedbyclient")
                else:
                    await route.continue_()

            await context.route("**/*", screen)
            page = await context.new_page()
            # Playwright's own timeouts come after the hard one (asyncio.timeout in `render`), whose message is clearer
            page.set_default_timeout((timeout + 5) * 1000)
            try:
                response = await page.goto(url, wait_until="load" if wait_for else SETTLED_IDLE)
                if wait_for:
                    await page.wait_for_selector(wait_for, state="attached")
            except PlaywrightError as exc:
                raise _describe(exc, url) from None
            if response is None:
                raise FetchError(f"browser: no response for {url}")
            origin, landed = urlsplit(url).hostname or "", urlsplit(page.url).hostname or ""
            if landed != origin and (inner := await inward_redirect(origin, landed)):
                raise FetchError(f"redirect into a private network ({landed}: {inner}) while rendering {url}: not "
                                 "read, a public page must not lead a check to this network's own services")
            status = response.status
            if status >= 400:
                transient = status >= 500 or status in (408, 429)
                raise FetchError(f"HTTP {status} {response.status_text}".rstrip(), transient=transient,
                                 status_code=status)
            size = await page.evaluate("document.documentElement ? document.documentElement.outerHTML.length : 0")
            if size > max_bytes:
                raise FetchError(f"rendered page larger than {human_size(max_bytes)} (max_bytes)")
            html = await page.content()
            content = html.encode("utf-8")
            if len(content) > max_bytes:
                raise FetchError(f"rendered page larger than {human_size(max_bytes)} (max_bytes)")
            redirects, hop = [], response.request.redirected_from
            while hop is not None:
                redirects.append(hop.url)
                hop = hop.redirected_from
            return FetchResult(
                url=url, final_url=page.url, status_code=status, content=content, text=html,
                content_type="text/html", encoding="utf-8", etag=None, last_modified=None, not_modified=False,
                elapsed=time.monotonic() - started, attempts=1, redirects=tuple(reversed(redirects)))
        except PlaywrightError as exc:
            raise _describe(exc, url) from None
        finally:
            try:
                await context.close()
            except Exception as exc:  # noqa: BLE001 — the browser may have died under this page
                log.debug(f"closing a browser context: {type(exc).__name__}: {exc}")

    async def _browser_agent(self, browser: Browser) -> str:
        """Chromium's own User-Agent (read once), to which ours is appended: honest, and what sites expect."""
        if self._agent is None:
            page = await browser.new_page()
            try:
                self._agent = str(await page.evaluate("navigator.userAgent"))
            finally:
                await page.close()
        return self._agent

    async def _running_browser(self) -> Browser:
        assert self._launching is not None
        async with self._launching:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                log.warning("the browser went away (crashed or killed); launching it again")
                await self.close()
            self._browser = await self._launch()
            self._last_used = time.monotonic()
            self._reaper = asyncio.create_task(self._close_when_idle())
            return self._browser

    async def _close_when_idle(self) -> None:
        """A daemon checks every few hours: between its renders the browser gives its memory back."""
        idle = self.settings.idle_close
        while True:
            await asyncio.sleep(max(idle / 4, 0.05))
            assert self._launching is not None
            async with self._launching:  # not while a render is starting the browser or using it
                if self._active == 0 and time.monotonic() - self._last_used >= idle:
                    log.info(f"closing the browser after {idle:g}s without a render")
                    await self.close()
                    return

    async def _launch(self) -> Browser:
        if problem := playwright_missing():
            raise FetchError(f"render: browser: {problem}")
        executable = find_chromium(self.settings.executable)
        if executable is None:
            where = self.settings.executable or f"{', '.join(CHROMIUM_NAMES)} on the PATH"
            raise FetchError(f"render: browser: no Chromium found ({where}); {INSTALL_HINT}")
        from playwright.async_api import async_playwright

        heap_mb = max(16, self.settings.max_heap // 2**20)
        args = [*CHROMIUM_FLAGS, f"--js-flags=--max-old-space-size={heap_mb}",
                f"--renderer-process-limit={self.settings.pool}"]
        self._playwright = await async_playwright().start()
        before = _browser_processes()
        try:
            browser = await self._playwright.chromium.launch(executable_path=executable, args=args, headless=True)
        except Exception as exc:
            await self._playwright.stop()
            self._playwright = None
            raise FetchError(f"render: browser: cannot start {executable}: {_first_line(exc)}") from None
        started = _browser_processes() - before
        self._pid = started.pop() if len(started) == 1 else None
        log.info(f"browser started: {executable} {browser.version}",
                 extra={"executable": executable, "version": browser.version})
        return browser

    @asynccontextmanager
    async def _host_turn(self, host: str) -> AsyncIterator[None]:
        """Never two renders for one host at once: a site sees one browser visitor from us at a time."""
        async with self._host_locks.setdefault(host, asyncio.Lock()):
            yield


class _SettleTimeout(FetchError):
    """The page did not settle within the hard timeout: transient, but not worth an immediate retry."""


def _processes() -> dict[int, tuple[int, str]]:
    """pid → (parent pid, command line) of every process we can see (Linux /proc; empty elsewhere)."""
    found = {}
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
        found[int(entry.name)] = (parent, command)
    return found


def _descendants(pid: int, processes: dict[int, tuple[int, str]] | None = None) -> set[int]:
    processes = _processes() if processes is None else processes
    children: dict[int, list[int]] = {}
    for child, (parent, _) in processes.items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _browser_processes() -> set[int]:
    """Chromium main processes started below this process (a renderer or helper has `--type=`)."""
    processes = _processes()
    return {pid for pid in _descendants(os.getpid(), processes)
            if "--remote-debugging-pipe" in processes[pid][1] and "--type=" not in processes[pid][1]}


def _resident(pid: int) -> int:
    """A process's proportional set size (its share of every page it maps) in bytes; 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            line = next((line for line in rollup if line.startswith("Pss:")), "Pss: 0 kB")
    except OSError:
        return 0
    return int(line.split()[1]) * 1024


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _describe(exc: Any, url: str) -> FetchError:
    """A Playwright error as one line for users; network failures are transient, like the http fetcher's."""
    message = _first_line(exc)
    where = urlsplit(url).netloc
    if "Download is starting" in message:
        return FetchError(f"browser: {url} is a file download, not a page (a PDF? use `render: http`)")
    if "crash" in message.lower():
        return FetchError(f"browser: the page crashed at {where} (out of memory? see `browser.max_heap`)",
                          transient=True)
    if "net::ERR_" in message:
        code = message[message.index("net::ERR_"):].split()[0]
        return FetchError(f"browser: {code.removeprefix('net::')} loading {where}", transient=True)
    if "Timeout" in message:
        return FetchError(f"browser: timed out at {where}: {message}", transient=True)
    return FetchError(f"browser: {message}", transient=True)
