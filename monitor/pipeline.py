"""`check_source()`: the whole flow for one source, fetch to stored version and queued alerts, in one transaction."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.capture import guard
from monitor.capture.fetch import Fetcher, FetchResult, FetchSettings
from monitor.capture.normalize import NORMALIZER_VERSION, normalize
from monitor.config import Config, SourceConfig
from monitor.errors import ContentRejected, FetchError
from monitor.meaning.significance import RatedChange, changes_between
from monitor.meaning.topics import classify, knows_language
from monitor.notify import health
from monitor.notify.feed import refresh_feed
from monitor.notify.outbox import enqueue_change_alerts, enqueue_revert_alerts
from monitor.outcome import CheckResult
from monitor.store.database import (
    ChangeRow,
    Check,
    SectionRow,
    Source,
    Store,
    Version,
    compress,
    process_owner,
    text_hash,
    utcnow,
)
from monitor.text.sections import Section, parse_sections

log = logging.getLogger("monitor.check")
_SAID_LANGUAGE: set[str] = set()  # sources whose unknown language was logged (once per process)

LOCK_OWNER = process_owner()
LOCK_WAIT = 120.0   # how long `check` waits for a daemon's check of the same source (a slow fetch, retries)
LOCK_POLL = 0.25


@dataclass(frozen=True)
class _Page:
    fetched: FetchResult
    text: str


async def check_source(source: SourceConfig, *, config: Config, store: Store, fetcher: Fetcher,
                       lock_wait: float = 0.0) -> CheckResult:
    """Fetch, judge, normalize, diff and rate one source; store what was learned in one transaction.

    When another process (the daemon, another `check`) is checking the same source, wait up to
    `lock_wait` seconds for it to finish, then give up with status `skipped` (not a failure).

    Never raises: a dead URL, an HTTP error, a captcha page or an empty body comes back as a result
    with status `error` or `rejected`, recorded as a Check and never as a Version; an unexpected
    exception (a database outage, a bug) comes back as an `error` starting "internal error:", logged
    and recorded as a Check when the database allows. `check` and the daemon see the same outcome:
    after the commit, a check that alerted rewrites the Atom feed (`feed:`) here, for both.

    >>> async with Fetcher() as fetcher:                                      # doctest: +SKIP
    ...     result = await check_source(config.sources[0], config=config, store=store, fetcher=fetcher)
    >>> result.status, result.alert_topics                                      # doctest: +SKIP
    ('changed', ['retention'])
    """
    started_at, clock = utcnow(), time.monotonic()
    try:
        result = await _check_when_free(source, config=config, store=store, fetcher=fetcher,
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
    if result.alert_topics:  # after the commit, in `check` and the daemon alike; never fatal
        refresh_feed(store, config.feed)
    return result


async def _check_when_free(source: SourceConfig, *, config: Config, store: Store, fetcher: Fetcher,
                           lock_wait: float, started_at) -> CheckResult:
    with store.session() as session:
        row = Store.ensure_source(session, source.name, source.url)
        source_id = row.id
    assert source_id is not None
    give_up_at = time.monotonic() + lock_wait
    while not store.try_lock(source_id, LOCK_OWNER, config.daemon.lock_timeout):
        if time.monotonic() >= give_up_at:
            return CheckResult(source.name, source.url, "skipped",
                               error="another process is checking this source right now")
        await asyncio.sleep(LOCK_POLL)
    try:
        return await _check_locked(source, source_id, config=config, store=store, fetcher=fetcher,
                                   started_at=started_at)
    finally:
        try:
            store.unlock(source_id, LOCK_OWNER)
        except Exception as exc:  # noqa: BLE001 — what was committed stands; the lock expires (lock_timeout)
            log.warning(f"check {source.name}: could not release its lock: {type(exc).__name__}",
                        extra={"source": source.name})


def _record_crash(store: Store, config: Config, source: SourceConfig, result: CheckResult, started_at,
                  seconds: float) -> None:
    """Record an unexpected failure as an `error` check, so history and health show it; best effort.

    A crash is a failed check like a dead URL: it counts towards `daemon.failure_threshold` and
    queues `source.failing` (and later `source.recovered`) the same way, in the same transaction."""
    try:
        with store.session() as session:
            row = Store.ensure_source(session, source.name, source.url)
            check = _record_check(session, row, result, started_at, seconds)
            health.after_check(session, config, source, row, check, result)
    except Exception as exc:  # noqa: BLE001 — the database itself is what failed: the log line must do
        log.debug(f"check {source.name}: could not record the failure: {type(exc).__name__}: {exc}")


async def _check_locked(source: SourceConfig, source_id: int, *, config: Config, store: Store,
                        fetcher: Fetcher, started_at) -> CheckResult:
    clock = time.monotonic()
    with store.session() as session:
        row = session.get(Source, source_id)
        latest = Store.latest_version(session, source_id)
        validators = (row.etag, row.last_modified) if latest else (None, None)
        previous_text = latest.text if latest else None
        previous_url = latest.url if latest else None
    result = CheckResult(source.name, source.url, "unchanged", version=latest.seq if latest else None)

    page: _Page | None = None
    try:
        page = await _fetch_page(source, fetcher, etag=validators[0], last_modified=validators[1])
        result.http_status = page.fetched.status_code
        if not page.fetched.not_modified:
            page = await _judge(page, source, fetcher, previous_text, previous_url)
    except FetchError as exc:
        result.status, result.error, result.http_status = "error", str(exc), exc.status_code
    except ContentRejected as exc:
        result.status, result.error = "rejected", str(exc)

    # the CPU-heavy comparison runs before the write transaction, so the database is held only to write
    fresh = page is not None and result.status == "unchanged" and not page.fetched.not_modified
    derived = _derive(page.text, latest, source) if fresh else None
    if not store.try_lock(source_id, LOCK_OWNER, config.daemon.lock_timeout):  # renews our lock, unless lost
        return CheckResult(source.name, source.url, "skipped", error="the fetch outlasted daemon.lock_timeout "
                                                                     "and another process took this source over")
    with store.session() as session:
        row = session.get(Source, source_id)
        if page is not None and result.status == "unchanged":
            _note_new_address(source, page.fetched.final_url, row.final_url)
            row.final_url = page.fetched.final_url
            _remember_validators(row, page.fetched)
            if derived is not None:
                _store_version(session, row, page, latest, derived, source, config, result)
        check = _record_check(session, row, result, started_at, time.monotonic() - clock)
        health.after_check(session, config, source, row, check, result)
    return result


async def _fetch_page(source: SourceConfig, fetcher: Fetcher, *, etag: str | None = None,
                      last_modified: str | None = None) -> _Page:
    fetched = await fetcher.fetch(source.url, language=source.language, timeout=source.timeout,
                                  max_bytes=source.max_bytes, etag=etag, last_modified=last_modified)
    if fetched.not_modified:
        return _Page(fetched, "")
    text = normalize(fetched.text, content_type=fetched.content_type, select=source.select, remove=source.remove)
    return _Page(fetched, text)


async def _judge(page: _Page, source: SourceConfig, fetcher: Fetcher, previous_text: str | None,
                 previous_url: str | None) -> _Page:
    """Refuse pages that are not plausibly the policy; accept a drastic change only if a re-fetch agrees."""
    verdict = guard.judge(page.text, previous=previous_text, language=source.language, requested_url=source.url,
                          final_url=page.fetched.final_url, previous_url=previous_url)
    if not verdict.accepted:
        raise ContentRejected(verdict.reason or "not the policy page")
    if verdict.needs_confirmation:
        again = await _fetch_page(source, fetcher)
        if again.text != page.text:
            raise ContentRejected(f"{verdict.reason}; not confirmed by an immediate re-fetch")
    return page


def _note_new_address(source: SourceConfig, final_url: str, last_final_url: str | None) -> None:
    """Say once, when it starts, that the policy is now served from another address than configured."""
    if final_url != source.url and last_final_url is not None and final_url != last_final_url:
        log.warning(f"{source.name}: {source.url} now redirects to {final_url}; if the policy moved for good, "
                    f"set `url` to the new address", extra={"source": source.name, "final_url": final_url})


@dataclass(frozen=True)
class _Derived:
    """What a new text says against the latest version (pure: sections, and the rated changes)."""

    digest: str
    sections: list[Section]
    changes: list[RatedChange]


def _derive(text: str, latest: Version | None, source: SourceConfig) -> _Derived | None:
    """None when the text is the latest version's; otherwise its sections and rated changes."""
    digest = text_hash(text)
    if latest is not None and latest.text_hash == digest:
        return None
    if not knows_language(source.language) and source.name not in _SAID_LANGUAGE:
        _SAID_LANGUAGE.add(source.name)
        log.warning(f"{source.name}: topics and significance are not available in language "
                    f"{source.language!r}; changes are stored and diffed but reported unrated",
                    extra={"source": source.name})
    changes = changes_between(latest.text, text, source.topics, source.language) if latest else []
    return _Derived(digest, sections_of(text), changes)


def sections_of(text: str) -> list[Section]:
    """The text's sections; should sectioning fail on some text, the whole text is one section."""
    try:
        return parse_sections(text)
    except Exception as exc:  # noqa: BLE001 — a version is stored whatever its structure
        log.error(f"sectioning failed: {type(exc).__name__}: {exc}", exc_info=True)
        return [Section(key="whole-policy", number=None, title="", level=0, path=(), text=text)]


def section_topics(section: Section, language: str = "en") -> list[str]:
    """The topics of a stored section ([] in an unknown language, or when classification fails)."""
    if not knows_language(language):
        return []
    try:
        return sorted({hit.topic for hit in classify(section.text, section.heading, language)})
    except Exception as exc:  # noqa: BLE001
        log.error(f"classifying section {section.display_path!r} failed: {type(exc).__name__}: {exc}", exc_info=True)
        return []


def _store_version(session, row: Source, page: _Page, latest: Version | None, derived: _Derived,
                   source: SourceConfig, config: Config, result: CheckResult) -> None:
    """Write the new version, its sections and changes, and queue its alerts (one transaction)."""
    digest = derived.digest
    earlier = Store.earliest_version_with_hash(session, row.id, digest) if latest else None
    version = Version(
        source_id=row.id, seq=(latest.seq + 1) if latest else 1, url=page.fetched.final_url,
        http_status=page.fetched.status_code, content_type=page.fetched.content_type, text_hash=digest,
        raw_hash=hashlib.sha256(page.fetched.content).hexdigest(), raw=compress(page.fetched.content), text=page.text,
        normalizer_version=NORMALIZER_VERSION, reverts_to=earlier.seq if earlier else None,
    )
    session.add(version)
    session.flush()
    add_sections(session, version, derived.sections, source.language)
    result.version = version.seq
    if latest is None:
        result.status = "new"  # the baseline: no changes, no alert
        return
    result.status, result.previous_version, result.reverts_to = "changed", latest.seq, version.reverts_to
    result.changes = derived.changes
    if version.reverts_to is None:  # a blink back is recorded but never alerted
        result.alert_topics = sorted({t for c in result.changes for t in c.alert_topics(source.topics)})
    _add_changes(session, row, latest, version, result.changes, source.topics)
    if result.alert_topics:
        enqueue_change_alerts(session, config, source, version, result)
    elif version.reverts_to is not None:  # never news as a change; news when it undoes an alerted change
        result.reverted_alerts = enqueue_revert_alerts(session, config, source, version, result)


def add_sections(session, version: Version, sections: Sequence[Section], language: str = "en") -> None:
    for position, section in enumerate(sections):
        topics = section_topics(section, language)
        session.add(SectionRow(
            version_id=version.id, position=position, key=section.key, number=section.number,
            title=section.title, level=section.level, path=section.display_path, text=section.text,
            topics=topics,
        ))


def _add_changes(session, row: Source, old: Version, new: Version, changes: Sequence[RatedChange],
                 watched: Sequence[str]) -> None:
    for position, rated in enumerate(changes):
        c = rated.change
        session.add(ChangeRow(
            source_id=row.id, old_version_id=old.id, new_version_id=new.id, position=position,
            section=c.section, kind=c.kind, topics=list(rated.topics),
            alert_topics=rated.alert_topics(watched) if new.reverts_to is None else [],
            severity=rated.severity, summary=rated.summary, before=c.before, after=c.after,
            not_rated=rated.not_rated,
        ))


def _remember_validators(row: Source, fetched: FetchResult) -> None:
    if not fetched.not_modified:
        row.etag, row.last_modified = fetched.etag, fetched.last_modified


def _record_check(session, row: Source, result: CheckResult, started_at, seconds: float) -> Check:
    check = Check(
        source_id=row.id, started_at=started_at, duration_ms=int(seconds * 1000), outcome=result.status,
        http_status=result.http_status, error=result.error, version_seq=result.version,
        reverts_to=result.reverts_to,
    )
    session.add(check)
    row.last_checked_at, row.last_outcome = started_at, result.status
    row.consecutive_failures = row.consecutive_failures + 1 if result.failed else 0
    return check


def fetch_settings(config: Config) -> FetchSettings:
    return FetchSettings(retries=config.fetch.retries, backoff=config.fetch.backoff,
                         max_retry_after=config.fetch.max_retry_after,
                         per_host_delay=config.daemon.per_host_delay)


async def check_all(sources: Sequence[SourceConfig], *, config: Config, store: Store,
                    fetcher: Fetcher | None = None,
                    on_result: Callable[[CheckResult], None] | None = None,
                    lock_wait: float = LOCK_WAIT) -> list[CheckResult]:
    """Check many sources concurrently (bounded by `daemon.concurrency`); results in input order.

    A source the daemon is checking right now is waited for (up to `lock_wait` seconds) rather than
    skipped: whoever asks for a check expects an answer about the page, not about our locks.

    A source waits for its host's turn before it takes a concurrency slot, so many sources on one
    host (or a host holding us back with Retry-After) never starve the other hosts of slots.
    """
    limit = asyncio.Semaphore(config.daemon.concurrency)
    host_turns: dict[str, asyncio.Lock] = {}

    async def one(source: SourceConfig, fetcher: Fetcher) -> CheckResult:
        async with host_turns.setdefault(urlsplit(source.url).netloc.lower(), asyncio.Lock()), limit:
            result = await check_source(source, config=config, store=store, fetcher=fetcher, lock_wait=lock_wait)
        if on_result:
            on_result(result)
        return result

    if fetcher is not None:
        return list(await asyncio.gather(*(one(s, fetcher) for s in sources)))
    async with Fetcher(fetch_settings(config)) as own:
        return list(await asyncio.gather(*(one(s, own) for s in sources)))
