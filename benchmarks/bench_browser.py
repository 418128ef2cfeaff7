"""Benchmark `render: browser`: renders per minute and the browser's peak memory with 4 renders at once.

    .venv/bin/python benchmarks/bench_browser.py [--renders 40] [--hosts 4] [--pool 4] [--words 3000]

Each host is a threaded loopback server on its own address (127.0.0.2 ... 127.0.0.N) serving a
single-page app: an HTML shell, a script bundle, an image, a font and a third-party tracker (all
three blocked by the pool), and the policy as JSON that the bundle builds into the DOM after load.
With one host per pool slot, `pool` renders run at once (the pool never renders two for one host).
Peak memory is the proportional set size (PSS: shared pages counted once) of the browser and all its
processes, sampled every 50 ms.
The servers run in a child process so their threads do not compete with the pool for the GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import json
import multiprocessing
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.capture.browser import BrowserPool, BrowserSettings, find_chromium  # noqa: E402
from monitor.capture.normalize import normalize  # noqa: E402

SHELL = (b"<!doctype html><html><head><meta charset=utf-8><script defer src='/main.js'></script>"
         b"<script src='http://127.0.0.1:9/tracker.js'></script>"
         b"<style>@font-face{font-family:x;src:url(/font.woff2)}</style></head>"
         b"<body><div id=root></div><img src='/hero.jpg'></body></html>")
APP = (b"fetch('/policy.json').then(r => r.json()).then(p => { let h = '<main><h1>' + p.title + '</h1>';"
       b" p.sections.forEach(s => { h += '<h2>' + s.h + '</h2>' + s.p.map(x => '<p>' + x + '</p>').join(''); });"
       b" document.getElementById('root').innerHTML = h + '</main>'; });")


def policy_json(words: int) -> bytes:
    sentence = "We share personal data with service providers and keep it for thirty days after you leave. "
    per_paragraph = 60
    paragraphs = [sentence * (per_paragraph // 15) for _ in range(max(1, words // per_paragraph))]
    sections = [{"h": f"{n + 1}. Section", "p": paragraphs[n::10]} for n in range(10)]
    return json.dumps({"title": "Privacy Policy", "sections": sections}).encode()


def serve(hosts: int, words: int, ready, stop) -> None:
    policy = policy_json(words)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            body, kind = {"/main.js": (APP, "application/javascript"), "/policy.json": (policy, "application/json"),
                          "/hero.jpg": (b"\xff\xd8" + b"\0" * 200_000, "image/jpeg"),
                          "/font.woff2": (b"\0" * 100_000, "font/woff2")}.get(path, (SHELL, "text/html"))
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    servers = [http.server.ThreadingHTTPServer((f"127.0.0.{2 + i}", 0), Handler) for i in range(hosts)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.send([f"http://{s.server_address[0]}:{s.server_address[1]}" for s in servers])
    stop.wait()


async def bench(bases: list[str], renders: int, pool: int) -> None:
    urls = [f"{bases[i % len(bases)]}/privacy/{i}" for i in range(renders)]
    peak = 0
    async with BrowserPool(BrowserSettings(pool=pool)) as browser:
        started = time.monotonic()
        warm = await browser.render(urls[0], timeout=60)  # the launch, measured apart from the renders
        launch = time.monotonic() - started
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, browser.memory() or 0)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        async def one(url: str) -> int:
            return len((await browser.render(url, timeout=60)).content)

        started = time.monotonic()
        sizes = await asyncio.gather(*(one(u) for u in urls))
        elapsed = time.monotonic() - started
        done.set()
        sampler.join()
    words = len(normalize(warm.text).split())
    print(f"chromium: {find_chromium()}; pool {pool}, {len(bases)} hosts, {renders} renders of a "
          f"{words}-word policy built by script ({statistics.mean(sizes) / 1024:.0f} KiB DOM each)")
    print(f"browser launch + first render: {launch:.2f} s")
    print(f"renders per minute: {renders / elapsed * 60:.0f}  ({elapsed:.2f} s for {renders}, "
          f"{elapsed * pool / renders:.2f} s per render in each of {pool} slots)")
    print(f"browser peak memory with {pool} concurrent renders: {peak / 2**20:.0f} MiB PSS "
          f"(browser + renderer + utility processes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=40)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--pool", type=int, default=4)
    parser.add_argument("--words", type=int, default=3000)
    args = parser.parse_args()
    if find_chromium() is None:
        sys.exit("no Chromium on the PATH: run `make chromium`")
    ready, ready_in = multiprocessing.Pipe()
    stop = multiprocessing.Event()
    child = multiprocessing.Process(target=serve, args=(args.hosts, args.words, ready_in, stop), daemon=True)
    child.start()
    try:
        asyncio.run(bench(ready.recv(), args.renders, args.pool))
    finally:
        stop.set()
        child.join(5)


if __name__ == "__main__":
    main()
