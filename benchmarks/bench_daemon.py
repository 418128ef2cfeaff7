"""Daemon throughput and memory: 500 loopback sources at 1-minute intervals, with time compressed.

Runs the real daemon (`python -m monitor run`) as a subprocess against loopback policy servers
(25 hosts, 20 sources each, realistic pages from the seed policies; one in ten sources gets a new
version every ten simulated minutes), with the schedule compressed by --factor: a 1-minute interval
becomes 60/factor seconds, the per-host delay 2 s becomes 2/factor. The compressed schedule asks
for more than the daemon can do, so it runs flat out and the rate it sustains is its capacity.
It reports:

- checks/minute sustained (real time), against the 500 checks/minute that 500 sources at
  1-minute intervals need;
- the daemon's RSS at the start and after the checks of a simulated hour (--hour: 500 × 60 =
  30,000 checks; the default, 6,000 checks = 12 simulated minutes, keeps `make bench` short).

    .venv/bin/python benchmarks/bench_daemon.py            # 6,000 checks
    .venv/bin/python benchmarks/bench_daemon.py --hour     # 30,000 checks: RSS after an hour's work
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import write_config  # noqa: E402
from tests.faulty_server import FaultyServer, RecordedRequest, Reply  # noqa: E402
from tests.pages import render_policy, seed_numbers, seed_text  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=25)
    parser.add_argument("--factor", type=float, default=10.0, help="schedule compression (10: 1 min → 6 s)")
    parser.add_argument("--minutes", type=float, default=12.0, help="simulated minutes of checks to run")
    parser.add_argument("--hour", action="store_true", help="run the checks of a simulated hour (60 minutes)")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if args.hour:
        args.minutes = 60.0
    target = int(args.sources * args.minutes)  # the checks that many minutes of the real schedule hold

    interval = 60.0 / args.factor
    seeds = seed_numbers()
    texts = {n: seed_text(n) for n in seeds}
    started = time.monotonic()

    def minute() -> int:
        return int((time.monotonic() - started) / interval)

    pages: dict[tuple[int, int], str] = {}

    def page_for(index: int) -> str:
        # one source in ten gets a new version every ten simulated minutes
        generation = minute() // 10 if index % 10 == 0 else 0
        key = (index, generation)
        if key not in pages:
            text = texts[seeds[index % len(seeds)]]
            if generation:
                text += f"\n\nThis policy was last reviewed in review cycle {generation}."
            pages[key] = render_policy(text, noise=index % 7)
        return pages[key]

    def serve(request: RecordedRequest) -> Reply:
        index = int(request.path.strip("/p"))
        return Reply(200, page_for(index), {"Content-Type": "text/html; charset=utf-8"})

    servers = [FaultyServer().start() for _ in range(args.hosts)]
    sources = []
    for i in range(args.sources):
        server = servers[i % args.hosts]
        server.handler(f"/p{i}", serve)
        sources.append({"name": f"s{i:04d}", "url": server.url(f"/p{i}"), "interval": f"{interval}s",
                        "timeout": "10s"})

    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp) / "sources.yaml", sources=sources,
                              daemon={"concurrency": args.concurrency, "per_host_delay": f"{2.0 / args.factor}s",
                                      "failure_threshold": 3, "heartbeat": "5s", "delivery_interval": "5s"},
                              fetch={"retries": 1, "backoff": "0.1s", "max_retry_after": "2s"})
        db_path = Path(tmp) / "bench.db"
        log = (Path(tmp) / "daemon.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "--db",
                                 f"sqlite:///{db_path}", "--log-format", "json", "run"],
                                stdout=subprocess.DEVNULL, stderr=log, env={**os.environ})
        try:
            time.sleep(3)
            started = time.monotonic()
            rss_start = rss_kib(proc.pid)
            samples = [(0.0, _checks(db_path), rss_start)]
            while samples[-1][1] < target:
                time.sleep(5.0)
                samples.append((time.monotonic() - started, _checks(db_path), rss_kib(proc.pid)))
                if proc.poll() is not None:
                    raise SystemExit(f"daemon exited with {proc.returncode}")
            rss_end = rss_kib(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            log.close()
            for server in servers:
                server.stop()
        conn = sqlite3.connect(db_path)
        outcomes = dict(conn.execute('select outcome, count(*) from "check" group by outcome').fetchall())
        versions = conn.execute("select count(*) from version").fetchone()[0]

    # sustained rate: from the first simulated minute on (the first minute is the start-up spread
    # of 500 never-checked sources, all of which store a first version)
    warm = next(((t, c) for t, c, _ in samples if c >= args.sources), samples[0][:2])
    end_t, end_c, _ = samples[-1]
    rate = (end_c - warm[1]) / max(end_t - warm[0], 1e-9) * 60  # checks per real minute
    by_outcome = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
    quarter = next(r for t, c, r in samples if c >= target / 4)
    print(f"sources: {args.sources} on {args.hosts} loopback hosts, 1-min interval compressed ×{args.factor:g} "
          f"({interval:g}s), concurrency {args.concurrency}")
    print(f"checks: {end_c} in {end_t:.0f}s ({by_outcome}), versions stored: {versions}")
    print(f"sustained: {rate:.0f} checks/min (500 sources at 1-min intervals need {args.sources}/min: "
          f"{rate / args.sources:.1f}× that)")
    print(f"daemon RSS: {rss_start / 1024:.0f} MiB at start, {quarter / 1024:.0f} MiB after a quarter, "
          f"{rss_end / 1024:.0f} MiB after {end_c} checks (= {end_c / args.sources:.0f} simulated minutes)")


def _checks(db_path: Path) -> int:
    try:
        with sqlite3.connect(db_path, timeout=10) as conn:
            return conn.execute('select count(*) from "check"').fetchone()[0]
    except sqlite3.Error:
        return 0


if __name__ == "__main__":
    main()
