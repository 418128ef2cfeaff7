"""Read-side queries behind the listing commands (sources, history, show, diff) and `renormalize`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rich.console import Console
from sqlmodel import func, select

from monitor.capture.archive import is_archived
from monitor.capture.body_kind import NORMALIZER_VERSION
from monitor.capture.document import capture_selectors, document_text
from monitor.config import Config, SourceConfig
from monitor.errors import NoSuchVersionError, PolicyMonitorError, UnknownSourceError
from monitor.meaning.material import is_material
from monitor.meaning.significance import RatedChange, changes_between
from monitor.store.database import (
    ChangeRow,
    Renormalization,
    SectionRow,
    Source,
    Store,
    Version,
    decompress,
    text_hash,
)
from monitor.store.plain import VersionSection
from monitor.store.reverts import Reverts

T = TypeVar("T")


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _interval(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def source_urls(config: Config | None, name: str, stored_url: str) -> list[str]:
    """Every part's URL of a source (a policy split over pages has several), wherever its address is shown:
    as configured, else (a source since removed from sources.yaml) the one stored with it."""
    configured = config.source(name) if config else None
    return [str(u) for u in configured.urls] if configured else [stored_url]


def source_overview(store: Store, config: Config) -> list[dict]:
    """One row per configured source: its URL, interval, last check, last outcome, number of versions."""
    with store.session() as session:
        rows = {s.name: s for s in session.exec(select(Source))}
        counts = dict(session.exec(select(Version.source_id, func.count()).group_by(Version.source_id)).all())
    out = []
    for source in config.sources:
        row = rows.get(source.name)
        out.append({
            "name": source.name, "url": source.url, "urls": source_urls(config, source.name, source.url),
            "interval": _interval(source.interval),
            "topics": list(source.topics),
            "last_checked_at": _iso(row.last_checked_at) if row else None,
            "last_outcome": row.last_outcome if row else None,
            "consecutive_failures": row.consecutive_failures if row else 0,
            "versions": counts.get(row.id, 0) if row else 0,
        })
    return out


LAYOUT_ONLY = "layout only: no clause changed"  # a new text whose sections all read as before


def without_substance(changes: Sequence[tuple[str, bool, str | None]]) -> str | None:
    """What a later version (not the first, not a blink back) is whose changes, each a (kind, substantive,
    not_rated), are none of substance: `LAYOUT_ONLY` when it has none (its text differs, no clause does),
    "date stamp only" when each is a date stamp, else "form only" (spelling, order, moves, renames); None when
    one is material (`is_material`: of substance, or not rated: nobody judged that one harmless).
    The one rule of `check`'s details, `history`'s note and the web view's source page."""
    if not changes:
        return LAYOUT_ONLY
    if any(is_material(substantive, not_rated) for _, substantive, not_rated in changes):
        return None
    return "date stamp only" if all(kind == "date" for kind, *_ in changes) else "form only"


def not_shown(changes: Iterable[T], shown: Iterable[str], summary: Callable[[T], str]) -> int:
    """How many of the changes a view lists are not shown: those whose summary is not among the `shown`
    ones (a summary said once for several sections covers each of them). The one count behind every
    "+N more": `check`'s details, `timeline`, the web overview and source page."""
    said = set(shown)
    return sum(1 for c in changes if summary(c) not in said)


def version_history(store: Store, source: Source) -> list[dict]:
    """Every stored version of a source, oldest first, with its change count, alert topics, what it is when
    none of its changes is of substance (`without_substance`) and, for a change a later blink back undid,
    that version (`reverted_in`).

    Reads columns, not rows: a source with 1,000 versions must not load 1,000 texts and raw pages."""
    with store.session() as session:
        versions = session.exec(
            select(Version.id, Version.seq, Version.fetched_at, Version.url, Version.text_hash,
                   func.length(Version.text), Version.reverts_to)
            .where(Version.source_id == source.id).order_by(Version.seq)).all()
        topics_of: dict[int, list[list[str]]] = {}
        kinds_of: dict[int, list[tuple[str, bool, str | None]]] = {}
        for new_id, alert_topics, kind, substantive, not_rated in session.exec(
                select(ChangeRow.new_version_id, ChangeRow.alert_topics, ChangeRow.kind, ChangeRow.substantive,
                       ChangeRow.not_rated).where(ChangeRow.source_id == source.id)):
            topics_of.setdefault(new_id, []).append(alert_topics)
            kinds_of.setdefault(new_id, []).append((kind, substantive, not_rated))
    reverts = Reverts((seq, reverts_to) for _, seq, *_, reverts_to in reversed(versions) if reverts_to is not None)
    undone = {seq: reverts.undone_in(seq) for id_, seq, *_ in reversed(versions) if any(topics_of.get(id_, ()))}
    return [{
        "version": seq, "fetched_at": _iso(fetched_at), "url": url, "hash": digest,
        "chars": chars, "changes": len(topics_of.get(id_, [])),
        "alert_topics": sorted({t for topics in topics_of.get(id_, []) for t in topics}),
        "without_substance": None if reverts_to or seq == 1 else without_substance(kinds_of.get(id_, [])),
        "reverts_to": reverts_to, "reverted_in": undone.get(seq), "imported": is_archived(url),
    } for id_, seq, fetched_at, url, digest, chars, reverts_to in versions]


def _version(session, source: Source, seq: int | None) -> Version:
    version = Store.version(session, source.id, seq) if seq is not None else Store.latest_version(session, source.id)
    if version is None:
        raise NoSuchVersionError(f"{source.name} has no version {seq} (see `policy-monitor history {source.name}`)"
                                 if seq is not None else f"{source.name} has no stored version yet")
    return version


def version_detail(store: Store, source: Source, seq: int | None, language: str = "en", *,
                   with_sections: bool = True) -> dict:
    """A version's normalized text and, `with_sections`, its section tree (topics not classified yet are
    classified now, in `language`, and not stored). Without, no section is parsed or classified (printing
    the text, or a page that lists the sections its own way)."""
    from monitor.pipeline import stored_section_topics

    with store.session() as session:
        version = _version(session, source, seq)
        sections = version_sections(session, version.id, version.text) if with_sections else []
    detail = {
        "source": source.name, "version": version.seq, "fetched_at": _iso(version.fetched_at),
        "url": version.url, "hash": version.text_hash, "reverts_to": version.reverts_to, "text": version.text,
    }
    if with_sections:
        detail["sections"] = [{"key": s.key, "number": s.number, "title": s.title, "level": s.level, "path": s.path,
                               "topics": stored_section_topics(s, language)} for s in sections]
    return detail


def version_sections(session, version_id: int, text: str) -> list[VersionSection]:
    """A version's sections, in order: derived from its text now (`pipeline.sections_of`, the parse every
    comparison makes, ~1 ms for a 30 KB policy), or the rows stored with it by a release that stored
    sections at check time."""
    stored = Store.sections(session, version_id)
    return [as_version_section(row) for row in stored] if stored else derived_sections(text)


def derived_sections(text: str) -> list[VersionSection]:
    """A version's sections from its text, as a check once stored them (topics None: classified when shown)."""
    from monitor.pipeline import sections_of

    return [VersionSection(position, s.key, s.number, s.title, s.level, s.display_path, s.text, headings=s.path)
            for position, s in enumerate(sections_of(text))]


def as_version_section(row: SectionRow) -> VersionSection:
    """A section row an older release stored, as the readers see sections."""
    return VersionSection(row.position, row.key, row.number, row.title, row.level, row.path, row.text,
                          tuple(row.topics) if row.topics is not None else None)


HIDDEN_BY_DEFAULT = ("moved", "date")


@dataclass(frozen=True)
class VersionDiff:
    """Every rated section change between two stored versions of a source (what `diff` and the web show)."""

    source: str
    old: Version
    new: Version
    rated: list[RatedChange]

    def listed(self, show_all: bool = False) -> tuple[list[RatedChange], int]:
        """The changes to list and how many form-only edits were left out: without `show_all`, form-only
        edits are counted, not listed (a re-spelt 10 MB policy must not print 6,000 rows), and moves and
        date stamps are left out."""
        if show_all:
            return list(self.rated), 0
        rated = [r for r in self.rated if r.change.kind not in HIDDEN_BY_DEFAULT]
        listed = [r for r in rated if r.material]
        return listed, len(rated) - len(listed)

    def to_json(self, show_all: bool = False) -> dict:
        """The `diff --format json` document."""
        listed, form_only = self.listed(show_all)
        return {"source": self.source, "old": self.old.seq, "new": self.new.seq,
                "changes": [r.to_json() for r in listed], "form_only_edits": form_only}


def diff_versions(store: Store, source: Source, old: int | None, new: int | None) -> tuple[Version, Version]:
    """Versions `old` (default: the one before `new`) and `new` (default: the latest) of a source."""
    with store.session() as session:
        new_v = _version(session, source, new)
        if old is not None:
            old_v = _version(session, source, old)
        else:
            old_v = _version(session, source, new_v.seq - 1) if new_v.seq > 1 else None
    if old_v is None:
        raise NoSuchVersionError(f"{source.name} has only one version: nothing to compare")
    return old_v, new_v


def rate_versions(old_v: Version, new_v: Version, source_config: SourceConfig | None = None) -> list[RatedChange]:
    """The rated changes between two stored texts, as the source's checks rate them: with its configured
    `topics:` and `language` when `source_config` is given, else with the defaults."""
    if source_config is not None:
        return changes_between(old_v.text, new_v.text, source_config.topics, source_config.language)
    return changes_between(old_v.text, new_v.text)


def version_diff(store: Store, source: Source, old: int | None, new: int | None,
                 source_config: SourceConfig | None = None) -> VersionDiff:
    """The changes between two versions (see `diff_versions`), recomputed from the stored texts."""
    old_v, new_v = diff_versions(store, source, old, new)
    return VersionDiff(source.name, old_v, new_v, rate_versions(old_v, new_v, source_config))


def render_diff(console: Console, store: Store, source: Source, old: int | None, new: int | None, *,
                fmt: str, show_all: bool, source_config: SourceConfig | None = None) -> None:
    """Print the section changes between two versions (recomputed from their stored texts), rated with
    the source's configured topics and language when `source_config` is given, else with the defaults."""
    import json

    from monitor.compare import display as render
    diff = version_diff(store, source, old, new, source_config)
    if fmt == "json":
        console.file.write(json.dumps(diff.to_json(show_all), indent=2, ensure_ascii=False) + "\n")
        return
    old_v, new_v = diff.old, diff.new
    rated, form_only = diff.listed(show_all)
    title = f"{source.name}: v{old_v.seq} → v{new_v.seq}"
    counted = (f"{form_only} form-only edit{'s' * (form_only != 1)} not shown: --all lists them"
               if form_only else "")
    # moves and date stamps are left out unlisted: say so when they are all a version changed (a date-stamp-only
    # version is one `history` and the web call "date stamp only", not "no changes"); a new text whose clauses
    # all read as before is layout only, as `history` calls it; only the same text twice is "no changes"
    if diff.rated:
        nothing = "no changes in substance (use --all to include form-only edits, moves and date stamps)"
    else:
        nothing = "no changes" if old_v.text_hash == new_v.text_hash else LAYOUT_ONLY
    if counted and rated:
        title += f" ({counted})"
    if fmt == "rich" and not console.is_terminal:
        fmt = "text"  # colours are all that marks deletions in rich output; a pipe would lose them
    if fmt == "rich":
        console.rule(title)
        colourless = console.no_color or console.color_system is None  # NO_COLOR, TERM=dumb…: mark by text
        console.print(render.render_rich(rated, markers=colourless) if rated else nothing)
    elif fmt == "markdown":
        console.file.write(f"# {title}\n\n" + (render.render_markdown(rated) if rated else f"*{nothing}*\n") + "\n")
    else:
        console.file.write(f"{title}\n\n" + (render.render_text(rated) if rated else nothing + "\n") + "\n")


PRUNED_REASON = "its raw page was pruned (`prune`): nothing to re-derive the text from"


def renormalize_sources(store: Store, config: Config | None, names: Sequence[str] | None) -> dict[str, list[dict]]:
    """Re-derive every stored version's text from its raw page; record (never delete) what changed.

    `rederived`: the versions whose text changed; `skipped`: those that keep their stored text, each with
    why (a pruned raw page, or a page today's `select`/`remove` or normalizer cannot read: what `check`
    would reject)."""
    report: list[dict] = []
    skipped: list[dict] = []
    with store.session() as session:
        query = select(Source)
        if names:
            known = set(session.exec(select(Source.name).where(Source.name.in_(names))))
            if unknown := [n for n in names if n not in known]:
                raise UnknownSourceError(f"unknown source {unknown[0]!r}: it has never been checked "
                                         f"(see `policy-monitor sources`)")
            query = query.where(Source.name.in_(names))
        for source in session.exec(query):
            cfg = config.source(source.name) if config else None
            for version in Store.versions(session, source.id):
                if version.raw_pruned:
                    skipped.append({"source": source.name, "version": version.seq, "reason": PRUNED_REASON})
                    continue
                select_, remove = capture_selectors(version.content_type, cfg.select if cfg else None,
                                                    cfg.remove if cfg else (), archived=is_archived(version.url))
                try:
                    text = document_text(decompress(version.raw), content_type=version.content_type, url=version.url,
                                         select=select_, remove=remove)
                except PolicyMonitorError as exc:  # e.g. today's selector matches nothing in it: keep the old text
                    skipped.append({"source": source.name, "version": version.seq, "reason": str(exc)})
                    continue
                digest = text_hash(text)
                if digest == version.text_hash:
                    continue
                session.add(Renormalization(version_id=version.id, normalizer_version=NORMALIZER_VERSION,
                                            old_hash=version.text_hash, new_hash=digest, old_text=version.text))
                report.append({"source": source.name, "version": version.seq,
                               "old_hash": version.text_hash, "new_hash": digest})
                version.text, version.text_hash, version.normalizer_version = text, digest, NORMALIZER_VERSION
                session.add(version)
                _replace_sections(session, version)
    return {"rederived": report, "skipped": skipped}


def _replace_sections(session, version: Version) -> None:
    """Sections follow the text: rows an older release stored for the old text go, and the new text's are
    derived when read; recorded changes stay as they were alerted."""
    for row in Store.sections(session, version.id):
        session.delete(row)
