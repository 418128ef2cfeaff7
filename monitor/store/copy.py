"""`migrate-db`: copy every table of one database into another (SQLite to PostgreSQL), resumable, counts verified."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Integer, Table, func, select, text
from sqlmodel import SQLModel

from monitor.errors import StoreError
from monitor.store.database import DaemonState, Store, utcnow

log = logging.getLogger("monitor.store")

BATCH = 500          # rows per transaction: an interruption loses at most one batch, which the re-run copies
MARKER = "migrate_db"  # daemon_state key in the target: "copying from …" until the copy is verified, then "done …"


class TargetNotEmpty(StoreError):
    """The target already holds data that is not an unfinished copy from this source."""


@dataclass
class TableCount:
    table: str
    source: int
    target: int
    copied: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


def tables() -> list[Table]:
    """Every table of the schema, parents before children (foreign keys)."""
    return list(SQLModel.metadata.sorted_tables)


def copy_database(source: Store, target: Store, *, force: bool = False,
                  progress: Callable[[str, int], None] | None = None) -> list[TableCount]:
    """Copy every row of `source` into `target` (both at this release's schema); returns per-table counts.

    Rows keep their ids, so versions, sections, changes, checks and alerts keep pointing at each other.
    Each batch of rows is its own transaction and a table resumes after the highest id already copied:
    an interrupted copy is finished by running it again (and a finished one catches up with rows the
    source gained since; rows changed since are not updated, so stop the daemon before the last run).
    A target holding anything else is refused unless `force`, which empties its policy-monitor tables first.
    """
    origin = source.location
    state = _marker(target)
    ours = state is not None and (state.startswith(f"copying from {origin} ") or
                                  state.startswith(f"done: copied from {origin} "))
    if not ours and _has_rows(target):
        if not force:
            where = f" ({state})" if state else ""
            raise TargetNotEmpty(f"{target.location} already holds policy-monitor data{where}; copying into it "
                                 f"would mix two histories. Use an empty database, or --force to empty it first")
        _empty(target)
    elif ours and not force and (diverged := _written_since(source, target)):
        table, extra = diverged
        raise TargetNotEmpty(f"{target.location} holds {extra} row{'s' * (extra != 1)} of table {table!r} that "
                             f"{origin} does not: it has been used since the copy (checks, workers), and copying "
                             "more would mix two histories. Keep using it, or --force to empty it and copy again")
    _set_marker(target, f"copying from {origin} since {utcnow().isoformat(timespec='seconds')}")
    counts = []
    for table in tables():
        copied = _copy_table(source, target, table, progress)
        counts.append(TableCount(table.name, _count(source, table), _count(target, table), copied))
    if target.engine.dialect.name == "postgresql":
        _reset_sequences(target)
    if all(c.ok for c in counts):
        _set_marker(target, f"done: copied from {origin} at {utcnow().isoformat(timespec='seconds')}")
    return counts


def _copy_table(source: Store, target: Store, table: Table, progress: Callable[[str, int], None] | None) -> int:
    key = list(table.primary_key.columns)
    copied = 0
    if len(key) == 1 and isinstance(key[0].type, Integer):
        column = key[0]
        with target.engine.connect() as conn:
            last = conn.execute(select(func.max(column))).scalar() or 0
        while True:
            with source.engine.connect() as conn:
                rows = conn.execute(select(table).where(column > last).order_by(column).limit(BATCH)).mappings().all()
            if not rows:
                return copied
            with target.engine.begin() as conn:
                conn.execute(table.insert(), [dict(r) for r in rows])
            last = rows[-1][column.name]
            copied += len(rows)
            if progress:
                progress(table.name, copied)
    # a table keyed by text (daemon_state, dispatch, host_turn…): small; copy the keys the target lacks
    with target.engine.connect() as conn:
        present = {tuple(r) for r in conn.execute(select(*key))}
    with source.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(table)).mappings()
                if tuple(r[c.name] for c in key) not in present]
    rows = [r for r in rows if not (table.name == DaemonState.__tablename__ and r.get("key") == MARKER)]
    if rows:
        with target.engine.begin() as conn:
            conn.execute(table.insert(), rows)
    if progress:
        progress(table.name, len(rows))
    return len(rows)


def _written_since(source: Store, target: Store) -> tuple[str, int] | None:
    """The first table (keyed by number) in which the target holds rows the source lacks, with how many: rows
    written into the target since an earlier run copied it. None when every target row came from the source
    (an interrupted copy, or a finished one the source has only grown past): then resuming is safe."""
    for table in tables():
        key = list(table.primary_key.columns)
        if table.name not in _APPEND_ONLY or len(key) != 1 or not isinstance(key[0].type, Integer):
            continue
        with target.engine.connect() as conn:
            held, last = conn.execute(select(func.count(), func.max(key[0])).select_from(table)).one()
        if not held:
            continue
        with source.engine.connect() as conn:
            known = conn.execute(select(func.count()).select_from(table).where(key[0] <= last)).scalar() or 0
        if held > known:
            return table.name, held - known
        if table.name not in _IDENTITY:
            continue
        # the same id written on both sides since the copy: the rows at it are two different events
        columns = [table.c[name] for name in _IDENTITY[table.name]]
        rows = []
        for store in (source, target):
            with store.engine.connect() as conn:
                rows.append(conn.execute(select(*columns).where(key[0] == last)).first())
        if rows[0] is None or _plain(rows[0]) != _plain(rows[1]):
            return table.name, 1
    return None


# tables whose rows are only ever added (sections are replaced by `renormalize`, sources and workers come and go,
# the fleet's tables are the fleet's): a target holding more of their rows than the source was written to
_APPEND_ONLY = ("check", "version", "change", "alert")
# what identifies a row of one (other columns change in place: a version's text and hash by `renormalize`, its raw
# page by `prune`, an alert's status): equal in source and target when the target's row was copied
_IDENTITY = {"version": ("source_id", "seq", "fetched_at"), "check": ("source_id", "started_at")}


def _plain(row) -> tuple:
    """A row's values as both backends give them back equal: datetimes in naive UTC (SQLite hands them back
    naive, PostgreSQL aware)."""
    return tuple(value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) and value.tzinfo
                 else value for value in row)


def _count(store: Store, table: Table) -> int:
    with store.engine.connect() as conn:
        query = select(func.count()).select_from(table)
        if table.name == DaemonState.__tablename__:
            query = query.where(table.c.key != MARKER)
        return conn.execute(query).scalar() or 0


def _has_rows(store: Store) -> bool:
    return any(_count(store, table) for table in tables())


def _empty(store: Store) -> None:
    with store.engine.begin() as conn:
        for table in reversed(tables()):
            conn.execute(table.delete())


def _marker(store: Store) -> str | None:
    with store.session() as session:
        row = session.get(DaemonState, MARKER)
        return row.value if row else None


def _set_marker(store: Store, value: str) -> None:
    with store.session() as session:
        row = session.get(DaemonState, MARKER)
        if row is None:
            session.add(DaemonState(key=MARKER, value=value, updated_at=utcnow()))
        else:
            row.value, row.updated_at = value, utcnow()


def _reset_sequences(store: Store) -> None:
    """Rows came with their ids: move each id sequence past them, or the next insert would collide."""
    with store.engine.begin() as conn:
        for table in tables():
            key = list(table.primary_key.columns)
            if len(key) == 1 and isinstance(key[0].type, Integer):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{key[0].name}'), "
                                  f"COALESCE((SELECT max({key[0].name}) FROM \"{table.name}\"), 0) + 1, false)"))
