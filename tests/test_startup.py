"""What start-up loads (no timings): `--help` no database or config stack, `validate` no database, the check
pipeline no database stack (a check claims through sqlite3 first: test_deferred_store) and no rating stage
until a text changes, a database already at head no Alembic. Each runs in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys


def loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint('\\n'.join(sys.modules))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(run.stdout.split())


def test_the_command_line_module_loads_no_database_config_or_parsing_stack():
    modules = loaded_after("import monitor.cli.main")
    heavy = {m for m in modules if m.split(".")[0] in ("sqlalchemy", "sqlmodel", "pydantic", "yaml", "bs4", "httpx",
                                                       "alembic", "lxml", "asyncio")}
    assert heavy == set()


def after_command(*argv: str) -> set[str]:
    return loaded_after(f"import sys\nsys.argv = ['policy-monitor', *{list(argv)!r}]\n"
                        "from monitor.cli.main import main\ntry:\n    main()\nexcept SystemExit:\n    pass")


DATABASE_STACK = ("sqlalchemy", "sqlmodel", "alembic", "psycopg")


def test_help_is_plain_text_without_rich_help_machinery():
    modules = after_command("--help")
    assert {"typer.rich_utils", "rich.markdown", "rich.traceback", "markdown_it"} & modules == set()
    assert {m for m in modules if m.split(".")[0] in (*DATABASE_STACK, "pydantic", "yaml", "httpx")} == set()
    assert "Commands:" in modules  # the help was printed (its words are in the same output)


def test_validating_the_config_loads_no_database_or_fetching_stack(tmp_path):
    config = tmp_path / "sources.yaml"
    config.write_text("sources:\n  - name: p\n    url: https://example.org/privacy\n")
    modules = after_command("--config", str(config), "validate")
    assert "OK" in modules  # it ran (`… OK - 1 source, 0 channels` is in the same output)
    assert {m for m in modules if m.split(".")[0] in (*DATABASE_STACK, "httpx")} == set()


def test_the_check_pipeline_loads_no_rating_stage_until_a_text_changes_nor_a_reader_until_a_page_is_read():
    modules = loaded_after("import monitor.pipeline")
    rating = {"monitor.meaning.topics", "monitor.meaning.significance", "monitor.capture.guard",
              "monitor.text.sections", "monitor.notify.outbox", "monitor.notify.feed"}
    readers = {"monitor.capture.fingerprint", "monitor.capture.normalize", "monitor.capture.pdf", "bs4", "lxml",
               "markdown_it"}
    assert modules & rating == set()
    assert {m for m in modules if m.split(".")[0] in DATABASE_STACK} == set(), "a check claims before it needs them"
    assert {m for m in modules if m in readers or m.split(".")[0] in readers} == set()
    assert "multiprocessing" not in modules  # the CPU pool's, imported when workers start


def test_a_database_at_head_is_opened_without_alembic(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    first = loaded_after(f"from monitor.store.database import Store\nStore({url!r})")
    again = loaded_after(f"from monitor.store.database import Store\ns = Store({url!r})\nassert s.applied == []")
    assert "alembic" in first, "a new database is created by the migrations"
    assert "alembic" not in again
