"""`/api` lists every API route the app has and the feed, read from the app: a route added to the app is listed
without anyone adding it to a list (the test names none either)."""

from __future__ import annotations

import httpx
from starlette.routing import Route

from monitor.config import load_config
from monitor.store.database import Store
from monitor.web import api
from monitor.web.app import create_app
from tests.web_site import serve_thread


def test_the_api_index_lists_every_api_route_of_the_app_and_the_feed(make_config, sqlite_url, cli):
    config = make_config([{"name": "wemet", "url": "https://example.org/privacy"}])
    assert cli("--config", config, "--db", sqlite_url, "migrate").exit_code == 0
    store = Store(sqlite_url, migrate=False, read_only=True)
    try:
        app = create_app(load_config(config), store)
        routes = [r for r in _routes(app) if r.endpoint is not api.index]
    finally:
        store.dispose()
    expected = {r.path for r in routes if r.path.startswith("/api/") or r.endpoint is api.feed}

    with serve_thread(config, sqlite_url) as base:
        endpoints = httpx.get(base + "/api", timeout=30).json()["endpoints"]

    assert {e["path"] for e in endpoints} == expected and len(endpoints) == len(expected)
    assert "/feed.xml" in expected and len(expected) > 1
    assert all(e["answers"] for e in endpoints), "each says what it answers (its handler's docstring)"


def _routes(app) -> list[Route]:
    """The app's routes, under the guard and middleware that wrap the Starlette application."""
    while not hasattr(app, "routes"):
        app = app.app
    return [r for r in app.routes if isinstance(r, Route)]
