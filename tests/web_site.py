"""Test helpers for the web view: a database built by real checks of loopback policy pages, and `serve`
running on a free loopback port (the real CLI in a subprocess, or uvicorn in a thread).

    db = build_monitored_site(tmp_path, db_url)       # wemet v1→v2→v3, kids (with <script>), gone (404)
    with serve_process(db.config, db.url, env={"WEB_TOKEN": "…"}) as base:   # http://127.0.0.1:PORT
        ...
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.cli_runner import run_cli
from tests.conftest import Site, write_config
from tests.pages import edit, render_policy, seed_text

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = "<script>alert('pwned')</script>"
SHARING_BEFORE = "payment processors, SMS providers"
SHARING_AFTER = "payment processors, advertising partners, data brokers, SMS providers"


@dataclass
class MonitoredSite:
    config: Path
    url: str  # the database
    site: Site


def build_monitored_site(folder: Path, db_url: str, server: HTTPServer, **top: object) -> MonitoredSite:
    """Three sources checked three times by `check`, as a user would:

    - wemet: v2 adds recipients (sharing) and lowers the age threshold 18 → 13 (minors); v3 rewords a
      sentence outside the watched topics and reorders a list (a form-only edit);
    - kids: redirects to /kids/privacy-2026, whose v2 adds a sentence that *says*
      `<script>alert('pwned')</script>` (policy text to escape);
    - gone: 404 every time, so failing since the first check.
    """
    site = Site(server)
    wemet, kids = seed_text(2), seed_text(1)
    config = write_config(folder / "sources.yaml", sources=[
        {"name": "wemet", "url": site.url("/wemet")},
        {"name": "kids", "url": site.url("/kids")},
        {"name": "gone", "url": site.url("/gone")},
    ], **top)
    stages = [
        (wemet, kids),
        (edit(edit(wemet, SHARING_BEFORE, SHARING_AFTER), "under the age of 18", "under the age of 13"),
         edit(kids, "When you use our services", f"Our help page shows {SCRIPT} as an example. When you use our "
                                                 f"services")),
    ]
    v2 = stages[1][0]
    stages.append((edit(edit(v2, "top priority", "main concern"), "SMS providers, content review platforms",
                        "content review platforms, SMS providers"), stages[1][1]))
    site.set("/kids", "", status=301, Location=site.url("/kids/privacy-2026"))  # the policy moved
    for n, (w, k) in enumerate(stages):
        site.set("/wemet", render_policy(w, noise=n))
        site.set("/kids/privacy-2026", render_policy(k, noise=n))
        code, out, err = run_cli("--config", config, "--db", db_url, "check", "--json", "--no-deliver")
        assert code in (0, 1) and out, err  # 1: `gone` fails, by design
    return MonitoredSite(config, db_url, site)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_process(config: Path, db_url: str, *, env: dict[str, str] | None = None,
                  args: tuple[str, ...] = ()) -> Iterator[str]:
    """`policy-monitor serve --port 0` in a subprocess; yields its base URL once it listens."""
    environment = {**os.environ, "NO_COLOR": "1", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "--db", db_url, "serve", "--port", "0", *args],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = _wait_for_address(process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_address(process: subprocess.Popen, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            if process.poll() is not None:
                raise AssertionError(f"serve exited with {process.returncode}: {''.join(lines)}")
            continue
        lines.append(line)
        match = re.search(r"serving (http://\S+?)/ ", line)
        if match:
            threading.Thread(target=process.stderr.read, daemon=True).start()  # keep draining stderr
            return match.group(1)
    raise AssertionError(f"serve did not start: {''.join(lines)}")


@contextlib.contextmanager
def serve_thread(config: Path, db_url: str, *, token: str | None = None) -> Iterator[str]:
    """The same application in uvicorn on a thread of this process (faster to start than a subprocess)."""
    import uvicorn

    from monitor.config import load_config
    from monitor.store.database import Store
    from monitor.web.app import create_app

    store = Store(db_url, migrate=False, read_only=True)
    app = create_app(load_config(config), store, token=token)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        store.dispose()
