"""`policy-monitor run` as a real process: scheduling, logs, signals, reload, locks and `status`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.scheduler import plan_first_run
from monitor.store.database import utcnow
from tests.conftest import write_config
from tests.faulty_server import FaultyServer
from tests.pages import render_policy, seed_text

POLICY = render_policy(seed_text(4))
WAIT = 20.0  # upper bound of every wait below; they return as soon as the condition holds


def wait_for(condition: Callable[[], object], timeout: float = WAIT, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Daemon:
    """`python -m monitor --log-format json run` in a subprocess; its stderr goes to a file we read."""

    def __init__(self, config: Path, db: str, tmp: Path, **env: str):
        self.db, self.config = db, config
        self.log_path = tmp / f"daemon-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "--db", db, "--log-format", "json", "run"],
            stdout=subprocess.DEVNULL, stderr=self._log, env={**os.environ, **env},
        )

    def lines(self) -> list[dict]:
        out = []
        for raw in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                out.append(json.loads(raw))
            except json.JSONDecodeError:
                out.append({"msg": raw, "not_json": True})
        return out

    def checks(self, source: str | None = None) -> list[dict]:
        return [line for line in self.lines() if "outcome" in line and (source is None or line["source"] == source)]

    def wait_log(self, predicate: Callable[[dict], bool], what: str) -> dict:
        return wait_for(lambda: next((line for line in self.lines() if predicate(line)), None), what=what)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = WAIT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def wait_exit(self, timeout: float = WAIT) -> int:
        """Wait for the daemon to exit by itself (after one signal), without signalling it again."""
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def rows(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.db.removeprefix("sqlite:///")) as db:
            return db.execute(sql).fetchall()


@pytest.fixture
def server() -> Iterator[FaultyServer]:
    with FaultyServer() as srv:
        yield srv


@pytest.fixture
def start(tmp_path: Path, sqlite_url: str) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start_daemon(config: Path, **env: str) -> Daemon:
        daemon = Daemon(config, sqlite_url, tmp_path, **env)
        started.append(daemon)
        return daemon

    yield start_daemon
    for daemon in started:
        daemon.kill()


def fast_daemon(**overrides: object) -> dict:
    return {"concurrency": 4, "per_host_delay": "0.01s", "failure_threshold": 3, "heartbeat": "0.5s",
            "delivery_interval": "0.5s", **overrides}


def test_daemon_checks_every_source_with_one_json_log_line_per_check_and_stops_cleanly(start, server, make_config):
    server.page("/a", POLICY)
    server.page("/b", render_policy(seed_text(2)))
    config = make_config([{"name": "a", "url": server.url("/a"), "interval": "1s"},
                          {"name": "b", "url": server.url("/b"), "interval": "1s"}], daemon=fast_daemon())
    daemon = start(config)

    wait_for(lambda: len(daemon.checks("a")) >= 2 and len(daemon.checks("b")) >= 2, what="two checks each")
    code = daemon.stop()

    assert code == 0
    lines = daemon.lines()
    assert not [line for line in lines if line.get("not_json")], "every stderr line is JSON"
    first_a = daemon.checks("a")[0]
    assert first_a["outcome"] == "new" and first_a["version"] == 1 and isinstance(first_a["duration_ms"], int)
    assert {c["outcome"] for c in daemon.checks("a")[1:]} == {"unchanged"}
    assert lines[-1]["msg"] == "daemon stopped"
    assert daemon.rows("select count(*) from version") == [(2,)]
    [(outcomes,)] = daemon.rows("select count(*) from \"check\"")
    assert outcomes >= 4


def test_a_failed_check_is_retried_soon_with_backoff_not_at_the_next_interval(start, server, make_config):
    server.fail_then("/p", 2, POLICY, status=503)
    config = make_config([{"name": "p", "url": server.url("/p"), "interval": "1h"}],
                         daemon=fast_daemon(failure_retry="0.3s"), fetch={"retries": 0, "backoff": "0.01s"})
    daemon = start(config)

    wait_for(lambda: len(daemon.checks("p")) >= 3, what="two failed checks and a retry")
    daemon.stop()

    checks = daemon.checks("p")
    assert [c["outcome"] for c in checks] == ["error", "error", "new"], "retried until it worked, then no more"
    assert [c.get("retry_in_s") for c in checks] == [0.3, 0.6, None], "the delay doubles per failure in a row"


def test_retry_delay_doubles_and_gives_way_to_the_regular_run():
    from monitor.scheduler import retry_delay

    assert [retry_delay(3600, n, 60) for n in (1, 2, 3, 6, 7)] == [60, 120, 240, 1920, None]
    assert retry_delay(3600, 1, 0) is None, "0 turns retries off"
    assert retry_delay(30, 1, 60) is None, "a source checked every 30 s needs no earlier retry"


def test_status_shows_the_heartbeat_the_due_checks_and_failing_sources(start, server, make_config, cli, sqlite_url):
    server.page("/ok", POLICY)
    server.status("/down", 503, "down")
    config = make_config([{"name": "ok", "url": server.url("/ok"), "interval": "1h"},
                          {"name": "down", "url": server.url("/down"), "interval": "0.3s"}],
                         daemon=fast_daemon(), fetch={"retries": 0, "backoff": "0.01s"})
    assert cli("--config", config, "--db", sqlite_url, "check", "ok").exit_code == 0  # not due for an hour
    daemon = start(config)
    wait_for(lambda: len(daemon.checks("down")) >= 3, what="three failed checks")

    running = cli("--config", config, "--db", sqlite_url, "status", "--json")
    text = cli("--config", config, "--db", sqlite_url, "status")
    # a source added to the file, the daemon not told (no SIGHUP): status says the file is not what it runs
    edited = make_config([{"name": "ok", "url": server.url("/ok"), "interval": "1h"},
                          {"name": "down", "url": server.url("/down"), "interval": "0.3s"},
                          {"name": "new", "url": server.url("/ok"), "interval": "1h"}],
                         daemon=fast_daemon(), fetch={"retries": 0, "backoff": "0.01s"})
    assert edited == config
    unloaded = cli("--config", config, "--db", sqlite_url, "status")
    daemon.stop()
    stopped = cli("--config", config, "--db", sqlite_url, "status", "--json").json()
    assert "the running daemon has not loaded this sources.yaml (it runs with 2 sources, the file lists 3)" \
        in " ".join(unloaded.stdout.split())
    assert running.json()["daemon"]["config_loaded"] is True and stopped["daemon"]["config_loaded"] is None

    report = running.json()
    assert running.exit_code == 1  # a source is failing
    assert report["daemon"]["state"] == "running" and report["daemon"]["pid"] == daemon.proc.pid
    assert report["daemon"]["heartbeat_age_seconds"] < 10
    assert [f["source"] for f in report["failing"]] == ["down"]
    assert "503" in report["failing"][0]["error"]
    assert not any(d["source"] == "ok" for d in report["due"])
    assert "running" in text.stdout and "down" in text.stdout and "503" in text.stdout
    assert stopped["daemon"]["state"] == "stopped"


def test_status_before_any_daemon_ran_lists_every_source_as_due(cli, make_config, sqlite_url):
    config = make_config([{"name": "a", "url": "http://127.0.0.1:9/a"}])
    cli("--config", config, "--db", sqlite_url, "migrate")  # `status` reads; it never creates the database
    result = cli("--config", config, "--db", sqlite_url, "status", "--json")
    report = result.json()
    assert result.exit_code == 0
    assert report["daemon"]["state"] == "never-run"
    assert report["due"] == [{"source": "a", "overdue_seconds": None, "never_checked": True}]


def test_a_source_being_checked_is_not_listed_as_due(cli, make_config, sqlite_url):
    from monitor.store.database import Store

    config = make_config([{"name": "a", "url": "http://127.0.0.1:9/a"}, {"name": "b", "url": "http://127.0.0.1:9/b"}])
    cli("--config", config, "--db", sqlite_url, "migrate")
    assert Store(sqlite_url).claim("a", "http://127.0.0.1:9/a", "worker-host:7", 600) is not None  # a check runs

    report = cli("--config", config, "--db", sqlite_url, "status", "--json").json()

    assert [d["source"] for d in report["due"]] == ["b"]
    assert [(s["source"], s["checking"]) for s in report["sources"]] == [("a", True), ("b", False)]


def test_sigterm_lets_an_in_flight_check_finish_and_store_its_version(start, server, make_config):
    server.slow("/slow", POLICY, 1.5)
    config = make_config([{"name": "slow", "url": server.url("/slow"), "interval": "1h", "timeout": "10s"}],
                         daemon=fast_daemon())
    daemon = start(config)
    wait_for(lambda: server.count("/slow") >= 1, what="the request")

    daemon.signal(signal.SIGTERM)
    code = daemon.wait_exit()  # not stop(): a second SIGTERM would cancel the in-flight check

    assert code == 0
    assert daemon.rows("select outcome from \"check\"") == [("new",)]
    assert daemon.rows("select seq from version") == [(1,)]
    assert any("waiting up to" in line["msg"] for line in daemon.lines())


def test_a_check_longer_than_the_grace_period_is_abandoned_and_leaves_nothing_half_written(start, server, make_config):
    server.hang("/hang", 30)
    config = make_config([{"name": "hang", "url": server.url("/hang"), "interval": "1h", "timeout": "20s"}],
                         daemon=fast_daemon())
    daemon = start(config, POLICY_MONITOR_SHUTDOWN_GRACE="0.3")
    wait_for(lambda: server.count("/hang") >= 1, what="the request")

    code = daemon.stop(timeout=10)

    assert code == 0
    assert daemon.rows("select count(*) from version") == [(0,)]
    assert daemon.rows("select count(*) from \"check\"") == [(0,)]
    assert daemon.rows("select lock_owner from source") == [(None,)]
    assert any(line.get("outcome") == "abandoned" for line in daemon.lines())
    assert "Traceback" not in daemon.log_path.read_text() and not any(line.get("exc") for line in daemon.lines())


def test_a_restart_does_not_recheck_a_source_checked_recently(start, server, make_config, cli, sqlite_url):
    server.page("/recent", POLICY)
    server.page("/never", render_policy(seed_text(2)))
    config = make_config([{"name": "recent", "url": server.url("/recent"), "interval": "1h"},
                          {"name": "never", "url": server.url("/never"), "interval": "2s"}], daemon=fast_daemon())
    assert cli("--config", config, "--db", sqlite_url, "check", "recent").exit_code == 0
    before = server.count("/recent")

    daemon = start(config)
    wait_for(lambda: daemon.checks("never"), what="the never-checked source")
    daemon.stop()

    assert server.count("/recent") == before  # due again only an hour after its last check


def test_first_runs_are_planned_from_the_last_check_in_the_database():
    now = utcnow()
    recent = plan_first_run(3600, now - timedelta(minutes=10), now)
    overdue = plan_first_run(3600, now - timedelta(hours=3), now)
    never = plan_first_run(6 * 3600, None, now)

    assert not recent.overdue and now + timedelta(minutes=50) <= recent.first_run <= now + timedelta(minutes=56)
    assert overdue.overdue and now <= overdue.first_run <= now + timedelta(seconds=30)
    assert never.overdue and never.first_run <= now + timedelta(seconds=30)
    spread = {plan_first_run(6 * 3600, None, now).first_run for _ in range(20)}
    assert len(spread) > 1  # sources never checked do not all fire at the same instant


def test_sighup_adds_and_removes_sources_and_an_invalid_config_keeps_the_old_one(start, server, tmp_path,
                                                                                 sqlite_url):
    server.page("/a", POLICY)
    server.page("/b", render_policy(seed_text(2)))
    path = tmp_path / "sources.yaml"
    write_config(path, sources=[{"name": "a", "url": server.url("/a"), "interval": "0.5s"}], daemon=fast_daemon())
    daemon = start(path)
    wait_for(lambda: daemon.checks("a"), what="a checked")

    write_config(path, sources=[{"name": "b", "url": server.url("/b"), "interval": "0.5s"}], daemon=fast_daemon())
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(lambda line: line["msg"].startswith("reload:"), "the reload line")
    wait_for(lambda: len(daemon.checks("b")) >= 2, what="b checked")
    a_after_reload = server.count("/a")

    path.write_text("sources:\n  - name: c\n    url: not-a-url\n    interval: never\n", encoding="utf-8")
    daemon.signal(signal.SIGHUP)
    error = daemon.wait_log(lambda line: line.get("level") == "error" and "reload" in line["msg"], "the reload error")
    checks_of_b = len(daemon.checks("b"))
    wait_for(lambda: len(daemon.checks("b")) >= checks_of_b + 2, what="b still checked")
    code = daemon.stop()

    assert code == 0
    reload_line = next(line for line in daemon.lines() if line["msg"].startswith("reload:"))
    assert reload_line["added"] == ["b"] and reload_line["removed"] == ["a"]
    assert server.count("/a") <= a_after_reload + 1  # at most one check of a was already running
    assert "keeping the running config" in error["msg"]
    assert any("url" in p for p in error["problems"]) and any("interval" in p for p in error["problems"])


def test_sighup_applies_a_changed_url(start, server, tmp_path):
    server.page("/old", POLICY)
    server.page("/new", POLICY)
    path = tmp_path / "sources.yaml"
    write_config(path, sources=[{"name": "a", "url": server.url("/old"), "interval": "0.5s"}], daemon=fast_daemon())
    daemon = start(path)
    wait_for(lambda: daemon.checks("a"), what="a checked")

    write_config(path, sources=[{"name": "a", "url": server.url("/new"), "interval": "0.5s"}], daemon=fast_daemon())
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: server.count("/new") >= 2, what="the new URL fetched")
    daemon.stop()

    assert daemon.checks("a")[-1]["outcome"] == "unchanged"  # same policy at its new address


def test_the_global_concurrency_limit_bounds_checks_in_flight(start, tmp_path):
    servers = [FaultyServer().start() for _ in range(5)]
    try:
        for srv in servers:
            srv.slow("/p", POLICY, 0.4)
        path = write_config(tmp_path / "sources.yaml", daemon=fast_daemon(concurrency=2),
                            sources=[{"name": f"s{i}", "url": srv.url("/p"), "interval": "0.5s", "timeout": "5s"}
                                     for i, srv in enumerate(servers)])
        daemon = start(path)
        wait_for(lambda: sum(srv.count("/p") for srv in servers) >= 10, what="ten requests")
        daemon.stop()
        spans = [(r.started, r.finished or r.started) for srv in servers for r in srv.requests]
    finally:
        for srv in servers:
            srv.stop()

    events = sorted([(start_, 1) for start_, _ in spans] + [(end, -1) for _, end in spans])
    in_flight = peak = 0
    for _, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    assert peak <= 2


def test_a_check_command_never_overlaps_the_daemons_check_of_the_same_source(start, server, make_config, cli,
                                                                             sqlite_url):
    server.slow("/p", POLICY, 0.3)
    config = make_config([{"name": "p", "url": server.url("/p"), "interval": "0.2s", "timeout": "5s"}],
                         daemon=fast_daemon())
    daemon = start(config)
    wait_for(lambda: daemon.checks("p"), what="the daemon's first check")
    results = [cli("--config", config, "--db", sqlite_url, "check", "--json", "p").json()["results"][0]
               for _ in range(4)]
    daemon.stop()

    requests = sorted(server.requests_to("/p"), key=lambda r: r.started)
    for earlier, later in zip(requests, requests[1:], strict=False):
        assert later.started >= earlier.finished, "two checks of one source overlapped"
    assert [r["status"] for r in results] == ["unchanged"] * 4, "check waits for the daemon's check, then answers"


def test_a_lock_that_is_never_released_makes_check_give_up_with_a_clear_skip(server, make_config, sqlite_url):
    from monitor.config import load_config
    from monitor.pipeline import check_all
    from monitor.store.database import Source, Store

    server.page("/p", POLICY)
    config = load_config(make_config([{"name": "p", "url": server.url("/p")}]))
    store = Store(sqlite_url)
    with store.session() as session:
        source_id = Store.ensure_source(session, "p", server.url("/p")).id
        session.commit()
    assert store.try_lock(source_id, "elsewhere:1", ttl=600)

    [result] = asyncio.run(check_all(config.sources, config=config, store=store, lock_wait=0.5))

    assert result.status == "skipped" and result.error.startswith("another process")
    assert not result.failed, "a skip is not a failure: it does not make `check` exit 1"
    assert server.requests_to("/p") == [], "nothing was fetched while another process held the source"
    with store.session() as session:
        assert session.get(Source, source_id).lock_owner == "elsewhere:1", "someone else's lock is left alone"


def test_a_check_that_outlasts_its_lock_stores_nothing_once_another_process_took_over(server, make_config,
                                                                                     sqlite_url):
    from monitor.config import load_config
    from monitor.pipeline import check_all
    from monitor.store.database import Store

    server.slow("/p", POLICY, 1.5)
    config = load_config(make_config([{"name": "p", "url": server.url("/p"), "timeout": "5s"}],
                                     daemon=fast_daemon(lock_timeout="0.5s")))
    store = Store(sqlite_url)

    async def check_while_another_process_takes_over():
        checking = asyncio.ensure_future(check_all(config.sources, config=config, store=store))
        await asyncio.sleep(1.0)  # our lock has expired; the other process takes the source
        with store.session() as session:
            source_id = Store.source(session, "p").id
        assert store.try_lock(source_id, "elsewhere:1", ttl=600)
        return await checking

    [result] = asyncio.run(check_while_another_process_takes_over())

    assert result.status == "skipped" and result.error.startswith("the fetch outlasted")
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        assert db.execute("select count(*) from version").fetchone() == (0,)


def test_a_database_that_disappears_fails_each_check_without_losing_the_others_results(server, make_config,
                                                                                     sqlite_url):
    from monitor.config import load_config
    from monitor.pipeline import check_all
    from monitor.store.database import Store

    server.page("/p", POLICY)
    config = load_config(make_config([{"name": "a", "url": server.url("/p")}, {"name": "b", "url": server.url("/p")}]))
    store = Store(sqlite_url)
    store.engine.dispose()
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    path.mkdir()  # a directory where the database file was: every connection now fails

    results = asyncio.run(check_all(config.sources, config=config, store=store))

    assert [r.status for r in results] == ["error", "error"]
    assert all(r.error.startswith("internal error: OperationalError") for r in results)


def test_the_daemon_writes_the_feed_from_the_start_and_after_each_alert_worthy_change(start, server, make_config,
                                                                                       tmp_path):
    from xml.etree import ElementTree as ET

    feed = tmp_path / "changes.xml"
    server.page("/p", POLICY)
    config = make_config([{"name": "p", "url": server.url("/p"), "interval": "0.3s"}], daemon=fast_daemon(),
                         feed=str(feed))
    daemon = start(config)
    wait_for(lambda: daemon.checks("p"), what="the first check")
    assert ET.parse(feed).getroot().findall("{http://www.w3.org/2005/Atom}entry") == []

    server.page("/p", POLICY.replace("under the age of 13", "under the age of 16"))
    wait_for(lambda: any(c["outcome"] == "changed" for c in daemon.checks("p")), what="the change")
    daemon.stop()

    [entry] = ET.parse(feed).getroot().findall("{http://www.w3.org/2005/Atom}entry")
    assert entry.findtext("{http://www.w3.org/2005/Atom}title") == "p: minors changed (medium)"


def test_run_without_network_logs_clean_error_lines(start, make_config):
    config = make_config([{"name": "nowhere", "url": "http://no-such-host.invalid/privacy", "interval": "1h"}],
                         daemon=fast_daemon(), fetch={"retries": 0, "backoff": "0.01s"})
    daemon = start(config)

    line = daemon.wait_log(lambda line: line.get("source") == "nowhere", "the failed check")
    daemon.stop()

    assert line["level"] == "warning" and line["outcome"] == "error"
    assert "no-such-host.invalid" in line["error"]
    assert "Traceback" not in daemon.log_path.read_text()


def test_run_with_an_invalid_config_exits_2_with_the_problems(tmp_path, sqlite_url):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: x\n    url: ftp://nope\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "monitor", "--config", str(path), "--db", sqlite_url, "run"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "url" in result.stderr and "Traceback" not in result.stderr


def test_a_lock_left_by_a_killed_process_is_released_at_start(start, server, make_config):
    server.page("/p", POLICY)
    config = make_config([{"name": "p", "url": server.url("/p"), "interval": "0.5s"}], daemon=fast_daemon())
    first = start(config)
    wait_for(lambda: first.checks("p"), what="first check")
    first.kill()
    import socket

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    first.rows("select 1")  # database exists
    with sqlite3.connect(first.db.removeprefix("sqlite:///")) as db:
        db.execute("update source set lock_owner = ?, lock_expires_at = '2999-01-01 00:00:00'",
                   (f"{socket.gethostname()}:{dead.pid}",))
    second = start(config)

    wait_for(lambda: second.checks("p"), what="a check after restart")
    second.stop()

    assert second.checks("p")[0]["outcome"] == "unchanged"


def test_a_second_daemon_on_the_same_database_refuses_to_start(start, server, make_config):
    server.page("/p", POLICY)
    config = make_config([{"name": "p", "url": server.url("/p"), "interval": "1h"}], daemon=fast_daemon())
    first = start(config)
    first.wait_log(lambda line: line["msg"].startswith("daemon started"), "the first daemon")

    second = start(config)
    code = second.proc.wait(WAIT)
    first.stop()

    # its own code, not 2 (which the systemd unit never restarts): the other daemon may have died on another
    # host with its heartbeat still fresh, and a restart after RestartSec starts once that heartbeat is stale
    assert code == 4
    assert any("another daemon is running" in line["msg"] and str(first.proc.pid) in line["msg"]
               for line in second.lines())


def test_daemon_runs_on_postgresql(server, make_config, postgres_url, tmp_path, cli):
    server.page("/p", POLICY)
    config = make_config([{"name": "p", "url": server.url("/p"), "interval": "0.5s"}], daemon=fast_daemon())
    daemon = Daemon(config, postgres_url, tmp_path)
    try:
        wait_for(lambda: len(daemon.checks("p")) >= 2, what="two checks")
        running = cli("--config", config, "--db", postgres_url, "status", "--json").json()
        code = daemon.stop()
    finally:
        daemon.kill()

    assert code == 0
    assert [c["outcome"] for c in daemon.checks("p")[:2]] == ["new", "unchanged"]
    assert running["daemon"]["state"] == "running" and running["failing"] == []
