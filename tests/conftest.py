"""Shared test fixtures: a real loopback web site, real SQLite files, a throwaway PostgreSQL database,
and the real `policy-monitor` entry point."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.cli_runner import CliResult, run_cli

PG_ADMIN_URL = os.environ.get("POLICY_MONITOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Page:
    body: str | bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})


class Site:
    """A loopback web site whose pages tests change between checks: `site.set("/privacy", html)`."""

    def __init__(self, server: HTTPServer):
        self.server = server
        self.pages: dict[str, Page] = {}
        self.requests: list[Request] = []
        server.expect_request(__import__("re").compile(".*")).respond_with_handler(self._handle)

    def set(self, path: str, body: str | bytes, status: int = 200, content_type: str = "text/html; charset=utf-8",
            **headers: str) -> str:
        self.pages[path] = Page(body, status, {"Content-Type": content_type, **headers})
        return self.url(path)

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def _handle(self, request: Request) -> Response:
        self.requests.append(request)
        page = self.pages.get(request.path)
        if page is None:
            return Response("not found", status=404)
        return Response(page.body, status=page.status, headers=page.headers)


@pytest.fixture
def site(httpserver: HTTPServer) -> Site:
    return Site(httpserver)


@pytest.fixture
def receiver():
    """A real webhook receiver on loopback (tests/alert_helpers.py), stopped after the test."""
    from tests.alert_helpers import Receiver

    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"pm_test_{uuid.uuid4().hex[:12]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'monitor.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run `policy-monitor ARGS` through its real entry point (`monitor.cli.main.main`) in this process."""
    monkeypatch.delenv("POLICY_MONITOR_DB", raising=False)
    monkeypatch.delenv("POLICY_MONITOR_CONFIG", raising=False)
    return run_cli


def write_config(path: Path, *, sources: list[dict], channels: dict | None = None, **top: object) -> Path:
    """Write a sources.yaml with fast test timings unless the test overrides them. No sources: no `sources:`
    key, as a config for the commands that only read the database leaves it out (`sources: []` is refused)."""
    data = {
        "daemon": {"concurrency": 4, "per_host_delay": "0.01s", "failure_threshold": 3},
        "fetch": {"retries": 1, "backoff": "0.01s", "max_retry_after": "1s"},
        "delivery": {"backoff": "0.05s", "max_backoff": "0.2s"},
        **top,
        "channels": channels or {},
        **({"sources": sources} if sources else {}),
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Path]:
    def make(sources: list[dict], channels: dict | None = None, **top: object) -> Path:
        return write_config(tmp_path / "sources.yaml", sources=sources, channels=channels, **top)

    return make


@pytest.fixture(scope="session")
def replayed():
    """Every recorded version of the vendored real histories through the real check path, once per run
    (tests/replay.py; shared by the no-crash test and the significance floors)."""
    from tests.replay import load_histories, replay_all

    return replay_all(load_histories())


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@pytest.fixture(scope="session")
def built_history(tmp_path_factory: pytest.TempPathFactory):
    """A SQLite database built once by real checks of two policies on loopback (tests/history_helpers.py)."""
    from tests.history_helpers import build_history

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    folder = tmp_path_factory.mktemp("history")
    yield build_history(Site(server), folder, f"sqlite:///{folder / 'monitor.db'}")
    server.stop()


@pytest.fixture
def history(built_history, tmp_path: Path):
    """A copy of the built history for one test, which may check, prune or export it further."""
    import shutil

    from tests.history_helpers import History

    source = Path(built_history.db.removeprefix("sqlite:///"))
    for path in source.parent.glob(source.name + "*"):
        shutil.copy(path, tmp_path / path.name)
    return History(built_history.site, built_history.config, f"sqlite:///{tmp_path / source.name}")
