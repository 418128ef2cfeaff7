"""The Alembic migrations and the SQLModel tables agree: a fresh database upgraded to head has exactly the
schema the models declare, on SQLite and on PostgreSQL (what `alembic revision --autogenerate` would find
is nothing)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import monitor.store.database  # noqa: F401  (registers the tables on SQLModel.metadata)


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("monitor.store") / "migrations"))
    return cfg


def _drift(url: str) -> list:
    """Upgrade a fresh database at `url` to head with the project's migrations, then compare it with the models."""
    cfg = _alembic_config()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            assert set(context.get_current_heads()) == set(ScriptDirectory.from_config(cfg).get_heads())
            return compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()


def test_the_migrations_build_the_tables_the_models_declare_on_sqlite(tmp_path: Path) -> None:
    diff = _drift(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert diff == [], "\n".join(map(repr, diff))


def test_the_migrations_build_the_tables_the_models_declare_on_postgresql(postgres_url: str) -> None:
    diff = _drift(postgres_url)
    assert diff == [], "\n".join(map(repr, diff))

