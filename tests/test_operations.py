"""Running it for years, as docs/operations.md says: roll a schema back with `migrate --to`, back up SQLite
online (sqlite3 `.backup` and Python's backup API) and PostgreSQL with pg_dump, and read the copies."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from monitor.store.database import DaemonState, Store, utcnow
from tests.conftest import PG_ADMIN_URL
from tests.pages import edit, render_policy, seed_text

POLICY = seed_text(4)


def two_versions(cli, site, make_config, db: str) -> Path:
    """A source checked twice with a real change in between: versions 1 and 2, one change row."""
    config = make_config([{"name": "kids", "url": site.set("/privacy", render_policy(POLICY))}])
    assert cli("--config", config, "--db", db, "check").exit_code == 0
    site.set("/privacy", render_policy(edit(POLICY, "personal information", "personal data and contacts")))
    assert cli("--config", config, "--db", db, "check").exit_code == 0
    return config


def versions(cli, db: str) -> list[int]:
    result = cli("--db", db, "history", "kids", "--json")
    assert result.exit_code == 0, result.stderr
    return [row["version"] for row in json.loads(result.stdout)]


def migrations() -> list[str]:
    """This release's schema revisions, oldest first (the head is last)."""
    from monitor.store.database import _alembic_config, _script_directory

    return [rev.revision for rev in reversed(list(_script_directory(_alembic_config()).walk_revisions()))]


def schema_revision(db: str) -> str:
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()


def test_migrate_to_rolls_the_schema_back_and_migrate_brings_it_forward_keeping_the_data(cli, site, make_config,
                                                                                         db_url):
    two_versions(cli, site, make_config, db_url)

    down = cli("--db", db_url, "migrate", "--to", "0002")

    undone = migrations()[:1:-1]  # everything above 0002, newest first
    assert down.exit_code == 0, down.stderr
    assert [line.split(":")[0] for line in down.stdout.splitlines()[:len(undone)]] == [f"undone {r}" for r in undone]
    assert "undone 0003: change.not_rated" in down.stdout
    assert f"schema at 0002 ({len(undone)} migration(s) undone)" in down.stdout
    assert schema_revision(db_url) == "0002"
    behind = cli("--db", db_url, "history", "kids")  # this release's reading commands refuse the old schema
    assert behind.exit_code == 2 and "run `policy-monitor migrate`" in behind.stderr

    up = cli("--db", db_url, "migrate")

    assert up.exit_code == 0 and f"schema upgraded to {migrations()[-1]} ({len(undone)} migration(s))" in up.stdout
    assert versions(cli, db_url) == [1, 2]


def test_migrate_to_the_first_schema_rebuilds_tables_others_refer_to_in_one_transaction(cli, site, make_config,
                                                                                       sqlite_url):
    """Going back to 0001 rebuilds `source`, which versions, checks and alerts refer to: with SQLite's foreign
    keys on, dropping it failed halfway ("FOREIGN KEY constraint failed", a traceback) and left the schema half
    undone (each DDL statement had committed on its own), so no later migration would run."""
    two_versions(cli, site, make_config, sqlite_url)

    down = cli("--db", sqlite_url, "migrate", "--to", "0001")

    assert down.exit_code == 0 and "Traceback" not in down.stderr, down.stderr
    assert schema_revision(sqlite_url) == "0001" and f"schema at 0001 ({len(migrations()) - 1} migration(s) undone)" \
        in down.stdout
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM version").fetchone() == (2,)
    assert cli("--db", sqlite_url, "migrate").exit_code == 0
    assert versions(cli, sqlite_url) == [1, 2]


def test_migrate_to_refuses_bad_revisions_missing_databases_and_a_running_daemon(cli, tmp_path, sqlite_url):
    missing = cli("--db", f"sqlite:///{tmp_path / 'none.db'}", "migrate", "--to", "0001")
    assert missing.exit_code == 2 and "no database at" in missing.stderr
    assert not (tmp_path / "none.db").exists()
    store = Store(sqlite_url)
    unknown = cli("--db", sqlite_url, "migrate", "--to", "0009")
    assert unknown.exit_code == 2
    assert f"unknown schema revision '0009'; this release knows {', '.join(migrations())}" in unknown.stderr
    with store.session() as session:  # a daemon on another machine, heartbeat just now
        for key, value in {"heartbeat": utcnow().isoformat(), "heartbeat_interval": "30", "pid": "4242",
                           "host": "elsewhere", "stopped_at": ""}.items():
            session.add(DaemonState(key=key, value=value))
    store.dispose()
    running = cli("--db", sqlite_url, "migrate", "--to", "0003")
    assert running.exit_code == 2 and "a daemon is running on this database (pid 4242 on elsewhere" in running.stderr
    assert schema_revision(sqlite_url) == migrations()[-1]


def test_sqlite_online_backups_copy_committed_data_while_a_writer_holds_the_database(cli, site, make_config,
                                                                                     tmp_path, sqlite_url):
    two_versions(cli, site, make_config, sqlite_url)
    live = Path(sqlite_url.removeprefix("sqlite:///"))
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a daemon in the middle of writing a check
    writer.execute("DELETE FROM version")
    try:
        copies = [tmp_path / "api.db"]
        with sqlite3.connect(live) as source, sqlite3.connect(copies[0]) as target:
            source.backup(target)  # Python's online backup API
        if shutil.which("sqlite3"):
            copies.append(tmp_path / "cli.db")
            subprocess.run(["sqlite3", str(live), f".backup '{copies[1]}'"], check=True, timeout=60)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    for copy in copies:
        assert versions(cli, f"sqlite:///{copy}") == [1, 2]
    if len(copies) == 1:
        pytest.skip("the sqlite3 command is not installed (Debian package sqlite3); only the API backup was tested")


@pytest.mark.skipif(shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
                    reason="pg_dump/pg_restore not installed (Debian package postgresql-client; `make test` "
                           "installs it)")
def test_pg_dump_and_pg_restore_give_a_database_policy_monitor_reads(cli, site, make_config, postgres_url, tmp_path):
    two_versions(cli, site, make_config, postgres_url)
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    dump = tmp_path / "policy-monitor.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", plain], check=True, timeout=120)
    name = f"pm_restore_{uuid.uuid4().hex[:12]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        restored = plain.rsplit("/", 1)[0] + f"/{name}"
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={restored}", str(dump)], check=True, timeout=120)
        assert versions(cli, restored.replace("postgresql://", "postgresql+psycopg://")) == [1, 2]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
