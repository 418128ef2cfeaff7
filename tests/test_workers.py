"""The distributed mode with real parts: a dispatcher and worker processes (the CLI as subprocesses) on a
fresh PostgreSQL database, loopback policy servers whose request logs are the evidence, a loopback webhook
receiver, `kill -9`, and `migrate-db` from a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from tests.alert_helpers import SECRET, Receiver
from tests.conftest import write_config
from tests.pages import render_policy, seed_text
from tests.test_daemon import wait_for as _wait_for

POLICY = render_policy(seed_text(4))
CHANGED = POLICY.replace("under the age of 13", "under the age of 16")
WAIT = 60.0  # upper bound of each wait (processes start slowly on a loaded 2-core box); most return in seconds


def wait_for(condition: Callable[[], object], what: str, timeout: float = WAIT) -> object:
    return _wait_for(condition, timeout=timeout, what=what)


# -- a loopback policy server that logs when each request started and ended -------------------------

@dataclass
class Hit:
    path: str
    start: float                  # time.monotonic(): for spacing between requests
    end: float | None = None
    answered: bool = False
    wall: float = field(default_factory=time.time)  # time.time(): to match a request to its check's row


class PolicyServer:
    """Serves one page per path on `host`; `hang_next(path)` holds that path's next request until released."""

    def __init__(self, host: str = "127.0.0.1"):
        self.pages: dict[str, str] = {}
        self.hits: list[Hit] = []
        self._hang: set[str] = set()
        self.release = threading.Event()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 — the stdlib's name
                hit = Hit(self.path, time.monotonic())
                with owner._lock:
                    owner.hits.append(hit)
                    body = owner.pages.get(self.path)
                    hang = self.path in owner._hang
                    owner._hang.discard(self.path)
                if hang:
                    owner.release.wait(WAIT)
                try:
                    if body is None:
                        self.send_error(404)
                    else:
                        data = body.encode()
                        self.send_response(200)
                        self.send_header("Content-Type", "text/html; charset=utf-8")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        hit.answered = True
                except OSError:  # the client is gone (killed mid-check)
                    pass
                hit.end = time.monotonic()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.host = host
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}{path}"

    def hang_next(self, path: str) -> None:
        with self._lock:
            self._hang.add(path)

    def hits_to(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def policy_server() -> Iterator[PolicyServer]:
    srv = PolicyServer()
    yield srv
    srv.close()


# -- the fleet as real processes ------------------------------------------------------------------

class Fleet:
    """`policy-monitor worker` / `dispatcher` subprocesses with JSON logs, on one config and database."""

    def __init__(self, config: Path, db: str, tmp: Path, grace: float = 10.0):
        self.config, self.db, self.tmp = config, db, tmp
        self.grace = grace  # POLICY_MONITOR_SHUTDOWN_GRACE: how long a stopping worker lets its checks finish
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, role: str) -> subprocess.Popen:
        log = self.tmp / f"{role}-{len(self.procs)}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(self.config), "--db", self.db, "--log-format", "json",
             role], stdout=subprocess.DEVNULL, stderr=log.open("wb"),
            env={**os.environ, "TEST_WEBHOOK_SECRET": SECRET, "POLICY_MONITOR_SHUTDOWN_GRACE": str(self.grace)})
        self.procs.append((role, proc, log))
        return proc

    def lines(self, proc: subprocess.Popen) -> list[dict]:
        log = next(path for _, p, path in self.procs if p is proc)
        out = []
        for raw in log.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(raw))
            except json.JSONDecodeError:
                out.append({"msg": raw})
        return out

    def checks(self, proc: subprocess.Popen) -> list[dict]:
        return [line for line in self.lines(proc) if "outcome" in line]

    def stop_all(self, timeout: float = WAIT) -> list[int | None]:
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        return [proc.wait(timeout) for _, proc, _ in self.procs]

    def kill_all(self) -> None:
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def fleet_for(postgres_url: str, tmp_path: Path) -> Iterator[Callable[..., Fleet]]:
    made: list[Fleet] = []

    def make(config: Path, **options: float) -> Fleet:
        made.append(Fleet(config, postgres_url, tmp_path, **options))
        return made[-1]

    yield make
    for fleet in made:
        fleet.kill_all()


def sql(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def allow_connections(admin_url: str, database: str, allowed: bool) -> None:
    """Open or close a database to new connections (ALTER DATABASE … ALLOW_CONNECTIONS), as an outage would."""
    with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')


def status(config: Path, db: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "--db", db, "status", "--json"],
                         capture_output=True, text=True, timeout=WAIT)
    return json.loads(out.stdout)


def workers_ready(db: str, n: int) -> bool:
    try:
        return sql(db, "SELECT count(*) FROM worker WHERE role = 'worker' AND stopped_at IS NULL "
                       "AND engine_id IS NOT NULL")[0][0] >= n
    except psycopg.errors.UndefinedTable:
        return False


def fleet_daemon(**overrides: object) -> dict:
    return {"concurrency": 4, "per_host_delay": "0.3s", "heartbeat": "1s", "delivery_interval": "1s",
            "failure_threshold": 3, **overrides}


# -- tests ----------------------------------------------------------------------------------------

def test_a_dispatcher_and_two_workers_check_each_source_once_per_interval_never_two_at_once(
        policy_server: PolicyServer, fleet_for, postgres_url: str, tmp_path: Path) -> None:
    names = ["a", "b", "c", "d"]
    for i, name in enumerate(names):
        policy_server.pages[f"/{name}"] = render_policy(seed_text(i + 1))
    config = write_config(tmp_path / "sources.yaml", daemon=fleet_daemon(),
                          sources=[{"name": n, "url": policy_server.url(f"/{n}"), "interval": "5s"} for n in names])
    fleet = fleet_for(config)
    # two workers at once on an empty database: both set up the schema, one at a time (advisory lock)
    workers = [fleet.start("worker"), fleet.start("worker")]
    wait_for(lambda: workers_ready(postgres_url, 2), what="two workers registered")
    dispatcher = fleet.start("dispatcher")

    wait_for(lambda: all(len(policy_server.hits_to(f"/{n}")) >= 3 for n in names),
             what="three checks of every source")
    report = status(config, postgres_url)
    codes = fleet.stop_all()

    assert codes == [0, 0, 0], [fleet.lines(p)[-3:] for p in (*workers, dispatcher)]
    # each request the server saw was made by one recorded check, within it, in order …
    checks = sql(postgres_url, 'SELECT s.name, c.started_at, c.duration_ms FROM "check" c '
                               "JOIN source s ON s.id = c.source_id ORDER BY s.name, c.started_at")
    for name in names:
        mine = [(at.timestamp(), ms / 1000) for n, at, ms in checks if n == name]
        hits = policy_server.hits_to(f"/{name}")
        assert len(mine) == len(hits), (name, len(mine), len(hits))
        assert all(start - 0.1 <= hit.wall <= start + took + 0.1 for (start, took), hit in zip(mine, hits, strict=True))
        # … and the checks of a source start once per interval: never sooner than the interval less its jitter
        # (10% of 5 s), and no beat missed (two intervals apart; a loaded CI box delays runs, it must not skip)
        gaps = [b[0] - a[0] for a, b in zip(mine, mine[1:], strict=False)]
        assert all(5 * 0.9 - 0.05 <= gap < 2 * 5 * 0.9 for gap in gaps), (name, gaps)
    # never two requests to this host at once, across both workers, and per_host_delay between them
    hits = sorted(policy_server.hits, key=lambda h: h.start)
    assert all(h.end is not None for h in hits)
    pauses = [b.start - a.end for a, b in zip(hits, hits[1:], strict=False)]
    assert min(pauses) >= 0.3 - 0.05, pauses
    assert sql(postgres_url, "SELECT count(*) FROM version")[0][0] == len(names)
    # the work was shared, and `status` saw the fleet and the queue
    assert all(fleet.checks(w) for w in workers), "each worker checked some sources"
    roles = sorted((w["role"], w["state"]) for w in report["workers"])
    assert roles == [("dispatcher", "running"), ("worker", "running"), ("worker", "running")]
    assert {"due", "running", "failed"} <= set(report["queue"])
    assert report["fleet_problems"] == []
    # with the fleet stopped, `status` says nothing queues the scheduled sources, and fails for cron and Nagios
    stalled = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "--db", postgres_url,
                              "status"], capture_output=True, text=True, timeout=WAIT)
    assert stalled.returncode == 1, stalled.stderr
    assert "no dispatcher running: nothing is being queued" in stalled.stdout
    assert all(line.get("level") != "error" for p in (*workers, dispatcher) for line in fleet.lines(p))
    # back to one plain daemon on the same database: it checks the sources, so the stopped fleet is no stall
    daemon = fleet.start("run")
    try:
        wait_for(lambda: status(config, postgres_url)["daemon"]["state"] == "running", what="the daemon's heartbeat")
        calm = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "--db", postgres_url,
                               "status", "--json"], capture_output=True, text=True, timeout=WAIT)
        assert json.loads(calm.stdout)["fleet_problems"] == [] and calm.returncode == 0, calm.stdout[-500:]
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(WAIT)


def test_one_dispatcher_leads_after_the_leaders_connection_drops_and_both_outlive_a_database_restart(
        policy_server: PolicyServer, fleet_for, postgres_url: str, tmp_path: Path) -> None:
    policy_server.pages["/a"] = render_policy(seed_text(1))
    config = write_config(tmp_path / "sources.yaml", daemon=fleet_daemon(),
                          sources=[{"name": "a", "url": policy_server.url("/a"), "interval": "5s"}])
    fleet = fleet_for(config)
    first = fleet.start("dispatcher")

    def said(proc, words: str) -> int:
        return sum(words in line.get("msg", "") for line in fleet.lines(proc))

    wait_for(lambda: said(first, "leads: queueing"), what="the first dispatcher leading")
    second = fleet.start("dispatcher")
    wait_for(lambda: said(second, "standing by"), what="the second standing by")

    def holders() -> int:
        return sql(postgres_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 727276 "
                                 "AND granted")[0][0]

    def leads(proc) -> int:  # 1 while it leads: each time it stood down (its connection lost, an outage) it said so
        return said(proc, "leads: queueing") - said(proc, "standing down")

    def leaders() -> int:
        return leads(first) + leads(second)

    # the leader's lock connection alone dies (as a network blip or an idle timeout drops it): the lock goes with
    # it, the standby takes it, and the old leader notices and stands down instead of leading beside it
    sql(postgres_url, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                      "AND objid = 727276 AND granted")
    wait_for(lambda: said(first, "lost its connection"), what="the old leader standing down")
    wait_for(lambda: holders() == 1 and leaders() == 1, what="exactly one leader")
    # every connection of the database dies, as when the server restarts: nobody exits, one leads again
    name = postgres_url.rsplit("/", 1)[1]
    sql(postgres_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                      "AND pid <> pg_backend_pid()", name)
    wait_for(lambda: holders() == 1 and leaders() == 1, timeout=60, what="one leader after the restart")
    assert first.poll() is None and second.poll() is None
    assert fleet.stop_all() == [0, 0]


def test_a_worker_and_a_dispatcher_wait_out_a_database_outage_and_go_on_checking(
        policy_server: PolicyServer, fleet_for, postgres_url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("POLICY_MONITOR_DB_WAIT", "2")  # the queue's pool gives up on the database after 2 s
    policy_server.pages["/a"] = render_policy(seed_text(1))
    config = write_config(tmp_path / "sources.yaml", daemon=fleet_daemon(),
                          sources=[{"name": "a", "url": policy_server.url("/a"), "interval": "2s"}])
    fleet = fleet_for(config)
    worker = fleet.start("worker")
    wait_for(lambda: workers_ready(postgres_url, 1), what="the worker registered")
    dispatcher = fleet.start("dispatcher")
    wait_for(lambda: len(policy_server.hits_to("/a")) >= 2, what="two checks")

    name = postgres_url.rsplit("/", 1)[1]
    admin = postgres_url.rsplit("/", 1)[0] + "/postgres"
    allow_connections(admin, name, False)
    sql(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", name)
    try:
        time.sleep(8)  # four times the pool's wait: the engine's worker gives up on the database meanwhile
        assert worker.poll() is None and dispatcher.poll() is None
    finally:
        allow_connections(admin, name, True)
    checked = len(policy_server.hits_to("/a"))
    wait_for(lambda: len(policy_server.hits_to("/a")) >= checked + 2, what="checks again after the outage")

    # the listener alone loses its connection (the engine's LISTEN session): the engine stops, another starts
    sql(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND query LIKE 'LISTEN%%'",
        name)
    wait_for(lambda: any("listener" in line.get("msg", "") for line in fleet.lines(worker)),
             what="the worker saying its listener failed")
    checked = len(policy_server.hits_to("/a"))
    wait_for(lambda: len(policy_server.hits_to("/a")) >= checked + 2, what="checks again after the listener")

    assert fleet.stop_all() == [0, 0]
    lines = [line for p in (worker, dispatcher) for line in fleet.lines(p)]
    said = [line.get("msg", "") for line in lines]
    assert any(m.startswith("database unavailable (") and not m.startswith("database unavailable (Connector")
               for m in said), said
    # one JSON line each, no traceback, and an outage said once a minute, not at every try
    assert all("ts" in line and "exc" not in line for line in lines), [ln for ln in lines if "exc" in ln][:3]
    assert sum(m.startswith("heartbeat not written") for m in said) <= 2


def test_a_worker_killed_mid_check_loses_no_version_and_duplicates_no_alert(
        policy_server: PolicyServer, fleet_for, postgres_url: str, tmp_path: Path) -> None:
    slow_host = PolicyServer("127.0.0.2")  # its own host, so its hung request holds no other source's turn
    receiver = Receiver().start()
    try:
        names = {"s1": slow_host, "s2": policy_server, "s3": policy_server}
        for name, srv in names.items():
            srv.pages[f"/{name}"] = POLICY
        config = write_config(
            tmp_path / "sources.yaml", daemon=fleet_daemon(), delivery={"backoff": "0.05s", "max_backoff": "0.2s"},
            channels={"hook": {"type": "webhook", "url": receiver.url, "secret_env": "TEST_WEBHOOK_SECRET"}},
            sources=[{"name": n, "url": srv.url(f"/{n}"), "interval": "3s"} for n, srv in names.items()])
        fleet = fleet_for(config, grace=1.0)
        fleet.start("worker")
        fleet.start("worker")
        wait_for(lambda: workers_ready(postgres_url, 2), what="two workers registered")
        fleet.start("dispatcher")
        wait_for(lambda: sql(postgres_url, "SELECT count(*) FROM version")[0][0] == 3, what="first versions")

        # the policies change; s1's next request hangs: whichever worker takes it is killed mid-check
        for name, srv in names.items():
            srv.hang_next(f"/{name}") if name == "s1" else None
            srv.pages[f"/{name}"] = CHANGED
        owner = wait_for(lambda: (sql(postgres_url, "SELECT lock_owner FROM source WHERE name = 's1'")[0][0]
                                  if any(h.end is None for h in slow_host.hits_to("/s1")) else None),
                         what="a worker fetching s1")
        pid = int(owner.rpartition(":")[2])
        os.kill(pid, signal.SIGKILL)
        killed = next(proc for _, proc, _ in fleet.procs if proc.pid == pid)
        killed.wait(WAIT)
        slow_host.release.set()

        # the job comes back to the other worker; every change is stored and alerted exactly once
        wait_for(lambda: sql(postgres_url, "SELECT count(*) FROM alert WHERE status = 'delivered'")[0][0] == 3
                 and len(receiver.received) >= 3, what="three alerts delivered")
        time.sleep(1.5)  # room for a duplicate to show up, were there one
        versions = sql(postgres_url, "SELECT s.name, v.seq FROM version v JOIN source s ON s.id = v.source_id "
                                     "ORDER BY s.name, v.seq")
        alerts = sql(postgres_url, "SELECT idempotency_key, status, event_type FROM alert ORDER BY id")
        report = status(config, postgres_url)

        # SIGTERM to the last worker in the middle of a check: past the grace period (1 s here) the check is
        # cancelled, writes nothing, and its job goes back to the queue for the next worker
        survivor, dispatcher = [proc for _, proc, _ in fleet.procs if proc is not killed]
        policy_server.hang_next("/s2")
        wait_for(lambda: any(h.end is None for h in policy_server.hits_to("/s2")), what="the last worker fetching s2")
        survivor.send_signal(signal.SIGTERM)
        codes = [survivor.wait(WAIT)]
        handed_back = sql(postgres_url, "SELECT status, attempts FROM procrastinate_jobs WHERE lock = 'source:s2'")
        policy_server.release.set()
        dispatcher.send_signal(signal.SIGTERM)
        codes.append(dispatcher.wait(WAIT))
    finally:
        receiver.stop()
        slow_host.close()

    assert killed.returncode == -signal.SIGKILL
    assert versions == [(n, seq) for n in ("s1", "s2", "s3") for seq in (1, 2)]
    assert [a[1:] for a in alerts] == [("delivered", "policy.changed")] * 3
    ids = [r.headers.get("webhook-id") or r.headers.get("Webhook-Id") for r in receiver.received]
    assert sorted(ids) == sorted(a[0] for a in alerts), "each alert sent once, none twice"
    assert codes == [0, 0]
    assert handed_back == [("todo", 1)], "the interrupted check is queued again"
    # the killed worker's request for s1 was cut; its check was done again, by the other worker
    assert [h.answered for h in slow_host.hits_to("/s1")][:2] == [True, False]
    assert sql(postgres_url, "SELECT lock_owner FROM source WHERE lock_owner IS NOT NULL") == []
    assert all(w["pid"] != pid for w in report["workers"]), "the dead worker was reaped"


def test_migrate_db_copies_a_sqlite_history_into_postgresql_resumes_and_refuses_other_data(
        policy_server: PolicyServer, cli, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.store import copy as copy_module
    from monitor.store.database import Store

    policy_server.pages["/p"] = POLICY
    config = write_config(tmp_path / "sources.yaml", sources=[{"name": "p", "url": policy_server.url("/p")}],
                          channels={"hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}})
    sqlite_url = f"sqlite:///{tmp_path / 'monitor.db'}"
    assert cli("--config", config, "--db", sqlite_url, "check").exit_code == 0
    policy_server.pages["/p"] = CHANGED
    assert cli("--config", config, "--db", sqlite_url, "check", "--no-deliver").exit_code == 0

    # sections a release before sections were derived on read stored with version 1 (a check stores none)
    with Store(sqlite_url).engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("INSERT INTO section (version_id, position, key, title, level, path, text, topics) "
                          "VALUES (1, 0, 'a', 'A', 1, 'A', 'first', NULL), (1, 1, 'b', 'B', 1, 'B', 'second', NULL)"))
    # an interruption in the middle of the copy (after the first row of `section`) …
    monkeypatch.setattr(copy_module, "BATCH", 1)

    def interrupt(table: str, copied: int) -> None:
        if table == "section":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copy_module.copy_database(Store(sqlite_url, read_only=True), Store(postgres_url), progress=interrupt)
    monkeypatch.setattr(copy_module, "BATCH", 500)
    # … is finished by running the command again, and the counts agree table by table
    again = cli("migrate-db", "--from", sqlite_url, "--to", postgres_url)
    assert again.exit_code == 0, again.stderr
    assert "counts verified" in again.stdout and "MISMATCH" not in again.stdout
    for table in ("source", "version", "section", "change", "check", "alert"):
        quoted = f'"{table}"'
        with Store(sqlite_url, read_only=True).engine.connect() as conn:
            from sqlalchemy import text

            expected = conn.execute(text(f"SELECT count(*) FROM {quoted}")).scalar()
        assert sql(postgres_url, f"SELECT count(*) FROM {quoted}")[0][0] == expected > 0, table
    # the history reads the same from both databases
    history = [cli("--config", config, "--db", url, "history", "p", "--json").json()
               for url in (sqlite_url, postgres_url)]
    assert history[0] == history[1] and len(history[0]) == 2
    # a re-run is harmless (nothing left to copy), even after `renormalize` rewrote the source's texts and dropped
    # its stored sections in place (no row was added on either side); new rows go on after the copied ids
    assert cli("--config", config, "--db", sqlite_url, "renormalize").exit_code == 0
    rerun = cli("migrate-db", "--from", sqlite_url, "--to", postgres_url)
    assert rerun.exit_code == 0 and "used since the copy" not in rerun.stderr, rerun.stderr
    assert cli("--config", config, "--db", postgres_url, "check", "--no-deliver").exit_code == 0
    # once the target is in use (a check wrote to it), a re-run would copy the source's later rows into a history
    # that went on without them: refused, the target untouched
    policy_server.pages["/p"] = POLICY
    assert cli("--config", config, "--db", sqlite_url, "check", "--no-deliver").exit_code == 0
    versions = sql(postgres_url, "SELECT count(*) FROM version")[0][0]
    diverged = cli("migrate-db", "--from", sqlite_url, "--to", postgres_url)
    assert diverged.exit_code != 0
    assert "of table 'check'" in diverged.stderr and "has been used since the copy" in diverged.stderr
    assert sql(postgres_url, "SELECT count(*) FROM version")[0][0] == versions
    # another database's history is refused unless --force
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert cli("--config", config, "--db", other, "check").exit_code == 0
    refused = cli("migrate-db", "--from", other, "--to", postgres_url)
    assert refused.exit_code != 0 and "already holds policy-monitor data" in refused.stderr
    forced = cli("migrate-db", "--from", other, "--to", postgres_url, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert sql(postgres_url, "SELECT count(*) FROM version")[0][0] == 1


def test_worker_and_dispatcher_refuse_sqlite_with_a_clear_error(cli, tmp_path: Path) -> None:
    config = write_config(tmp_path / "sources.yaml", sources=[{"name": "p", "url": "http://127.0.0.1:9/p"}])
    for role in ("worker", "dispatcher"):
        result = cli("--config", config, "--db", f"sqlite:///{tmp_path / 'x.db'}", role)
        assert result.exit_code == 2
        assert "needs PostgreSQL" in result.stderr and "migrate-db" in result.stderr
        # a PostgreSQL that does not answer: the one line every command gives (exit 3), the password hidden
        down = cli("--config", config, "--db", "postgresql+psycopg://pm@127.0.0.1:9/pm?password=S3cretPW", role)
        assert down.exit_code == 3, down
        assert down.stderr.startswith("error: cannot open database postgresql+psycopg://pm@127.0.0.1:9/pm?password=***")
        assert "Traceback" not in down.stderr and "S3cretPW" not in down.stderr
