"""What start-up loads (no timings): `--help` no database or config stack, an unchanged check no rating
stage, a database already at head no Alembic. Each runs in a fresh interpreter."""

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


def test_help_is_plain_text_without_rich_help_machinery():
    modules = loaded_after("import sys\nsys.argv = ['policy-monitor', '--help']\nfrom monitor.cli.main import main\n"
                           "try:\n    main()\nexcept SystemExit:\n    pass")
    assert {"typer.rich_utils", "rich.markdown", "rich.traceback", "markdown_it"} & modules == set()
    assert "Commands:" in modules  # the help was printed (its words are in the same output)


def test_the_check_pipeline_loads_no_rating_stage_until_a_text_changes_nor_a_reader_until_a_page_is_read():
    modules = loaded_after("import monitor.pipeline")
    rating = {"monitor.meaning.topics", "monitor.meaning.significance", "monitor.capture.guard",
              "monitor.text.sections", "monitor.notify.outbox", "monitor.notify.feed"}
    readers = {"monitor.capture.fingerprint", "monitor.capture.normalize", "monitor.capture.pdf", "bs4", "lxml",
               "markdown_it"}
    assert modules & rating == set()
    assert {m for m in modules if m in readers or m.split(".")[0] in readers} == set()
    assert "multiprocessing" not in modules  # the CPU pool's, imported when workers start


def test_a_database_at_head_is_opened_without_alembic(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    first = loaded_after(f"from monitor.store.database import Store\nStore({url!r})")
    again = loaded_after(f"from monitor.store.database import Store\ns = Store({url!r})\nassert s.applied == []")
    assert "alembic" in first, "a new database is created by the migrations"
    assert "alembic" not in again
