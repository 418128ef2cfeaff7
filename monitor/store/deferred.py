"""The database as `check` opens it: claims and quiet writes through the sqlite3 module, SQLAlchemy loaded on need.

A check claims its source (the lock, the validators, the latest version's head) before it fetches, and
that claim used to wait for SQLAlchemy, SQLModel and the table models: about half of what `check` ran
before its first request. On a SQLite file already at this release's head, the claim is the store's own
two statements (`CLAIM_SQL`, `HEAD_SQL`: the text SQLAlchemy compiles them to, which a test checks) run
through the sqlite3 module, and the store is opened in a thread once the check's fetch is under way.
A check that stores no version and leaves the source's health alone (unchanged, 304, most errors) is
written the same way (`finish_sql`, `ADD_CHECK_SQL`): a `check` whose pages are all unchanged never loads
SQLAlchemy (a third of a second of CPU in each of its processes). So is a new version that queues no alert
(a first version; a change with nothing alert-worthy, or no channel) and is no blink back, with its changes
(`ADD_VERSION_SQL`, `ADD_CHANGE_SQL`: the rows the Session's flush writes, which a test checks), and the
previous version's text a changed page is compared with (`VERSION_TEXT_SQL`): a `check` storing changed pages
without alerts never loads SQLAlchemy either, and holds the write lock for a few statements, not a Session.
Anything else (PostgreSQL, a new or older database, an alert to queue, a
blink back, a health event, a driver error) goes through the store itself, so it behaves and reports errors
exactly as before.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from monitor.store.fresh import create_fresh
from monitor.store.plain import (
    CHANGE_COLUMNS,
    NOT_QUIET,
    SQLITE_PRAGMAS,
    VERSION_COLUMNS,
    ClaimedSource,
    NewVersion,
    NotQuiet,
    SourceHealth,
    VersionHead,
    head_revisions,
    utcnow,
)

if TYPE_CHECKING:
    from monitor.store.database import Store

# Store.claim_source's statements as SQLAlchemy compiles them for SQLite (named parameters)
CLAIM_SQL = (
    "UPDATE source SET url=:new_url, "
    "etag=CASE WHEN (source.url = :new_url) THEN source.etag END, "
    "last_modified=CASE WHEN (source.url = :new_url) THEN source.last_modified END, "
    "lock_owner=:owner, lock_expires_at=:expires, "
    "text_fingerprint=CASE WHEN (source.url = :new_url) THEN source.text_fingerprint END "
    "WHERE source.name = :source_name AND (source.lock_owner IS NULL OR source.lock_owner = :owner "
    "OR source.lock_expires_at < :now) "
    "RETURNING id, final_url, etag, last_modified, text_fingerprint")
HEAD_SQL = ("SELECT version.id, version.seq, version.url, version.text_hash FROM version "
            "WHERE version.source_id = :source_id ORDER BY version.seq DESC LIMIT 1 OFFSET 0")
SOURCE_ID_SQL = "SELECT source.id FROM source WHERE source.name = :source_name"
# Store.claim_source's INSERT of a source seen for the first time (database._insert_source("sqlite"))
INSERT_SOURCE_SQL = ("INSERT INTO source (name, url, consecutive_failures, failing_reported, unstable_reported, "
                     "created_at) VALUES (:name, :url, :consecutive_failures, :failing_reported, :unstable_reported, "
                     ":created_at) ON CONFLICT (name) DO NOTHING")
# Store.add_check's INSERT
ADD_CHECK_SQL = ('INSERT INTO "check" (source_id, started_at, duration_ms, outcome, http_status, error, version_seq, '
                 'reverts_to) VALUES (:source_id, :started_at, :duration_ms, :outcome, :http_status, :error, '
                 ':version_seq, :reverts_to)')
# Store.read_version_text's SELECT, and the statements Store writes a new version with (pipeline._store_version:
# the Session's earliest_seq_with_hash, and its flush of the Version and ChangeRow objects)
VERSION_TEXT_SQL = "SELECT version.text FROM version WHERE version.id = :version_id"
EARLIEST_SEQ_SQL = ("SELECT version.seq FROM version WHERE version.source_id = :source_id AND version.text_hash = "
                    ":text_hash ORDER BY version.seq LIMIT 1 OFFSET 0")
ADD_VERSION_SQL = (f"INSERT INTO version ({', '.join(VERSION_COLUMNS)}) "
                   f"VALUES ({', '.join(':' + name for name in VERSION_COLUMNS)})")
_CHANGE_ROW = ("source_id", "old_version_id", "new_version_id", *CHANGE_COLUMNS)
_QUOTED = {"before": '"before"', "after": '"after"'}  # SQLite's keywords: SQLAlchemy quotes them
ADD_CHANGE_SQL = (f"INSERT INTO change ({', '.join(_QUOTED.get(name, name) for name in _CHANGE_ROW)}) "
                  f"VALUES ({', '.join(':' + name for name in _CHANGE_ROW)})")
# the values SQLAlchemy binds as parameters of its own in finish_check's UPDATE (its literals, and the lock freed)
FINISH_LITERALS = {"consecutive_failures": 0, "consecutive_failures_1": 1, "lock_owner": None, "lock_expires_at": None}
# the source's columns finish_check may set, in the table's order (SQLAlchemy writes SET in that order)
_FINISHED_COLUMNS = ("final_url", "etag", "last_modified", "last_checked_at", "last_outcome", "consecutive_failures",
                     "lock_owner", "lock_expires_at", "text_fingerprint")

class DeferredStore:
    """A Store that opens in the background: `claim` and `record_quiet_check` need only sqlite3 (and keep using
    it once the store is open: a statement through SQLAlchemy costs several times one through sqlite3); anything
    else waits for the store.

    Every attribute but `claim`, `record_quiet_check`, `record_new_version`, `read_version_text`, `url`,
    `read_only` and `dispose` is the opened Store's
    (opening it first, or waiting for the thread that is opening it)."""

    read_only = False

    def __init__(self, url: str, quick: sqlite3.Connection | None, *, open_beside: bool = True):
        self.url = url
        self._quick: sqlite3.Connection | None = quick  # used and closed by the event loop's thread only
        self._quick_later = False  # `beside`: the sqlite3 connection is made at the first claim
        self._store: Store | None = None
        self._opening = threading.Lock()
        self._opener: threading.Thread | None = None
        self._open_beside = open_beside

    @classmethod
    def beside(cls, store: Store) -> Store | DeferredStore:
        """`store`, already open, with its checks' claims and quiet writes through sqlite3 when it is a SQLite
        file (the daemon: four statements a check, each a fraction of its cost through SQLAlchemy); else `store`.
        The sqlite3 connection is made at the first claim, in the event loop's thread, after the daemon forked
        its CPU workers."""
        if getattr(store, "read_only", True) or not quick_url(store.url):
            return store
        deferred = cls(store.url, None, open_beside=False)
        deferred._store, deferred._quick_later = store, True
        return deferred

    @classmethod
    def open(cls, url: str, *, open_beside: bool = True, migrate: bool = True) -> Store | DeferredStore:
        """A DeferredStore for a SQLite file at head (with `migrate`, also for a file not there yet: made at head by
        `monitor.store.fresh`), else the Store opened now (migrated as ever, with `migrate`).

        `open_beside`: the store is opened in a thread once the first claim's check yields (its fetch under way),
        ready for its write; without, only when something needs it (a process of a sharded `check`, whose event
        loop keeps its core busy: a thread would only take turns with it, for a store an unchanged page never needs)."""
        quick = quick_connection(url)
        if quick is None and migrate and (path := quick_url(url)) is not None and not os.path.exists(path):
            create_fresh(path)  # a new file made at head without SQLAlchemy or Alembic, here or by another process
            quick = quick_connection(url)  # (a file that was there already, behind head, is not asked twice)
        if quick is None:
            from monitor.store.database import Store

            return Store(url, migrate=migrate)
        return cls(url, quick, open_beside=open_beside)

    def claim(self, name: str, url: str, owner: str, ttl: float) -> ClaimedSource | None:
        """Store.claim, through sqlite3."""
        self._connect_later()
        if self._quick is None:
            return self.opened().claim(name, url, owner, ttl)
        try:
            claimed = _waiting(lambda: _quick_claim(self._quick, name, url, owner, ttl))
        except sqlite3.Error:  # the store tries again and reports what it finds its usual way
            return self.opened().claim(name, url, owner, ttl)
        self._open_soon()
        return claimed

    def record_quiet_check(self, source_id: int, *, owner: str, outcome: str, failed: bool, started_at: datetime,
                           learned: Mapping[str, Any], check: Mapping[str, Any],
                           quiet: Callable[[SourceHealth], bool]) -> SourceHealth | None | NotQuiet:
        """Store.record_quiet_check, through sqlite3."""
        self._connect_later()
        if self._quick is None:
            return self.opened().record_quiet_check(source_id, owner=owner, outcome=outcome, failed=failed,
                                                    started_at=started_at, learned=learned, check=check, quiet=quiet)
        try:
            return _waiting(lambda: _quick_record(self._quick, source_id, owner=owner, outcome=outcome, failed=failed,
                                                  started_at=started_at, learned=learned, check=check, quiet=quiet))
        except sqlite3.Error:  # rolled back: the store tries again and reports what it finds its usual way
            self._reconnect_later()
            return self.opened().record_quiet_check(source_id, owner=owner, outcome=outcome, failed=failed,
                                                    started_at=started_at, learned=learned, check=check, quiet=quiet)

    def read_version_text(self, version_id: int) -> str:
        """Store.read_version_text, through sqlite3."""
        self._connect_later()
        if self._quick is not None:
            try:  # a lone SELECT: sqlite3 opens no transaction for it, so no snapshot is held after
                found = self._quick.execute(VERSION_TEXT_SQL, {"version_id": version_id}).fetchone()
                if found is not None:
                    return found[0]
            except sqlite3.Error:  # the store reads it again and reports what it finds its usual way
                pass
        return self.opened().read_version_text(version_id)

    def record_new_version(self, version: NewVersion, *, owner: str, outcome: str, started_at: datetime,
                           learned: Mapping[str, Any], check: Mapping[str, Any],
                           quiet: Callable[[SourceHealth], bool]) -> SourceHealth | None | NotQuiet:
        """Store.record_new_version, through sqlite3 (NOT_QUIET without a connection: the Session path writes it)."""
        self._connect_later()
        if self._quick is None:
            return NOT_QUIET
        try:
            return _waiting(lambda: _quick_version(self._quick, version, owner=owner, outcome=outcome,
                                                   started_at=started_at, learned=learned, check=check, quiet=quiet))
        except sqlite3.Error:  # rolled back: the Session path tries again and reports what it finds its usual way
            self._reconnect_later()
            return NOT_QUIET

    def opened(self) -> Store:
        """The store, opened here unless the opening thread has done it (then waited for)."""
        with self._opening:
            if self._store is None:
                from monitor.store.database import Store

                self._store = Store(self.url)
            return self._store

    def dispose(self) -> None:
        """Close the sqlite3 connection and the store if it was opened (a store opening beside is waited for,
        never opened here only to be closed)."""
        self._close_quick()
        if self._opener is not None and self._opener.is_alive():  # (one never started, its loop gone, is not)
            self._opener.join()
        with self._opening:
            if self._store is not None:
                self._store.dispose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.opened(), name)

    def _open_soon(self) -> None:
        """Open the store in a thread, started once the running check yields (its request on its way)."""
        if self._opener is not None or not self._open_beside:
            return
        self._opener = threading.Thread(target=self._open_quietly, name="open-store")
        try:
            import asyncio

            asyncio.get_running_loop().call_soon(self._opener.start)
        except RuntimeError:  # no event loop: now
            self._opener.start()

    def _open_quietly(self) -> None:
        try:
            self.opened()
        except Exception:  # noqa: BLE001 — the next use opens it again and raises there, where it is reported
            pass

    def _connect_later(self) -> None:
        if self._quick_later:
            self._quick_later = False
            self._quick = quick_connection(self.url)  # None (the store does it all) should the schema have moved

    def _close_quick(self) -> None:
        if self._quick is not None:
            self._quick.close()
            self._quick = None

    def _reconnect_later(self) -> None:
        """After a failed quick write (handed to the store): a new connection, the schema checked again, at the
        next write, so one lapsed lock or long wait does not leave a daemon on the slow path until restarted."""
        self._close_quick()
        self._quick_later = True


def quick_connection(url: str) -> sqlite3.Connection | None:
    """A sqlite3 connection, with the store's pragmas, to the SQLite file `url` names when its schema is at
    this release's head; None for anything else (another database, no file yet, a schema to migrate)."""
    path = quick_url(url)
    if path is None or not os.path.isfile(path):
        return None
    heads = head_revisions()
    if not heads:
        return None
    conn = None
    try:
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        conn.execute("PRAGMA busy_timeout=0")  # a write held up waits in `_waiting`, not in SQLite's sleeps
        current = {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
    except sqlite3.Error:
        current = None
    if current != heads:
        if conn is not None:
            conn.close()
        return None
    return conn


LOCK_WAIT = 30.0  # seconds a write waits for another process's write, as the store's busy_timeout
_FIRST_WAITS = 20  # waits of 0.1 ms before they grow: a quick write holds the lock for well under 1 ms


def _waiting(write: Callable[[], Any]) -> Any:
    """`write()` (a whole transaction, rolled back on error), tried again while another process holds the write
    lock. SQLite's own busy handler sleeps 1, 2, 5, 10… ms between tries, and its first millisecond is already
    several times what a quick write holds the lock for: waiting 0.1 ms (growing after a few tries) lets a check
    write as soon as the other's is done, and the event loop, blocked either way, is blocked much less."""
    give_up_at, tries = time.monotonic() + LOCK_WAIT, 0
    while True:
        try:
            return write()
        except sqlite3.OperationalError as exc:
            if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) != sqlite3.SQLITE_BUSY or time.monotonic() > give_up_at:
                raise
        tries += 1
        time.sleep(0.0001 if tries <= _FIRST_WAITS else min(0.005, 0.0001 * 2 ** (tries - _FIRST_WAITS)))


def quick_url(url: str) -> str | None:
    """The path of the SQLite file `url` names plainly (no options, no in-memory or URI form), else None."""
    scheme, _, path = url.partition(":///")
    if scheme not in ("sqlite", "sqlite+pysqlite") or not path or path == ":memory:" or path.startswith("file:") \
            or "?" in path or "%" in path:
        return None
    return path


def _quick_claim(conn: sqlite3.Connection, name: str, url: str, owner: str,
                 ttl: float) -> ClaimedSource | None:
    """Store.claim_source's transaction: the source's lock taken (its row created on first sight) and its latest
    version's head read; None when another process holds the lock."""
    now = utcnow()
    params = {"source_name": name, "new_url": url, "owner": owner, "now": sqlite_time(now),
              "expires": sqlite_time(now + timedelta(seconds=ttl))}
    try:
        rows = conn.execute(CLAIM_SQL, params).fetchall()
        if not rows:
            if conn.execute(SOURCE_ID_SQL, {"source_name": name}).fetchone() is not None:
                conn.rollback()  # nothing was written: held by another process
                return None
            conn.execute(INSERT_SOURCE_SQL, {"name": name, "url": url, "created_at": sqlite_time(now),
                                             "consecutive_failures": 0, "failing_reported": False,
                                             "unstable_reported": False})
            rows = conn.execute(CLAIM_SQL, params).fetchall()
            if not rows:  # another process created it and took it first
                conn.rollback()
                return None
        source_id, final_url, etag, last_modified, fingerprint = rows[0]
        head = conn.execute(HEAD_SQL, {"source_id": source_id}).fetchone()
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return ClaimedSource(source_id, final_url, etag, last_modified, fingerprint, VersionHead(*head) if head else None)


@lru_cache(maxsize=64)
def finish_sql(release: bool, failed: bool, learned: tuple[str, ...]) -> str:
    """Store.finish_check's UPDATE of one shape (database._finish_statement) as SQLAlchemy compiles it for SQLite;
    its parameters are finish_check's, with FINISH_LITERALS."""
    values = {name: f":new_{name}" for name in learned}
    values |= {"last_checked_at": ":started_at", "last_outcome": ":outcome",
               "consecutive_failures": "(source.consecutive_failures + :consecutive_failures_1)" if failed
               else ":consecutive_failures"}
    where = "source.id = :source_id"
    if release:
        values |= {"lock_owner": ":lock_owner", "lock_expires_at": ":lock_expires_at"}
        where += (" AND (source.lock_owner IS NULL OR source.lock_owner = :owner "
                  "OR source.lock_expires_at < :now)")
    sets = ", ".join(f"{name}={values[name]}" for name in _FINISHED_COLUMNS if name in values)
    return (f"UPDATE source SET {sets} WHERE {where} "
            "RETURNING consecutive_failures, failing_reported, unstable_reported")


def _finish(conn: sqlite3.Connection, source_id: int, *, owner: str, outcome: str, failed: bool,
            started_at: datetime, learned: Mapping[str, Any]) -> SourceHealth | None:
    """Store.finish_check's UPDATE (the source's row, its lock released) in the open transaction: the counters
    it returns, or None when the lock was not `owner`'s (nothing updated)."""
    params = {"source_id": source_id, "owner": owner, "now": sqlite_time(utcnow()),
              "started_at": sqlite_time(started_at), "outcome": outcome, **FINISH_LITERALS,
              **{f"new_{name}": value for name, value in learned.items()}}
    rows = conn.execute(finish_sql(True, failed, tuple(sorted(learned))), params).fetchall()
    return SourceHealth(rows[0][0], bool(rows[0][1]), bool(rows[0][2])) if rows else None


def _add_check(conn: sqlite3.Connection, source_id: int, check: Mapping[str, Any]) -> None:
    """Store.add_check's INSERT (`check`: its columns but the source) in the open transaction."""
    conn.execute(ADD_CHECK_SQL, {**check, "source_id": source_id, "started_at": sqlite_time(check["started_at"])})


def _quick_record(conn: sqlite3.Connection, source_id: int, *, owner: str, outcome: str, failed: bool,
                  started_at: datetime, learned: Mapping[str, Any], check: Mapping[str, Any],
                  quiet: Callable[[SourceHealth], bool]) -> SourceHealth | None | NotQuiet:
    """Store.record_quiet_check's transaction: the source's row updated (its lock released) and the check's row
    inserted, or nothing written (None: the lock was not ours; NOT_QUIET: health has something to do)."""
    try:
        counters = _finish(conn, source_id, owner=owner, outcome=outcome, failed=failed, started_at=started_at,
                           learned=learned)
        if counters is None:  # nothing was written
            conn.rollback()
            return None
        if not quiet(counters):
            conn.rollback()
            return NOT_QUIET
        _add_check(conn, source_id, check)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return counters


def _quick_version(conn: sqlite3.Connection, version: NewVersion, *, owner: str, outcome: str, started_at: datetime,
                   learned: Mapping[str, Any], check: Mapping[str, Any],
                   quiet: Callable[[SourceHealth], bool]) -> SourceHealth | None | NotQuiet:
    """The Session's transaction for a new version that queues no alert: the source's row updated (its lock
    released), the version, its changes and the check's row inserted; or nothing written (None: the lock was not
    ours; NOT_QUIET: health has something to do, or the text is an earlier version's: a blink back)."""
    try:
        counters = _finish(conn, version.source_id, owner=owner, outcome=outcome, failed=False, started_at=started_at,
                           learned=learned)
        if counters is None:  # nothing was written
            conn.rollback()
            return None
        if not quiet(counters) or version.reverts_to is not None or (version.previous_id is not None and conn.execute(
                EARLIEST_SEQ_SQL, {"source_id": version.source_id, "text_hash": version.text_hash}).fetchone()):
            conn.rollback()
            return NOT_QUIET
        version_id = conn.execute(ADD_VERSION_SQL, {**version.columns(),
                                                    "fetched_at": sqlite_time(version.fetched_at)}).lastrowid
        conn.executemany(ADD_CHANGE_SQL, [
            {"source_id": version.source_id, "old_version_id": version.previous_id, "new_version_id": version_id,
             **{name: getattr(change, name) for name in CHANGE_COLUMNS},
             "topics": json.dumps(change.topics), "alert_topics": json.dumps(change.alert_topics)}
            for change in version.changes])
        _add_check(conn, version.source_id, check)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return counters


def sqlite_time(moment: datetime) -> str:
    """A datetime as SQLAlchemy's SQLite DATETIME stores it (and so compares it)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
