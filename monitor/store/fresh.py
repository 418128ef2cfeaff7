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
import re
import sqlite3
import tempfile
from importlib import resources
from pathlib import Path

from monitor.store.plain import SQLITE_WAL, head_revisions, migration_lock

SCHEMA_FILE = "schema.sql"
_HEAD_LINE = "-- head: "
_CONSTRAINT_LINE = re.compile(r"\s*(?:FOREIGN KEY|UNIQUE|PRIMARY KEY|CONSTRAINT|CHECK)\b")


def shipped_schema() -> tuple[str, str]:
    """The head revision `schema.sql` was written at, and its SQL (a script of statements)."""
    text = (resources.files("monitor.store") / SCHEMA_FILE).read_text(encoding="utf-8")
    head = next((line[len(_HEAD_LINE):].strip() for line in text.splitlines() if line.startswith(_HEAD_LINE)), "")
    return head, text


def create_fresh(path: str) -> bool:
    """Make the SQLite database `path` at this release's head if no file is there; False when it was not made
    here: the file exists (someone made it, or it is to be migrated), the shipped schema is missing or not at
    this release's head, or the file could not be made (the caller opens the store its usual way, which reports
    why)."""
    if os.path.exists(path):
        return False
    directory, name = os.path.split(os.path.abspath(path))
    try:
        head, script = shipped_schema()
        if not head or head_revisions() != frozenset({head}):
            return False
        with migration_lock(path):
            if os.path.exists(path):  # made by another process while this one waited for the lock
                return False
            for stale in Path(directory).glob(f".{name}.new-*"):  # a creator that died mid-way (never a live one:
                stale.unlink(missing_ok=True)                      # each builds under this lock)
            building = os.path.join(directory, f".{name}.new-{os.getpid()}")
            # mode 0644 less the umask, as SQLite creates a database file
            os.close(os.open(building, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            try:
                _build(building, script, head)
                os.link(building, path)  # never over a file: another creator's, or one made without the lock
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(building)
    except (OSError, sqlite3.Error):
        return False
    return True


def _build(path: str, script: str, head: str) -> None:
    """The schema and its head revision written into the empty file `path`, whole, in one transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(SQLITE_WAL)  # persistent in the file, as the store's first connection would set it
        conn.executescript(f"BEGIN;\n{script}\nINSERT INTO alembic_version (version_num) VALUES ('{head}');\nCOMMIT;")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the file itself before it is linked
    finally:
        conn.close()


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
    """`schema.sql`'s text for a head revision and its statements: trailing spaces dropped, and each run of
    constraint lines in a table sorted (SQLAlchemy lists a recreated table's foreign keys in an order that
    varies from run to run; SQLite reads them in any order), so equal schemas give equal text."""
    lines = ["-- The SQLite schema at Alembic head, as `alembic upgrade head` leaves an empty file.",
             "-- Written by `make schema` (python -m monitor.store.fresh); never edited by hand.",
             f"{_HEAD_LINE}{head}", ""]
    return "\n".join(lines) + "".join(f"{_sorted_constraints(statement)};\n" for statement in statements)


def _sorted_constraints(statement: str) -> str:
    lines = [line.rstrip() for line in statement.splitlines()]
    out: list[str] = []
    at = 0
    while at < len(lines):
        end = at
        while end < len(lines) and _CONSTRAINT_LINE.match(lines[end]):
            end += 1
        if end == at:
            out.append(lines[at])
            at += 1
            continue
        run = lines[at:end]
        endings = [line.endswith(",") for line in run]  # the separators stay where they were
        for line, comma in zip(sorted(line.rstrip(",") for line in run), endings, strict=True):
            out.append(line + ("," if comma else ""))
        at = end
    return "\n".join(out)


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
