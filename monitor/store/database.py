"""Persistence: SQLModel tables, migrations at start-up, and the queries the other stages need."""

from __future__ import annotations

import hashlib
import os
import socket
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no flock; concurrent first starts there may race (rare, and retried)
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint, event, or_, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, create_engine, select

from monitor.errors import NoDatabaseError, PolicyMonitorError, SchemaNotCurrentError, StoreError


def process_owner() -> str:
    """`host:pid` of this process: who holds a source's lock or an alert's claim (dead owners are freed)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def utcnow() -> datetime:
    """Aware UTC now; SQLModel stores UTC and hands back aware datetimes on every backend."""
    return datetime.now(UTC)


def text_hash(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def compress(raw: bytes) -> bytes:
    return zlib.compress(raw, 6)


def decompress(blob: bytes | None) -> bytes:
    return zlib.decompress(blob) if blob else b""


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
    created_at: datetime = Field(default_factory=utcnow)


class Version(SQLModel, table=True):
    """One distinct normalized text of a source, numbered 1, 2, 3… per source."""

    __table_args__ = (UniqueConstraint("source_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    seq: int
    fetched_at: datetime = Field(default_factory=utcnow)
    url: str
    http_status: int | None = None
    content_type: str = ""
    text_hash: str = Field(index=True)
    raw_hash: str  # sha256 of the response body as received, to tell "same page" from "same text"
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # zlib-compressed response body
    text: str = Field(sa_column=Column(Text, nullable=False))
    normalizer_version: int = 1
    reverts_to: int | None = None  # seq of the earlier version this one equals (a blink back)


class SectionRow(SQLModel, table=True):
    """A section of a stored version, as the sections stage found it."""

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
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


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
    severity: str | None = "low"   # None: not rated (see not_rated)
    summary: str = ""
    not_rated: str | None = None   # why a change has no topics or severity: "error: KeyError", "language de"
    before: str = Field(default="", sa_column=Column(Text, nullable=False))
    after: str = Field(default="", sa_column=Column(Text, nullable=False))


class Alert(SQLModel, table=True):
    """An alert for one channel in the outbox: written with its cause, delivered and retried later."""

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
            raise StoreError(f"cannot open database {_redact(url)}: {str(exc).splitlines()[0]}") from None

    def migrate(self) -> list[tuple[str, str]]:
        """Apply Alembic migrations up to head (idempotent; serialized between processes).

        Returns the migrations applied, oldest first, as (revision, description); empty if none were due."""
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

    @property
    def location(self) -> str:
        """Where the database is, for messages: a SQLite file's path, else the URL without its password."""
        if self.engine.dialect.name == "sqlite" and self.engine.url.database:
            return self.engine.url.database
        return _redact(self.url)

    def _require_database(self) -> None:
        """For a read-only store: the database exists and its schema is at head; nothing is created."""
        from alembic.runtime.migration import MigrationContext

        path = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if path and path != ":memory:" and not path.startswith("file:") and not Path(path).exists():
            raise NoDatabaseError(path)
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
            row.url, row.etag, row.last_modified = url, None, None
        return row

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
        free = or_(Source.lock_owner.is_(None), Source.lock_owner == owner, Source.lock_expires_at < now)
        stmt = (update(Source).where(Source.id == source_id, free)
                .values(lock_owner=owner, lock_expires_at=now + timedelta(seconds=ttl)))
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def unlock(self, source_id: int, owner: str) -> None:
        stmt = (update(Source).where(Source.id == source_id, Source.lock_owner == owner)
                .values(lock_owner=None, lock_expires_at=None))
        with self.engine.begin() as conn:
            conn.execute(stmt)


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
    database would otherwise both create the tables. The lock is a file of its own beside the
    database: closing a descriptor of the database file itself would drop every POSIX lock SQLite
    holds on it in this process."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if fcntl is None or not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    with open(f"{path}-migrate.lock", "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _make_engine(url: str, *, read_only: bool = False) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            if not read_only:  # switching the journal mode writes to the file
                cur.execute("PRAGMA journal_mode=WAL")   # readers never block the daemon's writer
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _redact(url: str) -> str:
    """Hide a password in a database URL before it reaches a message or a log."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)
