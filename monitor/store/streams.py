"""Streamed reads of the stored history (versions with their changes) for `timeline`, `export` and `feed`.

Nothing here loads a whole history: versions and their changes come from two cursors read in step
(server-side on PostgreSQL, a few rows at a time), so a database of 100k versions is read in
constant memory. Every function here only reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, String, and_, cast, false, func, literal, or_, select
from sqlalchemy.orm import Session

from monitor.errors import UnknownSourceError
from monitor.meaning.material import is_material
from monitor.store.database import ChangeRow, Source, Version

Order = Literal["oldest", "newest"]
TEXT_CHUNK = 16        # rows fetched at a time when each carries a policy text (up to max_bytes each)
METADATA_CHUNK = 1000  # rows fetched at a time otherwise


@dataclass(frozen=True)
class ChangeRecord:
    """One stored section change of a version, as the significance stage rated it."""

    position: int
    section: str
    kind: str
    topics: tuple[str, ...]
    alert_topics: tuple[str, ...]
    severity: str | None  # None: not rated
    summary: str
    substantive: bool
    not_rated: str | None
    before: str
    after: str

    @property
    def material(self) -> bool:
        """A change of substance, or one that could not be rated (shown, as `diff` shows it)."""
        return is_material(self.substantive, self.not_rated)


@dataclass(frozen=True)
class VersionRecord:
    """One stored version of a source with its changes from the version before (none for v1)."""

    source: str
    seq: int
    fetched_at: datetime
    url: str
    http_status: int | None
    content_type: str
    text_hash: str
    raw_hash: str
    raw_bytes: int          # size of the stored (zlib-compressed) raw page; 0 once pruned
    normalizer_version: int
    reverts_to: int | None  # a blink back to the text of this earlier version
    text: str | None        # None when the stream was asked for metadata only (and changes' before/after are "")
    changes: tuple[ChangeRecord, ...]

    @property
    def previous(self) -> int | None:
        return self.seq - 1 if self.seq > 1 else None

    @property
    def material_changes(self) -> tuple[ChangeRecord, ...]:
        """The changes of substance; a blink back has none (its text is an earlier version's)."""
        return () if self.reverts_to is not None else tuple(c for c in self.changes if c.material)


def require_sources(session: Session, names: Sequence[str]) -> list[str]:
    """The names, each known to the database; else an UnknownSourceError naming the first unknown one."""
    known = set(session.execute(select(Source.name).where(Source.name.in_(names))).scalars())
    if unknown := [n for n in names if n not in known]:
        raise UnknownSourceError(f"unknown source {unknown[0]!r}: it has never been checked "
                                 f"(see `policy-monitor sources`)")
    return list(dict.fromkeys(names))


def all_source_names(session: Session) -> list[str]:
    return list(session.execute(select(Source.name).order_by(Source.name)).scalars())


def json_list_has(column, value: str) -> ColumnElement[bool]:
    """`value` is an item of a JSON list of names (topics) stored by SQLAlchemy's JSON type; the same
    SQL on SQLite and PostgreSQL, since both keep the text json.dumps wrote."""
    return cast(column, String).like(f'%"{value}"%')


def json_list_nonempty(column) -> ColumnElement[bool]:
    return cast(column, String) != "[]"


def stream_versions(session: Session, *, sources: Sequence[str] | None = None, order: Order = "oldest",
                    since: datetime | None = None, with_text: bool = True,
                    after_seq: dict[str, int] | None = None) -> Iterator[VersionRecord]:
    """Versions of `sources` (default: all) with their changes, oldest or newest capture first.

    `after_seq` keeps, per source, only the versions after that sequence number (what a git export
    has not written yet). Reading is streamed: memory does not grow with the number of versions.
    """
    where: list[ColumnElement[bool]] = []
    if sources is not None:
        where.append(Source.name.in_(list(sources)) if sources else false())
    if since is not None:
        where.append(Version.fetched_at >= since)
    if after_seq:
        where.append(or_(*(and_(Source.name == name, Version.seq > seq) for name, seq in after_seq.items()),
                         Source.name.not_in(list(after_seq))))
    key = (Version.fetched_at, Version.id) if order == "oldest" else (Version.fetched_at.desc(), Version.id.desc())
    columns = [Version.id, Source.name, Version.seq, Version.fetched_at, Version.url, Version.http_status,
               Version.content_type, Version.text_hash, Version.raw_hash, func.length(Version.raw),
               Version.normalizer_version, Version.reverts_to]
    if with_text:
        columns.append(Version.text)
    versions = (select(*columns).join(Source, Source.id == Version.source_id).where(*where).order_by(*key)
                .execution_options(yield_per=TEXT_CHUNK if with_text else METADATA_CHUNK))
    changes = (select(ChangeRow.new_version_id, ChangeRow.position, ChangeRow.section, ChangeRow.kind,
                      ChangeRow.topics, ChangeRow.alert_topics, ChangeRow.severity, ChangeRow.summary,
                      ChangeRow.substantive, ChangeRow.not_rated,
                      *((ChangeRow.before, ChangeRow.after) if with_text else (literal(""), literal(""))))
               .join(Version, Version.id == ChangeRow.new_version_id).join(Source, Source.id == Version.source_id)
               .where(*where).order_by(*key, ChangeRow.position)
               .execution_options(yield_per=TEXT_CHUNK * 8 if with_text else METADATA_CHUNK))
    change_rows = iter(session.execute(changes))
    pending = next(change_rows, None)
    for row in session.execute(versions):
        found: list[ChangeRecord] = []
        # both cursors share one order, so a version's changes are the next rows of the second
        while pending is not None and pending[0] == row[0]:
            found.append(_change(pending))
            pending = next(change_rows, None)
        yield VersionRecord(row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9] or 0,
                            row[10], row[11], row[12] if with_text else None, tuple(found))


def _change(row) -> ChangeRecord:
    return ChangeRecord(row[1], row[2], row[3], tuple(row[4] or ()), tuple(row[5] or ()), row[6], row[7],
                        bool(row[8]), row[9], row[10], row[11])


def chunked(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
