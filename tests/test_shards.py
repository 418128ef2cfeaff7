"""`check` on every core: sources split by host over forked processes, each checking its share whole
(real loopback server, real SQLite and PostgreSQL, real processes killed for real)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
from pathlib import Path

from werkzeug import Request, Response

from monitor.shards import Claims, run_sharded, split_by_key
from tests.pages import edit, render_policy, seed_text

SEEDS = (0, 2, 4)


def client_pid(request: Request) -> int | None:
    """The pid of the process (of ours) whose socket sent `request`: its local port is the request's
    remote port; the socket's inode is found in /proc/net/tcp*, then among our children's descriptors."""
    port = int(request.environ["REMOTE_PORT"])
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in [os.getpid(), *children_of(os.getpid())]:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
            except OSError:
                continue
    return None


def children_of(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return found


def sources_on_two_hosts(site, per_host: int = 3) -> list[dict]:
    """`per_host` sources on `localhost:port` and as many on `127.0.0.1:port`: two hosts, one server."""
    found = []
    for n in range(per_host):
        for host in ("localhost", "127.0.0.1"):
            name = f"{host.split('.')[0]}-{n}"
            url = site.set(f"/{name}", render_policy(seed_text(SEEDS[n % len(SEEDS)])))
            found.append({"name": name, "url": url.replace("localhost", host, 1)})
    return found


def run_check(cli, config, db, *extra):
    result = cli("--config", config, "--db", db, "check", "--json", "--no-deliver", *extra)
    assert result.stdout, result.stderr
    return result, result.json()["results"]


# -- the split -------------------------------------------------------------------------------------

def test_a_host_stays_in_one_shard_and_shards_come_out_about_even():
    keys = ["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"] * 2 + ["a"]
    shards = split_by_key(keys, 2)

    assert sorted(i for s in shards for i in s) == list(range(len(keys)))
    for key in set(keys):
        assert sum(any(keys[i] == key for i in s) for s in shards) == 1
    assert sorted(len(s) for s in shards) == [6, 7]
    assert all(s == sorted(s) for s in shards)
    assert split_by_key(["a", "a"], 4) == [[0, 1]]  # one host: one shard, whatever the cores
    assert split_by_key([], 2) == []


def test_a_process_takes_its_own_groups_first_then_others_not_started_once_its_own_are_under_way():
    import copy

    claims = Claims([[0, 1, 2], [3, 4, 5]])
    other = copy.copy(claims)  # the forked process's view: the same shared bytes, its own queues
    claims.start(0)
    other.start(1)

    own = [claims.take(unstarted=False) for _ in range(3)]
    before_the_other_started = claims.take(unstarted=False)
    assert other.take(unstarted=False) == 3  # it starts with its own
    helped = claims.take(unstarted=False)

    assert own == [0, 1, 2]
    assert before_the_other_started is None, "a process just forked is not robbed before it runs"
    assert helped == 5, "once it runs, its groups nobody has started are taken, last ones first"
    assert other.take() == 4 and other.take() is None and claims.take() is None


# -- the machinery ---------------------------------------------------------------------------------

def test_items_stream_back_from_other_processes_and_a_killed_child_loses_only_its_unsent_items():
    def work(shard, send):
        for index in shard:
            if index == 4:
                os.kill(os.getpid(), signal.SIGKILL)
            send(index, (index, os.getpid()))

    arrived = []
    lost = asyncio.run(run_sharded([[0, 1, 2], [3, 4, 5]], work, lambda i, item: arrived.append((i, item))))

    assert sorted(i for i, _ in arrived) == [0, 1, 2, 3]
    pids = {pid for _, (_, pid) in arrived}
    assert len(pids) == 2 and os.getpid() not in pids
    assert {i: why for i, (why, _pid) in lost.items()} == {
        4: "the process checking it was killed (SIGKILL)", 5: "the process checking it was killed (SIGKILL)"}
    assert children_of(os.getpid()) == []  # reaped


def test_a_child_that_raises_loses_its_unsent_items_with_its_exit_code():
    def work(shard, send):
        send(shard[0], "fine")
        raise RuntimeError("a bug")

    lost = asyncio.run(run_sharded([[0, 1], [2]], work, lambda i, item: None))

    assert {i: why for i, (why, _pid) in lost.items()} == {
        1: "the process checking it failed (exit code 1; see its log lines)"}


# -- check -------------------------------------------------------------------------------------------

def test_a_sharded_check_finds_what_one_process_finds_in_input_order(cli, site, make_config, tmp_path):
    clients: set[int] = set()
    serve = site._handle

    def handle(request: Request) -> Response:
        clients.add(client_pid(request))
        return serve(request)

    site.server.clear_all_handlers()
    site.server.expect_request(__import__("re").compile(".*")).respond_with_handler(handle)
    sources = sources_on_two_hosts(site)
    texts = {s["name"]: seed_text(SEEDS[int(s["name"].rsplit("-", 1)[1]) % len(SEEDS)]) for s in sources}

    def passes(processes: int, db: str) -> list[list[tuple]]:
        for s in sources:
            site.set(f"/{s['name']}", render_policy(texts[s["name"]]))
        config = make_config(sources, daemon={"concurrency": 4, "per_host_delay": "0s", "cpu_processes": processes})
        first = run_check(cli, config, db)
        site.set("/localhost-1", render_policy(edit(texts["localhost-1"], "top priority", "main concern")))
        site.set("/127-0", render_policy(texts["127-0"], noise=3))  # chrome only
        second = run_check(cli, config, db)
        return [[(r["source"], r["status"], r["version"], r["alert_topics"], r["changes"]) for r in results]
                for _, results in (first, second)]

    clients.clear()
    sharded = passes(1, f"sqlite:///{tmp_path}/sharded.db")
    sharded_clients = set(clients)
    clients.clear()
    inline = passes(0, f"sqlite:///{tmp_path}/inline.db")

    assert sharded == inline
    assert [r[0] for r in sharded[0]] == [s["name"] for s in sources]  # input order, hosts interleaved
    assert [r[1] for r in sharded[0]] == ["new"] * 6
    assert [r[1] for r in sharded[1]] == ["unchanged", "unchanged", "changed", "unchanged", "unchanged", "unchanged"]
    # this process checked one host, a forked one (one per pass) the other
    assert os.getpid() in sharded_clients and len(sharded_clients) == 3 and None not in sharded_clients
    assert clients == {os.getpid()}


def test_a_killed_checking_process_leaves_error_results_for_the_sources_it_had_not_finished(
        cli, site, make_config, sqlite_url, tmp_path):
    killed: list[int] = []
    serve = site._handle

    def handle(request: Request) -> Response:
        if request.path == "/die":
            pid = client_pid(request)
            killed.append(pid)
            if pid not in (None, os.getpid()):  # the checking process, never this one (that would be a failure)
                os.kill(pid, signal.SIGKILL)
            return Response("never read", status=200)
        return serve(request)

    site.server.clear_all_handlers()
    site.server.expect_request(__import__("re").compile(".*")).respond_with_handler(handle)
    a = [{"name": f"a{n}", "url": site.set(f"/a{n}", render_policy(seed_text(SEEDS[n])))} for n in range(3)]
    a.insert(1, {"name": "dies", "url": site.url("/die")})   # checked second on its host: a0 done, a1 and a2 after
    # the larger host is checked by this process, the other (with /die) by a forked one
    b = [{"name": f"b{n}", "url": site.set(f"/b{n}", render_policy(seed_text(SEEDS[n % 3]))).replace(
        "localhost", "127.0.0.1", 1)} for n in range(5)]
    config = make_config(a + b, daemon={"concurrency": 4, "per_host_delay": "0s", "cpu_processes": 1})

    result, results = run_check(cli, config, sqlite_url)

    assert result.exit_code == 1
    assert len(killed) == 1 and killed[0] != os.getpid()
    by_name = {r["source"]: r for r in results}
    assert [r["source"] for r in results] == ["a0", "dies", "a1", "a2", "b0", "b1", "b2", "b3", "b4"]
    assert [by_name[n]["status"] for n in ("a0", "b0", "b1", "b2", "b3", "b4")] == ["new"] * 6
    for name in ("dies", "a1", "a2"):
        assert by_name[name]["status"] == "error"
        assert by_name[name]["error"] == ("internal error: the process checking it was killed (SIGKILL) "
                                          "before its check finished")
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        outcomes = dict(db.execute('SELECT s.name, c.outcome FROM "check" c JOIN source s ON s.id = c.source_id'))
        held = db.execute("SELECT count(*) FROM source WHERE lock_owner IS NOT NULL").fetchone()[0]
    assert outcomes["dies"] == "error" and outcomes["a0"] == "new"
    assert held == 0, "the dead process's lock was freed"


def test_two_checking_processes_write_one_sqlite_file_at_once(cli, site, make_config, sqlite_url, tmp_path):
    sources = sources_on_two_hosts(site, per_host=15)
    config = make_config(sources, daemon={"concurrency": 8, "per_host_delay": "0s", "cpu_processes": 1})

    first, results = run_check(cli, config, sqlite_url)
    again, results_again = run_check(cli, config, sqlite_url)

    assert first.exit_code == 0 and again.exit_code == 0, first.stderr + again.stderr
    assert [r["status"] for r in results] == ["new"] * 30
    assert [r["status"] for r in results_again] == ["unchanged"] * 30
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        assert db.execute('SELECT count(*) FROM "check"').fetchone()[0] == 60
        assert db.execute("SELECT count(*) FROM version").fetchone()[0] == 30


def test_a_sharded_check_on_postgresql(cli, site, make_config, postgres_url):
    config = make_config(sources_on_two_hosts(site, per_host=2),
                         daemon={"concurrency": 4, "per_host_delay": "0s", "cpu_processes": 1})

    result, results = run_check(cli, config, postgres_url)

    assert result.exit_code == 0, result.stderr
    assert [r["status"] for r in results] == ["new"] * 4


def test_a_child_ends_with_its_parent(tmp_path):
    """The parent killed (SIGKILL: no clean-up of its own) takes its checking processes with it."""
    import subprocess
    import sys
    import time

    pids = tmp_path / "pids"
    script = f"""
import asyncio, os, time
from monitor.shards import run_sharded

def work(shard, send):
    with open({str(pids)!r}, "a") as out:
        out.write(f"{{os.getpid()}}\\n")
    time.sleep(60)

asyncio.run(run_sharded([[0], [1]], work, lambda i, item: None))
"""
    parent = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not pids.exists() or len(pids.read_text().split()) < 2):
        time.sleep(0.05)
    children = [int(p) for p in pids.read_text().split()]
    parent.kill()
    parent.wait()
    def running(pid: int) -> bool:  # a zombie waiting for init to reap it is not running
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(running(p) for p in children):
        time.sleep(0.05)
    assert len(children) == 2
    assert not any(running(p) for p in children)


def test_ctrl_c_ends_every_checking_process_and_leaves_no_source_locked(site, make_config, tmp_path):
    """SIGINT to the whole process group, as a terminal sends it, in the middle of a sharded `check`."""
    import subprocess
    import sys
    import time

    slow = threading.Event()
    serve = site._handle

    def handle(request: Request) -> Response:
        if request.path.startswith("/slow"):
            slow.wait(20)
        return serve(request)

    site.server.clear_all_handlers()
    site.server.expect_request(__import__("re").compile(".*")).respond_with_handler(handle)
    sources = [{"name": f"{host.split('.')[0]}-{n}", "url": site.set(f"/slow{host}{n}", render_policy(seed_text(2)))
                .replace("localhost", host, 1)} for n in range(3) for host in ("localhost", "127.0.0.1")]
    config = make_config(sources, daemon={"concurrency": 4, "per_host_delay": "0s", "cpu_processes": 1})
    db = tmp_path / "monitor.db"
    check = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "--db", f"sqlite:///{db}",
                              "check", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (db.exists() and locked(db) == 2):
            time.sleep(0.05)
        assert locked(db) == 2, check.stderr.read1().decode() if check.poll() is not None else "no locks taken"
        os.killpg(check.pid, signal.SIGINT)
        code = check.wait(30)
    finally:
        slow.set()
    assert code == 130
    assert locked(db) == 0


def locked(db: Path) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return conn.execute("SELECT count(*) FROM source WHERE lock_owner IS NOT NULL").fetchone()[0]
        except sqlite3.OperationalError:  # no table yet
            return -1
