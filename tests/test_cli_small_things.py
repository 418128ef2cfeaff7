"""Small things a new user hit (issue 10): version, help, messages in people's units and numbers,
usage errors instead of library internals, `status` after a kill, short alert errors, `diff`
without colour, and the files a release ships."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.store.database import Store
from tests.alert_helpers import MINORS, Receiver, queue_change
from tests.pages import edit, render_policy, seed_text

ROOT = Path(__file__).parents[1]
SOURCE = {"name": "wemet", "url": "https://example.org/privacy"}


def wait_for(condition: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# -- 1, 2: --version and --help ---------------------------------------------------------------------

def test_version_prints_the_installed_version(cli):
    result = cli("--version")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"policy-monitor {version('policy-monitor')}\n"


def test_a_command_named_as_other_tools_name_it_points_to_ours(cli):
    for typed, ours in [("web", "serve"), ("daemon", "run"), ("log", "history"), ("serv", "serve")]:
        result = cli(typed)
        assert result.exit_code == 2
        assert f"No such command '{typed}'. Did you mean '{ours}'?" in result.stderr, result.stderr
    assert "Did you mean" not in cli("frobnicate").stderr


def test_a_database_password_never_reaches_an_error_message(cli, tmp_path):
    for url in ("postgresql+psycopg://pm:S3cretPW@127.0.0.1:9/x", "postgresql+psycopg://pm@127.0.0.1:9/x?password=S3cretPW"):
        result = cli("--db", url, "sources")
        assert result.exit_code == 3, result
        assert "cannot open database" in result.stderr and "S3cretPW" not in result.stderr, result.stderr


def test_help_has_no_type_placeholders_and_lists_the_log_formats(cli):
    main = cli("--help")
    assert main.exit_code == 0
    assert "<bool>" not in main.stdout and "<str>" not in main.stdout
    assert "text|json" in main.stdout and "--version" in main.stdout
    for command in (("diff",), ("status",), ("alerts", "retry")):
        sub = cli(*command, "--help")
        assert sub.exit_code == 0 and "<bool>" not in sub.stdout, sub.stdout
    assert "rich|text|markdown|json" in cli("diff", "--help").stdout


def test_an_unknown_log_format_is_a_usage_error_naming_the_choices(cli, make_config):
    result = cli("--log-format", "xml", "--config", make_config([SOURCE]), "validate")
    assert result.exit_code == 2
    assert "'text'" in result.stderr and "'json'" in result.stderr and "Traceback" not in result.stderr


# -- 3: sizes in people's units -----------------------------------------------------------------------

def test_a_page_over_max_bytes_says_the_cap_in_the_units_of_the_config(cli, site, make_config, sqlite_url):
    page = render_policy(seed_text(4))
    assert len(page.encode()) > 10_000
    config = make_config([{"name": "big", "url": site.set("/privacy", page), "max_bytes": "10KB"}])
    result = cli("--config", config, "--db", sqlite_url, "check", "--json")
    assert result.exit_code == 1
    [checked] = result.json()["results"]
    assert checked["status"] == "error"
    assert "response larger than 10 kB (max_bytes)" in checked["error"]


# -- 4: plurals -------------------------------------------------------------------------------------------

def test_counts_of_one_are_singular(cli, make_config, sqlite_url, tmp_path):
    config = make_config([SOURCE])
    assert "OK - 1 source, 0 channels" in cli("--config", config, "validate").stdout
    unknown = cli("--config", config, "--db", sqlite_url, "check", "nope")
    assert unknown.exit_code == 2 and "unknown source 'nope': add it to " in unknown.stderr
    assert "(configured: wemet)" in unknown.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("sources:\n  - name: a\n    url: not-a-url\n", encoding="utf-8")
    invalid = cli("--config", broken, "validate")
    assert invalid.exit_code == 2 and "invalid config (1 problem):" in invalid.stderr


# -- 5: version arguments -------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [("diff", "acme", "abc"), ("diff", "acme", "1", "2.5"), ("show", "acme", "0")])
def test_a_version_that_is_not_a_whole_number_is_a_clear_usage_error(cli, sqlite_url, args):
    result = cli("--db", sqlite_url, *args)
    assert result.exit_code == 2
    bad = args[-1]
    assert f"version must be a whole number from 1 up, got {bad!r}" in result.stderr
    assert "Input should be" not in result.stderr and "Traceback" not in result.stderr


def test_a_version_may_be_written_as_check_prints_it(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "wemet", "url": site.set("/privacy", render_policy(seed_text(2)))}])
    assert cli("--config", config, "--db", sqlite_url, "check").exit_code == 0
    shown = cli("--config", config, "--db", sqlite_url, "show", "wemet", "v1")
    assert shown.exit_code == 0 and "under the age of 18" in shown.stdout


# -- 6: databases we do not support -----------------------------------------------------------------------

def test_an_unsupported_database_url_names_the_supported_ones(cli, make_config, monkeypatch):
    config = make_config([SOURCE])
    result = cli("--config", config, "--db", "mysql://monitor:hunter2@db.example.org/pm", "sources")
    assert result.exit_code == 2
    assert "--db: unsupported database 'mysql://'" in result.stderr
    assert "sqlite:///" in result.stderr and "postgresql+psycopg://" in result.stderr
    assert "MySQLdb" not in result.stderr and "hunter2" not in result.stderr

    monkeypatch.setenv("POLICY_MONITOR_DB", "monitor.db")
    from_env = cli("--config", config, "status")
    assert from_env.exit_code == 2 and "POLICY_MONITOR_DB: not a database URL" in from_env.stderr


def test_an_unsupported_database_in_the_config_is_a_config_problem(cli, tmp_path):
    config = tmp_path / "sources.yaml"
    config.write_text("database: mysql://db.example.org/pm\n", encoding="utf-8")
    result = cli("--config", config, "validate")
    assert result.exit_code == 2
    assert "sources.yaml:1: database: unsupported database 'mysql://'" in result.stderr


# -- 7: status after the daemon was killed ------------------------------------------------------------------

def test_status_says_not_running_once_a_killed_daemons_heartbeat_is_stale(cli, site, make_config, sqlite_url,
                                                                         tmp_path):
    config = make_config([{"name": "wemet", "url": site.set("/privacy", render_policy(seed_text(2))),
                           "interval": "1h"}],
                         daemon={"concurrency": 2, "per_host_delay": "0.01s", "heartbeat": "0.2s",
                                 "delivery_interval": "1s"})
    log = (tmp_path / "daemon.log").open("wb")
    daemon = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "--db", sqlite_url, "run"],
                              stdout=subprocess.DEVNULL, stderr=log)
    try:
        def state() -> str | None:
            result = cli("--config", config, "--db", sqlite_url, "status", "--json")
            return result.json()["daemon"]["state"] if result.exit_code == 0 else None

        wait_for(lambda: state() == "running", what="the daemon's first heartbeat")
        assert "daemon: running" in cli("--config", config, "--db", sqlite_url, "status").stdout
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(10)

        def stale() -> str | None:
            stdout = cli("--config", config, "--db", sqlite_url, "status").stdout
            return stdout if "not running" in stdout else None

        text = wait_for(stale, what="the heartbeat to go stale")
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        log.close()
    assert "daemon: not running (last heartbeat " in text and " ago, at " in text
    assert state() == "not-responding"


# -- 8: a receiver's HTML error page ---------------------------------------------------------------------

def test_an_html_error_page_is_kept_as_its_status_line_and_a_short_excerpt(cli, make_config, sqlite_url):
    page = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{font:14px sans-serif}</style>"
            "<script>window.trace='x'</script></head><body><h1>Bad Gateway</h1><p>The upstream server "
            "&amp; its replicas did not answer.</p>" + "<p>Please try again later.</p>" * 100 + "</body></html>")
    receiver = Receiver(statuses=[502], body=page.encode(), headers={"Content-Type": "text/html"}).start()
    try:
        config = make_config([SOURCE], {"hook": {"type": "webhook", "url": receiver.url}})
        store = Store(sqlite_url)
        queue_change(store, load_config(config), "wemet", [MINORS])
        store.dispose()
        assert cli("--config", config, "--db", sqlite_url, "alerts", "deliver").exit_code == 0
        [alert] = cli("--config", config, "--db", sqlite_url, "alerts", "--json").json()
    finally:
        receiver.stop()
    error = alert["last_error"]
    status = f"HTTP 502 BAD GATEWAY from http://127.0.0.1:{receiver.port}: "
    assert error.startswith(status + "Bad Gateway The upstream server & its replicas did not answer.")
    assert "<" not in error and "font:" not in error and "window.trace" not in error
    assert len(error) <= len(status) + 200 and error.endswith("…")


# -- 9: diff without colour -----------------------------------------------------------------------------

def test_diff_keeps_its_markers_on_a_terminal_without_colour(cli, site, make_config, sqlite_url):
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/privacy", render_policy(text))}])
    assert cli("--config", config, "--db", sqlite_url, "check").exit_code == 0
    site.set("/privacy", render_policy(edit(text, "under the age of 18", "under the age of 13")))
    assert cli("--config", config, "--db", sqlite_url, "check").exit_code == 0

    def diff(**env: str) -> str:
        base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
        run = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "--db", sqlite_url, "diff",
                              "wemet"], capture_output=True, text=True, cwd=ROOT,
                             env={**base, "TTY_COMPATIBLE": "1", "COLUMNS": "200", **env})
        assert run.returncode == 0, run.stderr
        return run.stdout

    def words(output: str) -> str:
        return re.sub(r"\x1b\[[0-9;]*m", "", output)  # bold and strike-through stay under NO_COLOR

    plain = diff(NO_COLOR="1", TERM="xterm-256color")
    assert "under the age of [-18-]{+13+} from" in words(plain)
    coloured = diff(TERM="xterm-256color")
    assert "\x1b[" in coloured and "under the age of 1813 from" in words(coloured)


# -- 10: what a release ships -----------------------------------------------------------------------------

def test_the_wheel_ships_py_typed_and_the_license(tmp_path):
    from hatchling.builders.wheel import WheelBuilder

    [wheel] = WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    names = zipfile.ZipFile(wheel).namelist()
    assert "monitor/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog and "## [0.1.0] - 2026-12-01" in changelog
