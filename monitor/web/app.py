"""The web application (`create_app`): routes, the read-only store, templates and static files.

    from monitor.web.app import create_app
    app = create_app(config, Store(url, migrate=False, read_only=True), token=None)   # any ASGI server
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import event
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from monitor.config import Config
from monitor.errors import NoSuchVersionError, UnknownSourceError
from monitor.store.database import Store
from monitor.web import api, pages
from monitor.web.access import Guard
from monitor.web.context import PACKAGE, Web, render, templates


def _fingerprint(directory: Path) -> str:
    """A digest of the static files: their URLs change when they do, so browsers never keep a stale copy."""
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def read_only_connections(store: Store) -> None:
    """Belt and braces: the web view's connections refuse writes at the database too (SQLite
    `query_only`, PostgreSQL read-only transactions), whatever a bug in a view might try."""
    dialect = store.engine.dialect.name

    @event.listens_for(store.engine, "connect")
    def _read_only(dbapi_conn, _record) -> None:
        cursor = dbapi_conn.cursor()
        if dialect == "sqlite":
            cursor.execute("PRAGMA query_only=ON")
        elif dialect == "postgresql":
            cursor.execute("SET default_transaction_read_only = on")
            dbapi_conn.commit()
        cursor.close()

    store.engine.dispose()  # connections opened before the listener was added would not have it


async def _not_found(request: Request, exc: Exception) -> Response:
    message = str(exc) if isinstance(exc, UnknownSourceError | NoSuchVersionError) else getattr(exc, "detail", "")
    status = getattr(exc, "status_code", 404)
    if "/api/" in request.url.path:
        return JSONResponse({"error": message or "not found"}, status_code=status)
    return render(request, "error.html", http_status=status, status_code=status, message=message or "not found")


def create_app(config: Config, store: Store, *, token: str | None = None) -> Guard:
    """The ASGI application over `store` (opened read-only by the caller), guarded (see Guard)."""
    read_only_connections(store)
    static = Path(str(PACKAGE / "static"))
    routes = [
        Route("/", pages.overview, name="overview"),
        Route("/sources/{name}", pages.source, name="source"),
        Route("/sources/{name}/versions/{version}", pages.version, name="version"),
        Route("/sources/{name}/changes/{span}", pages.change, name="change"),
        Route("/alerts", pages.alerts, name="alerts"),
        Route("/feed.xml", api.feed, name="feed"),
        Route("/api", api.index),
        Route("/api/", api.index),  # answered, not redirected: both are what people type
        Route("/api/sources", api.sources),
        Route("/api/sources/{name}/history", api.history),
        Route("/api/sources/{name}/diff/{old}/{new}", api.diff),
        Route("/api/timeline", api.timeline),
        Route("/api/alerts", api.alerts),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    handlers = {404: _not_found, 400: _not_found, UnknownSourceError: _not_found, NoSuchVersionError: _not_found,
                HTTPException: _not_found}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.web = Web(config, store, templates(), _fingerprint(static))
    return Guard(app, token=token)
