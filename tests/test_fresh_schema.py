"""A new SQLite database made at head with sqlite3 alone (monitor.store.fresh): the same schema Alembic's
migrations leave, accepted by Alembic as head, made once when processes race, and never over a file.

Real parts: real SQLite files, the real migrations, real forked processes.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
from importlib import resources

import pytest

from monitor.errors import PolicyMonitorError
from monitor.store.database import Store
from monitor.store.deferred import DeferredStore
from monitor.store.fresh import SCHEMA_FILE, create_fresh, migrated_schema, schema_of, written_schema


def test_the_shipped_schema_is_what_the_migrations_leave_in_an_empty_file():
    shipped = (resources.files("monitor.store") / SCHEMA_FILE).read_text(encoding="utf-8")

    assert canonical(shipped) == canonical(written_schema(*migrated_schema())), (
        "monitor/store/schema.sql is not the migrations' head schema: run `make schema` after adding a migration")


def test_a_new_file_has_the_migrated_schema_and_alembic_takes_it_as_head(tmp_path):
    path = str(tmp_path / "new.db")

    assert create_fresh(path) is True
    assert canonical(schema_of(path)) == canonical(migrated_schema())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~_umask()
    assert sorted(os.listdir(tmp_path)) == ["new.db", "new.db-migrate.lock"], "no temporary file is left behind"
    store = Store(f"sqlite:///{path}")
    try:
        assert store.applied == [], "Alembic finds it at head: nothing to apply"
        assert [rev for rev, _ in store.downgrade("0006_distributed_workers")] == ["0007_text_fingerprint"]
        assert [rev for rev, _ in store.migrate()] == ["0007_text_fingerprint"], "and migrates it as its own"
    finally:
        store.dispose()
    assert canonical(schema_of(path)) == canonical(migrated_schema())


def test_the_check_path_opens_a_new_file_without_sqlalchemy_and_writes_through_sqlite3(tmp_path):
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    code = f"""
import sys
from monitor.store.deferred import DeferredStore
store = DeferredStore.open({url!r})
claimed = store.claim("p0", "http://example.invalid/p0", "me", 60.0)
print(type(store).__name__, claimed.id, claimed.latest, "sqlalchemy" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.split() == ["DeferredStore", "1", "None", "False"]


def test_an_existing_file_is_never_touched(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not a database")

    assert create_fresh(str(path)) is False
    assert path.read_bytes() == b"these are not a database"
    with pytest.raises(PolicyMonitorError, match="cannot open database"):
        DeferredStore.open(f"sqlite:///{path}")  # the store's own error, as before
    assert path.read_bytes() == b"these are not a database"


def test_a_file_in_a_missing_directory_is_not_made_and_the_store_says_why(tmp_path):
    path = tmp_path / "nowhere" / "monitor.db"

    assert create_fresh(str(path)) is False
    with pytest.raises(PolicyMonitorError, match="cannot open database"):
        DeferredStore.open(f"sqlite:///{path}")
    assert not (tmp_path / "nowhere").exists()


def _open_and_claim(args: tuple[str, int]) -> tuple[bool, str, int]:
    url, n = args
    path = url.removeprefix("sqlite:///")
    made = create_fresh(path)
    store = DeferredStore.open(url)
    try:
        claimed = store.claim(f"p{n}", f"http://example.invalid/p{n}", f"owner{n}", 60.0)
        return made, type(store).__name__, claimed.id
    finally:
        store.dispose()


def test_processes_making_one_new_database_at_once_make_it_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.db'}"
    with multiprocessing.get_context("fork").Pool(6) as pool:
        results = pool.map(_open_and_claim, [(url, n) for n in range(12)])

    assert sum(made for made, _, _ in results) == 1
    assert {kind for _, kind, _ in results} == {"DeferredStore"}
    assert sorted(source_id for _, _, source_id in results) == list(range(1, 13)), "every claim on the one file"
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".new-")], "no temporary file is left"


def canonical(schema: str | tuple[str, list[str]]) -> list[list[str]]:
    """A schema's statements, each as its lines without their trailing commas, sorted: the migrations list a
    recreated table's constraints in an order that varies between runs (Python's set order), which says nothing."""
    text = schema if isinstance(schema, str) else written_schema(*schema)
    return sorted(sorted(line.strip().rstrip(",").rstrip() for line in statement.splitlines())
                  for statement in text.split(";\n"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
