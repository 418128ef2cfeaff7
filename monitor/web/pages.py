"""The HTML pages: overview, source, version, change (OLD..NEW) and the alerts outbox."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from monitor.errors import NoSuchVersionError
from monitor.meaning.names import TOPICS
from monitor.notify.listing import ALERT_STATUSES, is_due, list_alerts
from monitor.store.delivery_health import outbox_health
from monitor.store.queries import version_detail
from monitor.web import data, diffview
from monitor.web.context import Web, choice, render

_SPAN = re.compile(r"^v?(\d{1,9})\.\.v?(\d{1,9})$")
_VERSION = re.compile(r"^v?(\d{1,9})$")
FORM_ONLY_SHOWN = 500  # form-only panels drawn at most (a re-spelt policy can have thousands)


def _web(request: Request) -> Web:
    return request.app.state.web


def overview(request: Request) -> HTMLResponse:
    web = _web(request)
    topic = choice(request, "topic", TOPICS)
    status = choice(request, "status", data.STATUSES)
    rows = data.overview(web.store, web.config, topic=topic, status=status)
    outbox = outbox_health(web.store, web.config.channels)
    return render(request, "overview.html", rows=rows, topic=topic, status=status, topics=TOPICS,
                  statuses=data.STATUSES, total=len(web.config.sources), outbox=outbox)


def source(request: Request) -> HTMLResponse:
    web = _web(request)
    try:
        number = int(request.query_params.get("page", 1))
    except ValueError:
        raise HTTPException(400, "page must be a whole number") from None
    page = data.source_page(web.store, web.config, request.path_params["name"], max(number, 1))
    if page is None:
        raise HTTPException(404, f"unknown source {request.path_params['name']!r}")
    if page.page > page.pages:  # not "no version stored yet": the source has versions, this page has none
        raise HTTPException(404, f"no page {page.page}: {page.name} has {page.pages} page{'s' * (page.pages != 1)} "
                                 f"of versions")
    return render(request, "source.html", page=page)


def version(request: Request) -> HTMLResponse:
    web = _web(request)
    row = web.source(request.path_params["name"])
    match = _VERSION.match(request.path_params["version"])
    if not match:
        raise HTTPException(404, "a version is a whole number, as the source page lists them")
    language = _language(web, row.name)
    detail = version_detail(web.store, row, int(match.group(1)), with_sections=False)  # listed below, once
    sections = data.version_sections(web.store, row, [detail["version"]])[detail["version"]]
    text = diffview.full_text(sections, [], side="v", language=language)
    return render(request, "version.html", name=row.name, detail=detail, sections=text)


def _language(web: Web, name: str) -> str:
    """The language a source's texts are classified in: its configured one ("en" when no longer configured)."""
    configured = web.config.source(name)
    return configured.language if configured else "en"


def change(request: Request) -> HTMLResponse:
    """Between consecutive versions, the changes as the check recorded and rated them (what was
    alerted, and no rating to redo: a 300-section change renders at once); further apart, `diff`'s."""
    web = _web(request)
    name = request.path_params["name"]
    match = _SPAN.match(request.path_params["span"])
    if not match:
        raise HTTPException(404, "a change is addressed as OLD..NEW, e.g. /sources/acme/changes/1..2")
    old, new = int(match.group(1)), int(match.group(2))
    if old == new:
        raise HTTPException(404, f"v{old}..v{new} compares a version with itself")
    row = web.source(name)
    heads = data.version_heads(web.store, row, [old, new, new + 1])
    for seq in (old, new):
        if seq not in heads:
            raise NoSuchVersionError(f"{name} has no version {seq}")
    sections = data.version_sections(web.store, row, [old, new])
    recorded = data.recorded_changes(web.store, row, old, new)
    if recorded is not None:
        old_keys = {s.path: s.key for s in sections[old]}
        new_keys = {s.path: s.key for s in sections[new]}
        views = [diffview.from_recorded(c, old_keys, new_keys) for c in recorded]
    else:
        views = [diffview.from_rated(r) for r in web.diff(name, old, new).rated]
    panels = diffview.panels(views)
    substance = [p for p in panels if p.material]
    form_only = [p for p in panels if not p.material]
    drawn = substance + form_only[:FORM_ONLY_SHOWN]
    return render(request, "change.html", name=name, old=heads[old], new=heads[new], recorded=recorded is not None,
                  substance=substance, form_only=form_only[:FORM_ONLY_SHOWN], form_only_total=len(form_only),
                  old_text=diffview.full_text(sections[old], drawn, side="old"),
                  new_text=diffview.full_text(sections[new], drawn, side="new"),
                  # the steps before and after a change between consecutive versions: a span (1..6, 6..1) has none
                  previous=(new - 2, new - 1) if new > 2 and new == old + 1 else None,
                  following=(new, new + 1) if new + 1 in heads and new == old + 1 else None)


def alerts(request: Request) -> HTMLResponse:
    web = _web(request)
    status = choice(request, "status", ALERT_STATUSES)
    try:
        limit = max(1, min(int(request.query_params.get("limit", 100)), 1000))
    except ValueError:
        raise HTTPException(400, "limit must be a whole number") from None
    rows = list_alerts(web.store, status, limit)
    due = {r["id"] for r in rows if r["status"] == "pending" and is_due(r["next_attempt_at"])}
    return render(request, "alerts.html", rows=rows, due=due, status=status, statuses=ALERT_STATUSES, limit=limit)
