"""The git history of an export (pure): one commit per version, its message, date and trailers, as
`git fast-import` commands; and reading back which versions a repository already holds."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.errors import UsageError
from monitor.report.timeline import entry_of
from monitor.store.streams import VersionRecord

AUTHOR = "policy-monitor <policy-monitor@localhost>"
SOURCE_TRAILER = "Policy-Monitor-Source"
VERSION_TRAILER = "Policy-Monitor-Version"
SUBJECT_MAX = 100
BODY_LINES = 50  # changes listed per commit; a re-spelt policy can have thousands


def checked_file_stem(source: str) -> str:
    """A source name as a file name (the config allows letters, digits, `.`, `_` and `-`, never a leading
    dot; a database written by other means is checked all the same, so no name escapes --out)."""
    if not source or source.startswith(".") or any(c in source for c in "/\\\0"):
        raise UsageError(f"source name {source!r} cannot be a file name")
    return source


def file_name(source: str) -> str:
    """Each source is one Markdown file at the repository's root."""
    return f"{checked_file_stem(source)}.md"


def commit_message(record: VersionRecord) -> str:
    """Subject: what changed (the change summaries); body: each change; trailers: which version this is."""
    entry = entry_of(record, include_all=True)
    assert entry is not None
    subject = _one_line(f"{record.source} v{record.seq}: {entry.summary}")
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1] + "…"
    body = []
    for c in record.changes[:BODY_LINES]:
        rating = c.severity or "not rated"
        topics = ", ".join(c.topics) or "no topic"
        form = "" if c.material else ", form only"
        body.append(_one_line(f"- {c.section} [{c.kind}; {rating}; {topics}{form}]: {c.summary}"))
    if len(record.changes) > BODY_LINES:
        body.append(f"- … and {len(record.changes) - BODY_LINES} more (policy-monitor diff {record.source} "
                    f"{record.previous} {record.seq})")
    trailers = [f"{SOURCE_TRAILER}: {record.source}", f"{VERSION_TRAILER}: {record.seq}",
                f"Captured-At: {record.fetched_at.isoformat(timespec='seconds')}",
                f"URL: {_one_line(record.url)}", f"Text-SHA256: {record.text_hash}"]
    parts = [subject, "\n".join(body), "\n".join(trailers)]
    return "\n\n".join(p for p in parts if p) + "\n"


def fast_import_commit(record: VersionRecord, branch: str, parent: str | None) -> bytes:
    """The `git fast-import` commands of one version's commit on `branch` (after `parent`, a ref or mark,
    when the branch must be continued from an existing commit)."""
    assert record.text is not None, "a git export streams versions with their text"
    when = f"{int(record.fetched_at.timestamp())} +0000"
    message = commit_message(record).encode("utf-8")
    text = (record.text.rstrip("\n") + "\n").encode("utf-8")
    head = [f"commit {branch}", f"author {AUTHOR} {when}", f"committer {AUTHOR} {when}",
            f"data {len(message)}"]
    out = ("\n".join(head) + "\n").encode() + message + b"\n"
    if parent:
        out += f"from {parent}\n".encode()
    out += f"M 100644 inline {file_name(record.source)}\ndata {len(text)}\n".encode() + text + b"\n"
    return out


def exported_versions(trailer_lines: Iterable[str]) -> dict[str, int]:
    """Per source, the highest version already committed, from `git log` lines of `SOURCE SEQ` (the
    trailers as `format_trailers` prints them)."""
    done: dict[str, int] = {}
    for line in trailer_lines:
        source, _, seq = line.strip().rpartition(" ")
        if source and seq.isdigit():
            done[source] = max(done.get(source, 0), int(seq))
    return done


def _one_line(text: str) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
