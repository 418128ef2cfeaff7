"""Test helper for the history commands: a database built by real checks of two policies served on
loopback, with the capture dates spread over months (as a year of checks would leave them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, update

from monitor.store.database import Source, Version
from tests.cli_runner import CliResult, run_cli
from tests.conftest import Site, write_config
from tests.pages import edit, render_policy, seed_text

WEMET = seed_text(2)
AGE = edit(WEMET, "under the age of 18", "under the age of 13")
TYPOS = edit(edit(AGE, "top priority", "top prority"), "explicitly prohibit", "explicitly prohibits")
BROKERS = AGE.replace("payment processors, SMS providers", "payment processors, data brokers, SMS providers")
ZW = seed_text(3)
ZW_DATE = edit(ZW, "June 30, 2025", "July 1, 2026")
ZW_RETENTION = edit(ZW_DATE, "for the period necessary to provide services",
                    "for 3 years after you close your account")

# (source, page text, capture date): the versions a year of checks left, oldest first
STEPS = [
    ("wemet", WEMET, "2026-01-05T09:00"), ("zw", ZW, "2026-01-05T09:01"),
    ("wemet", AGE, "2026-02-10T09:00"),        # v2: minors, high
    ("wemet", TYPOS, "2026-03-01T09:00"),      # v3: form-only (typos)
    ("wemet", AGE, "2026-03-15T09:00"),        # v4: a blink back to v2's text
    ("zw", ZW_DATE, "2026-04-01T09:00"),       # v2: a date stamp only
    ("zw", ZW_RETENTION, "2026-05-12T09:00"),  # v3: retention
    ("wemet", BROKERS, "2026-06-20T09:00"),    # v5: sharing, high
]


@dataclass
class History:
    """The built database and how to keep checking it."""

    site: Site
    config: Path
    db: str

    def cli(self, *args: object) -> CliResult:
        return run_cli("--config", self.config, "--db", self.db, *args)

    def check(self, source: str, text: str, when: str | None = None) -> dict:
        self.site.set(f"/{source}", render_policy(text))
        result = self.cli("check", "--json", source)
        assert result.exit_code == 0, result
        [checked] = result.json()["results"]
        if when and checked["version"]:
            backdate(self.db, source, checked["version"], when)
        return checked


def backdate(db: str, source: str, seq: int, when: str) -> None:
    engine = create_engine(db.replace("postgresql://", "postgresql+psycopg://", 1))
    moment = datetime.fromisoformat(when).replace(tzinfo=UTC)
    with engine.begin() as conn:
        source_id = conn.execute(Source.__table__.select().where(Source.name == source)).one().id
        conn.execute(update(Version).where(Version.source_id == source_id, Version.seq == seq)
                     .values(fetched_at=moment))
    engine.dispose()


SHORT = [("wemet", WEMET, "2026-01-05T09:00"), ("wemet", AGE, "2026-02-10T09:00"),
         ("wemet", BROKERS, "2026-06-20T09:00")]


def build_history(site: Site, folder: Path, db: str, steps=STEPS, **top: object) -> History:
    config = write_config(folder / "sources.yaml", sources=[
        {"name": "wemet", "url": site.url("/wemet")}, {"name": "zw", "url": site.url("/zw")}], **top)
    history = History(site, config, db)
    for source, text, when in steps:
        history.check(source, text, when)
    return history


def fill_database(store, count: int, *, text_chars: int = 2000, batch: int = 2000) -> None:
    """`count` versions of one source "big" (each a distinct text of about `text_chars` characters, with one
    material change), written in bulk: a database of 100k versions for the memory tests and benchmark,
    built in seconds (real checks make the small histories above)."""
    import hashlib
    import zlib

    from sqlalchemy import insert

    from monitor.store.database import ChangeRow, Source, Version

    paragraph = (WEMET * (text_chars // len(WEMET) + 1))[:text_chars]
    with store.engine.begin() as conn:
        source_id = conn.execute(insert(Source).values(name="big", url="https://example.org/privacy",
                                                       consecutive_failures=0, failing_reported=False,
                                                       unstable_reported=False,
                                                       created_at=datetime(2020, 1, 1, tzinfo=UTC))
                                 ).inserted_primary_key[0]
    start = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
    for first in range(1, count + 1, batch):
        seqs = range(first, min(first + batch, count + 1))
        with store.engine.begin() as conn:
            rows = []
            for seq in seqs:
                text = f"# Big Privacy Policy\n\nVersion {seq}: we keep logs for {seq} days.\n\n{paragraph}"
                rows.append({"source_id": source_id, "seq": seq, "url": "https://example.org/privacy",
                             "fetched_at": datetime.fromtimestamp(start + seq * 3600, UTC), "http_status": 200,
                             "content_type": "text/html", "text_hash": hashlib.sha256(text.encode()).hexdigest(),
                             "raw_hash": hashlib.sha256(text.encode()).hexdigest(),
                             "raw": zlib.compress(f"<p>{text}</p>".encode()), "text": text,
                             "normalizer_version": 1})
            conn.execute(insert(Version), rows)
            ids = dict(conn.execute(Version.__table__.select().with_only_columns(Version.seq, Version.id)
                                    .where(Version.source_id == source_id, Version.seq.between(seqs[0] - 1,
                                                                                               seqs[-1]))).all())
            changes = [{"source_id": source_id, "old_version_id": ids[seq - 1], "new_version_id": ids[seq],
                        "position": 0, "section": "Retention", "kind": "modified", "topics": ["retention"],
                        "alert_topics": ["retention"], "severity": "medium", "substantive": True,
                        "summary": f"retention period {seq - 1} days → {seq} days",
                        "before": f"we keep logs for {seq - 1} days.", "after": f"we keep logs for {seq} days."}
                       for seq in seqs if seq > 1]
            if changes:
                conn.execute(insert(ChangeRow), changes)
