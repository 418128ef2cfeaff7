"""Wall time of one `check` pass over 200 loopback sources (first pass: all new; second: all unchanged).

20 loopback hosts (127.0.0.11–127.0.0.30) serve 10 seed-based policy pages each, so the fetcher's
one-request-per-host rule is exercised as with real sites. Usage: .venv/bin/python benchmarks/bench_check.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from loopback import serve_pages  # noqa: E402 (this folder: a script's own folder is on sys.path)

from monitor.config import parse_config  # noqa: E402
from monitor.pipeline import check_all  # noqa: E402
from monitor.store.database import Store  # noqa: E402
from tests.pages import render_policy, seed_text  # noqa: E402

HOSTS, PER_HOST = 20, 10
PAGES = [render_policy(seed_text(i % 5), noise=0).encode() for i in range(5)]


def _page(path: str) -> bytes:
    return PAGES[int(path.rsplit("/", 1)[-1]) % len(PAGES)]


def main() -> None:
    servers = []
    for h in range(HOSTS):
        server = serve_pages(_page, host=f"127.0.0.{11 + h}")
        servers.append(server)
    lines = ["daemon: {concurrency: 32, per_host_delay: 0s}", "sources:"]
    for h, server in enumerate(servers):
        host, port = server.server_address
        for i in range(PER_HOST):
            lines += [f"  - name: s{h}-{i}", f"    url: http://{host}:{port}/policy/{h * PER_HOST + i}"]
    config = parse_config("\n".join(lines) + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        for label in ("first pass (200 new versions)", "second pass (200 unchanged)"):
            started = time.perf_counter()
            results = asyncio.run(check_all(config.sources, config=config, store=store))
            wall = time.perf_counter() - started
            statuses = statistics.multimode(r.status for r in results)
            print(f"check over {len(results)} loopback sources, {label}: {wall:.2f} s wall "
                  f"({len(results) / wall:.0f} sources/s; status {statuses})")
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    main()
