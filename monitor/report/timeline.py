"""`timeline`: one entry per material change of a source (a version that changed what the policy says), as
lines or JSON, from the stored history; pure functions over `VersionRecord`s."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.meaning.significance import FORM_ONLY_SUMMARY, SEVERITY_RANK, said_in_order
from monitor.store.queries import LAYOUT_ONLY, not_shown
from monitor.store.reverts import Reverts
from monitor.store.streams import ChangeRecord, VersionRecord

SUMMARIES_PER_LINE = 3  # the rest is counted; `diff` and `timeline --json` show them all


@dataclass(frozen=True)
class TimelineEntry:
    """One version of one source as the timeline tells it.

    `kind` is "change" (material changes), or with `--all` also "first" (the first capture), "blink"
    (back to an earlier text), "form-only" (changes, none of substance) and "layout" (no section changed).
    """

    fetched_at: datetime
    source: str
    previous: int | None
    version: int
    kind: str
    topics: tuple[str, ...]
    alert_topics: tuple[str, ...]
    severity: str | None  # the highest of its rated material changes; None when none is rated
    summary: str
    changes: tuple[ChangeRecord, ...]  # the material ones
    reverted_in: int | None = None  # the later version that returned to the text before this change


def entry_of(record: VersionRecord, *, include_all: bool = False) -> TimelineEntry | None:
    """The timeline entry of a version; None for one the timeline leaves out (unless `include_all`)."""
    material = record.material_changes
    if material:
        return _entry(record, "change", material, _summary(material))
    if not include_all:
        return None
    if record.previous is None:
        kind, summary = "first", "first version captured"
    elif record.reverts_to is not None:
        kind, summary = "blink", f"back to the text of v{record.reverts_to} (a blink back: never a change alert)"
    elif record.changes:
        kind, summary = "form-only", "no change in substance: " + _form_summary(record.changes)
    else:
        kind, summary = "layout", LAYOUT_ONLY
    return _entry(record, kind, (), summary)


def _entry(record: VersionRecord, kind: str, material: tuple[ChangeRecord, ...], summary: str) -> TimelineEntry:
    rated = [c.severity for c in material if c.severity is not None]
    return TimelineEntry(
        record.fetched_at, record.source, record.previous, record.seq, kind,
        tuple(sorted({t for c in material for t in c.topics})),
        tuple(sorted({t for c in material for t in c.alert_topics})),
        max(rated, key=SEVERITY_RANK.__getitem__) if rated else None, summary, material)


def _summary(material: tuple[ChangeRecord, ...], first: Callable[[ChangeRecord], bool] | None = None) -> str:
    """The most severe changes' summaries first (those of the changes `first` picks before the rest: the ones a
    filter asked for), as many as fit one line; the changes not shown counted."""
    said, said_as = said_in_order(material, lambda c: c.severity, _said)
    summaries = list(said)
    if first is not None:
        picked = {said_as(c) for c in material if first(c)}
        summaries = [s for s in summaries if s in picked] + [s for s in summaries if s not in picked]
    more = not_shown(material, summaries[:SUMMARIES_PER_LINE], said_as)
    return "; ".join(summaries[:SUMMARIES_PER_LINE]) + (f" (+{more} more)" if more else "")


def _said(change: ChangeRecord) -> str:
    return change.summary or f"{change.kind}: {change.section}"


def _form_summary(changes: tuple[ChangeRecord, ...]) -> str:
    """`2 form-only edits; date stamp updated`: what the changes of a version without substance were."""
    counts = Counter(c.summary for c in changes)
    edits = counts.pop(FORM_ONLY_SUMMARY, 0)
    parts = ([f"{edits} form-only edit{'s' * (edits != 1)}"] if edits else []) + list(counts)
    return "; ".join(parts[:SUMMARIES_PER_LINE]) + (f" (+{len(parts) - SUMMARIES_PER_LINE} more)"
                                                    if len(parts) > SUMMARIES_PER_LINE else "")


def timeline(records: Iterable[VersionRecord], *, topic: str | None = None, min_severity: str | None = None,
             include_all: bool = False) -> Iterator[TimelineEntry]:
    """The entries of `records` (newest first, as `stream_versions(order="newest")` reads them) that pass
    the filters; a change a later blink back undid says which version did (`reverted_in`).

    `min_severity` keeps entries with a material change of that severity or higher (so never an unrated one);
    `topic` keeps entries with a material change about it; both keep entries with one change that is both (a
    high sharing change beside a medium minors one is no high minors change).
    """
    floor = SEVERITY_RANK[min_severity] if min_severity else None

    def wanted(change: ChangeRecord) -> bool:
        return (topic is None or topic in change.topics) and (
            floor is None or (change.severity is not None and SEVERITY_RANK[change.severity] >= floor))

    reverts: dict[str, Reverts] = {}  # (a clock set back can misorder a few: a mark may then be missing or stale)
    for record in records:
        entry = entry_of(record, include_all=include_all)
        if entry is not None and entry.kind == "change" and record.source in reverts:
            entry = replace(entry, reverted_in=reverts[record.source].undone_in(record.seq))
        if record.reverts_to is not None:  # after asking about its own version: it undoes older ones only
            reverts.setdefault(record.source, Reverts()).add(record.seq, record.reverts_to)
        if entry is None or ((topic is not None or floor is not None) and not any(map(wanted, entry.changes))):
            continue
        if topic is not None or floor is not None:  # the line says first what the filter asked for
            entry = replace(entry, summary=_summary(entry.changes, wanted))
        yield entry


def entry_json(entry: TimelineEntry) -> dict:
    """One entry as `timeline --json` prints it."""
    return {
        "fetched_at": entry.fetched_at.isoformat(timespec="seconds"), "source": entry.source,
        "previous_version": entry.previous, "version": entry.version, "kind": entry.kind,
        "topics": list(entry.topics), "alert_topics": list(entry.alert_topics), "severity": entry.severity,
        "summary": entry.summary, "reverted_in": entry.reverted_in,
        "changes": [{"section": c.section, "kind": c.kind, "topics": list(c.topics), "severity": c.severity,
                     "summary": c.summary, **({"not_rated": c.not_rated} if c.not_rated else {})}
                    for c in entry.changes],
    }


def versions_cell(entry: TimelineEntry) -> str:
    return f"v{entry.previous} → v{entry.version}" if entry.previous else f"v{entry.version}"


def entry_line(entry: TimelineEntry, source_width: int) -> str:
    """`2026-12-03 13:05  wemet  v2 → v3  high    sharing, minors  adds recipient: data brokers`."""
    return "  ".join((
        entry.fetched_at.strftime("%Y-%m-%d %H:%M"), entry.source.ljust(source_width),
        versions_cell(entry).ljust(11), (entry.severity or "-").ljust(8),
        topics_cell(entry.alert_topics or entry.topics).ljust(TOPICS_WIDTH),
        reverted_note(entry.reverted_in) + _one_line(entry.summary),
    )).rstrip()


TOPICS_WIDTH = 18


def topics_cell(topics: tuple[str, ...]) -> str:
    """`sharing, minors`, or as many as fit the column and the rest counted (`collection +6`), so the summaries
    stay aligned. The line shows the alert topics when a change has any (what the watcher asked about)."""
    shown: list[str] = []
    for at, topic in enumerate(topics):
        rest = len(topics) - at - 1
        cell = ", ".join([*shown, topic]) + (f" +{rest}" if rest else "")
        if len(cell) > TOPICS_WIDTH and shown:
            return ", ".join(shown) + f" +{len(topics) - at}"
        shown.append(topic)
    return ", ".join(shown) or "-"


def reverted_note(reverted_in: int | None) -> str:
    """`[reverted in v5] `: said before the summary, so a change that no longer stands never reads as current."""
    return f"[reverted in v{reverted_in}] " if reverted_in is not None else ""


def header_line(source_width: int) -> str:
    return "  ".join(("date (UTC)".ljust(16), "source".ljust(source_width), "versions".ljust(11), "severity",
                      "topics".ljust(TOPICS_WIDTH), "summary"))


def _one_line(text: str) -> str:
    """Summaries quote policy text: a newline or control character in one must not break the line."""
    return "".join(ch if ch.isprintable() else " " for ch in text)
