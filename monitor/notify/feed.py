"""The Atom feed (`feed:` in sources.yaml): the latest alert-worthy policy changes, for feed readers."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from sqlalchemy import and_, exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from monitor.meaning.significance import SEVERITY_RANK, most_severe_first
from monitor.store.database import ChangeRow, Source, Store, Version, utcnow
from monitor.store.reverts import undoers
from monitor.store.streams import json_list_has, json_list_nonempty

if TYPE_CHECKING:
    from monitor.config import WebConfig

log = logging.getLogger("monitor.notify.feed")

ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 50
SUMMARIES_PER_ENTRY = 10


@dataclass(frozen=True)
class FeedEntry:
    """One stored version whose changes were alert-worthy."""

    source: str
    url: str
    version: int
    previous_version: int
    fetched_at: datetime
    topics: list[str]
    severity: str
    summaries: list[tuple[str, str]]  # (section path, summary) of each alert-worthy change, most severe first
    reverted_in: int | None = None  # the later version that returned to the text before this change
    reverted_at: datetime | None = None  # when it was captured: the entry's update

    @property
    def updated(self) -> datetime:
        return self.reverted_at or self.fetched_at


def feed_entries(store: Store, limit: int = FEED_ENTRIES, *, topic: str | None = None,
                 source: str | None = None) -> list[FeedEntry]:
    """The latest versions with alert-worthy changes, newest first (blinks back never have any), each with
    the later version that undid it if one did; only those with an alert about `topic`, or of `source`,
    when given."""
    worthy = [ChangeRow.new_version_id == Version.id, json_list_nonempty(ChangeRow.alert_topics)]
    if topic is not None:
        worthy.append(json_list_has(ChangeRow.alert_topics, topic))
    # the newest captures first, whenever they were stored (a history imported later is older than what checks found)
    recent = (select(Version, Source).join(Source, Source.id == Version.source_id)
              .where(Version.seq > 1, Version.reverts_to.is_(None), exists().where(*worthy))
              .order_by(Version.fetched_at.desc(), Version.id.desc()).limit(limit))
    if source is not None:
        recent = recent.where(Source.name == source)
    with store.session() as session:
        found = session.exec(recent).all()
        changes = _alert_worthy_changes(session, [version.id for version, _ in found])
        undone = _reverts(session, found)
    entries: list[FeedEntry] = []
    for version, row in found:
        mine = changes[version.id]
        previous_seq, reverted_in, reverted_at = mine[0][1], *undone.get(version.id, (None, None))
        entries.append(FeedEntry(
            row.name, row.url, version.seq, previous_seq, version.fetched_at,
            sorted({t for c, _ in mine for t in c.alert_topics}),
            max((c.severity for c, _ in mine), key=SEVERITY_RANK.__getitem__),
            # (a feed of one topic says that topic's changes first)
            [(c.section, c.summary) for c, _ in sorted(most_severe_first(mine, lambda pair: pair[0].severity),
                                                      key=lambda pair: topic is not None
                                                      and topic not in pair[0].alert_topics)],
            reverted_in, reverted_at,
        ))
    return entries


def _alert_worthy_changes(session: Session, version_ids: list[int]) -> dict[int, list[tuple[ChangeRow, int]]]:
    """The alert-worthy changes of these versions in their order, each with its old version's seq: one query
    for the whole feed."""
    old = aliased(Version)
    rows = session.exec(select(ChangeRow, old.seq).join(old, old.id == ChangeRow.old_version_id)
                        .where(ChangeRow.new_version_id.in_(version_ids))
                        .order_by(ChangeRow.new_version_id, ChangeRow.position))
    changes: dict[int, list[tuple[ChangeRow, int]]] = {}
    for change, previous_seq in rows:
        if change.alert_topics:
            changes.setdefault(change.new_version_id, []).append((change, previous_seq))
    return changes


def _reverts(session: Session, found: list[tuple[Version, Source]]) -> dict[int, tuple[int, datetime]]:
    """For each entry a later blink back undid and none restored, by version id, the seq and capture time of the
    blink since which it is undone (reverts.py):
    the blinks of every source in the feed (after its oldest entry) read in one query."""
    entries: dict[int, dict[int, int]] = {}  # source id → {seq: version id}
    for version, _ in found:
        entries.setdefault(version.source_id, {})[version.seq] = version.id
    if not entries:
        return {}
    rows = session.exec(select(Version.source_id, Version.seq, Version.reverts_to, Version.fetched_at)
                        .where(Version.reverts_to.is_not(None),
                               or_(*(and_(Version.source_id == source_id, Version.seq > min(seqs))
                                     for source_id, seqs in entries.items())))
                        .order_by(Version.source_id, Version.seq.desc())).all()
    blinks: dict[int, list[tuple[int, int]]] = {}  # newest first, as Reverts reads them
    captured: dict[tuple[int, int], datetime] = {}
    for source_id, seq, reverts_to, fetched_at in rows:
        blinks.setdefault(source_id, []).append((seq, reverts_to))
        captured[(source_id, seq)] = fetched_at
    undone: dict[int, tuple[int, datetime]] = {}
    for source_id, mine in blinks.items():
        seqs = entries[source_id]
        for seq, by in undoers(mine, seqs).items():
            undone[seqs[seq]] = (by, captured[(source_id, by)])
    return undone


def feed_document(store: Store, *, topic: str | None = None, source: str | None = None,
                  web: WebConfig | None = None) -> bytes:
    """The Atom document: what `feed:` writes and `policy-monitor feed` prints (filtered, a feed of its own);
    `web` (the config's `web:`) links each entry to its change page when `base_url` is set."""
    filters = [f"{key}={value}" for key, value in (("topic", topic), ("source", source)) if value]
    title = "policy-monitor: privacy policy changes" + (f" ({', '.join(filters)})" if filters else "")
    feed_id = ":".join(["urn:policy-monitor:feed", *filters])
    return render_feed(feed_entries(store, topic=topic, source=source), title=title, feed_id=feed_id, web=web)


def render_feed(entries: list[FeedEntry], *, title: str = "policy-monitor: privacy policy changes",
                feed_id: str = "urn:policy-monitor:feed", now: datetime | None = None,
                web: WebConfig | None = None) -> bytes:
    """Atom 1.0 XML; every text is escaped by the XML writer, never pasted into markup.

    With `web.base_url` set, an entry's link is its change page, the `change_url` e-mails and webhooks carry
    (`WebConfig.change_url`), and the policy page follows as `rel="related"`; without, the policy page."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", title)
    _text(feed, "id", feed_id)
    _text(feed, "updated", _iso(max(e.updated for e in entries) if entries else (now or utcnow())))
    _text(ET.SubElement(feed, f"{{{ATOM}}}author"), "name", "policy-monitor")
    for entry in entries:
        item = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(item, "id", f"urn:policy-monitor:{entry.source}:v{entry.version}")
        reverted = f" (reverted in v{entry.reverted_in})" if entry.reverted_in else ""
        _text(item, "title", f"{entry.source}: {', '.join(entry.topics)} changed ({entry.severity}){reverted}")
        _text(item, "updated", _iso(entry.updated))
        change_url = web.change_url(entry.source, entry.previous_version, entry.version) if web else None
        if change_url:
            ET.SubElement(item, f"{{{ATOM}}}link", href=_NOT_XML.sub("", change_url))
            ET.SubElement(item, f"{{{ATOM}}}link", rel="related", href=_NOT_XML.sub("", entry.url))
        else:
            ET.SubElement(item, f"{{{ATOM}}}link", href=_NOT_XML.sub("", entry.url))
        for topic in entry.topics:
            ET.SubElement(item, f"{{{ATOM}}}category", term=topic)
        lines = [f"Reverted in v{entry.reverted_in}: the policy returned to the text before this change, which no "
                 f"longer stands."] if entry.reverted_in else []
        lines += [f"{section}: {summary}" for section, summary in entry.summaries[:SUMMARIES_PER_ENTRY]]
        if len(entry.summaries) > SUMMARIES_PER_ENTRY:
            lines.append(f"… and {len(entry.summaries) - SUMMARIES_PER_ENTRY} more")
        lines.append(f"See: policy-monitor diff {entry.source} {entry.previous_version} {entry.version}")
        _text(item, "summary", "\n".join(lines))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def write_feed(store: Store, path: str | Path, web: WebConfig | None = None) -> None:
    """Rewrite the feed file atomically, so a reader never sees half a file."""
    target = Path(path)
    data = feed_document(store, web=web)
    handle, temp = tempfile.mkstemp(prefix=".feed-", dir=target.parent or Path("."))
    try:
        os.fchmod(handle, _FEED_MODE & ~_umask())  # mkstemp makes it private; a feed is for readers
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def refresh_feed(store: Store, path: str | Path | None, web: WebConfig | None = None) -> None:
    """Rewrite the feed if one is configured; a feed that cannot be written is logged, never fatal."""
    if not path:
        return
    try:
        write_feed(store, path, web)
    except Exception as exc:  # a full disk or a database hiccup must not stop checks or the daemon
        log.error(f"cannot write the feed {path}: {type(exc).__name__}: {exc}", extra={"feed": str(path)})


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(parent: ET.Element, tag: str, value: str) -> None:
    # XML 1.0 cannot carry control characters at all, and a page can contain them: drop them
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = _NOT_XML.sub("", value)


_FEED_MODE = 0o644


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
