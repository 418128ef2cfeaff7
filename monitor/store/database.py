"""Persistence: SQLModel tables, migrations at start-up, and the queries the other stages need."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    bindparam,
    case,
    event,
    insert,
    literal,
    or_,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Field, Session, SQLModel, create_engine, select

from monitor.errors import (
    DatabaseUnavailableError,
    NoDatabaseError,
    PolicyMonitorError,
    SchemaNotCurrentError,
    StoreError,
    UsageError,
)
from monitor.store.plain import (  # noqa: F401 — re-exported: the other stages import them from here
    NOT_QUIET,
    SQLITE_PRAGMAS,
    SQLITE_WAL,
    ClaimedSource,
    NewVersion,
    NotQuiet,
    SourceHealth,
    VersionHead,
    compress,
    decompress,
    head_revisions,
    migration_lock,
    pid_alive,
    process_owner,
    text_hash,
    utcnow,
)
from monitor.store.url_password import redact_url


class Source(SQLModel, table=True):
    """A watched policy, with its HTTP validators and health state."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    url: str
    final_url: str | None = None  # where the last good fetch ended after redirects
    etag: str | None = None
    last_modified: str | None = None
    last_checked_at: datetime | None = None
    last_outcome: str | None = None
    consecutive_failures: int = 0
    failing_reported: bool = False
    unstable_reported: bool = False
    lock_owner: str | None = None
    lock_expires_at: datetime | None = None
    # fingerprint of the last page whose text was the latest version's (monitor.capture.fingerprint):
    # a page with the same one has that text, and is not normalized again
    text_fingerprint: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Version(SQLModel, table=True):
    """One distinct normalized text of a source, numbered 1, 2, 3… per source."""

    __table_args__ = (UniqueConstraint("source_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    seq: int
    fetched_at: datetime = Field(default_factory=utcnow)
    url: str
    http_status: int | None = None  # None: a capture imported from an archive (`import`), never fetched here
    content_type: str = ""
    text_hash: str = Field(index=True)
    raw_hash: str  # sha256 of the response body as received, to tell "same page" from "same text"
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # zlib-compressed response body
    text: str = Field(sa_column=Column(Text, nullable=False))
    normalizer_version: int = 1
    reverts_to: int | None = None  # seq of the earlier version this one equals (a blink back)

    @property
    def raw_pruned(self) -> bool:
        """`prune` emptied the raw page (its hash stays); the text and sections are kept."""
        return not self.raw


class SectionRow(SQLModel, table=True):
    """A section of a stored version, as the sections stage found it: stored by releases before sections
    were derived from the text when read (`monitor.store.queries.version_sections`), which reads these
    rows where a version has them."""

    __tablename__ = "section"
    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="version.id", index=True)
    position: int
    key: str
    number: str | None = None
    title: str = ""
    level: int = 0
    path: str = ""
    text: str = Field(sa_column=Column(Text, nullable=False))
    # None: not classified (classified when shown: pipeline.stored_section_topics)
    topics: list[str] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))


class Check(SQLModel, table=True):
    """Every attempt to check a source, whatever its outcome."""

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    started_at: datetime = Field(default_factory=utcnow, index=True)
    duration_ms: int = 0
    outcome: str  # new | changed | unchanged | error | rejected
    http_status: int | None = None
    error: str | None = None
    version_seq: int | None = None
    reverts_to: int | None = None


class ChangeRow(SQLModel, table=True):
    """One section change between two consecutive versions of a source."""

    __tablename__ = "change"
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    old_version_id: int = Field(foreign_key="version.id")
    new_version_id: int = Field(foreign_key="version.id", index=True)
    position: int
    section: str
    kind: str
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    alert_topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # None: not rated (see not_rated). No "low" default: the ORM would fill it in for a None and store an
    # unrated change as rated low, unlike the sqlite3 writer (store/deferred.py)
    severity: str | None = None
    summary: str = ""
    substantive: bool = False      # False: form-only, a move, a rename, a date stamp (see significance)
    not_rated: str | None = None   # why a change has no topics or severity: "error: KeyError", "language de"
    before: str = Field(default="", sa_column=Column(Text, nullable=False))
    after: str = Field(default="", sa_column=Column(Text, nullable=False))


class Alert(SQLModel, table=True):
    """An alert for one channel in the outbox: written with its cause, delivered and retried later."""

    # whether a channel delivered anything after its latest failure (store/delivery_health.py), in one step
    __table_args__ = (Index("ix_alert_status_channel_id", "status", "channel", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    channel: str = Field(index=True)
    event_type: str  # policy.changed | source.failing | source.recovered | source.unstable | test
    idempotency_key: str = Field(unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True)  # pending | delivered | failed | superseded
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    claimed_by: str | None = None  # host:pid whose lease (next_attempt_at) the alert is under; see delivery
    last_error: str | None = None
    delivered_at: datetime | None = None
    version_id: int | None = Field(default=None, foreign_key="version.id")


class DaemonState(SQLModel, table=True):
    """Small key/value facts about the daemon (heartbeat, pid) for `status`."""

    __tablename__ = "daemon_state"
    key: str = Field(primary_key=True)
    value: str = ""
    updated_at: datetime = Field(default_factory=utcnow)


class Renormalization(SQLModel, table=True):
    """A version whose text was re-derived from its stored raw body by a newer normalizer."""

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="version.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    normalizer_version: int
    old_hash: str
    new_hash: str
    old_text: str = Field(sa_column=Column(Text, nullable=False))


class WorkerRow(SQLModel, table=True):
    """A `worker` or `dispatcher` process of the distributed mode, with its heartbeat (for `status`)."""

    __tablename__ = "worker"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)  # host:pid, the owner it writes on source locks and alert claims
    role: str                      # worker | dispatcher
    host: str
    pid: int
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow)
    heartbeat_interval: float = 30.0
    stopped_at: datetime | None = None
    running: int = 0               # checks and delivery passes in flight at the last heartbeat
    done: int = 0                  # jobs finished since it started
    engine_id: int | None = None   # its id in procrastinate_workers, which the engine's jobs name


class DispatchRow(SQLModel, table=True):
    """When the dispatcher next queues a source's check (distributed mode): the interval's beat and its jitter."""

    __tablename__ = "dispatch"
    source: str = Field(primary_key=True)
    due_at: datetime                          # the interval's beat, without jitter
    next_run_at: datetime = Field(index=True)  # due_at plus this run's jitter: when the job is queued
    queued_at: datetime | None = None


class HostTurn(SQLModel, table=True):
    """When a host:port may next be asked, shared by every worker (per_host_delay, Retry-After)."""

    __tablename__ = "host_turn"
    host: str = Field(primary_key=True)
    next_start_at: datetime


class Store:
    """The database: opening, migrating, sessions, and the queries the stages share.

    `read_only=True` (the reading commands) never creates, migrates or changes a database: a missing
    SQLite file raises NoDatabaseError and a schema that is not at this release's head raises
    SchemaNotCurrentError, both before anything is written.
    """

    def __init__(self, url: str, *, migrate: bool = True, read_only: bool = False):
        self.url = url
        self.read_only = read_only
        self.applied: list[tuple[str, str]] = []  # the migrations this opening applied, oldest first
        try:
            self.engine = _make_engine(url, read_only=read_only)
            if read_only:
                self._require_database()
            elif migrate:
                self.applied = self.migrate()
        except PolicyMonitorError:
            raise
        except Exception as exc:  # driver errors differ per backend; users get one line
            message = f"cannot open database {redact_url(url)}: {_why_not(url, exc)}"
            if _may_come_back(exc):
                raise DatabaseUnavailableError(message) from None
            raise StoreError(message) from None  # a file that is no database, a failed migration: needs a person

    def migrate(self) -> list[tuple[str, str]]:
        """Apply Alembic migrations up to head (idempotent; serialized between processes).

        Returns the migrations applied, oldest first, as (revision, description); empty if none were due."""
        if self._at_head():
            return []
        from alembic import command
        from alembic.runtime.migration import MigrationContext

        cfg = _alembic_config()
        with _sqlite_file_lock(self.engine), self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))  # one migrator at a time
            before = MigrationContext.configure(conn).get_current_heads()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return _pending(cfg, before)

    def downgrade(self, revision: str) -> list[tuple[str, str]]:
        """Undo the migrations above `revision`, so an older release (whose head it is) can use the database.

        Returns the migrations undone, newest first, as (revision, description); empty if there were none.
        Raises UsageError for a revision this release does not know, or one above the database's."""
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script.revision import RevisionError
        from alembic.util import CommandError

        cfg = _alembic_config()
        script = _script_directory(cfg)
        known = [rev.revision for rev in reversed(list(script.walk_revisions()))]
        if revision not in known:
            raise UsageError(f"unknown schema revision {revision!r}; this release knows {', '.join(known)}")
        with _sqlite_file_lock(self.engine), _schema_engine(self.engine) as engine, engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))  # one migrator at a time
            before = MigrationContext.configure(conn).get_current_heads()
            cfg.attributes["connection"] = conn
            try:
                if not before:
                    raise CommandError("no schema")
                undone = [(rev.revision, (rev.doc or "").strip())
                          for rev in script.iterate_revisions(before, revision) if rev.revision != revision]
                command.downgrade(cfg, revision)
            except (CommandError, RevisionError):
                at = ", ".join(before) or "no schema"
                raise UsageError(f"the database is at {at}, not above {revision}: nothing to undo "
                                 f"(`policy-monitor migrate` without --to upgrades)") from None
            if conn.dialect.name == "sqlite" and (broken := conn.exec_driver_sql("PRAGMA foreign_key_check").first()):
                raise StoreError(f"undoing the migrations would leave a row of {broken[0]} pointing at nothing "
                                    f"in {broken[2]}: nothing was changed")
        return undone

    def _at_head(self) -> bool:
        """The database's schema is this release's head: a look (one SELECT) that spares every start of
        `check` importing Alembic and loading its scripts; anything unusual answers False (Alembic decides)."""
        heads = head_revisions()
        if not heads:
            return False
        try:
            with self.engine.connect() as conn:
                current = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
        except Exception:  # noqa: BLE001 — no table yet, or anything else: the full path knows what to do
            return False
        return current == heads

    @property
    def location(self) -> str:
        """Where the database is, for messages: a SQLite file's path, else the URL without its password."""
        if self.engine.dialect.name == "sqlite" and self.engine.url.database:
            return self.engine.url.database
        return redact_url(self.url)

    def _require_database(self) -> None:
        """For a read-only store: the database exists and its schema is at head; nothing is created."""
        from alembic.runtime.migration import MigrationContext

        path = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if path and path != ":memory:" and not path.startswith("file:") and not Path(path).exists():
            raise NoDatabaseError(path)
        if self._at_head():
            return
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
        cfg = _alembic_config()
        head = tuple(_script_directory(cfg).get_heads())
        if set(current) == set(head):
            return
        where = self.location
        try:
            _pending(cfg, current)
        except Exception:  # a revision this release does not know: a newer release made the database
            raise SchemaNotCurrentError(where, tuple(current), head, newer=True) from None
        raise SchemaNotCurrentError(where, tuple(current), head)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any exception."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()

    # -- queries -------------------------------------------------------------------------------

    @staticmethod
    def source(session: Session, name: str) -> Source | None:
        return session.exec(select(Source).where(Source.name == name)).first()

    @staticmethod
    def ensure_source(session: Session, name: str, url: str) -> Source:
        row = Store.source(session, name)
        if row is None:
            row = Source(name=name, url=url)
            session.add(row)
            session.flush()
        elif row.url != url:
            # A new URL is a new resource: its validators say nothing about the old one.
            row.url, row.etag, row.last_modified, row.text_fingerprint = url, None, None, None
        return row

    @staticmethod
    def latest_head(session: Session, source_id: int) -> VersionHead | None:
        """The latest version's number, address and text hash, without its text or raw page."""
        found = session.exec(
            select(Version.id, Version.seq, Version.url, Version.text_hash)
            .where(Version.source_id == source_id).order_by(Version.seq.desc()).limit(1)
        ).first()
        return VersionHead(*found) if found else None

    @staticmethod
    def version_text(session: Session, version_id: int) -> str:
        return session.exec(select(Version.text).where(Version.id == version_id)).one()

    @staticmethod
    def earliest_seq_with_hash(session: Session, source_id: int, digest: str) -> int | None:
        return session.connection().execute(_statements().earliest_seq,
                                            {"source_id": source_id, "text_hash": digest}).scalar()

    @staticmethod
    def latest_version(session: Session, source_id: int) -> Version | None:
        return session.exec(
            select(Version).where(Version.source_id == source_id).order_by(Version.seq.desc())
        ).first()

    @staticmethod
    def version(session: Session, source_id: int, seq: int) -> Version | None:
        return session.exec(select(Version).where(Version.source_id == source_id, Version.seq == seq)).first()

    @staticmethod
    def earliest_version_with_hash(session: Session, source_id: int, digest: str) -> Version | None:
        return session.exec(
            select(Version).where(Version.source_id == source_id, Version.text_hash == digest)
            .order_by(Version.seq)
        ).first()

    @staticmethod
    def versions(session: Session, source_id: int) -> list[Version]:
        return list(session.exec(select(Version).where(Version.source_id == source_id).order_by(Version.seq)))

    @staticmethod
    def changes(session: Session, new_version_id: int) -> list[ChangeRow]:
        return list(session.exec(
            select(ChangeRow).where(ChangeRow.new_version_id == new_version_id).order_by(ChangeRow.position)
        ))

    @staticmethod
    def sections(session: Session, version_id: int) -> list[SectionRow]:
        return list(session.exec(
            select(SectionRow).where(SectionRow.version_id == version_id).order_by(SectionRow.position)
        ))

    # -- per-source lock: a `check` and the daemon never check one source at once ---------------

    def try_lock(self, source_id: int, owner: str, ttl: float) -> bool:
        now = utcnow()
        stmt = (update(Source).where(Source.id == source_id, _lock_free(owner, now))
                .values(lock_owner=owner, lock_expires_at=now + timedelta(seconds=ttl)))
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def unlock(self, source_id: int, owner: str) -> None:
        stmt = (update(Source).where(Source.id == source_id, Source.lock_owner == owner)
                .values(lock_owner=None, lock_expires_at=None))
        with self.engine.begin() as conn:
            conn.execute(stmt)

    # -- a check's own statements, in SQLAlchemy Core: an unchanged page builds no ORM object -------
    # Each statement is built once (cached by its shape) and run with parameters, so a check pays for
    # neither building nor compiling SQL; they run on a Connection, or inside a Session through
    # `session.connection()` so that they share its transaction.

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A Core connection in one transaction, committed on success and rolled back on any exception."""
        with self.engine.begin() as conn:
            yield conn

    def claim(self, name: str, url: str, owner: str, ttl: float) -> ClaimedSource | None:
        """`claim_source` in a short transaction of its own."""
        with self.transaction() as conn:
            return Store.claim_source(conn, name, url, owner, ttl)

    @staticmethod
    def claim_source(conn: Connection, name: str, url: str, owner: str, ttl: float) -> ClaimedSource | None:
        """Take the source's lock for `ttl` seconds and read what a check needs before fetching: one
        conditional `UPDATE … RETURNING` and one indexed `SELECT` of the latest version's head.

        The source's row is created on first sight. A new `url` is a new resource: its validators and
        fingerprint are forgotten (in the same update). None when another process holds the lock."""
        now = utcnow()
        params = {"source_name": name, "new_url": url, "owner": owner, "now": now,
                  "expires": now + timedelta(seconds=ttl)}
        row = conn.execute(_statements().claim, params).first()
        if row is None:
            if conn.execute(_statements().source_id, {"source_name": name}).first() is not None:
                return None  # held by another process
            conn.execute(_insert_source(conn.dialect.name), {
                "name": name, "url": url, "created_at": now, "consecutive_failures": 0,
                "failing_reported": False, "unstable_reported": False})
            row = conn.execute(_statements().claim, params).first()
            if row is None:  # another process created it and took it first
                return None
        head = conn.execute(_statements().head, {"source_id": row.id}).first()
        return ClaimedSource(row.id, row.final_url, row.etag, row.last_modified, row.text_fingerprint,
                             VersionHead(*head) if head else None)

    @staticmethod
    def release_source(conn: Connection, source_id: int, owner: str) -> bool:
        """Release the lock (a check that ended before its write transaction); False when it was not ours."""
        return conn.execute(_statements().release, {"source_id": source_id, "owner": owner, "now": utcnow()}
                            ).rowcount == 1

    @staticmethod
    def finish_check(conn: Connection, source_id: int, *, owner: str | None, outcome: str, failed: bool,
                     started_at: datetime, learned: Mapping[str, Any] | None = None) -> SourceHealth | None:
        """Record a check's outcome on the source's row (last check, failure streak, and the columns in
        `learned`: final_url, validators, fingerprint) with one `UPDATE … RETURNING` of its health.

        With `owner`, the lock is released in the same update, which happens only if the lock is still
        `owner`'s or free: None means another process took the source over after our lease ran out,
        and the caller must write nothing. Without `owner` (recording a crash) the lock is left alone."""
        learned = learned or {}
        stmt = _finish_statement(owner is not None, failed, tuple(sorted(learned)))
        params = {"source_id": source_id, "owner": owner, "now": utcnow(), "started_at": started_at,
                  "outcome": outcome, **{f"new_{name}": value for name, value in learned.items()}}
        row = conn.execute(stmt, params).first()
        return SourceHealth(*row) if row is not None else None

    def record_quiet_check(self, source_id: int, *, owner: str, outcome: str, failed: bool, started_at: datetime,
                           learned: Mapping[str, Any], check: Mapping[str, Any],
                           quiet: Callable[[SourceHealth], bool]) -> SourceHealth | None | NotQuiet:
        """A check that stores no version (unchanged, 304, error, rejected): `finish_check` (releasing `owner`'s
        lock) and `add_check` (`check`: its columns but the source) in one short Core transaction, no ORM Session.

        When the counters the update returns are not `quiet` (health has an event to queue or a stability to
        re-assess), nothing is written and NOT_QUIET comes back: the caller records the check in a Session.
        None, as from `finish_check`: the lock was no longer ours, nothing was written."""
        try:
            with self.transaction() as conn:
                counters = Store.finish_check(conn, source_id, owner=owner, outcome=outcome, failed=failed,
                                              started_at=started_at, learned=learned)
                if counters is not None:
                    if not quiet(counters):
                        raise _Undo
                    Store.add_check(conn, source_id, **check)
        except _Undo:
            return NOT_QUIET
        return counters

    def record_new_version(self, version: NewVersion, *, owner: str, outcome: str, started_at: datetime,
                           learned: Mapping[str, Any], check: Mapping[str, Any],
                           quiet: Callable[[SourceHealth], bool]) -> SourceHealth | None | NotQuiet:
        """A new version that queues no alert, written without a Session where that is cheaper (the DeferredStore
        on a SQLite file, through sqlite3); here always NOT_QUIET: the caller writes it in a Session."""
        return NOT_QUIET

    def read_version_text(self, version_id: int) -> str:
        """A stored version's text, in a short transaction of its own."""
        with self.transaction() as conn:
            return Store.text_of_version(conn, version_id)

    @staticmethod
    def add_check(conn: Connection, source_id: int, *, started_at: datetime, duration_ms: int, outcome: str,
                  http_status: int | None, error: str | None, version_seq: int | None,
                  reverts_to: int | None) -> int:
        """Insert the check's row; returns its id."""
        result = conn.execute(_statements().add_check, {
            "source_id": source_id, "started_at": started_at, "duration_ms": duration_ms, "outcome": outcome,
            "http_status": http_status, "error": error, "version_seq": version_seq, "reverts_to": reverts_to})
        return result.inserted_primary_key[0]

    @staticmethod
    def source_id(conn: Connection, name: str, url: str) -> int:
        """The source's id, its row created on first sight (its lock and validators are left alone)."""
        found = conn.execute(_statements().source_id, {"source_name": name}).first()
        if found is None:
            conn.execute(_insert_source(conn.dialect.name), {
                "name": name, "url": url, "created_at": utcnow(), "consecutive_failures": 0,
                "failing_reported": False, "unstable_reported": False})
            found = conn.execute(_statements().source_id, {"source_name": name}).one()
        return found[0]

    @staticmethod
    def text_of_version(conn: Connection, version_id: int) -> str:
        return conn.execute(_statements().version_text, {"version_id": version_id}).scalar_one()



class _Undo(Exception):
    """Rolls back a quiet check's transaction that turned out not to be quiet."""


@dataclass(frozen=True)
class _Statements:
    claim: Any
    release: Any
    head: Any
    source_id: Any
    add_check: Any
    version_text: Any
    earliest_seq: Any


@lru_cache(maxsize=1)
def _statements() -> _Statements:
    source, version = Source.__table__, Version.__table__
    col = source.c
    same_url = col.url == bindparam("new_url")
    lock_free = or_(col.lock_owner.is_(None), col.lock_owner == bindparam("owner"),
                    col.lock_expires_at < bindparam("now"))
    claim = (update(source).where(col.name == bindparam("source_name"), lock_free)
             .values(lock_owner=bindparam("owner"), lock_expires_at=bindparam("expires"), url=bindparam("new_url"),
                     etag=case((same_url, col.etag)), last_modified=case((same_url, col.last_modified)),
                     text_fingerprint=case((same_url, col.text_fingerprint)))
             .returning(col.id, col.final_url, col.etag, col.last_modified, col.text_fingerprint))
    release = (update(source).where(col.id == bindparam("source_id"), lock_free)
               .values(lock_owner=None, lock_expires_at=None))
    head = (select(version.c.id, version.c.seq, version.c.url, version.c.text_hash)
            .where(version.c.source_id == bindparam("source_id")).order_by(version.c.seq.desc()).limit(1))
    return _Statements(
        claim=claim, release=release, head=head,
        source_id=select(col.id).where(col.name == bindparam("source_name")),
        add_check=insert(Check.__table__),
        version_text=select(version.c.text).where(version.c.id == bindparam("version_id")),
        earliest_seq=select(version.c.seq).where(version.c.source_id == bindparam("source_id"),
                                                 version.c.text_hash == bindparam("text_hash"))
        .order_by(version.c.seq).limit(1),
    )


@lru_cache(maxsize=64)
def _finish_statement(release: bool, failed: bool, learned: tuple[str, ...]):
    """UPDATE source for a finished check; one statement per shape (see Store.finish_check)."""
    source = Source.__table__
    col = source.c
    values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in learned}
    values |= {"last_checked_at": bindparam("started_at"), "last_outcome": bindparam("outcome"),
               "consecutive_failures": col.consecutive_failures + 1 if failed else literal(0)}
    stmt = update(source).where(col.id == bindparam("source_id"))
    if release:
        values |= {"lock_owner": None, "lock_expires_at": None}
        stmt = stmt.where(or_(col.lock_owner.is_(None), col.lock_owner == bindparam("owner"),
                              col.lock_expires_at < bindparam("now")))
    return stmt.values(values).returning(col.consecutive_failures, col.failing_reported, col.unstable_reported)


@lru_cache(maxsize=4)
def _insert_source(dialect: str):
    """INSERT of a new source row that leaves a row another process created meanwhile alone."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        return insert(Source.__table__)
    return dialect_insert(Source.__table__).on_conflict_do_nothing(index_elements=["name"])


def _lock_free(owner: str, now: datetime):
    """The lock is free for `owner`: nobody holds it, `owner` does, or its holder's lease ran out."""
    return or_(Source.lock_owner.is_(None), Source.lock_owner == owner, Source.lock_expires_at < now)


def _alembic_config():
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("monitor.store") / "migrations"))
    return cfg


def _script_directory(cfg):
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(cfg)


def _pending(cfg, current: tuple[str, ...]) -> list[tuple[str, str]]:
    """The migrations between the revisions `current` and head, oldest first, as (revision, description).
    Raises if `current` names a revision this release does not know."""
    script = _script_directory(cfg)
    lower = current or None
    revisions = reversed(list(script.iterate_revisions("heads", lower)))
    return [(rev.revision, (rev.doc or "").strip()) for rev in revisions]


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """One migrator at a time on a SQLite file: a daemon and a `check` started together on a new
    database would otherwise both create the tables (`migration_lock`)."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    with migration_lock(path):
        yield


def _may_come_back(exc: Exception) -> bool:
    """Is this a database not reachable or not openable for now (a server down or refusing us, a directory
    missing or not writable), rather than one that is wrong (a file that is no database, a failed migration)?"""
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(exc, OSError | OperationalError | InterfaceError)


def _why_not(url: str, exc: Exception) -> str:
    """Why a database could not be opened, in one line about the database, not about a file of ours beside
    it (the `-migrate.lock`) or a driver's internals."""
    path = make_url(url).database if url.startswith("sqlite") else None
    if path and path != ":memory:" and not path.startswith("file:"):
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            return f"its directory {folder} does not exist (create it, or point --db elsewhere)"
        if isinstance(exc, OSError) and exc.filename:  # the lock file beside it, or the file itself
            return f"cannot create files in its directory {folder} ({exc.strerror or type(exc).__name__})"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@contextmanager
def _schema_engine(engine: Engine) -> Iterator[Engine]:
    """`engine`, or for SQLite one whose transactions hold DDL too and whose foreign keys are off while tables are
    rebuilt: pysqlite begins a transaction only before a data statement, so a migration's CREATE, DROP and
    RENAME each committed on its own (one that failed halfway left the schema half undone), and with foreign
    keys on, dropping a rebuilt table that others refer to fails. `PRAGMA foreign_key_check` before the commit
    says whether the rows still hold together."""
    if engine.dialect.name != "sqlite":
        yield engine
        return
    schema = create_engine(engine.url, connect_args={"timeout": 30, "check_same_thread": False}, poolclass=NullPool)

    @event.listens_for(schema, "connect")
    def _autocommit_off(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # pysqlite's own transaction handling off: BEGIN is ours (below)
        dbapi_conn.execute("PRAGMA foreign_keys=OFF")
        dbapi_conn.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(schema, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        yield schema
    finally:
        schema.dispose()


def _make_engine(url: str, *, read_only: bool = False) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            for pragma in SQLITE_PRAGMAS:
                if not (read_only and pragma == SQLITE_WAL):  # switching the journal mode writes to the file
                    cur.execute(pragma)
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)
