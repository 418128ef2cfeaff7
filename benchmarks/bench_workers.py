"""Distributed mode throughput: checks per minute with 1, 2 and 4 worker processes on one PostgreSQL.

Runs the real processes (`python -m monitor worker` ×N and one `dispatcher`) on a fresh PostgreSQL
database against loopback policy servers (--hosts ports, realistic pages from the seed policies, no
ETag so every check downloads, normalizes and compares the whole page). By default 100 sources at
10 s intervals ask for 10 checks/s, about what a million policies a day need; a fleet that cannot
keep up skips beats (as the daemon does) and the rate it sustains is its capacity. The sources'
first versions are made before measuring (the steady state is mostly unchanged pages). For each
fleet size it reports, over a measured window after a warm-up:

- checks per minute (rows of `check` written in the window);
- CPU seconds per check of the workers, the dispatcher and the PostgreSQL backends serving this
  database (from /proc), and the database's share of the CPU used;
- the machine's load average, since the box may be shared.

Then the scale note: storage per check and per version (PostgreSQL's own sizes), and what the
measured CPU per check means for 100k and 1M policies checked once a day (1.2 and 11.6 checks/s).

    .venv/bin/python benchmarks/bench_workers.py                 # 1, 2, 4 workers, 30 s each
    .venv/bin/python benchmarks/bench_workers.py --workers 2 --seconds 60
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import write_config  # noqa: E402
from tests.pages import render_policy, seed_numbers, seed_text  # noqa: E402

ADMIN = os.environ.get("POLICY_MONITOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TICK = os.sysconf("SC_CLK_TCK")


def serve(pages: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = pages.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def backend_pids(url: str, db: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (db,))]


def count(url: str, query: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query).fetchone()[0]


class Fleet:
    """A dispatcher and N workers (`python -m monitor …` subprocesses) on one config and database."""

    def __init__(self, base: list[str], workers: int):
        env = {**os.environ, "POLICY_MONITOR_SHUTDOWN_GRACE": "5"}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
        self.procs = [subprocess.Popen([*base, "worker"], **quiet) for _ in range(workers)]
        self.procs.append(subprocess.Popen([*base, "dispatcher"], **quiet))

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()


def measure(workers: int, args, base: list[str], url: str, db: str) -> dict:
    fleet = Fleet(base, workers)
    try:
        # warm-up: every worker has started and finished a check (imports, model, pools), then a little more
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and count_safe(url, (
                "SELECT count(*) FROM worker WHERE role = 'worker' AND stopped_at IS NULL AND done > 0 "
                "AND started_at > now() - interval '10 minutes'")) < workers:
            time.sleep(0.5)
        time.sleep(args.warmup)
        pids = [p.pid for p in fleet.procs]
        dispatcher = fleet.procs[-1].pid
        backends = backend_pids(url, db)
        checks0 = count(url, 'SELECT count(*) FROM "check"')
        cpu0 = {pid: cpu_seconds(pid) for pid in pids + backends}
        clock0 = time.monotonic()
        time.sleep(args.seconds)
        checks1 = count(url, 'SELECT count(*) FROM "check"')
        elapsed = time.monotonic() - clock0
        backends_after = backend_pids(url, db)
        cpu1 = {pid: cpu_seconds(pid) for pid in pids + backends_after}
        load = os.getloadavg()[0]
    finally:
        fleet.stop()
    done = checks1 - checks0
    return {"workers": workers, "checks": done, "seconds": elapsed, "per_minute": done / elapsed * 60,
            "fleet_cpu": sum(cpu1[p] - cpu0.get(p, 0.0) for p in pids),
            "db_cpu": sum(cpu1[p] - cpu0.get(p, 0.0) for p in backends_after), "load": load,
            "dispatcher_cpu": cpu1[dispatcher] - cpu0[dispatcher]}


def sizes(url: str) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        out = {t: conn.execute(f"SELECT pg_total_relation_size('\"{t}\"')").fetchone()[0]
               for t in ("check", "version", "section", "procrastinate_jobs", "procrastinate_events")}
        out["checks"] = conn.execute('SELECT count(*) FROM "check"').fetchone()[0]
        out["versions"] = conn.execute("SELECT count(*) FROM version").fetchone()[0]
    return out


def count_safe(url: str, query: str) -> int:
    try:
        return count(url, query)
    except psycopg.Error:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--interval", type=float, default=10.0, help="every source's interval in seconds")
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=32, help="daemon.concurrency: the fleet's check slots")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window per fleet size")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after every worker's first check")
    args = parser.parse_args()

    numbers = seed_numbers()
    sources = []
    for h in range(args.hosts):
        pages = {f"/policy-{j}": render_policy(seed_text(numbers[j % len(numbers)]), noise=j).encode()
                 for j in range(h, args.sources, args.hosts)}
        port = serve(pages).server_address[1]
        sources += [{"name": f"s{j}", "url": f"http://127.0.0.1:{port}/policy-{j}", "interval": f"{args.interval:g}s"}
                    for j in range(h, args.sources, args.hosts)]

    demand = args.sources / args.interval
    print(f"{args.sources} sources on {args.hosts} loopback hosts at {args.interval:g} s intervals: {demand:g} "
          f"checks/s asked ({demand * 60:,.0f}/min; 1M policies/day is 11.6/s); {os.cpu_count()} CPUs; "
          f"{args.seconds:g} s measured per fleet size once every worker has checked",
          flush=True)
    db = f"bench_workers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    url = ADMIN.rsplit("/", 1)[0] + f"/{db}"
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
            config = write_config(Path(tmp) / "sources.yaml", sources=sources, daemon={
                "concurrency": args.concurrency, "per_host_delay": "0s", "heartbeat": "2s",
                "delivery_interval": "5s"})
            base = [sys.executable, "-m", "monitor", "--config", str(config), "--db",
                    url.replace("postgresql://", "postgresql+psycopg://"), "--log-format", "json"]
            # not measured: every source's first version (the steady state is mostly unchanged pages)
            clock = time.monotonic()
            fleet = Fleet(base, max(args.workers))
            try:
                while count_safe(url, "SELECT count(*) FROM version") < len(sources):
                    time.sleep(0.5)
            finally:
                fleet.stop()
            print(f"first versions of all {len(sources)} sources: {time.monotonic() - clock:.0f} s "
                  f"with {max(args.workers)} workers", flush=True)
            for n in args.workers:
                r = measure(n, args, base, url, db)
                results.append(r)
                per_check = (r["fleet_cpu"] + r["db_cpu"]) / max(r["checks"], 1)
                fleet_ms, db_ms, disp_ms = (r[k] / max(r["checks"], 1) * 1000
                                            for k in ("fleet_cpu", "db_cpu", "dispatcher_cpu"))
                share = r["db_cpu"] / max(r["fleet_cpu"] + r["db_cpu"], 1e-9)
                print(f"{n} worker{'s' * (n != 1)}: {r['per_minute']:6.0f} checks/min ({r['checks']} in "
                      f"{r['seconds']:.0f} s) · CPU per check {per_check * 1000:.1f} ms (workers "
                      f"{fleet_ms - disp_ms:.1f} ms, dispatcher {disp_ms:.1f} ms, PostgreSQL {db_ms:.1f} ms) "
                      f"· database CPU share {share:.0%} "
                      f"· load average {r['load']:.1f}", flush=True)
            stored = sizes(url)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')

    best = max(results, key=lambda r: r["per_minute"])
    cpu_per_check = (best["fleet_cpu"] + best["db_cpu"]) / max(best["checks"], 1)
    db_per_check = best["db_cpu"] / max(best["checks"], 1)
    check_bytes = stored["check"] / max(stored["checks"], 1)
    version_bytes = (stored["version"] + stored["section"]) / max(stored["versions"], 1)
    queue_bytes = (stored["procrastinate_jobs"] + stored["procrastinate_events"]) / max(stored["checks"], 1)
    print()
    print(f"scale note (CPU from the best run, {best['workers']} workers; storage from all "
          f"{stored['checks']:,} checks):")
    print(f"  CPU per check: {cpu_per_check * 1000:.1f} ms in all ({db_per_check * 1000:.1f} ms of it PostgreSQL)")
    print(f"  storage per check: {check_bytes:.0f} B of `check` history; engine tables {queue_bytes:.0f} B per "
          f"check of churn (jobs are deleted when done; autovacuum reclaims); per version: "
          f"{version_bytes / 1024:.1f} KiB (text, raw page, sections)")
    for per_day in (100_000, 1_000_000):
        rate = per_day / 86400
        cores = rate * cpu_per_check
        db_cores = rate * db_per_check
        print(f"  {per_day:>9,} policies/day = {rate:5.2f} checks/s: {cores:.2f} cores busy "
              f"({db_cores:.2f} of them PostgreSQL); 2-core machines at half load: "
              f"{max(1, math.ceil(cores / 1.0))}; check history "
              f"{rate * 86400 * check_bytes / 2**20:,.0f} MiB/day")


if __name__ == "__main__":
    main()
