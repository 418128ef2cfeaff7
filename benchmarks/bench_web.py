"""Benchmark: server time of the web view's pages (issue 16: < 300 ms).

Builds a SQLite database with one source of 1,000 stored versions (each with its sections and recorded
changes, as `check` stores them) whose last change edits 300 of a 320-section policy, then times the
pages through the ASGI application in this process (no network; what the server spends per request):

- the source page (1,000 versions, the timeline of material changes, failing periods);
- the change page of the 300-section change, cold (the diff computed from both stored texts, as on the
  first visit) and warm (the diff of an unchanged pair of texts is kept);
- the overview, the version page of the 320-section policy and /api/sources/NAME/history.

Run: .venv/bin/python benchmarks/bench_web.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import parse_config  # noqa: E402
from monitor.meaning.significance import changes_between  # noqa: E402
from monitor.pipeline import add_sections, sections_of  # noqa: E402
from monitor.store.database import (  # noqa: E402
    ChangeRow,
    Check,
    SectionRow,
    Source,
    Store,
    Version,
    compress,
    text_hash,
)

VERSIONS = 1000
SECTIONS = 320
EDITED = 300
RUNS = 7

TOPICS = [
    "We share your contact details with our payment processors and delivery partners to fulfil orders.",
    "We keep your account information for 2 years after your last login, then delete it.",
    "Children under 16 may not create an account without the consent of a parent.",
    "You can ask us for a copy of the personal information we hold about you at any time.",
]


def policy(n_sections: int, period: str = "2 years", stamp: int = 0) -> str:
    lines = ["Privacy Policy", "", f"Last updated: revision {stamp}", ""]
    for i in range(1, n_sections + 1):
        body = " ".join(TOPICS[(i + k) % len(TOPICS)] for k in range(3)).replace("2 years", period)
        lines += [f"{i}. Section about topic {i}", "", f"Clause {i}: {body}", ""]
    return "\n".join(lines)


def build(url: str) -> None:
    store = Store(url)
    with store.session() as session:
        source = Source(name="bigco", url="https://example.org/privacy")
        session.add(source)
        session.flush()
        small = sections_of(policy(12))
        previous = None
        for seq in range(1, VERSIONS - 1):
            text = policy(12, stamp=seq)
            version = Version(source_id=source.id, seq=seq, url=source.url, text_hash=text_hash(text),
                              raw_hash=text_hash(text), raw=compress(text.encode()), text=text)
            session.add(version)
            session.flush()
            for position, s in enumerate(small):  # the same sections each time: topics as `check` stores them
                session.add(SectionRow(version_id=version.id, position=position, key=s.key, number=s.number,
                                       title=s.title, level=s.level, path=s.display_path, text=s.text, topics=[]))
            if previous is not None:
                alert = ["retention"] if seq % 50 == 0 else []
                session.add(ChangeRow(source_id=source.id, old_version_id=previous.id, new_version_id=version.id,
                                      position=0, section="(preamble)", kind="date", topics=alert,
                                      alert_topics=alert, severity="medium" if alert else "low",
                                      summary="retention period changed" if alert else "date stamp updated",
                                      before=f"revision {seq - 1}", after=f"revision {seq}"))
            session.add(Check(source_id=source.id, outcome="changed" if previous else "new", version_seq=seq))
            previous = version
        for seq, period in ((VERSIONS - 1, "2 years"), (VERSIONS, "5 years")):
            text = policy(SECTIONS, period) if seq == VERSIONS - 1 else _edited(policy(SECTIONS, "2 years"))
            version = Version(source_id=source.id, seq=seq, url=source.url, text_hash=text_hash(text),
                              raw_hash=text_hash(text), raw=compress(text.encode()), text=text)
            session.add(version)
            session.flush()
            add_sections(session, version, sections_of(text))
            for position, rated in enumerate(changes_between(previous.text, text)):
                c = rated.change
                session.add(ChangeRow(source_id=source.id, old_version_id=previous.id, new_version_id=version.id,
                                      position=position, section=c.section, kind=c.kind, topics=list(rated.topics),
                                      alert_topics=rated.alert_topics(["sharing", "retention", "minors"]),
                                      severity=rated.severity, summary=rated.summary, before=c.before,
                                      after=c.after))
            previous = version
        for _ in range(5):
            session.add(Check(source_id=source.id, outcome="error", error="HTTP 503 Service Unavailable"))
        session.add(Check(source_id=source.id, outcome="unchanged", version_seq=VERSIONS))
        source.last_outcome = "unchanged"
    store.dispose()


def _edited(text: str) -> str:
    """300 of the 320 sections keep their data for 5 years instead of 2."""
    out, edited = [], 0
    for line in text.split("\n"):
        if line.startswith("Clause ") and edited < EDITED:
            line = line.replace("for 2 years", "for 5 years")
            edited += 1
        out.append(line)
    return "\n".join(out)


def timed(client, path: str, runs: int = RUNS) -> tuple[float, float]:
    """(first request, median of the next `runs`) in milliseconds; each must answer 200."""
    samples = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        answer = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return samples[0], statistics.median(samples[1:])


def main() -> None:
    from starlette.testclient import TestClient

    from monitor.web.app import create_app

    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        started = time.perf_counter()
        build(url)
        print(f"database: 1 source, {VERSIONS:,} versions, last change {EDITED} of {SECTIONS} sections edited "
              f"(built in {time.perf_counter() - started:.1f} s)")
        config = parse_config("sources:\n  - {name: bigco, url: 'https://example.org/privacy'}\n")
        store = Store(url, migrate=False, read_only=True)
        client = TestClient(create_app(config, store), base_url="http://127.0.0.1")
        span = f"{VERSIONS - 1}..{VERSIONS}"
        change_cold, change_warm = timed(client, f"/sources/bigco/changes/{span}")
        page = client.get(f"/sources/bigco/changes/{span}").text
        panels = page.count('<article class="panel')
        rows = [
            ("source page (1,000 versions)", *timed(client, "/sources/bigco")),
            (f"change page ({panels} section panels)", change_cold, change_warm),
            ("overview", *timed(client, "/")),
            (f"version page ({SECTIONS} sections)", *timed(client, f"/sources/bigco/versions/{VERSIONS}")),
            ("/api/sources/bigco/history", *timed(client, "/api/sources/bigco/history")),
        ]
        print(f"{'page':<40} {'first (ms)':>11} {'median (ms)':>12}")
        for name, first, median in rows:
            print(f"{name:<40} {first:>11.0f} {median:>12.0f}")
        worst = max(max(first, median) for _, first, median in rows)
        print(f"slowest: {worst:.0f} ms (target < 300 ms: {'met' if worst < 300 else 'NOT met'})")
        store.dispose()


if __name__ == "__main__":
    main()
