"""Replay recorded policy histories through the real `check_source` path, on loopback, on both cores.

One harness serves the no-crash test, the significance floors and `benchmarks/bench_replay.py`:
each service's versions are served in order from a loopback HTTP server inside page chrome that
changes on every fetch (navigation, cookie banner, build ids), and each version is checked by the
real spine against a real SQLite file. Services run in a pool of processes (one per core).

The histories are Open Terms Archive contributors' recordings (ODC-BY 1.0), vendored in
`tests/corpus/histories.tar.xz` (see its README).
"""

from __future__ import annotations

import asyncio
import html
import io
import lzma
import os
import tarfile
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HISTORIES = Path(__file__).resolve().parent / "corpus" / "histories.tar.xz"


@dataclass(frozen=True)
class RecordedVersion:
    name: str   # e.g. "007_2022-09-20"
    text: str   # Markdown, as recorded


@dataclass
class ServiceReplay:
    """What the real check path said about each recorded version of one service, in order."""

    service: str
    versions: list[str]
    results: list[dict] = field(default_factory=list)   # check --json result per version
    seconds: list[float] = field(default_factory=list)  # wall time of each check
    crashes: list[str] = field(default_factory=list)    # exceptions that escaped check_source


def load_histories(archive: Path = HISTORIES, services: Sequence[str] | None = None
                   ) -> dict[str, list[RecordedVersion]]:
    """Every recorded version per service, in recording order."""
    found: dict[str, list[RecordedVersion]] = {}
    with lzma.open(archive) as packed, tarfile.open(fileobj=io.BytesIO(packed.read())) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) != 3 or not parts[2].endswith(".md"):
                continue
            if services is not None and parts[1] not in services:
                continue
            text = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
            found.setdefault(parts[1], []).append(RecordedVersion(parts[2][:-3], text))
    return {name: sorted(versions, key=lambda v: v.name) for name, versions in sorted(found.items())}


def dress(markdown: str, fetch_number: int) -> str:
    """The policy as a web page whose chrome differs on every fetch, as real sites' pages do."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    build = f"{fetch_number * 7919:08x}"
    banner = ("<div class='cookie-banner' id='consent'>We use cookies to improve your experience. "
              f"<button>Accept all</button> <a href='/cookies?c={build}'>Settings</a></div>")
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Privacy Policy</title>"
        f"<meta name='build-id' content='{build}'><script src='/static/app.{build}.js'></script></head><body>"
        f"<header><nav><a href='/?ref={build}'>Home</a> <a href='/products'>Products</a>"
        f"{' <a href=/careers>Careers</a>' if fetch_number % 2 else ''} <a href='/privacy'>Privacy</a></nav></header>"
        f"{banner if fetch_number % 3 else ''}"
        f"<main><article>{body}</article></main>"
        f"<footer>© {2020 + fetch_number % 5} Example Corp. <a href='/terms?session={html.escape(build)}'>Terms</a>"
        f"</footer><script>window.__BUILD__='{build}'</script></body></html>"
    )


class _PolicyServer:
    """A loopback web server answering every GET with the current page (a thread of its own)."""

    def __init__(self) -> None:
        self.page = b""
        self.fetches = 0
        self.markdown = ""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.fetches += 1
                body = dress(server.markdown, server.fetches).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/privacy"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _PolicyServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def replay_service(service: str, versions: Sequence[RecordedVersion], topics: Sequence[str] = ()) -> ServiceReplay:
    """Check every version of one service in order through the real spine; never raises."""
    return asyncio.run(_replay(service, versions, topics))


async def _replay(service: str, versions: Sequence[RecordedVersion], topics: Sequence[str]) -> ServiceReplay:
    from monitor.capture.fetch import Fetcher
    from monitor.config import parse_config
    from monitor.pipeline import check_source, fetch_settings
    from monitor.store.database import Store

    replay = ServiceReplay(service, [v.name for v in versions])
    with tempfile.TemporaryDirectory() as tmp, _PolicyServer() as server:
        watched = f"\n    topics: [{', '.join(topics)}]" if topics else ""
        config = parse_config(
            "daemon: {per_host_delay: 0s}\nfetch: {retries: 0, backoff: 0.01s}\n"
            f"sources:\n  - name: {service}\n    url: {server.url}{watched}\n")
        store = Store(f"sqlite:///{Path(tmp) / 'replay.db'}")
        try:
            async with Fetcher(fetch_settings(config)) as fetcher:
                for version in versions:
                    server.markdown = version.text
                    started = time.perf_counter()
                    try:
                        result = await check_source(config.sources[0], config=config, store=store, fetcher=fetcher)
                        replay.results.append(result.to_json())
                    except Exception as exc:  # noqa: BLE001 — the harness reports what escaped, it does not stop
                        replay.crashes.append(f"{version.name}: {type(exc).__name__}: {exc}")
                        replay.results.append({"status": "crash", "error": f"{type(exc).__name__}: {exc}"})
                    replay.seconds.append(time.perf_counter() - started)
        finally:
            store.dispose()
    return replay


def _replay_job(job: tuple[str, list[RecordedVersion], tuple[str, ...]]) -> ServiceReplay:
    return replay_service(*job)


def replay_all(histories: dict[str, list[RecordedVersion]], *, topics: Sequence[str] = (),
               workers: int | None = None) -> list[ServiceReplay]:
    """Replay many services in a pool of processes (default: one per core); results in input order."""
    jobs = [(name, versions, tuple(topics)) for name, versions in histories.items()]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        return [_replay_job(job) for job in jobs]
    # the longest histories first, so no core ends the run alone with a big one
    order = sorted(range(len(jobs)), key=lambda i: -sum(len(v.text) for v in jobs[i][1]))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        done = dict(zip(order, pool.map(_replay_job, [jobs[i] for i in order]), strict=True))
    return [done[i] for i in range(len(jobs))]


# ---------------------------------------------------------------------------------------------
# Scoring a replay against the labelled change pairs (data/labels/pairs.jsonl)

PAIRS = Path(__file__).resolve().parent.parent / "data" / "labels" / "pairs.jsonl"
SCORED_TOPICS = ("sharing", "retention", "minors")


@dataclass
class ReplayScore:
    """What a monitor's user would see on one split's labelled pairs and recorded histories."""

    pairs: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    cosmetic: int = 0
    cosmetic_alerted: int = 0
    blinks: int = 0
    blinks_alerted: int = 0
    changed_checks: int = 0
    alerting_checks: int = 0
    checks: int = 0
    seconds: float = 0.0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def labelled_pairs() -> list[dict]:
    import json

    return [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(replays: Sequence[ServiceReplay], pairs: Sequence[dict], services: set[str]) -> ReplayScore:
    """Topic precision/recall over labelled pairs, false alerts on cosmetic pairs, alerts on blinks,
    alert rate and time per check, for the replayed services in `services`."""
    s = ReplayScore()
    by_service = {r.service: r for r in replays if r.service in services}
    for replay in by_service.values():
        for res, seconds in zip(replay.results, replay.seconds, strict=True):
            s.checks += 1
            s.seconds += seconds
            if res.get("status") == "changed":
                s.changed_checks += 1
                s.alerting_checks += bool(res.get("alert_topics"))
                if res.get("reverts_to") is not None:
                    s.blinks += 1
                    s.blinks_alerted += bool(res.get("alert_topics"))
    for pair in pairs:
        replay = by_service.get(pair["service"])
        if replay is None or pair["label"] is None:
            continue
        res = replay.results[replay.versions.index(pair["id"].split("..")[1])]
        predicted = set(res.get("alert_topics") or []) & set(SCORED_TOPICS)
        gold = set(pair["label"]["topics"]) & set(SCORED_TOPICS) if pair["label"]["material"] else set()
        s.pairs += 1
        s.tp += len(predicted & gold)
        s.fp += len(predicted - gold)
        s.fn += len(gold - predicted)
        if not pair["label"]["material"]:
            s.cosmetic += 1
            s.cosmetic_alerted += bool(predicted)
        if predicted != gold:
            s.misses.append(f"{pair['id']}: labelled {sorted(gold)}, alerted {sorted(predicted)}")
    return s
