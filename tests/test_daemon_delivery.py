"""Alerts leave the daemon as soon as they exist: a pass right after the check that queued them, a last
pass at a graceful stop, and claims of a killed daemon taken over at its restart — not at the next
`delivery_interval` tick, nor when a lease runs out.

Real parts throughout: the daemon as a subprocess, a loopback policy server, a loopback webhook
receiver and SQLite files."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from werkzeug import Request, Response

from monitor.config import load_config
from monitor.notify.delivery import deliver_pending, release_dead_claims
from monitor.store.database import Alert, Store, utcnow
from tests.alert_helpers import MINORS, SECRET, Receiver, alert_rows, queue_change
from tests.faulty_server import FaultyServer
from tests.test_daemon import POLICY, WAIT, Daemon, fast_daemon, wait_for

CHANGED = POLICY.replace("under the age of 13", "under the age of 16")
CHANGED_AGAIN = POLICY.replace("under the age of 13", "under the age of 17")
SECRET_ENV = {"TEST_WEBHOOK_SECRET": SECRET}
SOON = 5.0  # "at once": a generous bound for what would otherwise wait an hour's tick or a 35 s lease


class StallingReceiver(Receiver):
    """A webhook receiver that, while `stall` is set, takes each POST and answers only once released."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.stall = threading.Event()
        self.release = threading.Event()
        self.answered: list[str] = []  # webhook-ids answered 2xx

    def _handle(self, request: Request) -> Response:
        stalled = self.stall.is_set()
        response = super()._handle(request)
        if stalled:
            self.release.wait(60)
        self.answered.append(request.headers.get("webhook-id", ""))
        return response

    def stop(self) -> None:
        self.release.set()
        super().stop()


@pytest.fixture
def server() -> Iterator[FaultyServer]:
    with FaultyServer() as srv:
        yield srv


@pytest.fixture
def receiver() -> Iterator[StallingReceiver]:
    r = StallingReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def start(tmp_path: Path, sqlite_url: str) -> Iterator[Callable[..., Daemon]]:
    """Daemons with the webhook secret in their environment, killed at the end of the test."""
    started: list[Daemon] = []

    def start_daemon(config: Path) -> Daemon:
        started.append(Daemon(config, sqlite_url, tmp_path, **SECRET_ENV))
        return started[-1]

    yield start_daemon
    for daemon in started:
        daemon.kill()


def hook(receiver: Receiver, **extra: object) -> dict:
    return {"type": "webhook", "url": receiver.url, "secret_env": "TEST_WEBHOOK_SECRET", **extra}


def alerts(daemon: Daemon) -> list[tuple]:
    return daemon.rows("select idempotency_key, status, attempts, claimed_by, next_attempt_at from alert order by id")


def started_lines(daemon: Daemon) -> int:
    return sum(line["msg"].startswith("daemon started") for line in daemon.lines())


def test_an_alert_queued_by_a_check_goes_out_at_once_not_at_the_delivery_tick(start, server, receiver, make_config):
    server.page("/p", POLICY)
    config = make_config([{"name": "p", "url": server.url("/p"), "interval": "0.3s"}], {"siem": hook(receiver)},
                         daemon=fast_daemon(delivery_interval="1h"))
    daemon = start(config)
    wait_for(lambda: daemon.checks("p"), what="the baseline")

    for n, text in enumerate((CHANGED, CHANGED_AGAIN), start=1):  # the second well after any pass at start
        server.page("/p", text)
        daemon.wait_log(lambda line, n=n: line.get("outcome") == "changed" and line["version"] == n + 1,
                        f"change {n}")
        wait_for(lambda n=n: len(receiver.answered) == n, timeout=SOON, what=f"alert {n} at the receiver")
        wait_for(lambda n=n: alerts(daemon)[n - 1][1] == "delivered", timeout=SOON, what=f"alert {n} recorded")
    code = daemon.stop()

    assert code == 0
    rows = alerts(daemon)
    assert [(status, attempts, owner) for _, status, attempts, owner, _ in rows] == [("delivered", 1, None)] * 2
    assert [r.headers["Webhook-Id"] for r in receiver.received] == [key for key, *_ in rows]
    assert [r.json()["data"]["version"] for r in receiver.received] == [2, 3]


def test_sigterm_right_after_an_alert_is_queued_delivers_it_before_exit(start, server, receiver, make_config, cli,
                                                                        sqlite_url, monkeypatch):
    """Queued by `check --no-deliver` in another process, so the daemon hears nothing of it: only the
    stop's last pass can send it (the delivery tick is an hour away)."""
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    server.page("/p", POLICY)
    config = make_config([{"name": "p", "url": server.url("/p"), "interval": "1h"}], {"siem": hook(receiver)},
                         daemon=fast_daemon(delivery_interval="1h"))
    daemon = start(config)
    wait_for(lambda: daemon.checks("p"), what="the baseline")
    server.page("/p", CHANGED)
    checked = cli("--config", config, "--db", sqlite_url, "check", "--no-deliver", "--json", "p")
    assert checked.exit_code == 0 and checked.json()["results"][0]["status"] == "changed"
    [(_, status, *_)] = alerts(daemon)
    assert status == "pending" and receiver.received == []

    code = daemon.stop()

    assert code == 0
    [(key, status, attempts, claimed_by, _)] = alerts(daemon)
    assert (status, attempts, claimed_by) == ("delivered", 1, None)
    assert receiver.answered == [key]


def test_sigterm_during_the_check_that_queues_an_alert_still_delivers_it(start, server, receiver, make_config):
    server.page("/p", POLICY)
    config = make_config([{"name": "p", "url": server.url("/p"), "interval": "0.3s", "timeout": "10s"}],
                         {"siem": hook(receiver)}, daemon=fast_daemon(delivery_interval="1h"))
    daemon = start(config)
    wait_for(lambda: daemon.checks("p"), what="the baseline")
    server.slow("/p", CHANGED, 1.5)
    before = server.count("/p")
    wait_for(lambda: server.count("/p") > before, what="the slow fetch of the change")

    daemon.signal(signal.SIGTERM)
    code = daemon.wait_exit()  # not stop(): a second SIGTERM would cancel the in-flight check

    assert code == 0
    assert [c["outcome"] for c in daemon.checks("p")][-1] == "changed"
    [(key, status, attempts, _, _)] = alerts(daemon)
    assert (status, attempts) == ("delivered", 1)
    assert receiver.answered == [key]


def test_a_daemon_killed_while_delivering_has_its_claims_taken_over_at_restart(start, server, receiver, make_config):
    server.page("/p", POLICY)
    # a 10 s channel timeout makes a 35 s lease (3 timeouts + 5 s): waiting it out would be plain to see
    config = make_config([{"name": "p", "url": server.url("/p"), "interval": "0.3s"}],
                         {"siem": hook(receiver, timeout="10s"), "soc": hook(receiver, timeout="10s")},
                         daemon=fast_daemon(delivery_interval="1h"))
    first = start(config)
    wait_for(lambda: first.checks("p"), what="the baseline")
    receiver.stall.set()
    server.page("/p", CHANGED)
    wait_for(lambda: len(receiver.received) == 2, what="both alerts sent and stalled at the receiver")

    claims = alerts(first)
    owner = f"{socket.gethostname()}:{first.proc.pid}"
    assert [(status, claimed_by) for _, status, _, claimed_by, _ in claims] == [("pending", owner)] * 2
    leased_until = min(datetime.fromisoformat(at) for *_, at in claims).replace(tzinfo=None)
    assert leased_until > utcnow().replace(tzinfo=None) + timedelta(seconds=20)
    first.kill()
    receiver.stall.clear()  # the receiver answers from now on

    second = start(config)
    wait_for(lambda: started_lines(second), what="the restart")
    wait_for(lambda: all(status == "delivered" for _, status, *_ in alerts(second)), timeout=SOON,
             what="every alert delivered soon after the restart")
    code = second.stop()

    assert code == 0
    rows = alerts(second)
    assert [(status, claimed_by) for _, status, _, claimed_by, _ in rows] == [("delivered", None)] * 2
    assert sorted(receiver.answered) == sorted(key for key, *_ in rows), "each resent once, with its id"
    assert any("taking over 2 alert(s)" in line["msg"] for line in second.lines())


# -- in one process: the pieces the daemon runs on ----------------------------------------------------

def test_requests_for_delivery_are_coalesced_and_passes_never_overlap(make_config, sqlite_url, monkeypatch):
    import monitor.scheduler as scheduler

    config = load_config(make_config([{"name": "p", "url": "http://127.0.0.1:9/p"}]))
    store = Store(sqlite_url)
    running, passes, overlaps = [], [], []

    async def counting_pass(store_, config_):
        overlaps.append(len(running))
        running.append(1)
        try:
            passes.append(time.monotonic())
            await asyncio.sleep(0.3)
            return await deliver_pending(store_, config_)
        finally:
            running.pop()

    monkeypatch.setattr(scheduler, "deliver_pending", counting_pass)

    async def scenario() -> None:
        daemon = scheduler.Daemon(config, store, config_path="unused")
        for _ in range(10):                       # a burst: one pass
            daemon.request_delivery()
        await asyncio.sleep(0.2)
        assert len(passes) == 1 and running
        for _ in range(5):                        # asked for while it runs: exactly one more after it
            daemon.request_delivery()
        while daemon._delivery is not None and not daemon._delivery.done():
            await asyncio.sleep(0.05)

    asyncio.run(scenario())
    store.dispose()

    assert len(passes) == 2
    assert overlaps == [0, 0], "never two passes at once"


def test_only_claims_of_dead_processes_of_this_host_are_taken_over(make_config, sqlite_url):
    config = load_config(make_config([{"name": "wemet", "url": "https://example.org/p"}],
                                     {f"c{i}": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}
                                      for i in range(3)}))
    store = Store(sqlite_url)
    queue_change(store, config, "wemet", [MINORS])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    lease = utcnow() + timedelta(minutes=10)
    owners = {"c0": f"{host}:{dead.pid}", "c1": f"{host}:{os.getppid()}", "c2": f"elsewhere.example:{dead.pid}"}
    with store.session() as session:
        for alert in session.exec(select(Alert)):
            alert.claimed_by, alert.next_attempt_at = owners[alert.channel], lease

    released = release_dead_claims(store)

    rows = {a.channel: a for a in alert_rows(store)}
    store.dispose()
    assert released == 1
    assert rows["c0"].claimed_by is None and rows["c0"].next_attempt_at <= utcnow()
    assert rows["c1"].claimed_by == owners["c1"], "a live process keeps its claim"
    assert rows["c2"].claimed_by == owners["c2"], "another host's process cannot be seen from here: its lease runs"
    assert rows["c1"].next_attempt_at > utcnow() and rows["c2"].next_attempt_at > utcnow()


def test_a_cancelled_pass_hands_its_claims_back(make_config, sqlite_url, receiver, monkeypatch):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    config = load_config(make_config([{"name": "wemet", "url": "https://example.org/p"}],
                                     {"siem": hook(receiver, timeout="10s")}))
    store = Store(sqlite_url)
    queue_change(store, config, "wemet", [MINORS])
    receiver.stall.set()

    async def cancel_mid_send() -> None:
        delivering = asyncio.ensure_future(deliver_pending(store, config))
        while not receiver.received:
            await asyncio.sleep(0.02)
        delivering.cancel()
        await asyncio.gather(delivering, return_exceptions=True)

    asyncio.run(asyncio.wait_for(cancel_mid_send(), WAIT))
    receiver.release.set()

    [alert] = alert_rows(store)
    store.dispose()
    assert (alert.status, alert.attempts, alert.claimed_by) == ("pending", 0, None)
    assert alert.next_attempt_at <= utcnow(), "due again at once, not after its lease"
