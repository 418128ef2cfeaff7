"""The store's plain objects and helpers, importable without SQLAlchemy: what `check` needs before it fetches."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from importlib import resources
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no flock; concurrent first starts there may race (rare, and retried)
    fcntl = None  # type: ignore[assignment]


def process_owner() -> str:
    """`host:pid` of this process: who holds a source's lock or an alert's claim (dead owners are freed)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine with that pid exists (an owner's pid, read from `process_owner`)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def utcnow() -> datetime:
    """Aware UTC now; SQLModel stores UTC and hands back aware datetimes on every backend."""
    return datetime.now(UTC)


def text_hash(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


# zlib level 1 against the default 6 on the bench's pages (34 KB of HTML): 0.26 ms against 0.83 ms per page,
# 11.0 KB against 9.0 KB stored; a new version's raw page is compressed on every first or changed check
RAW_ZLIB_LEVEL = 1


def compress(raw: bytes) -> bytes:
    return zlib.compress(raw, RAW_ZLIB_LEVEL)


def decompress(blob: bytes | None) -> bytes:
    return zlib.decompress(blob) if blob else b""


@dataclass(frozen=True)
class VersionHead:
    """What a check needs of the latest version before it knows whether the text changed."""

    id: int
    seq: int
    url: str
    text_hash: str


@dataclass(frozen=True)
class ClaimedSource:
    """A source whose lock this process took, with what a check needs of it before fetching."""

    id: int
    final_url: str | None          # where the last good fetch ended
    etag: str | None
    last_modified: str | None
    text_fingerprint: str | None   # of the last page whose text was `latest`'s
    latest: VersionHead | None


@dataclass(frozen=True)
class SourceHealth:
    """A source's health counters right after a check was recorded (read by monitor.notify.health)."""

    consecutive_failures: int
    failing_reported: bool
    unstable_reported: bool


@dataclass(frozen=True)
class NewChange:
    """One rated section change stored with a new version: its `change` row's columns but the three ids."""

    position: int
    section: str
    kind: str
    topics: list[str]
    alert_topics: list[str]
    severity: str | None
    summary: str
    substantive: bool
    not_rated: str | None
    before: str
    after: str


@dataclass(frozen=True)
class NewVersion:
    """A version to store, as its `version` row's columns (but its id), and its changes against the latest
    version (`previous_id`, None for a first version); the same values whichever way it is written."""

    source_id: int
    seq: int
    fetched_at: datetime
    url: str
    http_status: int | None
    content_type: str
    text_hash: str
    raw_hash: str
    raw: bytes
    text: str
    normalizer_version: int
    reverts_to: int | None
    previous_id: int | None
    changes: tuple[NewChange, ...] = ()

    def columns(self) -> dict[str, Any]:
        """The `version` row's columns, in the table's order."""
        return {name: getattr(self, name) for name in VERSION_COLUMNS}


# the version table's columns but its id, in the table's order (SQLAlchemy writes an INSERT's columns in it)
VERSION_COLUMNS = ("source_id", "seq", "fetched_at", "url", "http_status", "content_type", "text_hash", "raw_hash",
                   "raw", "text", "normalizer_version", "reverts_to")
CHANGE_COLUMNS = ("position", "section", "kind", "topics", "alert_topics", "severity", "summary", "substantive",
                  "not_rated", "before", "after")


@dataclass(frozen=True)
class VersionSection:
    """A section of a stored version as the readers see it: derived from the version's text, or a row an
    older release stored (`topics` None: not classified yet, see pipeline.stored_section_topics)."""

    position: int
    key: str
    number: str | None
    title: str
    level: int
    path: str            # display path: headings joined by " › ", "(preamble)" before the first
    text: str
    topics: tuple[str, ...] | None = None
    headings: tuple[str, ...] | None = None  # the headings above it, as parsed; None for a stored row, whose
    # `path` is all that is left of them (a heading holding " › " itself cannot be told apart there)


class NotQuiet(Enum):
    """What a check's quiet write answers when the source's health has something to do after all (a failure
    streak reaching the threshold, a recovery, an instability to re-assess): it wrote nothing, and the caller
    records the check through a Session, where the health rules can read and queue alerts."""

    NOT_QUIET = "not quiet"


NOT_QUIET = NotQuiet.NOT_QUIET


_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(.+)$", re.M)


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """This release's head revision(s), read from the migration scripts' `revision`/`down_revision` lines
    without importing Alembic; empty when a script does not read plainly (then Alembic is asked)."""
    revisions, parents = set(), set()
    for script in (resources.files("monitor.store") / "migrations" / "versions").iterdir():
        if not script.name.endswith(".py") or script.name.startswith("__"):
            continue
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return frozenset()
        revisions.add(revision.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return frozenset(revisions - parents)


SQLITE_WAL = "PRAGMA journal_mode=WAL"  # readers never block the daemon's writer; switching it writes to the file
# what every connection to a SQLite database runs first (a read-only one all but the WAL switch)
SQLITE_PRAGMAS = (SQLITE_WAL, "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=30000")


@contextlib.contextmanager
def migration_lock(path: str) -> Iterator[None]:
    """One migrator (or creator) at a time on the SQLite file `path`. The lock is a file of its own beside the
    database: closing a descriptor of the database file itself would drop every POSIX lock SQLite holds on it
    in this process."""
    if fcntl is None:
        yield
        return
    with open(f"{path}-migrate.lock", "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
