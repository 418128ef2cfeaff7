"""An archive's recorded versions stored as a source's history before its first check: read, judged and rated
as checks do, dated as they were captured, and never alerted (old changes are history, not news).

Only a source with no stored version takes an archive: its versions must come before every check's, and the
source's validators and fingerprint must stand for the version a check will compare with next. Each recorded
capture is read like a fetched page (`capture_selectors`: the source's `select`/`remove` apply to HTML captures;
an archive's Markdown or text is the policy already extracted), judged by the guard against the version before
it (an error page or a captcha someone archived is left out, as a check leaves it out), compared and rated; a
capture with the text of the version before it is no version; one returning to an earlier text is a blink back.
A drastic change is kept, with the guard's reason: an archive cannot be fetched again to confirm it, and it is
what the address served. An imported version's address is where its capture is kept (a file:// URI, with
`#commit:path` for git, `archive.is_archived`), and it carries no HTTP status.

The source's lock is held while the captures are rated (renewed as it goes, so no check stores a version
meanwhile) and released in the one transaction that writes every version, or none.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.exc import IntegrityError

from monitor.capture.archive import ArchivedVersion
from monitor.capture.document import capture_selectors, document_text
from monitor.config import Config, SourceConfig
from monitor.errors import PolicyMonitorError, UsageError
from monitor.outcome import CheckResult
from monitor.pipeline import Recorded, derive_changes, new_version_row, tell_version
from monitor.store.database import ChangeRow, Source, Store, Version
from monitor.store.plain import CHANGE_COLUMNS, NewVersion, VersionHead, process_owner


@dataclass(frozen=True)
class Backfilled:
    """What became of one recorded capture: its result in `check`'s words (`alert_topics`: what a check would
    have alerted on; nothing is sent)."""

    archived: ArchivedVersion
    result: CheckResult


def backfill(source: SourceConfig, archived: Sequence[ArchivedVersion], *, config: Config, store: Store | None,
             dry_run: bool = False) -> list[Backfilled]:
    """Store `archived` (oldest first) as the history of `source`, which must have no version yet; with
    `dry_run`, only say what would be stored (nothing is written, not even the source's row; `store` None:
    there is no database yet)."""
    if dry_run or store is None:
        ensure_no_versions(store, source)
        return _rated(source, archived)[0]
    owner, ttl = process_owner(), config.daemon.lock_timeout
    claim = store.claim(source.name, source.url, owner, ttl)
    if claim is None:
        raise _busy(source)
    written = False
    try:
        if claim.latest is not None:
            raise _already_checked(source)

        def keep_lock() -> None:
            if store.claim(source.name, source.url, owner, ttl) is None:
                raise _busy(source)

        outcomes, versions = _rated(source, archived, source_id=claim.id, keep_lock=keep_lock, every=ttl / 3)
        _write(store, source, claim.id, versions, owner)
        written = True
        if config.feed and any(b.result.alert_topics for b in outcomes):  # its file says what the command prints
            from monitor.notify.feed import refresh_feed

            refresh_feed(store, config.feed, config.web)
        return outcomes
    finally:
        if not written:
            with store.transaction() as conn:
                Store.release_source(conn, claim.id, owner)


def _write(store: Store, source: SourceConfig, source_id: int, versions: Sequence[NewVersion], owner: str) -> None:
    """Every version and its changes, and the lock's release, in one transaction: none if the lock is no longer
    ours (a check took the source after it expired) or the source gained a version meanwhile."""
    try:
        with store.session() as session:
            if not Store.release_source(session.connection(), source_id, owner):
                raise _busy(source)
            ids: dict[int, int] = {}  # seq → the id of its row
            for version in versions:
                row = Version(**replace(version, previous_id=ids.get(version.seq - 1)).columns())
                session.add(row)
                session.flush()
                ids[version.seq] = row.id
                session.add_all(ChangeRow(source_id=source_id, old_version_id=ids[version.seq - 1],
                                          new_version_id=row.id, **{name: getattr(c, name) for name in CHANGE_COLUMNS})
                                for c in version.changes)
                session.flush()
                session.expunge_all()  # written: the session need not hold a thousand texts until the commit
    except IntegrityError:
        raise _already_checked(source) from None  # a check stored a version between the rating and the write


def _rated(source: SourceConfig, archived: Sequence[ArchivedVersion], *, source_id: int = 0, keep_lock=None,
           every: float = 60.0) -> tuple[list[Backfilled], list[NewVersion]]:
    """Each capture read, judged and rated against the version before it; the versions to store (their
    `previous_id` left for the writer, which knows the rows' ids). `keep_lock` is called at least `every` seconds."""
    from monitor.capture import guard

    outcomes: list[Backfilled] = []
    versions: list[NewVersion] = []
    latest: VersionHead | None = None
    previous_text: str | None = None
    seq_of_text: dict[str, int] = {}  # text hash → the first version with it (blinks back)
    renewed = time.monotonic()
    for capture in archived:
        if keep_lock is not None and time.monotonic() - renewed > every:
            keep_lock()
            renewed = time.monotonic()
        result = CheckResult(source.name, source.url, "unchanged", version=latest.seq if latest else None)
        outcomes.append(Backfilled(capture, result))
        try:
            if capture.size() > source.max_bytes:  # never read whole
                result.status, result.error = "rejected", f"larger than max_bytes ({source.max_bytes:,} bytes)"
                continue
            content = capture.read(source.max_bytes)
            if len(content) > source.max_bytes:  # grown since, or a size the file system does not know
                result.status, result.error = "rejected", f"larger than max_bytes ({source.max_bytes:,} bytes)"
                continue
        except OSError as exc:  # a file that vanished or may not be read: that capture is not read, no more
            result.status, result.error = "rejected", f"cannot be read ({type(exc).__name__}: {exc.strerror or exc})"
            continue
        select, remove = capture_selectors(capture.content_type, source.select, source.remove, archived=True)
        try:
            text = document_text(content, content_type=capture.content_type, url=source.url, select=select,
                                 remove=remove)
        except PolicyMonitorError as exc:  # a PDF that is not one, `select` matching nothing…
            result.status, result.error = "rejected", str(exc)
            continue
        verdict = guard.judge(text, previous=previous_text, language=source.language)
        if not verdict.accepted:
            result.status, result.error = "rejected", verdict.reason
            continue
        derived = derive_changes(text, latest, previous_text, source)
        if derived is None:
            continue  # the text of the version before it
        reverts_to = seq_of_text.get(derived.digest)
        # an archive kept no HTTP status; the version keeps where the capture is (a file:// address)
        recorded = Recorded(content, capture.origin, capture.content_type, None, capture.captured_at)
        version = new_version_row(source_id, recorded, text, latest, derived, source, reverts_to)
        tell_version(result, version, latest, derived, source)  # in a check's words (alert topics: what it would say)
        if verdict.needs_confirmation:  # an archive cannot be fetched again: what it recorded is what was served
            result.drastic = f"{verdict.reason} (as recorded)"
        versions.append(version)
        seq_of_text.setdefault(derived.digest, version.seq)
        latest, previous_text = VersionHead(0, version.seq, source.url, derived.digest), text
    return outcomes, versions


def ensure_no_versions(store: Store | None, source: SourceConfig) -> None:
    """Refuse, before an archive is read, a source that has a stored version (`store` None: no database yet)."""
    if store is not None and _has_versions(store, source.name):
        raise _already_checked(source)


def _has_versions(store: Store, name: str) -> bool:
    from sqlmodel import select

    with store.session() as session:
        return session.exec(select(Version.id).join(Source, Source.id == Version.source_id)
                            .where(Source.name == name).limit(1)).first() is not None


def _already_checked(source: SourceConfig) -> UsageError:
    return UsageError(f"{source.name} already has stored versions: an archive can only be imported before a "
                      "source's first check (with a daemon running, import before it reloads the config that adds "
                      "the source; to keep both, import into a new database)")


def _busy(source: SourceConfig) -> UsageError:
    return UsageError(f"another process is checking {source.name} right now: stop the daemon (or wait for the "
                      "check to end) and import again")
