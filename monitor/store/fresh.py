"""A new SQLite database file created at this release's schema with sqlite3 alone, as Alembic's migrations leave it.

The first `check` of a new SQLite database used to import SQLAlchemy and Alembic and run every migration
(~0.55 s of CPU before the first request, in the one process that forks the others). Those migrations always
end in the same schema, so it is kept as SQL (`schema.sql`, the statements `sqlite_master` holds after
`alembic upgrade head` on an empty file) and a new file is made from it: built under a temporary name and
linked into place whole, under the migrators' own lock, so no process ever sees half a schema and a daemon
started at the same moment either finds the finished file or makes it itself.

`python -m monitor.store.fresh` writes `schema.sql` again from the migrations (`make schema`);
`tests/test_fresh_schema.py` fails, saying so, when a migration was added without it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from importlib import resources
from pathlib import Path

from monitor.store.plain import SQLITE_WAL, head_revisions, migration_lock

SCHEMA_FILE = "schema.sql"
_HEAD_LINE = "-- head: "


def shipped_schema() -> tuple[str, list[str]]:
    """The head revision `schema.sql` was written at, and its statements in order."""
    text = (resources.files("monitor.store") / SCHEMA_FILE).read_text(encoding="utf-8")
    head = next((line[len(_HEAD_LINE):].strip() for line in text.splitlines() if line.startswith(_HEAD_LINE)), "")
    sql = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    statements = [s.strip() for s in sql.split(";\n") if s.strip()]
    return head, statements


def create_fresh(path: str) -> bool:
    """Make the SQLite database `path` at this release's head if no file is there; False when it was not made
    here: the file exists (someone made it, or it is to be migrated), the shipped schema is not at this
    release's head, or the file could not be made (the caller opens the store its usual way, which reports why)."""
    if os.path.exists(path):
        return False
    head, statements = shipped_schema()
    if not head or head_revisions() != frozenset({head}):
        return False
    directory = os.path.dirname(os.path.abspath(path))
    try:
        with migration_lock(path):
            if os.path.exists(path):  # made by another process while this one waited for the lock
                return False
            fd, building = tempfile.mkstemp(prefix=".new-", suffix=".db", dir=directory)
            os.close(fd)
            try:
                _build(building, statements, head)
                os.chmod(building, 0o666 & ~_umask())  # as sqlite3 would have created the file
                os.link(building, path)  # never over a file: another creator's, or one made without the lock
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(building)
    except (OSError, sqlite3.Error):
        return False
    return True


def _build(path: str, statements: list[str], head: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(SQLITE_WAL)  # persistent in the file, as the store's first connection would set it
        conn.execute("BEGIN")
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (head,))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the file itself before it is linked
    finally:
        conn.close()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def schema_of(path: str) -> tuple[str, list[str]]:
    """The head revision and the schema statements of the SQLite file `path` (tables first, then indexes, each
    by name; SQLite's own objects left out): what `schema.sql` holds for a file migrated to head."""
    conn = sqlite3.connect(path)
    try:
        head = ",".join(sorted(row[0] for row in conn.execute("SELECT version_num FROM alembic_version")))
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                            "AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index', name").fetchall()
    finally:
        conn.close()
    return head, [sql for _, _, sql in rows]


def written_schema(head: str, statements: list[str]) -> str:
    """`schema.sql`'s text for a head revision and its statements."""
    lines = ["-- The SQLite schema at Alembic head, as `alembic upgrade head` leaves an empty file.",
             "-- Written by `make schema` (python -m monitor.store.fresh); never edited by hand.",
             f"{_HEAD_LINE}{head}", ""]
    return "\n".join(lines) + "".join(f"{statement};\n" for statement in statements)


def migrated_schema() -> tuple[str, list[str]]:
    """The schema Alembic's migrations leave in an empty SQLite file (imports SQLAlchemy and Alembic)."""
    from monitor.store.database import Store

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "migrated.db")
        Store(f"sqlite:///{path}").dispose()
        return schema_of(path)


def main() -> None:
    target = Path(str(resources.files("monitor.store") / SCHEMA_FILE))
    target.write_text(written_schema(*migrated_schema()), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
