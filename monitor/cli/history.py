"""CLI commands that read the stored history as a whole: `timeline`, `export`, `feed`; and `prune`."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TextIO

import typer

from monitor.cli.common import JsonOption, app, ctx_obj, out, print_json
from monitor.errors import UsageError
from monitor.meaning.names import TOPICS

if TYPE_CHECKING:  # the command line loads no database stack until a command runs (see tests/test_startup.py)
    from monitor.store.database import Store

Format = Literal["json", "jsonl", "csv", "markdown", "git"]


def _topic(value: str | None) -> str | None:
    if value is not None and value.lower() not in TOPICS:
        raise UsageError(f"unknown topic {value!r} (topics: {', '.join(TOPICS)})")
    return value.lower() if value is not None else None


def _severity(value: str | None) -> str | None:
    from monitor.meaning.significance import SEVERITY_RANK

    if value is not None and value not in SEVERITY_RANK:
        raise UsageError(f"unknown severity {value!r} (severities, lowest first: {', '.join(SEVERITY_RANK)})")
    return value


def _date(value: str | None) -> datetime | None:
    """An ISO date or date-time; without a time zone, UTC (as every time policy-monitor prints)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"--since must be a date like 2026-01-31 or 2026-01-31T12:00, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sources(store: Store, names: list[str] | None) -> list[str] | None:
    from monitor.store.streams import require_sources

    if not names:
        return None
    with store.session() as session:
        return require_sources(session, names)


@app.command()
def timeline(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Sources (default: all in the database).")] = None,
    topic: Annotated[str | None, typer.Option("--topic", metavar="TOPIC", help="Only changes about this topic "
                     f"({', '.join(TOPICS)}).")] = None,
    since: Annotated[str | None, typer.Option("--since", metavar="DATE", help="Only versions captured on or after "
                     "this date (2026-01-31, or 2026-01-31T12:00; UTC).")] = None,
    severity: Annotated[str | None, typer.Option("--severity", metavar="SEVERITY", help="Only changes of this "
                        "severity or higher: low, medium or high (with --topic: one change both about the topic "
                        "and this severe).")] = None,
    include_all: Annotated[bool, typer.Option("--all", help="Also first captures, blinks back, form-only and "
                                                            "layout-only versions.")] = False,
    as_json: JsonOption = False,
) -> None:
    """One line per material change, newest first: date, source, versions, severity, topics, summary."""
    from monitor.report.timeline import entry_json, entry_line, header_line
    from monitor.report.timeline import timeline as entries
    from monitor.store.streams import all_source_names, stream_versions

    topic, severity, moment = _topic(topic), _severity(severity), _date(since)
    store = ctx_obj(ctx).store(read_only=True)
    chosen = _sources(store, names)
    with store.session() as session:
        width = max([len("source"), *(len(n) for n in (chosen or all_source_names(session)))])
        records = stream_versions(session, sources=chosen, order="newest", since=moment, with_text=False)
        found = entries(records, topic=topic, min_severity=severity, include_all=include_all)
        if as_json:
            return _json_array(entry_json(e) for e in found)
        count = 0
        for entry in found:
            if not count:
                sys.stdout.write(header_line(width) + "\n")
            sys.stdout.write(entry_line(entry, width) + "\n")
            count += 1
    if not count:
        out.print("no material changes" + ("" if include_all else " (--all also lists first captures, blinks "
                                           "and form-only versions)"), highlight=False, soft_wrap=True)


def _json_array(items) -> None:
    import json

    sys.stdout.write("[")
    for i, item in enumerate(items):
        sys.stdout.write(("," if i else "") + "\n  " + json.dumps(item, ensure_ascii=False))
    sys.stdout.write("\n]\n")


@contextmanager
def _output_file(path: Path):
    """Write beside the target and rename at the end: an interrupted export never leaves a file that
    looks complete."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@app.command()
def export(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Sources to export (or --all).")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Every source in the database.")] = False,
    fmt: Annotated[Format | None, typer.Option("--format", help="json, jsonl, csv, markdown, or git (a git "
                   "repository with one commit per version; needs --out).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Write DIR/NAME.<ext> per source "
                       "(for git: the repository); default: stdout.")] = None,
) -> None:
    """Every version (text, hashes, dates, URL) and every change (topics, severity, summary), streamed."""
    from monitor.report.export import EXTENSIONS
    from monitor.report.git_plan import checked_file_stem
    from monitor.store.streams import all_source_names

    if bool(names) == all_sources:
        raise UsageError("name the sources to export or use --all (not both)")
    if fmt is None:
        raise UsageError("--format is required: json, jsonl, csv, markdown or git")
    if fmt == "git" and out_dir is None:
        raise UsageError("--format git writes a repository: give its directory with --out DIR")
    store = ctx_obj(ctx).store(read_only=True)
    chosen = _sources(store, names)
    with store.session() as session:
        chosen = chosen or all_source_names(session)
        if fmt == "git":
            return _export_git(session, chosen, out_dir)
        if out_dir is None:
            _export_stream(session, chosen, fmt, sys.stdout, ctx_obj(ctx).optional_config())
            return
        if out_dir.exists() and not out_dir.is_dir():
            raise UsageError(f"--out {out_dir} is a file, not a directory")
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in chosen:
            target = out_dir / f"{checked_file_stem(name)}.{EXTENSIONS[fmt]}"
            with _output_file(target) as handle:
                n = _export_stream(session, [name], fmt, handle, ctx_obj(ctx).optional_config())
            sys.stderr.write(f"{target}: {n} version{'s' * (n != 1)}\n")


def _export_stream(session, names: list[str], fmt: str, handle: TextIO, config) -> int:
    from sqlmodel import select

    from monitor.report.export import WRITERS
    from monitor.store.database import Source, utcnow
    from monitor.store.queries import source_urls
    from monitor.store.reverts import blinks_of, undone_in_any_order
    from monitor.store.streams import stream_versions

    writer = WRITERS[fmt](handle, utcnow())
    rows = {name: (id_, url) for id_, name, url in session.execute(
        select(Source.id, Source.name, Source.url).where(Source.name.in_(names))).all()}
    total = sum(writer.source(name, source_urls(config, name, rows[name][1]),
                              stream_versions(session, sources=[name], order="oldest"),
                              undone_in_any_order(blinks_of(session, rows[name][0])))
                for name in names)
    writer.close()
    return total


def _export_git(session, names: list[str], out_dir: Path) -> None:
    from monitor.report.git_repo import ExportRepository
    from monitor.store.streams import stream_versions

    repo = ExportRepository(out_dir)
    done = repo.exported()
    after = {name: done.get(name, 0) for name in names}
    added = repo.append(stream_versions(session, sources=names, order="oldest", after_seq=after))
    out.print(f"{out_dir}: {added} new commit{'s' * (added != 1)}" + (" (already up to date)" if not added else "")
              + "; `git -C " + str(out_dir) + " log -p` reads the history", highlight=False, markup=False,
              soft_wrap=True)


@app.command()
def feed(
    ctx: typer.Context,
    topic: Annotated[str | None, typer.Option("--topic", metavar="TOPIC", help="Only entries with an alert "
                     "about this topic.")] = None,
    source: Annotated[str | None, typer.Option("--source", metavar="NAME", help="Only this source's entries.")
                      ] = None,
) -> None:
    """Print the Atom feed of alert-worthy changes (the document `feed:` writes), whether `feed:` is set or not."""
    from monitor.notify.feed import feed_document

    topic = _topic(topic)
    obj = ctx_obj(ctx)
    store = obj.store(read_only=True)
    if source is not None:
        _sources(store, [source])
    config = obj.optional_config()
    sys.stdout.write(feed_document(store, topic=topic, source=source, web=config.web if config else None)
                     .decode("utf-8"))


@app.command()
def prune(
    ctx: typer.Context,
    raw_older_than: Annotated[float, typer.Option("--raw-older-than", metavar="DAYS", help="Empty the stored raw "
                              "pages of versions captured more than DAYS days ago.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be freed; change nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Free space: empty old raw pages, never the latest version's nor those of a version a material
    change or an alert refers to. Texts, sections, hashes and changes all stay."""
    from monitor.store.pruning import plan_prune, prune_raw, storage_figures

    if raw_older_than < 0:
        raise UsageError("--raw-older-than must be a number of days, 0 or more")
    obj = ctx_obj(ctx)
    store = obj.store(read_only=dry_run)
    before = storage_figures(store)
    plan = plan_prune(store, raw_older_than)
    emptied = 0 if dry_run else prune_raw(store, plan)
    after = before if dry_run else storage_figures(store)
    freed = plan.bytes_freed if dry_run else before.raw_bytes - after.raw_bytes
    report = {"dry_run": dry_run, "cutoff": plan.cutoff.isoformat(timespec="seconds"),
              "raw_pages_emptied": len(plan.version_ids) if dry_run else emptied, "bytes_freed": freed,
              "kept": {"latest": plan.kept_latest, "referenced": plan.kept_referenced},
              "storage_before": before.to_json(), "storage_after": after.to_json()}
    if as_json:
        return print_json(report)
    _print_prune(report, store)


def _print_prune(report: dict, store: Store) -> None:
    b = report["storage_before"]
    per = b["bytes_per_version"]
    say = out.print
    say(f"{b['versions']:,} versions stored; per version: raw page {_size(per['raw_compressed'])} (compressed; "
        f"{b['raw_pages_kept']:,} kept), "
        f"text {_size(per['text'])}, sections {_size(per['sections'])}, changes {_size(per['changes'])}",
        highlight=False, soft_wrap=True)
    verb = "would empty" if report["dry_run"] else "emptied"
    n = report["raw_pages_emptied"]
    say(f"{verb} {n:,} raw page{'s' * (n != 1)} captured before {report['cutoff'][:16].replace('T', ' ')} UTC: "
        f"{_size(report['bytes_freed'])} {'would be ' if report['dry_run'] else ''}freed", highlight=False,
        soft_wrap=True)
    kept = report["kept"]
    if kept["latest"] or kept["referenced"]:
        say(f"kept: {kept['latest']:,} older raw page(s) of a source's latest version, {kept['referenced']:,} of "
            f"a version that a material change or an alert refers to", highlight=False, soft_wrap=True)
    if not report["dry_run"] and report["bytes_freed"] and store.engine.dialect.name == "sqlite":
        say(f"SQLite reuses the freed pages for new versions; to shrink the file itself, stop the daemon and run "
            f"`sqlite3 {store.location} VACUUM`", highlight=False, markup=False, soft_wrap=True)


def _size(n: int) -> str:
    for unit, size in (("MB", 1_000_000), ("kB", 1_000)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,} B"
