"""Read-side queries behind the listing commands (sources, history, show, diff) and `renormalize`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from sqlmodel import func, select

from monitor.capture.normalize import NORMALIZER_VERSION, normalize
from monitor.config import Config, SourceConfig
from monitor.errors import NoSuchVersionError, PolicyMonitorError, UnknownSourceError
from monitor.meaning.significance import changes_between
from monitor.store.database import ChangeRow, Renormalization, Source, Store, Version, decompress, text_hash


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _interval(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def source_overview(store: Store, config: Config) -> list[dict]:
    """One row per configured source: its URL, interval, last check, last outcome, number of versions."""
    with store.session() as session:
        rows = {s.name: s for s in session.exec(select(Source))}
        counts = dict(session.exec(select(Version.source_id, func.count()).group_by(Version.source_id)).all())
    out = []
    for source in config.sources:
        row = rows.get(source.name)
        out.append({
            "name": source.name, "url": source.url, "interval": _interval(source.interval),
            "topics": list(source.topics),
            "last_checked_at": _iso(row.last_checked_at) if row else None,
            "last_outcome": row.last_outcome if row else None,
            "consecutive_failures": row.consecutive_failures if row else 0,
            "versions": counts.get(row.id, 0) if row else 0,
        })
    return out


def version_history(store: Store, source: Source) -> list[dict]:
    """Every stored version of a source, oldest first, with its change count and alert topics."""
    with store.session() as session:
        versions = Store.versions(session, source.id)
        changes: dict[int, list[ChangeRow]] = {}
        for change in session.exec(select(ChangeRow).where(ChangeRow.source_id == source.id)):
            changes.setdefault(change.new_version_id, []).append(change)
    return [{
        "version": v.seq, "fetched_at": _iso(v.fetched_at), "url": v.url, "hash": v.text_hash,
        "chars": len(v.text), "changes": len(changes.get(v.id, [])),
        "alert_topics": sorted({t for c in changes.get(v.id, []) for t in c.alert_topics}),
        "reverts_to": v.reverts_to,
    } for v in versions]


def _version(session, source: Source, seq: int | None) -> Version:
    version = Store.version(session, source.id, seq) if seq is not None else Store.latest_version(session, source.id)
    if version is None:
        raise NoSuchVersionError(f"{source.name} has no version {seq} (see `policy-monitor history {source.name}`)"
                                 if seq is not None else f"{source.name} has no stored version yet")
    return version


def version_detail(store: Store, source: Source, seq: int | None) -> dict:
    """A version's normalized text and section tree."""
    with store.session() as session:
        version = _version(session, source, seq)
        sections = Store.sections(session, version.id)
    return {
        "source": source.name, "version": version.seq, "fetched_at": _iso(version.fetched_at),
        "url": version.url, "hash": version.text_hash, "reverts_to": version.reverts_to, "text": version.text,
        "sections": [{"key": s.key, "number": s.number, "title": s.title, "level": s.level, "path": s.path,
                      "topics": s.topics} for s in sections],
    }


HIDDEN_BY_DEFAULT = ("moved", "date")


def render_diff(console: Console, store: Store, source: Source, old: int | None, new: int | None, *,
                fmt: str, show_all: bool, source_config: SourceConfig | None = None) -> None:
    """Print the section changes between two versions (recomputed from their stored texts).

    They are rated as the source's checks rate them: with its configured `topics:` (which decide
    severity) and `language` (unrated in a language the classifier does not know); without a config
    entry for the source, with the defaults."""
    import json

    from monitor.compare import display as render
    with store.session() as session:
        new_v = _version(session, source, new)
        if old is not None:
            old_v = _version(session, source, old)
        else:
            old_v = _version(session, source, new_v.seq - 1) if new_v.seq > 1 else None
    if old_v is None:
        raise NoSuchVersionError(f"{source.name} has only one version: nothing to compare")
    if source_config is not None:
        rated = changes_between(old_v.text, new_v.text, source_config.topics, source_config.language)
    else:
        rated = changes_between(old_v.text, new_v.text)
    form_only = 0
    if not show_all:
        rated = [r for r in rated if r.change.kind not in HIDDEN_BY_DEFAULT]
        # form-only edits are counted, not listed: a re-spelt 10 MB policy must not print 6,000 rows
        form_only = sum(1 for r in rated if not r.substantive and not r.not_rated)
        rated = [r for r in rated if r.substantive or r.not_rated]
    if fmt == "json":
        console.file.write(json.dumps({"source": source.name, "old": old_v.seq, "new": new_v.seq,
                                       "changes": [r.to_json() for r in rated], "form_only_edits": form_only},
                                      indent=2, ensure_ascii=False) + "\n")
        return
    title = f"{source.name}: v{old_v.seq} → v{new_v.seq}"
    counted = (f"{form_only} form-only edit{'s' * (form_only != 1)} not shown (use --all to see them)"
               if form_only else "")
    nothing = ("no changes in substance" if form_only else "no changes") + (
        "" if show_all else " (use --all to include form-only edits, moves and date stamps)")
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


def renormalize_sources(store: Store, config: Config | None, names: Sequence[str] | None) -> list[dict]:
    """Re-derive every stored version's text from its raw page; record (never delete) what changed."""
    report = []
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
                raw = decompress(version.raw).decode("utf-8", errors="replace")
                try:
                    text = normalize(raw, content_type=version.content_type,
                                     select=cfg.select if cfg else None, remove=cfg.remove if cfg else ())
                except PolicyMonitorError:
                    continue  # the page no longer matches today's selector: keep the old text
                digest = text_hash(text)
                if digest == version.text_hash:
                    continue
                session.add(Renormalization(version_id=version.id, normalizer_version=NORMALIZER_VERSION,
                                            old_hash=version.text_hash, new_hash=digest, old_text=version.text))
                report.append({"source": source.name, "version": version.seq,
                               "old_hash": version.text_hash, "new_hash": digest})
                version.text, version.text_hash, version.normalizer_version = text, digest, NORMALIZER_VERSION
                session.add(version)
                _replace_sections(session, version, cfg.language if cfg else "en")
    return report


def _replace_sections(session, version: Version, language: str) -> None:
    """Sections are derived from the text, so they follow it; recorded changes stay as they were alerted."""
    from monitor.pipeline import add_sections, sections_of

    for row in Store.sections(session, version.id):
        session.delete(row)
    session.flush()
    add_sections(session, version, sections_of(version.text), language)
