"""`export` formats: a source's versions and changes as JSON, JSON Lines, CSV or Markdown, written as they
stream in (pure: each writer takes an iterator of `VersionRecord`s, the lookup of the later blink back that
undid each, and a text stream)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TextIO

from monitor.store.streams import ChangeRecord, VersionRecord

FORMAT_NAME = "policy-monitor-export"
FORMAT_VERSION = 1
EXTENSIONS = {"json": "json", "jsonl": "jsonl", "csv": "csv", "markdown": "md"}

UndoneIn = Callable[[int], int | None]  # a version's seq → the later blink back that undid it (reverts.py)


def reverted_in(record: VersionRecord, undone_in: UndoneIn) -> int | None:
    """The later version that returned to the text before this version's material changes; None while they
    stand, and for a version without any (as the timeline, `history` and the feed mark only changes)."""
    return undone_in(record.seq) if record.material_changes else None


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def change_json(change: ChangeRecord) -> dict:
    return {"position": change.position, "section": change.section, "kind": change.kind,
            "topics": list(change.topics), "alert_topics": list(change.alert_topics), "severity": change.severity,
            "substantive": change.substantive, "not_rated": change.not_rated, "summary": change.summary,
            "before": change.before, "after": change.after}


def version_json(record: VersionRecord, undone_in: UndoneIn) -> dict:
    """A version with its text, hashes, capture date, URL and changes: one JSON Lines line, one item of
    a source's `versions` in JSON."""
    return {"source": record.source, "version": record.seq, "previous_version": record.previous,
            "fetched_at": _iso(record.fetched_at), "url": record.url, "http_status": record.http_status,
            "content_type": record.content_type, "text_sha256": record.text_hash, "raw_sha256": record.raw_hash,
            "raw_bytes_stored": record.raw_bytes, "raw_pruned": record.raw_bytes == 0,
            "normalizer_version": record.normalizer_version, "reverts_to": record.reverts_to,
            "material": bool(record.material_changes), "reverted_in": reverted_in(record, undone_in),
            "text": record.text,
            "changes": [change_json(c) for c in record.changes]}


class JsonWriter:
    """`{"format": …, "sources": [{"name", "url", "urls", "versions": [...]}, …]}`, one version at a time."""

    def __init__(self, out: TextIO, exported_at: datetime):
        self.out = out
        self.sources = 0
        out.write(f'{{"format": "{FORMAT_NAME}", "format_version": {FORMAT_VERSION}, '
                  f'"exported_at": {json.dumps(_iso(exported_at))}, "sources": [')

    def source(self, name: str, urls: Sequence[str], versions: Iterable[VersionRecord], undone_in: UndoneIn) -> int:
        self.out.write(("," if self.sources else "") + "\n {" + f'"name": {json.dumps(name)}, '
                       f'"url": {json.dumps(urls[0])}, "urls": {json.dumps(list(urls))}, "versions": [')
        self.sources += 1
        count = 0
        for record in versions:
            line = json.dumps(version_json(record, undone_in), ensure_ascii=False)
            self.out.write(("," if count else "") + "\n  " + line)
            count += 1
        self.out.write("\n ]}")
        return count

    def close(self) -> None:
        self.out.write("\n]}\n")


class JsonLinesWriter:
    """One JSON object per line, per version (its changes inside)."""

    def __init__(self, out: TextIO, exported_at: datetime):
        self.out = out

    def source(self, name: str, urls: Sequence[str], versions: Iterable[VersionRecord], undone_in: UndoneIn) -> int:
        count = 0
        for record in versions:
            self.out.write(json.dumps(version_json(record, undone_in), ensure_ascii=False) + "\n")
            count += 1
        return count

    def close(self) -> None:
        pass


CSV_COLUMNS = (
    "record", "source", "version", "previous_version", "fetched_at", "url", "http_status", "content_type",
    "text_sha256", "raw_sha256", "raw_pruned", "reverts_to", "material", "text",
    "position", "section", "kind", "topics", "alert_topics", "severity", "substantive", "not_rated", "summary",
    "before", "after", "reverted_in",  # added last: a reader by column position keeps its columns
)


class CsvWriter:
    """One table, one row per version (`record` = version: its text and metadata) followed by one row
    per change of it (`record` = change); lists of topics are joined with `;`."""

    def __init__(self, out: TextIO, exported_at: datetime):
        self.writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
        self.writer.writeheader()

    def source(self, name: str, urls: Sequence[str], versions: Iterable[VersionRecord], undone_in: UndoneIn) -> int:
        count = 0
        for record in versions:
            base = {"source": record.source, "version": record.seq, "previous_version": record.previous or "",
                    "fetched_at": _iso(record.fetched_at)}
            self.writer.writerow({
                **base, "record": "version", "url": record.url, "http_status": record.http_status or "",
                "content_type": record.content_type, "text_sha256": record.text_hash, "raw_sha256": record.raw_hash,
                "raw_pruned": _bool(record.raw_bytes == 0), "reverts_to": record.reverts_to or "",
                "material": _bool(bool(record.material_changes)),
                "reverted_in": reverted_in(record, undone_in) or "", "text": record.text})
            for c in record.changes:
                self.writer.writerow({
                    **base, "record": "change", "position": c.position, "section": c.section, "kind": c.kind,
                    "topics": ";".join(c.topics), "alert_topics": ";".join(c.alert_topics),
                    "severity": c.severity or "", "substantive": _bool(c.substantive),
                    "not_rated": c.not_rated or "", "summary": c.summary, "before": c.before, "after": c.after})
            count += 1
        return count

    def close(self) -> None:
        pass


def _bool(value: bool) -> str:
    return "true" if value else "false"


class MarkdownWriter:
    """A document per source: a section per version (metadata, its changes, its text in a fence)."""

    def __init__(self, out: TextIO, exported_at: datetime):
        self.out = out
        self.exported_at = exported_at
        self.sources = 0

    def source(self, name: str, urls: Sequence[str], versions: Iterable[VersionRecord], undone_in: UndoneIn) -> int:
        w = self.out.write
        w(("\n---\n\n" if self.sources else "") + f"# {md_inline(name)}\n\n{md_inline(' '.join(urls))}\n\n"
          f"Exported by policy-monitor on {self.exported_at:%Y-%m-%d %H:%M} UTC.\n")
        self.sources += 1
        count = 0
        for record in versions:
            count += 1
            title = f"v{record.previous} → v{record.seq}" if record.previous else f"v{record.seq}"
            w(f"\n## {title} — {record.fetched_at:%Y-%m-%d %H:%M:%S} UTC\n\n")
            w(f"- URL: {md_inline(record.url)}\n- text SHA-256: `{record.text_hash}`\n"
              f"- raw page SHA-256: `{record.raw_hash}`" + (" (raw page pruned)" if record.raw_bytes == 0 else "")
              + "\n")
            if record.reverts_to is not None:
                w(f"- back to the text of v{record.reverts_to} (a blink)\n")
            if (undone := reverted_in(record, undone_in)) is not None:
                w(f"- reverted in v{undone}: the policy returned to the text before this change, which no longer "
                  f"stands\n")
            if record.changes:
                w("\n### Changes\n\n")
                for c in record.changes:
                    tags = ", ".join(c.topics) or "no topic"
                    rating = c.severity or "not rated"
                    note = "" if c.material else " (form only)"
                    w(f"- **{rating}** · {md_inline(tags)} · {md_inline(c.section)}: {md_inline(c.summary)}{note}\n")
            w("\n### Text\n\n" + fenced(record.text or "") + "\n")
        return count

    def close(self) -> None:
        pass


WRITERS = {"json": JsonWriter, "jsonl": JsonLinesWriter, "csv": CsvWriter, "markdown": MarkdownWriter}

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md_inline(text: str) -> str:
    """Policy text inside a Markdown line: its markup characters escaped (so `<script>` stays text)
    and newlines flattened, so nothing breaks out of its list item or heading."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def fenced(text: str) -> str:
    """`text` in a fenced block whose fence is longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}\n"
