"""A new SQLite database made at head with sqlite3 alone (monitor.store.fresh): the same schema Alembic's
migrations leave, accepted by Alembic as head, made once when processes race, and never over a file.

Real parts: real SQLite files, the real migrations, real processes.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from importlib import resources

import pytest

from monitor.errors import PolicyMonitorError
from monitor.store.database import Store
from monitor.store.deferred import DeferredStore
from monitor.store.fresh import SCHEMA_FILE, create_fresh, migrated_schema, schema_of, written_schema

PRAGMAS = ("user_version", "application_id", "auto_vacuum", "page_size", "journal_mode", "encoding")


def test_the_shipped_schema_is_what_the_migrations_leave_in_an_empty_file():
    shipped = (resources.files("monitor.store") / SCHEMA_FILE).read_text(encoding="utf-8")

    assert shipped == written_schema(*migrated_schema()), (
        "monitor/store/schema.sql is not the migrations' head schema: run `make schema` after adding a migration")


def test_a_new_file_is_a_migrated_file_and_alembic_takes_it_as_head(tmp_path):
    path, migrated = str(tmp_path / "new.db"), str(tmp_path / "migrated.db")
    Store(f"sqlite:///{migrated}").dispose()

    assert create_fresh(path) is True
    assert written_schema(*schema_of(path)) == written_schema(*schema_of(migrated))
    assert facts_of(path) == facts_of(migrated), "the same pragmas and rows in every table"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644 & ~_umask(), "the mode SQLite gives a new database"
    assert sorted(os.listdir(tmp_path)) == ["migrated.db", "migrated.db-migrate.lock", "new.db", "new.db-migrate.lock"]
    store = Store(f"sqlite:///{path}")
    try:
        assert store.applied == [], "Alembic finds it at head: nothing to apply"
        assert [rev for rev, _ in store.downgrade("0007_text_fingerprint")] == ["0008_alert_status_channel_id"]
        assert [rev for rev, _ in store.migrate()] == ["0008_alert_status_channel_id"], "and migrates it as its own"
    finally:
        store.dispose()


def test_the_check_path_opens_a_new_file_without_sqlalchemy_and_writes_through_sqlite3(tmp_path):
    url = f"sqlite:///{tmp_path / 'monitor.db'}"

    assert open_in_processes(url, 1) == [["DeferredStore", "1", "False"]]


def test_processes_opening_one_new_database_at_once_all_take_the_quick_path(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.db'}"

    opened = open_in_processes(url, 6)

    assert [kind for kind, _, _ in opened] == ["DeferredStore"] * 6, "the file is made once and every process uses it"
    assert sorted(int(source_id) for _, source_id, _ in opened) == list(range(1, 7)), "each claim on the one file"
    assert {loaded for _, _, loaded in opened} == {"False"}, "no process fell back to SQLAlchemy"
    assert not [name for name in os.listdir(tmp_path) if ".new-" in name], "no temporary file is left"


def test_an_existing_file_is_never_touched(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not a database")

    assert create_fresh(str(path)) is False
    with pytest.raises(PolicyMonitorError, match="cannot open database"):
        DeferredStore.open(f"sqlite:///{path}")  # the store's own error, as before
    assert path.read_bytes() == b"these are not a database"


def test_a_file_in_a_missing_directory_is_not_made_and_the_store_says_why(tmp_path):
    path = tmp_path / "nowhere" / "monitor.db"

    assert create_fresh(str(path)) is False
    with pytest.raises(PolicyMonitorError, match="cannot open database"):
        DeferredStore.open(f"sqlite:///{path}")
    assert not (tmp_path / "nowhere").exists()


def test_what_a_creator_that_died_left_is_cleared_and_the_file_made(tmp_path):
    left = tmp_path / ".monitor.db.new-99999"
    left.write_bytes(b"half a database")

    assert create_fresh(str(tmp_path / "monitor.db")) is True
    assert not left.exists()
    assert written_schema(*schema_of(str(tmp_path / "monitor.db"))) == written_schema(*migrated_schema())


def open_in_processes(url: str, count: int) -> list[list[str]]:
    """`count` fresh Python processes started together, each opening `url` as a process of `check` does (the
    store itself is then opened only for a write that needs it, never here) and claiming a source
    of its own: for each, the store's type, the claimed source's id and whether SQLAlchemy was imported."""
    code = """
import sys
from monitor.store.deferred import DeferredStore
store = DeferredStore.open(sys.argv[1], open_beside=False)  # as each process of a sharded check opens it
claimed = store.claim("p" + sys.argv[2], "http://example.invalid/" + sys.argv[2], "owner" + sys.argv[2], 60.0)
print(type(store).__name__, claimed.id, "sqlalchemy" in sys.modules)
store.dispose()
"""
    processes = [subprocess.Popen([sys.executable, "-c", code, url, str(n)], stdout=subprocess.PIPE, text=True)
                 for n in range(count)]
    outputs = [process.communicate(timeout=60)[0].split() for process in processes]
    assert [process.returncode for process in processes] == [0] * count
    return outputs


def facts_of(path: str) -> dict[str, object]:
    conn = sqlite3.connect(path)
    try:
        facts: dict[str, object] = {p: conn.execute(f"PRAGMA {p}").fetchone()[0] for p in PRAGMAS}
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        facts["rows"] = {t: conn.execute(f'SELECT * FROM "{t}"').fetchall() for t in sorted(tables)}
    finally:
        conn.close()
    return facts


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
