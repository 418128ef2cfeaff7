"""The JSON API (the same documents as the CLI's --json) and the Atom feed."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.meaning.names import TOPICS
from monitor.notify.feed import feed_entries, render_feed
from monitor.notify.listing import ALERT_STATUSES, list_alerts
from monitor.store.queries import source_overview, version_history
from monitor.web.context import Web, choice

_VERSION = re.compile(r"^v?(\d{1,9})$")


class PrettyJSON(JSONResponse):
    """Indented like the CLI's --json, non-ASCII kept as written."""

    def render(self, content) -> bytes:
        import json

        return json.dumps(content, indent=2, ensure_ascii=False, default=str).encode("utf-8")


def _web(request: Request) -> Web:
    return request.app.state.web


def _limit(request: Request, default: int, most: int) -> int:
    try:
        value = int(request.query_params.get("limit", default))
    except ValueError:
        raise HTTPException(400, "limit must be a whole number") from None
    if not 1 <= value <= most:
        raise HTTPException(400, f"limit must be between 1 and {most}")
    return value


def index(request: Request) -> JSONResponse:
    """`/api`: the endpoints, each with what it answers (its handler's docstring), read from the routes
    themselves so the list cannot drift from them: every route under /api/ (the index itself aside) and the
    feed last, the rest in the order the app declares them."""
    root = request.scope.get("root_path", "")
    listed = [route for route in request.app.routes if isinstance(route, Route) and route.endpoint is not index
              and (route.path.startswith("/api/") or route.endpoint is feed)]
    return PrettyJSON({"endpoints": [{"path": root + route.path,
                                      "answers": " ".join((route.endpoint.__doc__ or "").split())}
                                     for route in sorted(listed, key=lambda r: r.endpoint is feed)]})


def sources(request: Request) -> JSONResponse:
    """`policy-monitor sources --json`."""
    web = _web(request)
    return PrettyJSON(source_overview(web.store, web.config))


def history(request: Request) -> JSONResponse:
    """`policy-monitor history NAME --json`."""
    web = _web(request)
    return PrettyJSON(version_history(web.store, web.source(request.path_params["name"])))


def diff(request: Request) -> JSONResponse:
    """`policy-monitor diff NAME OLD NEW --format json` (`?all=1` is `--all`)."""
    web = _web(request)
    old, new = (_VERSION.match(request.path_params[k]) for k in ("old", "new"))
    if not old or not new:
        raise HTTPException(404, "versions are whole numbers, as /api/sources/NAME/history lists them")
    show_all = request.query_params.get("all", "") in ("1", "true", "yes")
    return PrettyJSON(web.diff(request.path_params["name"], int(old.group(1)), int(new.group(1))).to_json(show_all))


def timeline(request: Request) -> JSONResponse:
    """`policy-monitor timeline --json`: material changes, newest first; `?source=`, `?topic=`, `?limit=` (100)."""
    from itertools import islice

    from monitor.report.timeline import entry_json
    from monitor.report.timeline import timeline as entries
    from monitor.store.streams import stream_versions

    web = _web(request)
    topic = choice(request, "topic", TOPICS)
    name = request.query_params.get("source") or None
    if name is not None:
        web.source(name)
    limit = _limit(request, 100, 1000)
    with web.store.session() as session:
        records = stream_versions(session, sources=[name] if name else None, order="newest", with_text=False)
        return PrettyJSON([entry_json(e) for e in islice(entries(records, topic=topic), limit)])


def alerts(request: Request) -> JSONResponse:
    """`policy-monitor alerts --json` (`?status=`, `?limit=`, default 50)."""
    web = _web(request)
    status = choice(request, "status", ALERT_STATUSES)
    return PrettyJSON(list_alerts(web.store, status, _limit(request, 50, 1000)))


def feed(request: Request) -> Response:
    """The Atom feed that `feed:` writes to a file, served live."""
    web = _web(request)
    return Response(render_feed(feed_entries(web.store), web=web.config.web), media_type="application/atom+xml",
                    headers={"cache-control": "no-cache"})

