"""Crash consistency: `kill -9` the daemon at random moments while policies change; nothing is lost or doubled.

The policies live on a loopback server and change on a timetable (an age threshold goes 13 → 14 → …,
18 → 17 → …, each a `minors` change that alerts), a third source goes down for a while (so it is
reported failing, then recovered). The daemon runs as a real process and is killed with SIGKILL at
random moments — during start-up, migrations, fetches, commits and deliveries — then restarted; a
last run is left to catch up and is stopped with SIGTERM. Then:

- every stored version is a distinct content the server served, in the order it served them, and
  the final content is stored: no change stored twice, none out of order;
- every alert is delivered, at least once, and only one alert id exists per change and channel
  (the receiver may see an id twice after a crash between sending and recording, never two ids);
- the SQLite file passes `PRAGMA integrity_check`.

The kill moments come from a seeded random generator; the test prints its seed (shown with a failure,
or with `-rA`). `POLICY_MONITOR_CRASH_SEED=N` replays those moments (the daemon's own timing still varies).
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.faulty_server import FaultyServer, RecordedRequest, Reply
from tests.pages import edit, render_policy, seed_text

KILLS = 20
STEPS = 12              # contents per changing source; the test moves to the next one every other run
FLAKY_DOWN = range(3, 9)  # runs during which the flaky source answers 503
FINAL_WAIT = 45.0       # catching up; an alert leased by a killed process waits out its lease (3 × timeout + 5s)
STARTED = "daemon started"
SEED_ENV = "POLICY_MONITOR_CRASH_SEED"

# (path, seed, text to change, how step k rewrites it)
CHANGING = {
    "/kids": (4, "under the age of 13", lambda k: f"under the age of {13 + k}"),
    "/adults": (2, "under the age of 18", lambda k: f"under the age of {18 - k}"),
}


class Timetable:
    """What the policy server answers: content `step` of each changing source, the flaky one up or down."""

    def __init__(self) -> None:
        self.step = 0
        self.flaky_down = False
        self.pages = {path: [render_policy(edit(seed_text(seed), old, change(k)) if k else seed_text(seed))
                             for k in range(STEPS)]
                      for path, (seed, old, change) in CHANGING.items()}
        self.flaky = render_policy(seed_text(0))

    def serve(self, request: RecordedRequest) -> Reply:
        if request.path == "/flaky":
            if self.flaky_down:
                return Reply(503, "Service Unavailable", {"Content-Type": "text/plain"})
            return Reply(200, self.flaky, {"Content-Type": "text/html; charset=utf-8"})
        return Reply(200, self.pages[request.path][self.step], {"Content-Type": "text/html; charset=utf-8"})


class Receiver:
    """A webhook endpoint recording (channel path, webhook-id) of every POST it answers."""

    def __init__(self, server: FaultyServer) -> None:
        self.received: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        for path in ("/hook-a", "/hook-b"):
            server.handler(path, self._record)

    def _record(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.received.append((request.path, request.headers.get("webhook-id", "")))
        return Reply(204, b"")


def spawn(config: Path, db: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "--db", db, "--log-format", "json", "run"],
        stdout=subprocess.DEVNULL, stderr=log.open("ab"), env={**os.environ, "POLICY_MONITOR_SHUTDOWN_GRACE": "5"},
    )


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_daemon_killed_at_random_moments_stores_every_change_once_and_delivers_every_alert(tmp_path):
    seed = int(os.environ.get(SEED_ENV) or os.environ.get("CRASH_SEED") or time.time_ns() % 10**6)
    print(f"crash test seed: {seed} (replay with {SEED_ENV}={seed})")
    rng = random.Random(seed)
    db_path = tmp_path / "monitor.db"
    db = f"sqlite:///{db_path}"
    log = tmp_path / "daemon.log"
    with FaultyServer() as policies, FaultyServer() as hooks:
        timetable = Timetable()
        for path in (*CHANGING, "/flaky"):
            policies.handler(path, timetable.serve)
        receiver = Receiver(hooks)
        config = write_config(
            tmp_path / "sources.yaml",
            sources=[{"name": path.strip("/"), "url": policies.url(path), "interval": "0.4s", "timeout": "2s"}
                     for path in (*CHANGING, "/flaky")],
            channels={"a": {"type": "webhook", "url": hooks.url("/hook-a"), "timeout": "1s"},
                      "b": {"type": "webhook", "url": hooks.url("/hook-b"), "timeout": "1s"}},
            daemon={"concurrency": 4, "per_host_delay": "0.01s", "failure_threshold": 2, "heartbeat": "0.5s",
                    "delivery_interval": "0.3s"},
            fetch={"retries": 0, "backoff": "0.01s"},
            delivery={"backoff": "0.05s", "max_backoff": "0.2s"},
        )

        kills = 0
        while kills < KILLS:
            timetable.flaky_down = kills in FLAKY_DOWN
            started_before = log.read_text(errors="replace").count(STARTED) if log.exists() else 0
            proc = spawn(config, db, log)
            if kills % 4 == 3:  # now and then during start-up and migrations
                time.sleep(rng.uniform(0.05, 1.0))
            else:               # otherwise while it checks, commits and delivers
                _wait(lambda before=started_before: log.read_text(errors="replace").count(STARTED) > before, 20)
                time.sleep(rng.uniform(0.0, 0.4))
                if kills % 2 == 0 and timetable.step < STEPS - 1:
                    timetable.step += 1  # the policies change while the daemon runs
                time.sleep(rng.uniform(0.0, 0.6))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        timetable.step, timetable.flaky_down = STEPS - 1, False

        final = spawn(config, db, log)
        deadline = time.monotonic() + FINAL_WAIT
        while time.monotonic() < deadline and not _caught_up(db_path):
            time.sleep(0.2)
        final.send_signal(signal.SIGTERM)
        assert final.wait(30) == 0
        caught_up = _caught_up(db_path)
        received = list(receiver.received)

    assert kills >= 20
    assert "Traceback" not in log.read_text(errors="replace")
    assert caught_up, "the restarted daemon stored the final contents and delivered every alert"
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # every change stored exactly once, in the order served
    for path, (_, old, change) in CHANGING.items():
        texts = [t for (t,) in conn.execute(
            "select v.text from version v join source s on s.id = v.source_id where s.name = ? order by v.seq",
            (path.strip("/"),))]
        steps = [_step_of(text, old, change) for text in texts]
        assert steps == sorted(set(steps)), f"{path}: versions {steps} repeat or go back"
        assert steps[-1] == STEPS - 1 and len(steps) >= 2

    # one alert per change and channel, each delivered; the receiver never saw two ids for one change
    alerts = conn.execute(
        "select a.idempotency_key, a.channel, a.event_type, a.status, a.version_id, a.payload from alert a").fetchall()
    changes = conn.execute(
        "select count(*) from version where seq > 1 and source_id in (select id from source where name != 'flaky')"
    ).fetchone()[0]
    per_change = defaultdict(set)
    for key, channel, event, status, version_id, _ in alerts:
        assert status == "delivered", (key, event, status)
        if event == "policy.changed":
            per_change[(version_id, channel)].add(key)
    assert len(per_change) == 2 * changes, "every stored change alerted on both channels"
    assert all(len(keys) == 1 for keys in per_change.values())
    events = defaultdict(int)
    for alert in alerts:
        events[alert[2]] += 1
    assert events["source.failing"] >= 2 and events["source.recovered"] >= 2  # per channel, once per episode

    seen = defaultdict(set)
    for path, webhook_id in received:
        seen[path].add(webhook_id)
    keys = {("/hook-" + channel, key) for key, channel, *_ in alerts}
    assert {(path, i) for path, ids in seen.items() for i in ids} == keys, "receiver got every alert, nothing else"


def _wait(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.02)


def _step_of(text: str, old: str, change) -> int:
    for k in range(STEPS - 1, 0, -1):
        if change(k) in text:
            return k
    assert old in text, "a stored version is not a content the server served"
    return 0


def _caught_up(db_path: Path) -> bool:
    if not db_path.exists():
        return False
    try:
        conn = sqlite3.connect(db_path, timeout=5)
        try:
            pending = conn.execute("select count(*) from alert where status != 'delivered'").fetchone()[0]
            finals = 0
            for path, (*_, change) in CHANGING.items():
                row = conn.execute("select v.text from version v join source s on s.id = v.source_id "
                                   "where s.name = ? order by v.seq desc limit 1", (path.strip("/"),)).fetchone()
                finals += bool(row and re.search(re.escape(change(STEPS - 1)), row[0]))
            recovered = conn.execute("select count(*) from alert where event_type = 'source.recovered'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return pending == 0 and finals == len(CHANGING) and recovered >= 2
