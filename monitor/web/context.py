"""What every view shares: the `Web` object (config, read-only store, templates), page rendering, and
the diffs computed on demand (kept, since stored texts never change)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from monitor.config import Config, load_config
from monitor.errors import ConfigError, UnknownSourceError
from monitor.store.database import Source, Store
from monitor.store.queries import VersionDiff, diff_versions, rate_versions

log = logging.getLogger("monitor.web")
PACKAGE = resources.files("monitor.web")
DIFF_CACHE = 32  # computed diffs kept, by the hashes of both texts


@dataclass
class Web:
    """What every view needs: the config, the store, the templates and the static files' fingerprint."""

    loaded: Config  # the config as last read; views read `config`, which follows its file
    store: Store
    templates: jinja2.Environment
    static_version: str
    diff_cache: dict[tuple[str, str, str], list] = field(default_factory=dict)
    _stamp: tuple[int, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._stamp = _file_stamp(self.loaded.path)

    @property
    def config(self) -> Config:
        """The config, read again when its file changed since (a source added to sources.yaml shows without a
        restart, as the daemon's SIGHUP reload); a file that no longer loads keeps the last good config, said in
        the log once per change of the file."""
        stamp = _file_stamp(self.loaded.path)
        if stamp is None or stamp == self._stamp:
            return self.loaded
        self._stamp = stamp
        try:
            self.loaded = load_config(self.loaded.path)
        except ConfigError as exc:
            log.warning(f"web: {self.loaded.path} changed but does not load; still serving the config read "
                        f"before it: {exc}")
            return self.loaded
        self.diff_cache.clear()  # a source's topics or language rate its diffs
        count = len(self.loaded.sources)
        log.info(f"web: {self.loaded.path} changed: {count} source{'s' * (count != 1)}")
        return self.loaded

    def source(self, name: str) -> Source:
        with self.store.session() as session:
            row = Store.source(session, name)
        if row is None:
            raise UnknownSourceError(f"unknown source {name!r}: it has never been checked")
        return row

    def diff(self, name: str, old: int, new: int) -> VersionDiff:
        """`diff NAME OLD NEW`, computed once per pair of texts (the rating is the costly part)."""
        old_v, new_v = diff_versions(self.store, self.source(name), old, new)
        key = (name, old_v.text_hash, new_v.text_hash)  # by source too: its topics and language rate the texts
        if key not in self.diff_cache:
            if len(self.diff_cache) >= DIFF_CACHE:
                self.diff_cache.pop(next(iter(self.diff_cache)))
            self.diff_cache[key] = rate_versions(old_v, new_v, self.config.source(name))
        return VersionDiff(name, old_v, new_v, self.diff_cache[key])


def _moment(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def when(moment: datetime | str | None) -> str:
    """'2026-12-01 22:48 UTC' for people (the ISO form stays in <time datetime> and the API)."""
    return _moment(moment).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def iso(moment: datetime | str | None) -> str:
    return _moment(moment).astimezone(UTC).isoformat(timespec="seconds") if moment else ""


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PACKAGE / "templates")),
        autoescape=True,  # every template is HTML: policy text is always escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["iso"] = iso
    return env


def render(request: Request, template: str, http_status: int = 200, **context) -> HTMLResponse:
    web: Web = request.app.state.web
    root = request.scope.get("root_path", "")
    html = web.templates.get_template(template).render(
        root=root, static=lambda name: f"{root}/static/{name}?v={web.static_version}", request=request, **context)
    return HTMLResponse(html, status_code=http_status, headers={"cache-control": "no-cache"})


def choice(request: Request, key: str, allowed: tuple[str, ...]) -> str | None:
    """A query parameter that must be one of `allowed` (400 otherwise); None when absent or empty."""
    value = request.query_params.get(key) or None
    if value is not None and value not in allowed:
        raise HTTPException(400, f"{key} must be one of {', '.join(allowed)}")
    return value


def _file_stamp(path: str) -> tuple[int, int] | None:
    """When and how big the file at `path` is now; None when it cannot be read (then nothing is reloaded)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
