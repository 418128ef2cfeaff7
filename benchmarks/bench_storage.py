"""Database growth: bytes stored per version of real policies, and which tables hold them (SQLite).

60 real policies of tests/corpus (Open Terms Archive, ODC-BY 1.0), every 4th by name, are served as
HTML pages on loopback and checked three times through the real spine: as published (version 1),
with one sentence added (version 2), and unchanged (no version, one `check` row). Prints the
database size per version, the bytes of each table (SQLite's dbstat), and of the raw pages and texts.
Usage: .venv/bin/python benchmarks/bench_storage.py
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tarfile
import tempfile
from pathlib import Path

from markdown_it import MarkdownIt

sys.path.insert(0, str(Path(__file__).parents[1]))

from loopback import serve_pages  # noqa: E402 (this folder: a script's own folder is on sys.path)

from monitor.config import parse_config  # noqa: E402
from monitor.pipeline import check_all  # noqa: E402
from monitor.store.database import Store  # noqa: E402

CORPUS = Path(__file__).parents[1] / "tests" / "corpus" / "policies.tar.xz"
EVERY, COUNT = 4, 60
PAGES: dict[str, bytes] = {}


def page(markdown: str) -> bytes:
    body = MarkdownIt("commonmark").render(markdown)
    return (f"<!doctype html><html lang=\"en\"><head><title>Privacy</title></head><body><nav><a href=\"/\">Home"
            f"</a></nav><main>{body}</main><footer>© 2026</footer></body></html>").encode()


def _page(path: str) -> bytes:
    return PAGES[path.strip("/")]


def main() -> None:
    with tarfile.open(CORPUS) as archive:
        members = sorted((m for m in archive.getmembers() if m.name.endswith(".md")), key=lambda m: m.name)
        texts = {Path(m.name).stem: archive.extractfile(m).read().decode("utf-8")
                 for m in members[::EVERY][:COUNT]}
    server = serve_pages(_page)
    port = server.server_address[1]
    lines = ["daemon: {concurrency: 8, per_host_delay: 0s}", "fetch: {retries: 0}", "sources:"]
    lines += [f"  - {{name: {name}, url: 'http://127.0.0.1:{port}/{name}'}}" for name in texts]
    config = parse_config("\n".join(lines))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "growth.db"
        store = Store(f"sqlite:///{path}")
        statuses = []
        for edited in (False, True, True):  # the third check finds nothing new: only a `check` row
            for name, text in texts.items():
                PAGES[name] = page(text + ("\n\nWe may also keep your data for up to 3 years." if edited else ""))
            results = asyncio.run(check_all(config.sources, config=config, store=store))
            statuses.append(sorted({r.status for r in results}))
        store.dispose()
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("VACUUM")
            versions = db.execute("SELECT count(*) FROM version").fetchone()[0]
            raw, text = db.execute("SELECT sum(length(raw)), sum(length(text)) FROM version").fetchone()
            checks = db.execute("SELECT count(*) FROM \"check\"").fetchone()[0]
            tables = db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
        size = path.stat().st_size
    print(f"{len(texts)} real policies, 3 checks each (statuses {' then '.join(map(str, statuses))}): "
          f"{versions} versions, {checks} checks")
    print(f"database after VACUUM: {size / 1e6:.2f} MB = {size / versions / 1000:.1f} kB per version")
    print(f"per version: raw page (zlib) {raw / versions / 1000:.1f} kB, "
          f"normalized text {text / versions / 1000:.1f} kB")
    for name, bytes_ in tables[:6]:
        print(f"  {name:32} {bytes_ / 1e6:6.2f} MB  {100 * bytes_ / size:4.1f}%")
    check_bytes = dict(tables).get("check", 0)
    print(f"a check that finds nothing new adds one `check` row: {check_bytes / checks:.0f} bytes")


if __name__ == "__main__":
    main()
