"""Database growth: bytes stored per version (raw page, text, sections, changes) and `prune`, which empties
old raw pages but never the latest version's or those of a version a material change or an alert refers to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import LargeBinary, cast, func, or_, select, union, update
from sqlalchemy.orm import Session

from monitor.store.database import Alert, ChangeRow, SectionRow, Store, Version, utcnow
from monitor.store.streams import chunked

BATCH = 500  # versions emptied per statement: bounded statements, and a daemon's writes interleave


@dataclass(frozen=True)
class StorageFigures:
    """What the versions take in the database, in bytes (as stored: raw pages zlib-compressed)."""

    versions: int
    raw_pages: int          # versions that still hold their raw page
    raw_bytes: int
    text_bytes: int
    section_bytes: int
    change_bytes: int

    def per_version(self, total: int) -> int:
        return round(total / self.versions) if self.versions else 0

    def to_json(self) -> dict:
        return {"versions": self.versions, "raw_pages_kept": self.raw_pages,
                "bytes": {"raw_compressed": self.raw_bytes, "text": self.text_bytes,
                          "sections": self.section_bytes, "changes": self.change_bytes},
                "bytes_per_version": {"raw_compressed": round(self.raw_bytes / self.raw_pages) if self.raw_pages else 0,
                                      "text": self.per_version(self.text_bytes),
                                      "sections": self.per_version(self.section_bytes),
                                      "changes": self.per_version(self.change_bytes)}}


@dataclass(frozen=True)
class PrunePlan:
    """The raw pages `prune` empties (or would, with --dry-run)."""

    cutoff: datetime
    version_ids: list[int]
    bytes_freed: int
    kept_latest: int        # old raw pages kept because they are a source's latest version
    kept_referenced: int    # … because a material change or an alert refers to their version


def _bytes(session: Session, column) -> int:
    """Bytes of a text column, summed (length() counts characters of text, on SQLite and PostgreSQL)."""
    if session.get_bind().dialect.name == "sqlite":
        size = func.length(cast(column, LargeBinary))
    else:
        size = func.octet_length(column)
    return int(session.execute(select(func.coalesce(func.sum(size), 0))).scalar_one())


def storage_figures(store: Store) -> StorageFigures:
    with store.session() as session:
        versions = session.execute(select(func.count()).select_from(Version)).scalar_one()
        raw_pages = session.execute(select(func.count()).where(func.length(Version.raw) > 0)).scalar_one()
        raw = int(session.execute(select(func.coalesce(func.sum(func.length(Version.raw)), 0))).scalar_one())
        return StorageFigures(versions, raw_pages, raw, _bytes(session, Version.text), _bytes(session, SectionRow.text),
                              _bytes(session, ChangeRow.before) + _bytes(session, ChangeRow.after))


def _protected():
    """Ids of versions whose raw page is evidence: either side of a material change, or alerted."""
    material = or_(ChangeRow.substantive.is_(True), ChangeRow.not_rated.is_not(None))
    return union(
        select(ChangeRow.old_version_id.label("id")).where(material),
        select(ChangeRow.new_version_id.label("id")).where(material),
        select(Alert.version_id.label("id")).where(Alert.version_id.is_not(None)),
    ).subquery()


def _latest():
    return select(func.max(Version.id).label("id")).group_by(Version.source_id).subquery()


def plan_prune(store: Store, older_than_days: float, now: datetime | None = None) -> PrunePlan:
    """Which raw pages older than the cutoff may go; nothing is changed."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    old = (Version.fetched_at < cutoff, func.length(Version.raw) > 0)
    protected, latest = _protected(), _latest()
    with store.session() as session:
        rows = session.execute(
            select(Version.id, func.length(Version.raw)).where(
                *old, Version.id.not_in(select(protected.c.id)), Version.id.not_in(select(latest.c.id)))
            .order_by(Version.id)).all()
        kept_latest = session.execute(select(func.count()).where(*old, Version.id.in_(select(latest.c.id)))
                                      ).scalar_one()
        kept_referenced = session.execute(select(func.count()).where(
            *old, Version.id.in_(select(protected.c.id)), Version.id.not_in(select(latest.c.id)))).scalar_one()
    return PrunePlan(cutoff, [r[0] for r in rows], sum(int(r[1]) for r in rows), kept_latest, kept_referenced)


def prune_raw(store: Store, plan: PrunePlan) -> int:
    """Empty the planned raw pages (their hashes, texts and sections stay); returns how many were emptied.

    Each batch re-checks that a version is still not its source's latest, in case a check stored a
    newer one meanwhile (then the older one may go, and it is still checked to be unreferenced)."""
    emptied = 0
    protected, latest = _protected(), _latest()
    for batch in chunked(plan.version_ids, BATCH):
        with store.session() as session:
            result = session.execute(
                update(Version).where(Version.id.in_(batch), Version.id.not_in(select(latest.c.id)),
                                      Version.id.not_in(select(protected.c.id)))
                .values(raw=b"").execution_options(synchronize_session=False))
            emptied += result.rowcount
    return emptied
