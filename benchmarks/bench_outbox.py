"""Benchmark of the alerts outbox on loopback: latency from a detected change to a delivered webhook,
and deliveries per second with 1,000 pending alerts to a local receiver.

Usage:
    .venv/bin/python benchmarks/bench_outbox.py              # both numbers
    .venv/bin/python benchmarks/bench_outbox.py --alerts 5000 --changes 50

Latency: a real `check_source` run (loopback policy page, seed 002, an age threshold edited each
round) commits the new version and its alert; the clock starts when that check returns and stops when
the delivery pass (as `policy-monitor check` makes) has the receiver's 200 for the signed webhook.
Throughput: N alerts queued in the outbox, one `deliver_pending` pass, signed POSTs to a minimal
keep-alive HTTP receiver on 127.0.0.1 in its own process; SQLite database in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_httpserver import HTTPServer  # noqa: E402
from sqlmodel import Session  # noqa: E402
from werkzeug import Response  # noqa: E402

from monitor.capture.fetch import Fetcher  # noqa: E402
from monitor.config import parse_config  # noqa: E402
from monitor.notify.delivery import deliver_pending  # noqa: E402
from monitor.notify.outbox import alert_id, envelope  # noqa: E402
from monitor.pipeline import check_source, fetch_settings  # noqa: E402
from monitor.store.database import Alert, Store  # noqa: E402
from tests.pages import edit, render_policy, seed_text  # noqa: E402

SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


def _serve(port_queue, count) -> None:
    """The receiver process: a minimal HTTP/1.1 keep-alive server answering 200 to every POST."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                with count.get_lock():
                    count.value += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(client, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        await asyncio.sleep(3600)  # ended by the parent (terminate) well before this

    asyncio.run(main())


class Receiver:
    """A webhook receiver in its own process, as a real one would be (werkzeug's threaded dev server
    tops out near 70 requests/s here and, in-process, would share the outbox's interpreter lock)."""

    def __init__(self) -> None:
        self.count = multiprocessing.Value("i", 0)
        ports: multiprocessing.Queue = multiprocessing.Queue()
        self.process = multiprocessing.Process(target=_serve, args=(ports, self.count), daemon=True)
        self.process.start()
        self.port = ports.get(timeout=30)

    @property
    def received(self) -> int:
        return self.count.value

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


def config_text(hook: str, page: str) -> str:
    return f"""
daemon: {{concurrency: 8, per_host_delay: 0s}}
fetch: {{retries: 0}}
channels:
  siem: {{type: webhook, url: "{hook}", secret_env: BENCH_WEBHOOK_SECRET}}
sources:
  - {{name: wemet, url: "{page}"}}
"""


def latency(rounds: int, folder: Path, receiver: Receiver) -> list[float]:
    site = HTTPServer(host="127.0.0.1", port=0)
    text = seed_text(2)
    current = {"html": render_policy(text)}
    site.expect_request("/privacy").respond_with_handler(
        lambda _r: Response(current["html"], headers={"Content-Type": "text/html; charset=utf-8"}))
    site.start()
    config = parse_config(config_text(receiver.url, site.url_for("/privacy")))
    store = Store(f"sqlite:///{folder / 'latency.db'}")
    samples = []

    async def run() -> None:
        async with Fetcher(fetch_settings(config)) as fetcher:
            await check_source(config.sources[0], config=config, store=store, fetcher=fetcher)  # baseline
            for age in range(19, 19 + rounds):  # each a new age, never back to 18 (a blink back is no alert)
                current["html"] = render_policy(edit(text, "under the age of 18", f"under the age of {age}"))
                before = receiver.received
                result = await check_source(config.sources[0], config=config, store=store, fetcher=fetcher)
                detected = time.perf_counter()
                if not result.alert_topics:
                    raise SystemExit(f"round {age}: the change was not alert-worthy ({result.status}); "
                                     "is the diff/significance stage in place?")
                report = await deliver_pending(store, config)
                delivered = time.perf_counter()  # the receiver has answered 200
                if report.delivered != 1 or receiver.received != before + 1:
                    raise SystemExit("the webhook did not arrive")
                samples.append(delivered - detected)

    try:
        asyncio.run(run())
    finally:
        site.stop()
        store.dispose()
    return samples


def throughput(count: int, folder: Path, receiver: Receiver) -> tuple[float, int]:
    config = parse_config(config_text(receiver.url, "https://example.org/privacy"))
    store = Store(f"sqlite:///{folder / 'throughput.db'}")
    change = {"section": "5. Protection of Minors", "kind": "modified", "topics": ["minors"], "severity": "high",
              "summary": "age threshold 18 → 13", "before": "We prohibit minors under the age of 18 from registering.",
              "after": "We prohibit minors under the age of 13 from registering."}
    with Session(store.engine) as session:
        for i in range(count):
            data = {"source": "wemet", "url": "https://example.org/privacy", "version": i + 2,
                    "previous_version": i + 1, "topics": ["minors"], "severity": "high", "changes": [change],
                    "more_changes": 0, "diff_command": f"policy-monitor diff wemet {i + 1} {i + 2}"}
            session.add(Alert(channel="siem", event_type="policy.changed",
                              idempotency_key=alert_id("bench", i), payload=envelope("policy.changed", data)))
        session.commit()
    before = receiver.received
    start = time.perf_counter()
    report = asyncio.run(deliver_pending(store, config))
    seconds = time.perf_counter() - start
    store.dispose()
    if report.delivered != count or receiver.received - before != count:
        raise SystemExit(f"only {report.delivered} of {count} delivered")
    return count / seconds, report.delivered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000, help="pending alerts for the throughput run")
    parser.add_argument("--changes", type=int, default=20, help="detected changes for the latency run")
    args = parser.parse_args()
    os.environ["BENCH_WEBHOOK_SECRET"] = SECRET
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    receiver = Receiver()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            samples = sorted(latency(args.changes, Path(tmp), receiver))
            rate, delivered = throughput(args.alerts, Path(tmp), receiver)
    finally:
        receiver.stop()
    ms = [s * 1000 for s in samples]
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    print(f"change detected → signed webhook delivered (loopback, {len(ms)} changes): "
          f"median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms")
    print(f"outbox throughput: {delivered} pending alerts delivered in one pass at {rate:,.0f} deliveries/s "
          f"(signed webhooks, SQLite, concurrency 8)")


if __name__ == "__main__":
    main()
