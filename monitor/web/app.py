"""The web application (`create_app`): routes, the read-only store, templates and static files.

    from monitor.web.app import create_app
    app = create_app(config, Store(url, migrate=False, read_only=True), token=None)   # any ASGI server
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import jinja2
from sqlalchemy import event
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from monitor.config import Config
from monitor.errors import NoSuchVersionError, UnknownSourceError
from monitor.store.database import Source, Store
from monitor.web.guard import Guard

PACKAGE = resources.files("monitor.web")


@dataclass
class Web:
    """What every view needs: the config, the store, the templates and the static files' fingerprints."""

    config: Config
    store: Store
    templates: jinja2.Environment
    static_version: str
    diff_cache: dict = field(default_factory=dict)

    def source(self, name: str) -> Source:
        with self.store.session() as session:
            row = Store.source(session, name)
        if row is None:
            raise UnknownSourceError(f"unknown source {name!r}: it has never been checked")
        return row


def _moment(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def when(moment: datetime | str | None) -> str:
    """'2026-12-01 22:48 UTC' for people (the ISO form stays in <time datetime> and the API)."""
    return _moment(moment).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def iso(moment: datetime | str | None) -> str:
    return _moment(moment).astimezone(UTC).isoformat(timespec="seconds") if moment else ""


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PACKAGE / "templates")),
        autoescape=True,  # every page is HTML; policy text is always escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["iso"] = iso
    return env


def _fingerprint(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def render(request: Request, template: str, http_status: int = 200, **context) -> HTMLResponse:
    web: Web = request.app.state.web
    root = request.scope.get("root_path", "")
    html = web.templates.get_template(template).render(
        root=root, static=lambda name: f"{root}/static/{name}?v={web.static_version}", request=request, **context)
    return HTMLResponse(html, status_code=http_status, headers={"cache-control": "no-cache"})


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
    from monitor.web import api, pages

    read_only_connections(store)
    static = Path(str(PACKAGE / "static"))
    routes = [
        Route("/", pages.overview, name="overview"),
        Route("/sources/{name}", pages.source, name="source"),
        Route("/sources/{name}/versions/{version}", pages.version, name="version"),
        Route("/sources/{name}/changes/{span}", pages.change, name="change"),
        Route("/alerts", pages.alerts, name="alerts"),
        Route("/feed.xml", api.feed, name="feed"),
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
    app.state.web = Web(config, store, _templates(), _fingerprint(static))
    return Guard(app, token=token)
