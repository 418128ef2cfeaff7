"""Throughput against urlwatch and the bare-GET floor: N policy pages behind nginx, four passes, one table.

The corpus: N pages (default 1,000) of 10–60 KB, the real policies of /work/shared/corpus (Open Terms
Archive contributors, ODC-BY 1.0) rendered from Markdown into three kinds of page markup (semantic
headings in <main>, bold-title <div>s in a layout table, a nested <div> soup with an <article>),
with nav, cookie banner, scripts and footer around them. Half the pages carry a per-request nonce in
attributes (nginx SSI echoes `$request_id` into a <meta>, a <script nonce> and a data- attribute)
and send no validators; the other half are plain static files.

nginx from Debian's packages (installed with apt-get if missing; idempotent) is started on a free
port with its own temp prefix and config, listening on --hosts loopback addresses 127.0.0.x, one
worker process. Its own CPU time during the floor pass says how much faster than the client it is.

urlwatch (--urlwatch-version, default 2.29) is installed by the script into a throwaway virtual
environment under the temp dir: it is never a project dependency.

Passes, each a whole separate process (wall time, CPU s of the process and its children, peak RSS):

- first: every page new (validators on);
- unchanged, 304 allowed: static pages answer 304 to a conditional request;
- unchanged: validators off on the server (`etag off; if_modified_since off`): every page is sent;
- 10% changed: every tenth page gets a new sentence (validators off).

p50/p95 per check: ours from the `check` table's duration_ms, the floor's per request; urlwatch
does not report per-job times. Then the daemon (`policy-monitor run`) on the same corpus and database
with an interval short enough that it runs flat out: sustained checks/s over a window after warm-up.

    .venv/bin/python benchmarks/bench_throughput.py                 # 1,000 pages (a few minutes)
    .venv/bin/python benchmarks/bench_throughput.py --pages 200     # a quick run
    .venv/bin/python benchmarks/bench_throughput.py --no-urlwatch   # ours and the floor only
    .venv/bin/python benchmarks/bench_throughput.py --pages 300 --sources 10000   # memory at 10,000 sources
    .venv/bin/python benchmarks/bench_throughput.py --startup-only --startup-runs 5  # the start-up line alone

Peak RSS is the VmHWM of every process of the command's tree (its checking processes, CPU workers)
summed: an upper bound, since a forked child's pages shared with its parent count in both; the
largest summed Pss (shared pages split among their users) is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path("/work/shared/corpus/policies")
VENV_BIN = Path(sys.executable).parent
NONCE = '<!--# echo var="request_id" -->'
MIN_PAGE, MAX_PAGE = 10_000, 60_000  # bytes of a corpus page, chrome included
ADDED_SENTENCE = ("We may share your personal information with our advertising partners, "
                  "who may keep it for up to {n} months.")


# ---------------------------------------------------------------------------------------------
# nginx

def ensure_nginx() -> str:
    """The nginx binary; installs Debian's nginx-light when there is none (quietly, waiting for dpkg's lock)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found:
        return found
    print("nginx missing: apt-get install -y nginx-light", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-qq", "-o", "DPkg::Lock::Timeout=600"]
    if subprocess.run([*apt, "install", "-y", "nginx-light"], env=env, stdout=subprocess.DEVNULL).returncode:
        subprocess.run([*apt, "update"], env=env, stdout=subprocess.DEVNULL, check=True)
        subprocess.run([*apt, "install", "-y", "nginx-light"], env=env, stdout=subprocess.DEVNULL, check=True)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def free_port(hosts: list[str]) -> int:
    """A port free on every one of `hosts`."""
    for _ in range(200):
        port = random.randint(20000, 60000)
        sockets = []
        try:
            for host in hosts:
                s = socket.socket()
                sockets.append(s)
                s.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port")


class Nginx:
    """nginx with its own prefix and config under `tmp`; `validators(on)` reloads with 304s on or off."""

    def __init__(self, binary: str, tmp: Path, www: Path, hosts: list[str], port: int):
        self.binary, self.tmp, self.www, self.hosts, self.port = binary, tmp, www, hosts, port
        self.prefix = tmp / "nginx"
        for sub in ("logs", "tmp"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        self.conf = self.prefix / "nginx.conf"
        self.validators_conf = self.prefix / "validators.conf"
        self.proc: subprocess.Popen | None = None

    def write_config(self) -> None:
        listens = "\n".join(f"    listen {h}:{self.port};" for h in self.hosts)
        t = self.prefix / "tmp"
        self.conf.write_text(f"""
worker_processes 1;
user root;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {t}/body; proxy_temp_path {t}/proxy; fastcgi_temp_path {t}/fastcgi;
  uwsgi_temp_path {t}/uwsgi; scgi_temp_path {t}/scgi;
  types {{ text/html html; }}
  default_type text/html;
  charset utf-8;
  sendfile on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {{
{listens}
    root {self.www};
    location /s/ {{ include {self.validators_conf}; }}
    location /n/ {{ ssi on; etag off; if_modified_since off; add_header Cache-Control "no-store"; }}
  }}
}}
""")

    def start(self) -> None:
        self.validators(True, reload=False)
        self.write_config()
        self.proc = subprocess.Popen([self.binary, "-p", str(self.prefix), "-c", str(self.conf),
                                      "-e", str(self.prefix / "logs/error.log"), "-g", "daemon off;"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.hosts[0], self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"nginx did not start: {(self.prefix / 'logs/error.log').read_text()[-2000:]}")

    def validators(self, on: bool, *, reload: bool = True) -> None:
        self.validators_conf.write_text("etag on; if_modified_since exact;\n" if on else
                                        "etag off; if_modified_since off;\n")
        if reload and self.proc is not None:
            workers_before = set(self.worker_pids())
            self.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and (set(self.worker_pids()) & workers_before
                                                   or not self.worker_pids()):
                time.sleep(0.05)

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def cpu_seconds(self) -> float:
        """CPU seconds of the master and its live workers."""
        assert self.proc is not None
        return sum(_proc_cpu(pid) for pid in [self.proc.pid, *self.worker_pids()])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_hwm_mib(pid: int) -> float:
    return _proc_field_mib(f"/proc/{pid}/status", "VmHWM:")


def _proc_pss_mib(pid: int) -> float:
    """Proportional set size: shared pages (a forked child's copy-on-write pages) split among their users."""
    return _proc_field_mib(f"/proc/{pid}/smaps_rollup", "Pss:")


def _proc_field_mib(path: str, key: str) -> float:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:  # it just exited
        return 0.0
    for line in lines:
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return 0.0


class TreeMemory:
    """Peak memory of a process tree, polled: the sum over every process seen of its own peak (VmHWM),
    which counts pages a forked child shares with its parent once in each (an upper bound), and the
    largest sum of Pss seen at one poll (shared pages counted once)."""

    def __init__(self, root: int):
        self.root = root
        self.hwm: dict[int, float] = {}
        self.pss = 0.0

    def poll(self) -> None:
        pids = _tree(self.root)
        for pid in pids:
            self.hwm[pid] = max(self.hwm.get(pid, 0.0), _proc_hwm_mib(pid))
        self.pss = max(self.pss, sum(_proc_pss_mib(pid) for pid in pids))

    @property
    def hwm_sum(self) -> float:
        return sum(self.hwm.values())


# ---------------------------------------------------------------------------------------------
# The corpus

_NAV = ["Home", "Products", "Pricing", "Blog", "Careers", "Support", "Press", "Developers", "Status"]


def _markdown_html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)


def _fit(blocks: list[str], target: int, limit: int) -> list[str]:
    """Blocks in order (repeating the text if short) adding up to about `target` bytes, never over `limit`."""
    out, size = [], 0
    for i in range(10 * len(blocks) + 10):
        block = blocks[i % len(blocks)]
        length = len(block.encode())
        if size + length > limit:
            continue  # e.g. a huge table: leave it out
        out.append(block)
        size += length
        if size >= target:
            break
    return out


def _layout(body_html: str, kind: int, rng: random.Random, nonce: bool) -> str:
    nonce_attr = NONCE if nonce else f"{rng.getrandbits(64):016x}"
    nav = "".join(f'<li><a href="/{n.lower()}?utm_source=nav&amp;v={rng.randint(1, 99)}">{n}</a></li>'
                  for n in _NAV[: 4 + rng.randint(0, 5)])
    head = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Privacy Policy</title>'
            f'<meta name="csrf-token" content="{nonce_attr}">'
            f'<link rel="stylesheet" href="/static/app.{rng.getrandbits(32):08x}.css">'
            f'<script nonce="{nonce_attr}">window.__CFG__={{"build":"{rng.getrandbits(48):012x}"}};</script>'
            f'</head><body data-request="{nonce_attr}">')
    banner = ('<div id="onetrust-banner-sdk" class="cookie-consent" role="dialog"><p>We use cookies to improve '
              'your experience.</p><button>Accept all</button></div>')
    footer = f'<footer><p>© {2020 + rng.randint(0, 5)} Example Inc.</p><ul>{nav}</ul></footer>'
    if kind == 0:  # semantic: header/nav, <main>
        page = f'<header><nav><ul>{nav}</ul></nav></header><main>{body_html}</main>'
    elif kind == 1:  # headings as bold-title divs in a layout table
        body = re.sub(r"<h(\d)>(.*?)</h\1>", r'<div class="title"><b>\2</b></div>', body_html, flags=re.S)
        page = (f'<div class="top"><a class="skip" href="#c">Skip to content</a><ul class="menu">{nav}</ul></div>'
                f'<table class="layout"><tr><td id="c">{body}</td></tr></table>')
    else:  # div soup around an <article>, paragraphs as divs, spans with classes
        body = body_html.replace("<p>", '<div class="para"><span class="t">').replace("</p>", "</span></div>")
        page = (f'<div id="app"><div class="wrapper"><div class="sidebar" aria-hidden="true">{nav}</div>'
                f'<div class="content"><article class="policy">{body}</article></div></div></div>')
    scripts = f'<script>window.dataLayer=[{{"sid":"{rng.getrandbits(32):x}"}}];</script>'
    return f"{head}{banner}{page}{footer}{scripts}</body></html>\n"


@dataclass
class Page:
    path: str      # /s/17.html or /n/18.html
    file: Path
    original: str


def build_corpus(www: Path, n: int, seed: int = 13) -> list[Page]:
    """N pages of 10–60 KB from the real policies, in three layouts; odd pages carry per-request nonces."""
    policies = sorted(p for p in CORPUS.glob("*.md") if p.stat().st_size > 4000)
    if not policies:
        raise SystemExit(f"no policies under {CORPUS}")
    rng = random.Random(seed)
    rendered: dict[Path, list[str]] = {}
    pages = []
    for d in ("s", "n"):
        (www / d).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        policy = policies[i % len(policies)]
        if policy not in rendered:
            blocks = re.split(r"\n(?=<(?:p|h\d|ul|ol|table|pre|blockquote)>)", _markdown_html(policy.read_text()))
            rendered[policy] = [b for b in blocks if b.strip()]
        target = rng.randint(MIN_PAGE, MAX_PAGE)
        blocks = _fit(rendered[policy], target, MAX_PAGE)
        nonce = i % 2 == 1
        while True:  # the layouts add 3–15% around the text: trim until the whole page is in range
            text = (f"<!-- Policy text: Open Terms Archive contributors, ODC-BY 1.0 ({policy.stem}) -->\n"
                    + _layout("\n".join(blocks), i % 3, random.Random(seed * 100_003 + i), nonce))
            if len(text.encode()) <= MAX_PAGE or len(blocks) == 1:
                break
            blocks.pop()
        path = f"/{'n' if nonce else 's'}/{i}.html"
        file = www / path.lstrip("/")
        file.write_text(text)
        pages.append(Page(path, file, text))
    return pages


def change_tenth(pages: list[Page], round_: int) -> int:
    """Insert a sentence in the middle paragraph of every tenth page; returns how many changed."""
    changed = 0
    for i, page in enumerate(pages):
        if i % 10 != 0:
            continue
        paragraphs = [m.end() for m in re.finditer(r"</p>|</span></div>", page.original)]
        at = paragraphs[len(paragraphs) // 2] if paragraphs else page.original.rfind("</body>")
        sentence = ADDED_SENTENCE.format(n=12 + round_)
        page.file.write_text(page.original[:at] + f"<p>{html.escape(sentence)}</p>" + page.original[at:])
        changed += 1
    return changed


def restore(pages: list[Page]) -> None:
    for page in pages:
        page.file.write_text(page.original)


# ---------------------------------------------------------------------------------------------
# Running one pass as a process

@dataclass
class Pass:
    tool: str
    name: str
    pages: int
    wall: float
    cpu: float
    rss_mib: float        # the process tree's summed VmHWM (see TreeMemory)
    latencies: list[float] = field(default_factory=list)  # seconds per check, when the tool reports them
    pss_mib: float = 0.0  # the process tree's largest summed Pss
    parts: tuple[float, ...] = ()  # each process's VmHWM (MiB), the command's own first
    note: str = ""

    @property
    def rate(self) -> float:
        return self.pages / self.wall if self.wall else 0.0

    def quantile(self, q: float) -> str:
        if not self.latencies:
            return "—"
        ordered = sorted(self.latencies)
        return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.0f} ms"


def run_measured(argv: list[str], *, env: dict | None = None, stdout=subprocess.DEVNULL,
                 cwd: Path | None = None, memory: list | None = None,
                 pids: list | None = None) -> tuple[float, float, float, int]:
    """Run `argv` to completion: (wall s, CPU s of it and its children, peak RSS MiB, exit code).

    Peak RSS is the VmHWM of the process and its descendants summed (TreeMemory, polled while it runs;
    appended to `memory` when given): the ru_maxrss that wait4 reports starts from this (large) process's
    RSS at fork, whatever the child uses, and counts one process of the tree only."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=subprocess.PIPE, cwd=cwd)
    if pids is not None:  # for a caller that watches the process while it runs
        pids.append(proc.pid)
    # stderr is drained by a thread so a chatty tool cannot block on a full pipe
    import threading

    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
    reader.start()
    tree = TreeMemory(proc.pid)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        tree.poll()
        time.sleep(0.05)
    peak = tree.hwm_sum
    if memory is not None:
        memory.append(tree)
    wall = time.perf_counter() - started
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # 1: some source failed (reported in the table), not a crash
        sys.stderr.write(b"".join(errors).decode(errors="replace")[-3000:])
    return wall, usage.ru_utime + usage.ru_stime, peak or usage.ru_maxrss / 1024, proc.returncode


def _tree(pid: int) -> list[int]:
    """`pid` and its live descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            todo += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            pass
    return found


# -- the floor: bare GETs with httpx, 16 at a time ---------------------------------------------

async def _floor(urls: list[str], concurrency: int) -> list[float]:
    import httpx

    latencies: list[float] = []
    queue = list(reversed(urls))
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency * 2)) as client:
        async def worker() -> None:
            while queue:
                url = queue.pop()
                t = time.perf_counter()
                response = await client.get(url)
                response.raise_for_status()
                latencies.append(time.perf_counter() - t)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def floor_client(urls_file: str, concurrency: int, out_file: str) -> None:
    urls = Path(urls_file).read_text().split()
    Path(out_file).write_text(json.dumps(asyncio.run(_floor(urls, concurrency))))


# -- policy-monitor ----------------------------------------------------------------------------

def our_config(urls: list[str], path: Path, *, interval: str = "6h", concurrency: int = 16) -> None:
    lines = [f"daemon: {{concurrency: {concurrency}, per_host_delay: 0s, failure_retry: 0s}}",
             "fetch: {retries: 0}", "sources:"]
    for i, url in enumerate(urls):
        lines += [f"  - name: p{i}", f"    url: {url}", f"    interval: {interval}"]
    path.write_text("\n".join(lines) + "\n")


def our_pass(name: str, config: Path, db: Path, pages: int) -> Pass:
    last_id = 0
    if db.exists():
        with sqlite3.connect(db) as conn:
            last_id = conn.execute("SELECT coalesce(max(id), 0) FROM \"check\"").fetchone()[0]
    out = config.parent / "check.json"
    memory: list[TreeMemory] = []
    with out.open("wb") as stdout:
        wall, cpu, rss, _ = run_measured([str(VENV_BIN / "policy-monitor"), "--config", str(config),
                                          "--db", f"sqlite:///{db}", "check", "--json", "--no-deliver"],
                                         stdout=stdout, memory=memory)
    results = json.loads(out.read_text())["results"]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    with sqlite3.connect(db) as conn:
        durations = [ms / 1000 for (ms,) in conn.execute("SELECT duration_ms FROM \"check\" WHERE id > ?",
                                                         (last_id,))]
    note = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    return Pass("policy-monitor", name, pages, wall, cpu, rss, durations, note=note, pss_mib=memory[0].pss,
                parts=tuple(memory[0].hwm.values()))


def daemon_rate(config: Path, db: Path, urls: list[str], *, warmup: float, window: float) -> dict:
    """Run `policy-monitor run` flat out (interval shorter than a pass takes) and count checks per second."""
    interval = max(5, len(urls) // 200)
    daemon_config = config.parent / "daemon.yaml"
    our_config(urls, daemon_config, interval=f"{interval}s")
    env = {**os.environ, "POLICY_MONITOR_SHUTDOWN_GRACE": "5"}
    proc = subprocess.Popen([str(VENV_BIN / "policy-monitor"), "--config", str(daemon_config), "--db",
                             f"sqlite:///{db}", "run"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def count() -> int:
        with sqlite3.connect(db, timeout=30) as conn:
            return conn.execute("SELECT count(*) FROM \"check\"").fetchone()[0]

    tree = TreeMemory(proc.pid)

    def wait(seconds: float) -> None:
        until = time.perf_counter() + seconds
        while time.perf_counter() < until:
            tree.poll()
            time.sleep(0.2)

    def cpu() -> float:  # the daemon's and its CPU workers' (they live as long as it does)
        return sum(_proc_cpu(p) for p in _tree(proc.pid))

    try:
        wait(warmup)
        n0, cpu0, t0 = count(), cpu(), time.perf_counter()
        wait(window)
        n1, cpu1, t1 = count(), cpu(), time.perf_counter()
        tree.poll()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"interval": interval, "checks": n1 - n0, "seconds": t1 - t0, "rate": (n1 - n0) / (t1 - t0),
            "cpu_per_check_ms": (cpu1 - cpu0) / max(n1 - n0, 1) * 1000, "rss_mib": tree.hwm_sum,
            "pss_mib": tree.pss, "processes": len(tree.hwm), "parts": tuple(tree.hwm.values()),
            "demand": len(urls) / interval}


# -- urlwatch ----------------------------------------------------------------------------------

def install_urlwatch(tmp: Path, version: str) -> Path:
    venv = tmp / "urlwatch-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check",
                           f"urlwatch=={version}"], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"could not install urlwatch {version}:\n{done.stderr[-3000:]}")
    return venv / "bin/urlwatch"


def urlwatch_files(tmp: Path, urls: list[str]) -> tuple[Path, Path, Path, Path]:
    home = tmp / "urlwatch"
    home.mkdir(exist_ok=True)
    jobs = home / "urls.yaml"
    jobs.write_text("".join(f"---\nname: p{i}\nurl: {url}\n" for i, url in enumerate(urls)))
    config = home / "urlwatch.yaml"
    # every reporter off: what is timed is fetching and comparing, not printing thousands of diffs
    config.write_text("display: {new: true, error: true, unchanged: false}\n"
                      "report:\n  text: {details: true, footer: false, line_length: 75, minimal: false}\n"
                      "  stdout: {enabled: false, color: false}\n"
                      "  html: {diff: unified}\n  markdown: {details: true, footer: false, minimal: false}\n")
    return home, jobs, config, home / "cache.db"


def urlwatch_pass(name: str, binary: Path, files: tuple[Path, Path, Path, Path], pages: int) -> Pass:
    home, jobs, config, cache = files
    hooks = home / "hooks.py"
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "XDG_CACHE_HOME": str(home)}
    memory: list[TreeMemory] = []
    wall, cpu, rss, code = run_measured([str(binary), "--urls", str(jobs), "--config", str(config),
                                         "--cache", str(cache), "--hooks", str(hooks)], env=env, cwd=home,
                                        memory=memory)
    return Pass("urlwatch", name, pages, wall, cpu, rss, note=f"exit {code}", pss_mib=memory[0].pss)


# -- start-up ----------------------------------------------------------------------------------

def startup_times(tmp: Path, runs: int = 3) -> dict:
    """`--help` (wall and CPU), and how long `check` of one source takes from exec to its first request
    (a database already at head, as in daily use), in wall time and in the CPU time the process had used
    by then (steadier on a busy machine): the best of `runs`."""
    import threading

    helps = [run_measured([str(VENV_BIN / "policy-monitor"), "--help"])[:2] for _ in range(runs)]
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    arrivals: list[tuple[float, float]] = []
    pids: list[int] = []
    body = (b"<html><body><main><h1>Privacy</h1><p>" + b"We keep your data for 30 days. " * 40
            + b"</p></main></body></html>")

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            arrivals.append((time.perf_counter(), _proc_cpu(pids[-1]) if pids else float("nan")))
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    home = tmp / "startup"
    home.mkdir()
    config, db = home / "sources.yaml", home / "one.db"
    our_config([f"http://127.0.0.1:{server.getsockname()[1]}/privacy"], config)
    argv = [str(VENV_BIN / "policy-monitor"), "--config", str(config), "--db", f"sqlite:///{db}", "check",
            "--no-deliver"]
    run_measured(argv)  # creates the database
    firsts, cpus = [], []
    for _ in range(runs):
        arrivals.clear()
        started = time.perf_counter()
        run_measured(argv, pids=pids)
        firsts.append(arrivals[0][0] - started if arrivals else float("nan"))
        cpus.append(arrivals[0][1] if arrivals else float("nan"))
    server.close()
    return {"help_wall": min(w for w, _ in helps), "help_cpu": min(c for _, c in helps),
            "first_request": min(firsts), "first_request_cpu": min(cpus)}


def print_startup(startup: dict, runs: int) -> None:
    print(f"start-up: `policy-monitor --help` {startup['help_wall']:.2f} s wall, "
          f"{startup['help_cpu']:.2f} s CPU; "
          f"`check` of one source sends its first request {startup['first_request']:.2f} s after exec, "
          f"{startup['first_request_cpu']:.2f} s CPU (best of {runs})", flush=True)


# ---------------------------------------------------------------------------------------------
# Storage

def storage_per_version(db: Path) -> dict:
    with sqlite3.connect(db) as conn:
        versions, raw, text = conn.execute(
            "SELECT count(*), coalesce(sum(length(raw)), 0), coalesce(sum(length(CAST(text AS BLOB))), 0) "
            "FROM version").fetchone()
        sections = conn.execute("SELECT coalesce(sum(length(CAST(text AS BLOB))), 0) + "
                                "coalesce(sum(length(topics)), 0) FROM section").fetchone()[0]
        checks = conn.execute("SELECT count(*) FROM \"check\"").fetchone()[0]
    size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob(db.name + "-wal"))
    return {"versions": versions, "raw": raw / max(versions, 1), "text": text / max(versions, 1),
            "sections": sections / max(versions, 1), "checks": checks, "db_bytes": size}


# ---------------------------------------------------------------------------------------------

PASS_ORDER = ("first", "unchanged", "unchanged-304", "10% changed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100, help="loopback addresses 127.0.0.1..N")
    parser.add_argument("--no-urlwatch", action="store_true")
    parser.add_argument("--urlwatch-version", default="2.29")
    parser.add_argument("--daemon-seconds", type=float, default=30.0, help="measured window (after warm-up)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (printed)")
    parser.add_argument("--serve", type=float, metavar="SECONDS",
                        help="only serve the corpus this long and write a sources.yaml (for profiling)")
    parser.add_argument("--sources", type=int, metavar="N",
                        help="memory mode: N sources over the --pages pages (each page under many query strings), "
                             "`check` first and unchanged, then the daemon; peak RSS of each process tree")
    parser.add_argument("--startup-only", action="store_true",
                        help="only the start-up line: `--help`, and exec to the first request of `check` of one source")
    parser.add_argument("--startup-runs", type=int, default=3, metavar="N", help="start-up: best of N (default 3)")
    parser.add_argument("--floor-client", nargs=3, metavar=("URLS", "CONCURRENCY", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_client:
        floor_client(args.floor_client[0], int(args.floor_client[1]), args.floor_client[2])
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench_throughput_"))
    tmp.chmod(0o755)
    nginx = None
    try:
        # the package's bytecode written as `pip install` leaves an installed copy (urlwatch's, in its venv, is):
        # an editable checkout under PYTHONDONTWRITEBYTECODE would compile every module in every process
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "monitor")], check=True)
        if args.startup_only:
            print_startup(startup_times(tmp, args.startup_runs), args.startup_runs)
            return
        hosts = [f"127.0.0.{1 + h}" for h in range(min(args.hosts, 250))]
        www = tmp / "www"
        t = time.perf_counter()
        pages = build_corpus(www, args.pages)
        sizes = [p.file.stat().st_size for p in pages]
        print(f"corpus: {len(pages)} pages, {min(sizes) / 1000:.0f}–{max(sizes) / 1000:.0f} KB "
              f"(mean {statistics.mean(sizes) / 1000:.0f} KB), {sum(p.path.startswith('/n/') for p in pages)} "
              f"with per-request nonces, built in {time.perf_counter() - t:.1f} s; temp dir {tmp}", flush=True)
        binary = ensure_nginx()
        port = free_port(hosts)
        nginx = Nginx(binary, tmp, www, hosts, port)
        nginx.start()
        urls = [f"http://{hosts[i % len(hosts)]}:{port}{p.path}" for i, p in enumerate(pages)]
        urls_file = tmp / "urls.txt"
        urls_file.write_text("\n".join(urls))
        if args.sources:
            many_sources(args.sources, pages, hosts, port, nginx, tmp, args.daemon_seconds)
            return
        if args.serve:
            config = tmp / "sources.yaml"
            our_config(urls, config)
            print(f"serving {len(urls)} pages for {args.serve:g} s; sources: {config}", flush=True)
            time.sleep(args.serve)
            return
        uw_binary = None
        if not args.no_urlwatch:
            t = time.perf_counter()
            uw_binary = install_urlwatch(tmp, args.urlwatch_version)
            print(f"urlwatch {args.urlwatch_version} installed in a throwaway venv in "
                  f"{time.perf_counter() - t:.0f} s", flush=True)

        results: list[Pass] = []
        # the floor: bare GETs, 16 at a time; nginx's CPU over the same pass says how fast it is
        floor_out = tmp / "floor.json"
        cpu0 = nginx.cpu_seconds()
        wall, cpu, rss, _ = run_measured([sys.executable, __file__, "--floor-client", str(urls_file), "16",
                                          str(floor_out)])
        nginx_cpu = nginx.cpu_seconds() - cpu0
        results.append(Pass("bare GET (httpx, c=16)", "first", len(urls), wall, cpu, rss,
                            json.loads(floor_out.read_text())))
        print(f"floor: {len(urls) / wall:.0f} pages/s; nginx used {nginx_cpu:.2f} CPU s for {len(urls)} requests "
              f"(≈{len(urls) / max(nginx_cpu, 1e-3):.0f} req/s per core, "
              f"{len(urls) / max(nginx_cpu, 1e-3) / (len(urls) / wall):.0f}× the floor client)", flush=True)

        def passes(run_one) -> None:
            restore(pages)
            nginx.validators(True)
            results.append(run_one("first"))
            results.append(run_one("unchanged-304"))
            nginx.validators(False)
            results.append(run_one("unchanged"))
            change_tenth(pages, 1)
            results.append(run_one("10% changed"))
            for r in results[-4:]:
                print(f"  {r.tool:15} {r.name:14} {r.rate:7.1f} pages/s  {r.cpu:6.1f} CPU s  "
                      f"{r.rss_mib:5.0f} MiB (Pss {r.pss_mib:.0f})  {r.note}", flush=True)

        if uw_binary is not None:
            files = urlwatch_files(tmp, urls)
            passes(lambda name: urlwatch_pass(name, uw_binary, files, len(urls)))
        ours = tmp / "ours"
        ours.mkdir()
        config, db = ours / "sources.yaml", ours / "bench.db"
        our_config(urls, config)
        passes(lambda name: our_pass(name, config, db, len(urls)))
        storage = storage_per_version(db)
        startup = startup_times(tmp, args.startup_runs)
        daemon = daemon_rate(config, db, urls, warmup=min(20.0, 5 + len(urls) / 100), window=args.daemon_seconds)
        print_table(results, storage, daemon, len(urls))
        print()
        print_startup(startup, args.startup_runs)
        if args.keep:
            print(f"kept {tmp}")
    finally:
        if nginx is not None:
            nginx.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def many_sources(n: int, pages: list[Page], hosts: list[str], port: int, nginx: Nginx, tmp: Path,
                 daemon_seconds: float) -> None:
    """Memory mode: `n` sources over the pages (source i is page i mod pages, under `?copy=i`, on host i mod
    hosts), `check` of all of them new then unchanged, then the daemon flat out; peak RSS per process tree."""
    urls = [f"http://{hosts[i % len(hosts)]}:{port}{pages[i % len(pages)].path}?copy={i}" for i in range(n)]
    home = tmp / "many"
    home.mkdir()
    config, db = home / "sources.yaml", home / "many.db"
    our_config(urls, config)
    restore(pages)
    nginx.validators(True)
    runs = [our_pass("first", config, db, n)]
    nginx.validators(False)
    runs.append(our_pass("unchanged", config, db, n))
    daemon = daemon_rate(config, db, urls, warmup=20.0, window=daemon_seconds)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{n} sources over {len(pages)} pages and {len(hosts)} hosts; {os.cpu_count()} cores, load average "
          f"now {load}; peak RSS = VmHWM summed over the process tree (Pss: shared pages counted once)\n")
    print("| what | checks/s | CPU ms/check | peak RSS | peak Pss | outcomes |")
    print("|---|---|---|---|---|---|")
    for r in runs:
        print(f"| `check` {r.name} | {r.rate:.1f} | {r.cpu / r.pages * 1000:.1f} | {r.rss_mib:.0f} MB "
              f"({' + '.join(f'{v:.0f}' for v in r.parts)}) | {r.pss_mib:.0f} MB | {r.note} |")
    print(f"| `run` (daemon, {daemon['seconds']:.0f} s) | {daemon['rate']:.1f} | {daemon['cpu_per_check_ms']:.1f} | "
          f"{daemon['rss_mib']:.0f} MB ({' + '.join(f'{v:.0f}' for v in daemon['parts'])}) | "
          f"{daemon['pss_mib']:.0f} MB | {daemon['processes']} processes |")


def print_table(results: list[Pass], storage: dict, daemon: dict, n: int) -> None:
    by = {(r.tool, r.name): r for r in results}
    floor = next(r for r in results if r.tool.startswith("bare"))
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{n} pages, whole-process wall time per pass; CPU s = user+sys of the process and its reaped "
          f"children (workers included); peak RSS = VmHWM summed over the process tree; "
          f"{os.cpu_count()} cores, load average now {load}\n")
    print("| pass | tool | pages/s | CPU s | CPU ms/page | peak RSS | p50 / p95 per check "
          "| ours / urlwatch (pages/s) | ours / urlwatch (CPU) | ours / floor |")
    print("|---|---|---|---|---|---|---|---|---|---|")

    def row(r: Pass, *ratios: str) -> None:
        latency = f"{r.quantile(0.5)} / {r.quantile(0.95)}" if r.latencies else "—"
        cells = [r.name, r.tool, f"{r.rate:.1f}", f"{r.cpu:.1f}", f"{r.cpu / r.pages * 1000:.1f}",
                 f"{r.rss_mib:.0f} MB", latency, *ratios]
        print("| " + " | ".join(cells) + " |")

    row(floor, "", "", "")
    for name in PASS_ORDER:
        ours, uw = by.get(("policy-monitor", name)), by.get(("urlwatch", name))
        if uw:
            row(uw, "", "", "")
        if ours:
            rate = f"{ours.rate / uw.rate:.2f}" if uw else "—"
            cpu = f"{uw.cpu / ours.cpu:.2f}" if uw and ours.cpu else "—"
            row(ours, rate, cpu, f"{ours.rate / floor.rate:.2f}")
    print("\n(ours / urlwatch (CPU) = urlwatch's CPU s over ours: above 1, we spend less CPU per page)")
    print("\npolicy-monitor outcomes per pass: " + "; ".join(
        f"{r.name}: {r.note}" for r in results if r.tool == "policy-monitor"))
    print(f"\ndaemon (`policy-monitor run`, interval {daemon['interval']}s = {daemon['demand']:.0f} checks/s asked): "
          f"{daemon['rate']:.1f} checks/s sustained over {daemon['seconds']:.0f} s ({daemon['checks']} checks), "
          f"{daemon['cpu_per_check_ms']:.1f} ms CPU per check (its process tree), peak RSS {daemon['rss_mib']:.0f} MB "
          f"(ΣVmHWM of {daemon['processes']} processes; Pss {daemon['pss_mib']:.0f} MB)")
    cpu_unchanged = by[("policy-monitor", "unchanged")].cpu / n * 1000
    print(f"\nstorage after the four passes: {storage['versions']} versions, per version "
          f"{storage['raw'] / 1000:.1f} KB raw (zlib), {storage['text'] / 1000:.1f} KB text, "
          f"{storage['sections'] / 1000:.1f} KB sections; {storage['checks']} checks; database "
          f"{storage['db_bytes'] / 1e6:.1f} MB; CPU per unchanged check {cpu_unchanged:.1f} ms")


if __name__ == "__main__":
    main()
