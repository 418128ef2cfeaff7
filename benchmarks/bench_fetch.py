"""Benchmark the fetcher: 200 loopback policy pages spread over distinct hosts (127.0.0.x), fetched concurrently.

    .venv/bin/python benchmarks/bench_fetch.py [--urls 200] [--hosts 50] [--per-host-delay 0.0] [--kb 60]

Each host is its own FaultyServer on its own loopback address, so the fetcher's per-host turns are
exercised as in real life (several sources on one site are fetched one after another). The servers
run in a child process so their threads do not compete with the fetcher for this process's GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.connection
import multiprocessing.synchronize
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.capture.fetch import Fetcher, FetchResult, FetchSettings  # noqa: E402
from monitor.errors import FetchError  # noqa: E402
from tests.faulty_server import FaultyServer  # noqa: E402


def policy_page(n: int, kilobytes: int) -> str:
    paragraph = f"<p>Section {n}: we share personal data with service providers and keep it for 30 days.</p>\n"
    return "<html><body><main><h1>Privacy Policy</h1>\n" + paragraph * (kilobytes * 1024 // len(paragraph)) + \
        "</main></body></html>"


async def fetch_all(urls: list[str], settings: FetchSettings) -> list[FetchResult | BaseException]:
    async with Fetcher(settings) as fetcher:
        return await asyncio.gather(*(fetcher.fetch(url, timeout=10) for url in urls), return_exceptions=True)


def serve(hosts: int, count: int, kilobytes: int, urls_out: multiprocessing.connection.Connection,
          stop: multiprocessing.synchronize.Event) -> None:
    """Child process: start the loopback hosts, send back the page URLs, serve until told to stop."""
    try:
        servers = [FaultyServer(host=f"127.0.0.{n + 1}").start() for n in range(hosts)]
    except OSError:  # only 127.0.0.1 is loopback here (macOS): distinct ports are distinct hosts too
        servers = [FaultyServer().start() for _ in range(hosts)]
    urls = []
    for n in range(count):
        server = servers[n % len(servers)]
        server.page(f"/privacy/{n}", policy_page(n, kilobytes), etag=True)
        urls.append(server.url(f"/privacy/{n}"))
    urls_out.send(urls)
    stop.wait()
    for server in servers:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=50, help="distinct loopback hosts (max 250)")
    parser.add_argument("--per-host-delay", type=float, default=0.0)
    parser.add_argument("--kb", type=int, default=60, help="size of each page in KiB")
    args = parser.parse_args()
    hosts = max(1, min(args.hosts, 250))

    receive, send = multiprocessing.Pipe(duplex=False)
    stop = multiprocessing.Event()
    child = multiprocessing.Process(target=serve, args=(hosts, args.urls, args.kb, send, stop), daemon=True)
    child.start()
    try:
        urls = receive.recv()
        settings = FetchSettings(retries=1, backoff=0.1, per_host_delay=args.per_host_delay)
        started = time.perf_counter()
        outcomes = asyncio.run(fetch_all(urls, settings))
        wall = time.perf_counter() - started
    finally:
        stop.set()
        child.join(timeout=10)

    failures = [o for o in outcomes if isinstance(o, BaseException)]
    fetched = [o for o in outcomes if isinstance(o, FetchResult)]
    megabytes = sum(len(r.content) for r in fetched) / 1e6
    print(f"fetched {len(fetched)}/{len(urls)} URLs over {hosts} hosts "
          f"({megabytes:.1f} MB, per-host delay {args.per_host_delay}s) in {wall:.2f}s wall")
    for failure in failures[:5]:
        print(f"  failed: {failure if isinstance(failure, FetchError) else repr(failure)}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
