"""Read-only commands never write: no database, lock file or schema upgrade comes from `history`, `show`,
`diff`, `sources`, `status`, the `alerts` listing, `timeline`, `export`, `feed` or `prune --dry-run`;
`migrate` (like `check` and `run`) upgrades."""

from __future__ import annotations

import os
import sqlite3
from importlib import resources
from pathlib import Path

import pytest

from tests.pages import render_policy, seed_text

READ_ONLY = [
    ["history", "acme"],
    ["show", "acme"],
    ["diff", "acme"],
    ["sources"],
    ["status"],
    ["alerts"],
    ["timeline"],
    ["export", "--all", "--format", "jsonl"],
    ["feed"],
    ["prune", "--raw-older-than", "30", "--dry-run"],
]
IDS = [" ".join(c) for c in READ_ONLY]


def _listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def _at_revision(url: str, revision: str) -> None:
    """A database left at an older schema, as an earlier release would have left it."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import create_engine

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("monitor.store") / "migrations"))
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


def _head() -> str:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("monitor.store") / "migrations"))
    return ScriptDirectory.from_config(cfg).get_current_head()


def _revision(url: str) -> list[str]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return []
            return [r[0] for r in conn.exec_driver_sql("select version_num from alembic_version")]
    finally:
        engine.dispose()


@pytest.fixture
def config(make_config, site) -> Path:
    return make_config([{"name": "acme", "url": site.set("/p", render_policy(seed_text(2)))}])


@pytest.mark.parametrize("command", READ_ONLY, ids=IDS)
def test_a_read_only_command_on_a_missing_sqlite_file_creates_nothing(cli, config, tmp_path, monkeypatch, command):
    empty = tmp_path / "here"
    empty.mkdir()
    monkeypatch.chdir(empty)

    result = cli("--config", config, "--db", "sqlite:///fresh.db", *command)

    assert result.exit_code == 2, result
    assert result.stderr.strip() == "error: no database at fresh.db (run `check` first, or pass --db)"
    assert "Traceback" not in result.stderr
    assert _listing(empty) == []


@pytest.mark.parametrize("command", READ_ONLY, ids=IDS)
def test_an_absolute_missing_path_is_named_and_nothing_appears_beside_it(cli, config, tmp_path, command):
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "other.txt").write_text("keep me\n")
    before = _listing(directory)

    result = cli("--config", config, "--db", f"sqlite:///{directory / 'monitor.db'}", *command)

    assert result.exit_code == 2, result
    assert f"no database at {directory / 'monitor.db'} (run `check` first, or pass --db)" in result.stderr
    assert _listing(directory) == before


def test_a_file_that_is_not_a_database_gets_no_lock_file_beside_it(cli, config, tmp_path):
    directory = tmp_path / "etc"
    directory.mkdir()
    (directory / "hostname").write_text("box\n")

    result = cli("--config", config, "--db", f"sqlite:///{directory / 'hostname'}", "history", "acme")

    assert result.exit_code != 0 and "Traceback" not in result.stderr
    assert _listing(directory) == ["hostname"]
    assert (directory / "hostname").read_text() == "box\n"


@pytest.mark.parametrize("command", READ_ONLY, ids=IDS)
def test_an_outdated_sqlite_database_is_refused_and_left_as_it_was(cli, config, sqlite_url, tmp_path, command):
    _at_revision(sqlite_url, "0002")
    before = _listing(tmp_path)

    result = cli("--config", config, "--db", sqlite_url, *command)

    assert result.exit_code == 2, result
    assert "policy-monitor migrate" in result.stderr and "0002" in result.stderr
    assert _revision(sqlite_url) == ["0002"]
    assert _listing(tmp_path) == before  # no lock file either


def test_migrate_upgrades_an_outdated_database_then_reading_works(cli, config, sqlite_url):
    _at_revision(sqlite_url, "0002")
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    with db:
        db.execute("insert into source (name, url, consecutive_failures, failing_reported, unstable_reported, "
                   "created_at) values ('old', 'https://example.org/p', 0, 0, 0, '2026-01-01 00:00:00')")
    db.close()
    refused = cli("--config", config, "--db", sqlite_url, "history", "old")

    migrated = cli("--config", config, "--db", sqlite_url, "migrate")
    again = cli("--config", config, "--db", sqlite_url, "migrate")
    history = cli("--config", config, "--db", sqlite_url, "history", "old", "--json")

    assert refused.exit_code == 2 and "run `policy-monitor migrate`" in refused.stderr
    assert migrated.exit_code == 0, migrated
    assert "applied 0003" in migrated.stdout and "0001" not in migrated.stdout
    assert f"schema upgraded to {_head()}" in migrated.stdout
    assert _revision(sqlite_url) == [_head()]
    assert again.exit_code == 0 and f"already up to date ({_head()})" in again.stdout
    assert history.exit_code == 0 and history.json() == []


def test_a_postgresql_database_that_is_empty_or_behind_is_refused_until_migrated(cli, config, postgres_url):
    empty = cli("--config", config, "--db", postgres_url, "sources")
    assert empty.exit_code == 2, empty
    assert "policy-monitor migrate" in empty.stderr and "no policy-monitor schema" in empty.stderr
    assert _revision(postgres_url) == []

    _at_revision(postgres_url, "0002")
    behind = cli("--config", config, "--db", postgres_url, "alerts")
    assert behind.exit_code == 2 and "policy-monitor migrate" in behind.stderr
    assert _revision(postgres_url) == ["0002"]

    migrated = cli("--config", config, "--db", postgres_url, "migrate")
    assert migrated.exit_code == 0 and "applied 0003" in migrated.stdout
    listed = cli("--config", config, "--db", postgres_url, "sources", "--json")
    assert listed.exit_code == 0 and [r["name"] for r in listed.json()] == ["acme"]


def test_read_only_commands_work_on_an_up_to_date_database(cli, config, db_url):
    assert cli("--config", config, "--db", db_url, "check", "--no-deliver").exit_code == 0

    for command in READ_ONLY:
        result = cli("--config", config, "--db", db_url, *command)
        if command[0] == "diff":  # one version: nothing to compare yet, said as a usage error
            assert result.exit_code == 2 and "no database" not in result.stderr, result
        else:
            assert result.exit_code == 0, (command, result)
    assert cli("--config", config, "--db", db_url, "history", "acme", "--json").json()[0]["version"] == 1


def test_a_command_closes_its_database_when_it_ends_leaving_no_write_ahead_log(cli, config, sqlite_url, site):
    # in one process (the CLI as a library, or these tests) a check's connections would otherwise stay open, and
    # the log they leave be folded in by whichever later connection closes last: a reader, which must not write
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    assert cli("--config", config, "--db", sqlite_url, "check", "--no-deliver").exit_code == 0
    assert not path.with_name(path.name + "-wal").exists()

    site.set("/p", render_policy(seed_text(2) + "\n\nWe sell your personal data to data brokers."))
    assert cli("--config", config, "--db", sqlite_url, "check", "--no-deliver").exit_code == 0
    assert not path.with_name(path.name + "-wal").exists()


def test_reading_the_history_leaves_the_database_file_byte_for_byte_as_it_was(cli, config, sqlite_url, tmp_path):
    import hashlib

    assert cli("--config", config, "--db", sqlite_url, "check", "--no-deliver").exit_code == 0
    folder = Path(sqlite_url.removeprefix("sqlite:///")).parent

    def snapshot() -> dict[str, str]:
        # -shm is SQLite's shared-memory index of the WAL, which every reader updates (read marks): not data
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("monitor.db*"))
                if not p.name.endswith("-shm")}

    before = snapshot()
    for command in (["timeline", "--all"], ["export", "acme", "--format", "csv"], ["feed", "--source", "acme"],
                    ["export", "--all", "--format", "markdown", "--out", str(tmp_path / "md")],
                    ["prune", "--raw-older-than", "0", "--dry-run"]):
        result = cli("--config", config, "--db", sqlite_url, *command)
        assert result.exit_code == 0, (command, result)
    assert snapshot() == before


@pytest.mark.parametrize("command", READ_ONLY, ids=IDS)
def test_an_invalid_config_in_the_folder_is_named_never_silently_left_aside(cli, tmp_path, monkeypatch, command):
    """A typo in the default sources.yaml had each reading command say "no database at policy-monitor.db": the
    config's own `database:` line was ignored with the rest, so an operator was sent looking for a database."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sources.yaml").write_text("database: sqlite:///elsewhere.db\nsources:\n  - name: acme\n"
                                          "    url: https://example.org/p\n    selct: main\n", encoding="utf-8")
    result = cli(*command)
    assert result.exit_code == 2, result
    assert "sources.yaml:5: sources[0].selct: unknown key; did you mean 'select'?" in result.stderr
    assert "no database at" not in result.stderr and _listing(tmp_path) == ["sources.yaml"]
    named = cli("--db", "sqlite:///named.db", *command)  # the database named elsewhere: read it, say why alone
    assert named.stderr.count("the config has 1 problem (`policy-monitor validate` lists them): reading the "
                              "database alone") == 1 and "no database at named.db" in named.stderr
