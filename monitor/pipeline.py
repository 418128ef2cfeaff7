"""`check_source()`: the whole flow for one source, fetch to stored version and queued alerts, in one transaction."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from monitor.capture.body_kind import NORMALIZER_VERSION
from monitor.capture.browser import BrowserPool, BrowserSettings
from monitor.capture.document import BUNDLE_TYPE, Part, bundle, document_text, is_pdf
from monitor.capture.fetch import Fetcher, FetchResult, FetchSettings
from monitor.config import Config, SourceConfig
from monitor.errors import ContentRejected, FetchError
from monitor.offload import CpuPool, pool_size
from monitor.outcome import CheckResult
from monitor.store.plain import (
    CHANGE_COLUMNS,
    NOT_QUIET,
    ClaimedSource,
    NewChange,
    NewVersion,
    SourceHealth,
    VersionHead,
    VersionSection,
    compress,
    process_owner,
    text_hash,
    utcnow,
)

if TYPE_CHECKING:
    from monitor.meaning.significance import RatedChange
    from monitor.shards import Claims
    from monitor.store.database import Store
    from monitor.store.deferred import DeferredStore
    from monitor.text.sections import Section

# The comparing and rating stages (guard, sections, significance, topics, outbox, feed) are imported where
# a text changed: an unchanged page, the common case, never needs them, and their start-up (compiling the
# topic vocabularies) would be paid by every `check` process. The readers (the fingerprint, the normalizer)
# are imported at the first page read, after the first requests are on their way. The store's tables (SQLAlchemy,
# SQLModel) are imported where a check writes through a Session (an alert to queue, a health event, a blink back,
# PostgreSQL): on a SQLite file `check` claims, reads and writes the rest through monitor.store.deferred.

log = logging.getLogger("monitor.check")
_SAID_LANGUAGE: set[str] = set()  # sources whose unknown language was logged (once per process)

LOCK_OWNER = process_owner()
LOCK_WAIT = 120.0   # how long `check` waits for a daemon's check of the same source (a slow fetch, retries)
LOCK_POLL = 0.25


@dataclass(frozen=True)
class Recorded:
    """Where a version's bytes came from, as its row records it: a live fetch (`of`) or an archived capture."""

    content: bytes
    url: str
    content_type: str
    http_status: int | None
    fetched_at: datetime

    @classmethod
    def of(cls, fetched: FetchResult) -> Recorded:
        """What a check just fetched, dated now."""
        return cls(fetched.content, fetched.final_url, fetched.content_type, fetched.status_code, utcnow())


@dataclass(frozen=True)
class _Page:
    fetched: FetchResult
    text: str
    drastic: str | None = None  # the guard's reason, when a drastic change was confirmed by a re-fetch


async def check_source(source: SourceConfig, *, config: Config, store: Store, fetcher: Fetcher,
                       lock_wait: float = 0.0, cpu: CpuPool | None = None,
                       browser: BrowserPool | None = None) -> CheckResult:
    """Fetch, judge, normalize, diff and rate one source; store what was learned in one transaction.

    When another process (the daemon, another `check`) is checking the same source, wait up to
    `lock_wait` seconds for it to finish, then give up with status `skipped` (not a failure).
    The CPU work (normalizing, judging and comparing a page whose text may have changed) runs in `cpu`,
    a process pool beside the event loop, or inline without one.

    Never raises: a dead URL, an HTTP error, a captcha page or an empty body comes back as a result
    with status `error` or `rejected`, recorded as a Check and never as a Version; an unexpected
    exception (a database outage, a bug) comes back as an `error` starting "internal error:", logged
    and recorded as a Check when the database allows. `check` and the daemon see the same outcome:
    after the commit, a check that alerted rewrites the Atom feed (`feed:`) here, for both.

    A `render: browser` source is rendered by `browser` (the caller's shared pool); without one, a
    pool is started for this check alone.

    >>> async with Fetcher() as fetcher:                                      # doctest: +SKIP
    ...     result = await check_source(config.sources[0], config=config, store=store, fetcher=fetcher)
    >>> result.status, result.alert_topics                                      # doctest: +SKIP
    ('changed', ['retention'])
    """
    if browser is None and source.render == "browser":
        async with BrowserPool(browser_settings(config)) as own:
            return await check_source(source, config=config, store=store, fetcher=fetcher, lock_wait=lock_wait,
                                      cpu=cpu, browser=own)
    started_at, clock = utcnow(), time.monotonic()
    try:
        capture = Capture(fetcher, browser, cpu or CpuPool(0))
        result = await _check_when_free(source, config=config, store=store, capture=capture,
                                        lock_wait=lock_wait, started_at=started_at)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 — e.g. the database went away: this source failed, nothing else
        # the first line only: a database error's later lines quote SQL parameters, i.e. policy text
        first_line = (str(exc).splitlines() or [""])[0][:300]
        log.error(f"check {source.name}: {type(exc).__name__}: {first_line}",
                  exc_info=log.isEnabledFor(logging.DEBUG), extra={"source": source.name})
        result = CheckResult(source.name, source.url, "error", error=f"internal error: {type(exc).__name__}: "
                                                                     f"{first_line}")
        _record_crash(store, config, source, result, started_at, time.monotonic() - clock)
    result.duration = time.monotonic() - clock
    if _feed_news(result) and config.feed:  # after the commit, in `check` and the daemon alike; never fatal
        from monitor.notify.feed import refresh_feed

        refresh_feed(store, config.feed, config.web)
    return result


async def _check_when_free(source: SourceConfig, *, config: Config, store: Store, capture: Capture,
                           lock_wait: float, started_at) -> CheckResult:
    give_up_at = time.monotonic() + lock_wait
    while (claim := _claim(store, source, config.daemon.lock_timeout)) is None:
        if time.monotonic() >= give_up_at:
            return CheckResult(source.name, source.url, "skipped",
                               error="another process is checking this source right now")
        await asyncio.sleep(LOCK_POLL)
    try:
        return await _check_locked(source, claim, config=config, store=store, capture=capture,
                                   started_at=started_at)
    except BaseException:  # the write transaction releases the lock; a check that never got there does here
        from monitor.store.database import Store

        try:
            with store.transaction() as conn:
                Store.release_source(conn, claim.id, LOCK_OWNER)
        except Exception as exc:  # noqa: BLE001 — the lock expires (lock_timeout)
            log.warning(f"check {source.name}: could not release its lock: {type(exc).__name__}",
                        extra={"source": source.name})
        raise


def _claim(store: Store, source: SourceConfig, ttl: float) -> ClaimedSource | None:
    """One short transaction: the source's lock taken (its row created on first sight) and its latest
    version's head read; None when another process holds the lock."""
    claim = store.claim(source.name, source.url, LOCK_OWNER, ttl)
    if claim is None:
        return None
    if claim.latest is None:  # validators and the fingerprint only stand for a stored version
        return replace(claim, etag=None, last_modified=None, text_fingerprint=None)
    if len(source.urls) > 1 or source.render != "http":  # see _fetch: no validators for these
        return replace(claim, etag=None, last_modified=None)
    return claim


def _record_crash(store: Store, config: Config, source: SourceConfig, result: CheckResult, started_at,
                  seconds: float) -> None:
    """Record an unexpected failure as an `error` check, so history and health show it; best effort.

    A crash is a failed check like a dead URL: it counts towards `daemon.failure_threshold` and
    queues `source.failing` (and later `source.recovered`) the same way, in the same transaction."""
    try:
        from monitor.store.database import Store

        with store.session() as session:
            conn = session.connection()
            source_id = Store.source_id(conn, source.name, source.url)
            counters = Store.finish_check(conn, source_id, owner=None, outcome=result.status, failed=result.failed,
                                          started_at=started_at)
            _record_check(session, config, source, source_id, counters, result, started_at, seconds)
    except Exception as exc:  # noqa: BLE001 — the database itself is what failed: the log line must do
        log.debug(f"check {source.name}: could not record the failure: {type(exc).__name__}: {exc}")


async def _check_locked(source: SourceConfig, claim: ClaimedSource, *, config: Config, store: Store,
                        capture: Capture, started_at) -> CheckResult:
    clock = time.monotonic()
    latest = claim.latest
    result = CheckResult(source.name, source.url, "unchanged", version=latest.seq if latest else None)

    fetched: FetchResult | None = None
    page: _Page | None = None   # a page whose text differs from the latest version's (or may)
    derived: _Derived | None = None
    seen: str | None = None     # the fingerprint of a page whose text is now known
    previous_text: str | None = None
    try:
        fetched = await _fetch(source, capture, etag=claim.etag, last_modified=claim.last_modified)
        result.http_status = fetched.status_code
        if not fetched.not_modified:
            from monitor.capture.fingerprint import same_text

            seen = _fingerprint(fetched, source, claim.text_fingerprint, keep_tree=capture.cpu.workers <= 0)
            known_text = latest is not None and same_text(seen, claim.text_fingerprint) \
                and fetched.final_url == latest.url
            if not known_text:  # the full path: normalize, judge, and compare with the latest text
                if latest is not None:
                    previous_text = store.read_version_text(latest.id)
                page, derived = await _analysed(fetched, source, capture, previous_text, latest)
                result.drastic = page.drastic
    except FetchError as exc:
        result.status, result.error, result.http_status = "error", str(exc), exc.status_code
    except ContentRejected as exc:
        result.status, result.error = "rejected", str(exc)

    # the CPU-heavy comparison ran before the write transaction, so the database is held only to write
    ok = result.status == "unchanged"
    derived = derived if ok else None
    learned: dict[str, str | None] = {}  # what the source's row keeps of a good fetch
    if fetched is not None and ok:
        _note_new_address(source, fetched.final_url, claim.final_url)
        learned["final_url"] = fetched.final_url
        if not fetched.not_modified:
            learned["etag"], learned["last_modified"] = fetched.etag, fetched.last_modified
        if seen is not None:
            learned["text_fingerprint"] = seen
    outcome = result.status if derived is None else "new" if latest is None else "changed"
    if derived is None:  # no version to store: the check's two writes alone, unless the source's health has news
        written = store.record_quiet_check(
            claim.id, owner=LOCK_OWNER, outcome=outcome, failed=result.failed, started_at=started_at,
            learned=learned, quiet=_quiet_rule(config, failed=result.failed),
            check={"started_at": started_at, "duration_ms": int((time.monotonic() - clock) * 1000),
                   "outcome": result.status, "http_status": result.http_status, "error": result.error,
                   "version_seq": result.version, "reverts_to": result.reverts_to})
        if written is None:
            return _lost_lock(source)
        if written is not NOT_QUIET:
            return result
    elif _queues_nothing(latest, derived, source, config):  # a new version, its rows alone (unless a blink back)
        version = new_version_row(claim.id, Recorded.of(page.fetched), page.text, latest, derived, source, None)
        written = store.record_new_version(
            version, owner=LOCK_OWNER, outcome=outcome, started_at=started_at, learned=learned,
            quiet=_quiet_rule(config, failed=False),
            check={"started_at": started_at, "duration_ms": int((time.monotonic() - clock) * 1000),
                   "outcome": outcome, "http_status": result.http_status, "error": None,
                   "version_seq": version.seq, "reverts_to": None})
        if written is None:
            return _lost_lock(source)
        if written is not NOT_QUIET:
            tell_version(result, version, latest, derived, source)
            return result
    from monitor.store.database import Store

    with store.session() as session:  # a Session owns the transaction: its commit tells listeners of alerts
        conn = session.connection()
        counters = Store.finish_check(conn, claim.id, owner=LOCK_OWNER, outcome=outcome, failed=result.failed,
                                      started_at=started_at, learned=learned)
        if counters is None:  # the lock goes with these writes; it was no longer ours: nothing is written
            return _lost_lock(source)
        if derived is not None:
            _store_version(session, claim.id, page, latest, derived, source, config, result)
        _record_check(session, config, source, claim.id, counters, result, started_at, time.monotonic() - clock)
    return result


def _quiet_rule(config: Config, *, failed: bool) -> Callable[[SourceHealth], bool]:
    """Whether a check's counters leave the source's health with nothing to do (`health.is_quiet`), so the
    check can be written without a Session."""
    from monitor.notify.health import is_quiet

    threshold = config.daemon.failure_threshold
    return lambda counters: is_quiet(counters, failed=failed, blinked=False, threshold=threshold)


def _lost_lock(source: SourceConfig) -> CheckResult:
    return CheckResult(source.name, source.url, "skipped", error="the fetch outlasted daemon.lock_timeout "
                                                                 "and another process took this source over")


@dataclass(frozen=True)
class Capture:
    """How pages are captured and read in one run: the http fetcher, the browser pool for `render: browser`,
    and the process pool that reads and compares pages beside the event loop."""

    fetcher: Fetcher
    browser: BrowserPool | None
    cpu: CpuPool

    async def get(self, source: SourceConfig, url: str, *, etag: str | None = None,
                  last_modified: str | None = None) -> FetchResult:
        """One page of `source`: rendered when the source says so (a PDF is a file: always fetched)."""
        if source.render == "browser" and not is_pdf("", url):
            assert self.browser is not None, "check_source opens a pool for render: browser sources"
            return await self.browser.render(url, language=source.language, timeout=source.timeout,
                                             max_bytes=source.max_bytes, wait_for=source.wait_for,
                                             allow_hosts=source.allow_hosts)
        return await self.fetcher.fetch(url, language=source.language, timeout=source.timeout,
                                        max_bytes=source.max_bytes, etag=etag, last_modified=last_modified)

    async def text_of(self, fetched: FetchResult, source: SourceConfig) -> str:
        """The response's normalized text, read in the process pool (or a thread, for a PDF without one)."""
        args = (fetched.content, _full_type(fetched), fetched.final_url, source.select, source.remove)
        if self.cpu.workers <= 0 and is_pdf(fetched.content_type, fetched.final_url, fetched.content):
            return await asyncio.to_thread(_read, *args)  # seconds of CPU: never on the event loop
        return await self.cpu.run(_read, *args)


def _read(content: bytes, content_type: str, url: str, select: str | None, remove: Sequence[str]) -> str:
    return document_text(content, content_type=content_type, url=url, select=select, remove=remove)


async def _fetch(source: SourceConfig, capture: Capture, *, etag: str | None = None,
                 last_modified: str | None = None) -> FetchResult:
    """The policy's page, or its parts fetched, read and guarded each on its own and bundled in order.

    Validators (ETag, Last-Modified) are sent only for a single http page: for parts one 304 would
    not vouch for the others, and a rendered page's text comes from scripts the HTML does not show.
    """
    if len(source.urls) == 1:
        return await capture.get(source, source.url, etag=etag, last_modified=last_modified)
    from monitor.capture import guard

    parts: list[FetchResult] = []
    for number, url in enumerate(source.urls, 1):
        where = f"part {number} of {len(source.urls)} ({url})"
        try:
            fetched = await capture.get(source, url)
            verdict = guard.judge(await capture.text_of(fetched, source), language=source.language,
                                  requested_url=url, final_url=fetched.final_url)
            if not verdict.accepted:
                raise ContentRejected(_rejection(verdict.rule, verdict.reason, fetched, source))
        except FetchError as exc:
            raise FetchError(f"{where}: {exc}", transient=exc.transient, status_code=exc.status_code) from None
        except ContentRejected as exc:
            raise ContentRejected(f"{where}: {exc}") from None
        parts.append(fetched)
    first = parts[0]
    return FetchResult(
        url=source.url, final_url=first.final_url, status_code=first.status_code,
        content=bundle([Part(f.final_url, _full_type(f), f.content) for f in parts]), text="",
        content_type=BUNDLE_TYPE, encoding=None, etag=None, last_modified=None, not_modified=False,
        elapsed=sum(f.elapsed for f in parts), attempts=sum(f.attempts for f in parts))


def _full_type(fetched: FetchResult) -> str:
    """The media type with the charset the body was decoded with, so a stored part decodes the same way."""
    if fetched.encoding and fetched.content_type.startswith("text/"):
        return f"{fetched.content_type}; charset={fetched.encoding}"
    return fetched.content_type or "application/octet-stream"


def _fingerprint(fetched: FetchResult, source: SourceConfig, known: str | None, *, keep_tree: bool) -> str | None:
    """The cheap "same text?" fingerprint of a single markup page, as the source remembers it (`known`: the
    remembered one, kept without a parse when the page came byte for byte); None for a PDF or a bundle of
    parts, whose text is always read. `keep_tree`: the page's text, if needed, is read in this process, from
    the fingerprint's parse."""
    if fetched.content_type == BUNDLE_TYPE or is_pdf(fetched.content_type, fetched.final_url, fetched.content):
        return None
    from monitor.capture.fingerprint import body_digest, fingerprint, remembered

    read = {"content_type": fetched.content_type, "select": source.select, "remove": source.remove}
    return remembered(lambda: fingerprint(fetched.text, **read, keep_tree=keep_tree),
                      body_digest(fetched.text, **read), known)


def _rejection(rule: str | None, reason: str | None, fetched: FetchResult, source: SourceConfig) -> str:
    """The guard's reason, or, for a script shell fetched over plain HTTP, what to do about it."""
    from monitor.capture import guard

    reason = reason or "not the policy page"
    if source.render == "http" and rule in ("empty", "near-empty", "maintenance") \
            and "html" in fetched.content_type and (shell := guard.script_shell(fetched.text)):
        return (f"this page needs `render: browser`: the plain fetch got a script shell ({shell}) whose text "
                f"is built by its scripts after loading ({reason})")
    return reason


@dataclass(frozen=True)
class _Analysis:
    """What the CPU work found about a page (pure, picklable: it may come from a worker process)."""

    text: str
    accepted: bool
    rule: str | None
    reason: str | None
    needs_confirmation: bool
    derived: _Derived | None   # None when refused, unconfirmed yet, or the latest version's text


def _analyse(text: str, source: SourceConfig, final_url: str, previous_text: str | None,
             latest: VersionHead | None) -> _Analysis:
    """Judge and (when accepted) compare a page's text: the CPU work of a check after reading, in one call."""
    from monitor.capture import guard

    try:
        verdict = guard.judge(text, previous=previous_text, language=source.language, requested_url=source.url,
                              final_url=final_url, previous_url=_fetched_from(latest))
        sure = verdict.accepted and not verdict.needs_confirmation
        derived = derive_changes(text, latest, previous_text, source) if sure else None
        return _Analysis(text, verdict.accepted, verdict.rule, verdict.reason, verdict.needs_confirmation, derived)
    finally:
        _forget_texts()


def _fetched_from(latest: VersionHead | None) -> str | None:
    """Where the latest version was fetched from; None for one imported from an archive."""
    from monitor.capture.archive import is_archived

    return latest.url if latest is not None and not is_archived(latest.url) else None


def _derive_confirmed(text: str, latest: VersionHead | None, previous_text: str | None,
                      source: SourceConfig) -> _Derived | None:
    """`derive_changes` of a text an immediate re-fetch confirmed (the CPU work, like `_analyse`)."""
    try:
        return derive_changes(text, latest, previous_text, source)
    finally:
        _forget_texts()


TEXT_CACHE_BODIES = 4096  # section bodies (~3 KB each with their clauses) kept split across checks


def _forget_texts() -> None:
    """After a page's comparison, empty the sentence-split and comparison-form caches once they hold more
    than TEXT_CACHE_BODIES section bodies (a few dozen policies). They pay off within one comparison (two
    versions share most of their text) and, for a few sources, from one check to the next; full, over
    thousands of different policies, they would hold ~150 MB in every process that compares pages."""
    from monitor.text import clauses

    if clauses.body_clauses.cache_info().currsize > TEXT_CACHE_BODIES:
        clauses.clear_caches()


async def _analysed(fetched: FetchResult, source: SourceConfig, capture: Capture,
                    previous_text: str | None, latest: VersionHead | None) -> tuple[_Page, _Derived | None]:
    """The page's text and what it changed; refuses pages that are not plausibly the policy, and accepts
    a drastic change only if an immediate re-fetch agrees."""
    text = await capture.text_of(fetched, source)
    found = await capture.cpu.run(_analyse, text, source, fetched.final_url, previous_text, latest)
    if not found.accepted:
        raise ContentRejected(_rejection(found.rule, found.reason, fetched, source))
    derived, drastic = found.derived, None
    if found.needs_confirmation:
        again = await _fetch(source, capture)
        if await capture.text_of(again, source) != found.text:
            raise ContentRejected(f"{found.reason}; not confirmed by an immediate re-fetch")
        derived = await capture.cpu.run(_derive_confirmed, found.text, latest, previous_text, source)
        log.warning(f"{source.name}: {found.reason}; confirmed by an immediate re-fetch, so stored as a new version",
                    extra={"source": source.name, "rule": found.rule})
        drastic = f"{found.reason} (confirmed by an immediate re-fetch)"
    return _Page(fetched, found.text, drastic), derived


def _note_new_address(source: SourceConfig, final_url: str, last_final_url: str | None) -> None:
    """Say once, when it starts, that the policy is now served from another address than configured."""
    if final_url != source.url and last_final_url is not None and final_url != last_final_url:
        log.warning(f"{source.name}: {source.url} now redirects to {final_url}; if the policy moved for good, "
                    f"set `url` to the new address", extra={"source": source.name, "final_url": final_url})


@dataclass(frozen=True)
class _Derived:
    """What a new text says against the latest version (pure: its hash and the rated changes)."""

    digest: str
    changes: list[RatedChange]


def derive_changes(text: str, latest: VersionHead | None, previous_text: str | None,
            source: SourceConfig) -> _Derived | None:
    """None when the text is the latest version's; otherwise its sections and rated changes."""
    digest = text_hash(text)
    if latest is not None and latest.text_hash == digest:
        return None
    from monitor.meaning.model import knows_language

    if not knows_language(source.language) and source.name not in _SAID_LANGUAGE:
        _SAID_LANGUAGE.add(source.name)
        log.warning(f"{source.name}: topics and significance are not available in language "
                    f"{source.language!r}; changes are stored and diffed but reported unrated",
                    extra={"source": source.name})
    if latest is None:  # a first version is compared with nothing: the rating stage (~0.3 s to import) waits
        return _Derived(digest, [])
    from monitor.meaning.significance import changes_between

    changes = changes_between(previous_text or "", text, source.topics, source.language)
    return _Derived(digest, changes)


def sections_of(text: str) -> list[Section]:
    """The text's sections; should sectioning fail on some text, the whole text is one section."""
    from monitor.text.sections import Section, parse_sections

    try:
        return parse_sections(text)
    except Exception as exc:  # noqa: BLE001 — a version is stored whatever its structure
        log.error(f"sectioning failed: {type(exc).__name__}: {exc}", exc_info=True)
        return [Section(key="whole-policy", number=None, title="", level=0, path=(), text=text)]


def section_topics(section: Section, language: str = "en") -> list[str]:
    """The topics of a stored section ([] in an unknown language, or when classification fails)."""
    from monitor.meaning.topics import classify, knows_language

    if not knows_language(language):
        return []
    try:
        return sorted({hit.topic for hit in classify(section.text, section.heading, language)})
    except Exception as exc:  # noqa: BLE001
        log.error(f"classifying section {section.display_path!r} failed: {type(exc).__name__}: {exc}", exc_info=True)
        return []


def new_version_row(source_id: int, recorded: Recorded, text: str, latest: VersionHead | None, derived: _Derived,
                    source: SourceConfig, reverts_to: int | None) -> NewVersion:
    """The version to store and its change rows, as plain values (the same whichever way they are written);
    `reverts_to`: the seq of an earlier version with the same text."""
    changes = tuple(NewChange(
        position=position, section=rated.change.section, kind=rated.change.kind, topics=list(rated.topics),
        alert_topics=rated.alert_topics(source.topics) if reverts_to is None else [], severity=rated.severity,
        summary=rated.summary, substantive=rated.substantive, not_rated=rated.not_rated,
        before=rated.change.before, after=rated.change.after,
    ) for position, rated in enumerate(derived.changes)) if latest is not None else ()
    return NewVersion(
        source_id=source_id, seq=(latest.seq + 1) if latest else 1, fetched_at=recorded.fetched_at, url=recorded.url,
        http_status=recorded.http_status, content_type=recorded.content_type, text_hash=derived.digest,
        raw_hash=hashlib.sha256(recorded.content).hexdigest(), raw=compress(recorded.content), text=text,
        normalizer_version=NORMALIZER_VERSION, reverts_to=reverts_to, previous_id=latest.id if latest else None,
        changes=changes)


def tell_version(result: CheckResult, version: NewVersion, latest: VersionHead | None, derived: _Derived,
                  source: SourceConfig) -> None:
    """What the check's result says of the version it stored."""
    result.version = version.seq
    if latest is None:
        result.status = "new"  # the baseline: no changes, no alert
        return
    result.status, result.previous_version, result.reverts_to = "changed", latest.seq, version.reverts_to
    result.changes = derived.changes
    if version.reverts_to is None:  # a blink back is recorded but never alerted
        result.alert_topics = sorted({t for c in result.changes for t in c.alert_topics(source.topics)})


def _queues_nothing(latest: VersionHead | None, derived: _Derived, source: SourceConfig, config: Config) -> bool:
    """Whether storing this text as a new version (not a blink back) queues no alert: a first version, no
    alert-worthy change, or no channel for the source. Such a version needs no Session (`record_new_version`)."""
    if latest is None or not config.channels_for(source):
        return True
    return not any(rated.alert_topics(source.topics) for rated in derived.changes)


def _store_version(session, source_id: int, page: _Page, latest: VersionHead | None, derived: _Derived,
                   source: SourceConfig, config: Config, result: CheckResult) -> None:
    """Write the new version and its changes, and queue its alerts (one transaction). Its sections are not
    stored: they are derived from its text when read (`version_sections`), as every comparison does."""
    from monitor.store.database import ChangeRow, Store, Version

    earlier = Store.earliest_seq_with_hash(session, source_id, derived.digest) if latest else None
    new = new_version_row(source_id, Recorded.of(page.fetched), page.text, latest, derived, source, earlier)
    version = Version(**new.columns())
    session.add(version)
    session.flush()
    tell_version(result, new, latest, derived, source)
    if latest is None:
        return
    from monitor.notify.outbox import enqueue_change_alerts, enqueue_revert_alerts  # imports the rating stage

    for change in new.changes:
        session.add(ChangeRow(source_id=source_id, old_version_id=latest.id, new_version_id=version.id,
                              **{name: getattr(change, name) for name in CHANGE_COLUMNS}))
    if result.alert_topics:
        enqueue_change_alerts(session, config, source, version, result)
    elif version.reverts_to is not None:  # never news as a change; news when it undoes an alerted change
        result.reverted_alerts, result.superseded_alerts, result.requeued_alerts = enqueue_revert_alerts(
            session, config, source, version, result)


def _feed_news(result: CheckResult) -> bool:
    """An alert-worthy change is a new feed entry; a blink back can mark an older entry reverted."""
    return bool(result.alert_topics) or (result.status == "changed" and result.reverts_to is not None)


def stored_section_topics(row: VersionSection, language: str = "en") -> list[str]:
    """A version's section's topics (a row of `version_sections`): classified now unless a release that
    classified them at check time stored them (never written back: the reading commands do not write)."""
    from monitor.text.sections import Section

    if row.topics is not None:
        return list(row.topics)
    if row.headings is not None:
        path = row.headings
    else:  # a row an older release stored: its display path is all there is
        heading = "" if row.path == "(preamble)" else row.path.split(" › ")[-1]
        path = (heading,) if heading else ()
    section = Section(key=row.key, number=row.number, title=row.title, level=row.level, path=path, text=row.text)
    return section_topics(section, language)


def _record_check(session, config: Config, source: SourceConfig, source_id: int, counters: SourceHealth,
                  result: CheckResult, started_at, seconds: float) -> None:
    """Insert the check's row (the source's row was updated by Store.finish_check) and act on the source's
    health; the common case, a check that changes nothing about it, reads and writes nothing more."""
    from monitor.notify import health
    from monitor.store.database import Check, Source, Store

    check_id = Store.add_check(session.connection(), source_id, started_at=started_at,
                               duration_ms=int(seconds * 1000), outcome=result.status, http_status=result.http_status,
                               error=result.error, version_seq=result.version, reverts_to=result.reverts_to)
    blinked = result.status == "changed" and result.reverts_to is not None
    if health.is_quiet(counters, failed=result.failed, blinked=blinked, threshold=config.daemon.failure_threshold):
        return
    row, check = session.get(Source, source_id), session.get(Check, check_id)
    health.after_check(session, config, source, row, check, result)


def browser_settings(config: Config) -> BrowserSettings:
    return BrowserSettings(executable=config.browser.executable, pool=config.browser.pool,
                           max_heap=config.browser.max_heap, retries=config.fetch.retries,
                           backoff=config.fetch.backoff, idle_close=config.browser.idle_close)


def fetch_settings(config: Config) -> FetchSettings:
    return FetchSettings(retries=config.fetch.retries, backoff=config.fetch.backoff,
                         max_retry_after=config.fetch.max_retry_after,
                         per_host_delay=config.daemon.per_host_delay)


async def check_all(sources: Sequence[SourceConfig], *, config: Config, store: Store | DeferredStore,
                    fetcher: Fetcher | None = None,
                    on_result: Callable[[CheckResult], None] | None = None,
                    lock_wait: float = LOCK_WAIT, cpu: CpuPool | None = None) -> list[CheckResult]:
    """Check many sources concurrently (bounded by `daemon.concurrency`); results in input order.

    A source the daemon is checking right now is waited for (up to `lock_wait` seconds) rather than
    skipped: whoever asks for a check expects an answer about the page, not about our locks.

    A source waits for its host's turn before it takes a concurrency slot, so many sources on one
    host (or a host holding us back with Retry-After) never starve the other hosts of slots.

    Without `fetcher` and `cpu`, when `pool_size(daemon.cpu_processes, len(sources))` processes beside this
    one are wanted (by default one per core but one), the sources are split by host into that many shards
    plus one, each checked whole (fetch, fingerprint, database, CPU work) in a process of its own
    (`shard_sources`, monitor.shards): this one and one forked per other shard. `on_result` is still
    called here, as each check finishes, and `daemon.concurrency` bounds each process. Otherwise they are
    checked in this process, the CPU work in `cpu` (default: a pool of `pool_size(...)` workers, or inline).
    """
    if cpu is None and fetcher is None:
        shards = shard_sources(sources, 1 + pool_size(config.daemon.cpu_processes, len(sources)), store)
        if len(shards) > 1:
            return await _check_sharded(sources, shards, config=config, store=store, on_result=on_result,
                                        lock_wait=lock_wait)
    each = (lambda _index, result: on_result(result)) if on_result else None
    return await _check_here(sources, config=config, store=store, fetcher=fetcher, on_each=each,
                             lock_wait=lock_wait, cpu=cpu)


async def _check_here(sources: Sequence[SourceConfig], *, config: Config, store: Store, fetcher: Fetcher | None,
                      on_each: Callable[[int, CheckResult], None] | None, lock_wait: float,
                      cpu: CpuPool | None, hosts: HostClaims | None = None) -> list[CheckResult]:
    """`check_all` in this process and its event loop; `on_each(index, result)` as each check finishes.

    `daemon.concurrency` workers take turns over the hosts: a worker takes the next host that has
    sources left and no check in flight, checks its next source (in input order), and puts the host back
    at the end of the line; so one host is never asked twice at once and never holds the others back.
    Nothing is held per source but its place in its host's line (10,000 waiting tasks would be ~15 MB).

    With `hosts` (a sharded check), this process checks only the hosts it takes from there, one more
    whenever a worker finds no host ready; without, every source."""
    lines: dict[int, collections.deque[int]] = {}
    if hosts is None:
        by_host: dict[str, int] = {}
        for index, source in enumerate(sources):
            lines.setdefault(by_host.setdefault(host_key(source), len(by_host)), collections.deque()).append(index)
    ready = collections.deque(lines)   # hosts with sources left and no check in flight
    results: list[CheckResult | None] = [None] * len(sources)

    wake = asyncio.Event()  # set when a check ends: a host may be ready again, or all of ours done

    def take_host() -> bool:  # ours first; once all of ours are under way, one that nobody has started
        group = hosts.claims.take(unstarted=not lines) if hosts is not None else None
        if group is None:
            return False
        lines[group] = collections.deque(hosts.groups[group])
        ready.append(group)
        return True

    async def worker(fetcher: Fetcher, browser: BrowserPool, cpu: CpuPool) -> None:
        while True:
            if not ready and not take_host():
                if not lines:
                    return
                wake.clear()  # hosts are in flight: one of them may come back, or be the last of ours
                await wake.wait()
                continue
            host = ready.popleft()
            index = lines[host].popleft()
            result = await check_source(sources[index], config=config, store=store, fetcher=fetcher,
                                        lock_wait=lock_wait, cpu=cpu, browser=browser)
            results[index] = result
            if lines[host]:  # a host in flight goes back in line when its check ends, by the worker that checked it
                ready.append(host)
            else:
                del lines[host]
            wake.set()
            if on_each:
                on_each(index, result)

    # the browser is launched only if a `render: browser` source is checked, and shared by all of them
    async with contextlib.AsyncExitStack() as stack:
        if cpu is None:
            cpu = stack.enter_context(CpuPool(pool_size(config.daemon.cpu_processes, len(sources))))
        if fetcher is None:
            fetcher = await stack.enter_async_context(Fetcher(fetch_settings(config)))
        browser = await stack.enter_async_context(BrowserPool(browser_settings(config)))
        workers = min(config.daemon.concurrency, len(lines) if hosts is None else len(hosts.groups))
        await asyncio.gather(*(worker(fetcher, browser, cpu) for _ in range(workers)))
    return [r for r in results if r is not None]


@dataclass(frozen=True)
class HostClaims:
    """A sharded check's hosts: `groups[g]` the indices of host g's sources (in input order), taken through
    `claims` by the checking processes, each host whole by one of them."""

    groups: list[list[int]]
    claims: Claims


def host_key(source: SourceConfig) -> str:
    """The host:port whose turns a source waits for (its first URL's): checks of one host are never split."""
    return urlsplit(source.url).netloc.lower()


def shard_sources(sources: Sequence[SourceConfig], processes: int, store: Store) -> list[list[int]]:
    """The sources' indices split by host into at most `processes` shards; [] when they are checked in one
    process: fewer than 2 processes wanted, or a database a forked process cannot open (SQLite in memory)."""
    from monitor.store.deferred import DeferredStore

    if processes < 2 or len(sources) < 2:
        return []
    if not isinstance(store, DeferredStore) and store.engine.dialect.name == "sqlite" \
            and store.engine.url.database in (None, "", ":memory:"):  # a DeferredStore is a SQLite file
        return []
    from monitor.shards import split_by_key

    return split_by_key([host_key(s) for s in sources], processes)


async def _check_sharded(sources: Sequence[SourceConfig], shards: list[list[int]], *, config: Config,
                         store: Store, on_result: Callable[[CheckResult], None] | None,
                         lock_wait: float) -> list[CheckResult]:
    """`check_all` with the first shard checked here and one forked process for each other shard, each
    checking its sources whole with its own event loop, fetcher and database engine; the results come
    back here as they finish. A shard is where each process starts: one that has checked every host of
    its own takes the hosts another has not started yet (`Claims`), so a share that turns out heavier
    (its pages changed, or change at every request) is finished by every process, not by its own alone."""
    from monitor.shards import Claims, run_sharded

    results: list[CheckResult | None] = [None] * len(sources)
    groups: list[list[int]] = []
    shares: list[list[int]] = []
    for shard in shards:  # each shard's hosts, in the order their first source comes
        by_host: dict[str, list[int]] = {}
        for index in shard:
            by_host.setdefault(host_key(sources[index]), []).append(index)
        shares.append(list(range(len(groups), len(groups) + len(by_host))))
        groups.extend(by_host.values())
    hosts = HostClaims(groups, Claims(shares))

    def work(shard: Sequence[int], send: Callable[[int, CheckResult], None]) -> None:  # in the child
        global LOCK_OWNER
        LOCK_OWNER = process_owner()  # its own: if it dies, its locks are known to be a dead process's
        hosts.claims.start(shards.index(list(shard)))
        own = _store_of_process(store)  # a new engine: no connection of the parent's is ever used here
        try:
            asyncio.run(_check_here(sources, config=config, store=own, fetcher=None, on_each=send,
                                    lock_wait=lock_wait, cpu=CpuPool(0), hosts=hosts))
        finally:
            own.dispose()

    def arrived(index: int, result: CheckResult) -> None:
        results[index] = result
        if on_result:
            on_result(result)

    async def here() -> None:  # the first shard, in this process once the others are forked
        hosts.claims.start(0)
        own = _store_of_process(store) if _on_sqlite_file(store) else store
        try:
            await _check_here(sources, config=config, store=own, fetcher=None, on_each=arrived,
                              lock_wait=lock_wait, cpu=CpuPool(0), hosts=hosts)
        finally:
            if own is not store:
                own.dispose()

    started_at = utcnow()
    # what every check needs is imported once, here before the forks, not in each process: the fingerprint,
    # httpcore (httpx imports it when its first client is made) and anyio (httpcore's at its first connection),
    # the health rules (~0.1 s of CPU in all); the normalizer where a page's text is read, the rating stage where
    # a text changed
    import anyio
    import anyio.lowlevel  # noqa: F401
    import httpcore  # noqa: F401

    anyio.connect_tcp, anyio.create_memory_object_stream  # noqa: B018 — anyio imports its modules on first use

    from monitor.capture import fingerprint  # noqa: F401
    from monitor.notify import health  # noqa: F401

    store.dispose()  # no connection crosses the fork (the pool reconnects on next use)
    children: list[int] = []
    clean: set[int] = set()
    try:
        lost = await run_sharded(shards[1:], work, arrived, here=here, pids=children, clean=clean)
    finally:  # a child killed (or interrupted with us) may have held source locks: free them now
        if set(children) - clean:
            _release_locks_of(store, set(children) - clean)
    # a dead child's shard may have been finished by another process (lost says what the child did not
    # send); what nobody sent was lost with a child that took it
    anyone = next(iter(lost.values()), ("the process checking it did not finish", 0))
    for index in [i for i, r in enumerate(results) if r is None]:
        why = lost.get(index, anyone)[0]
        source = sources[index]
        result = CheckResult(source.name, source.url, "error", error=f"internal error: {why} before its check "
                                                                     f"finished")
        log.error(f"check {source.name}: {result.error}", extra={"source": source.name})
        _record_crash(store, config, source, result, started_at, 0.0)
        arrived(index, result)
    # the processes raced to write the feed: once more here
    if config.feed and any(_feed_news(r) for r in results if r is not None):
        from monitor.notify.feed import refresh_feed

        refresh_feed(store, config.feed, config.web)
    return [r for r in results if r is not None]


def _store_of_process(store: Store | DeferredStore) -> Store | DeferredStore:
    """A checking process's own store (after the fork): a DeferredStore on a SQLite file at head (it opens the
    store only when something needs it: unchanged pages and versions without alerts never do), even when the
    parent's is a Store (the first `check` of a new database, which the parent created: each new version is then
    written through sqlite3 too); else the store without migrating."""
    from monitor.store.deferred import DeferredStore

    if _on_sqlite_file(store):
        return DeferredStore.open(store.url, open_beside=False, migrate=False)
    from monitor.store.database import Store

    return Store(store.url, migrate=False)


def _on_sqlite_file(store: Store | DeferredStore) -> bool:
    """Is the database a SQLite file a DeferredStore can write through sqlite3?"""
    from monitor.store.deferred import DeferredStore, quick_url

    return isinstance(store, DeferredStore) or quick_url(store.url) is not None


def _release_locks_of(store: Store, pids: set[int]) -> None:
    """Free the source locks that ended child processes still hold (best effort: they also expire)."""
    import socket

    from sqlalchemy import update

    from monitor.store.database import Source

    owners = [f"{socket.gethostname()}:{pid}" for pid in pids]
    try:
        with store.session() as session:
            session.execute(update(Source).where(Source.lock_owner.in_(owners))
                            .values(lock_owner=None, lock_expires_at=None).execution_options(synchronize_session=False))
    except Exception as exc:  # noqa: BLE001 — the locks run out after daemon.lock_timeout anyway
        log.warning(f"could not free the locks of a dead checking process: {type(exc).__name__}: {exc}")
