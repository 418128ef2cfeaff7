"""The `policy-monitor` command: thin glue from the command line to config, store and pipeline."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Column, Table

from monitor.cli.common import (
    EXIT_DATABASE,
    EXIT_OK,
    EXIT_SOURCE_FAILED,
    EXIT_USAGE,
    Context,
    JsonOption,
    app,
    ctx_obj,
    err,
    fail,
    out,
    print_json,
)
from monitor.errors import (
    ConfigError,
    ConfigNotFoundError,
    DatabaseUnavailableError,
    PolicyMonitorError,
    SchemaNotCurrentError,
    UnknownSourceError,
    UsageError,
)

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.store.database import Source, Store


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("policy-monitor")
        except PackageNotFoundError:  # a checkout on sys.path that was never installed
            number = "unknown (not installed)"
        sys.stdout.write(f"policy-monitor {number}\n")
        raise typer.Exit(EXIT_OK)


def _version_number(value: str | None) -> int | None:
    """A version argument, as `history` lists it: 3, or v3 as `check` prints it; anything else is a usage error."""
    if value is None:
        return None
    digits = value.strip().removeprefix("v")
    if not (digits.isascii() and digits.isdigit()) or int(digits) < 1:
        raise UsageError(f"version must be a whole number from 1 up, got {value!r} "
                         f"(`policy-monitor history SOURCE` lists them)")
    return int(digits)


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[str | None, typer.Option("--config", "-c", metavar="PATH", help="Path of sources.yaml "
                      "(env POLICY_MONITOR_CONFIG; default ./sources.yaml).")] = None,
    db: Annotated[str | None, typer.Option("--db", metavar="URL", help="Database URL (env POLICY_MONITOR_DB; "
                  "default: `database:` in the config, else sqlite:///policy-monitor.db).")] = None,
    log_format: Annotated[Literal["text", "json"], typer.Option("--log-format",
                          help="How to log to stderr: text lines or JSON objects.")] = "text",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details.")] = False,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_print_version,
                       help="Print the version and exit.")] = False,
) -> None:
    from monitor.logs import setup_logging

    setup_logging(log_format, logging.DEBUG if verbose else logging.INFO)
    ctx.obj = Context(config, db, log_format)
    ctx.call_on_close(ctx.obj.close)  # whatever the command's exit: its database connections closed, the WAL folded in


STATUS_STYLE = {"new": "cyan", "changed": "yellow", "unchanged": "green", "error": "red", "rejected": "red",
                "skipped": "dim"}


SKIPPED_SHOWN = 10  # version numbers listed per source and reason by `renormalize`
DETAILS_SHOWN = 4  # summaries per source in the table; `diff` shows them all


def _change_details(result) -> str:
    """The alert-worthy changes' summaries, most severe first (document order within a severity) and
    capped; or what kind of change it was when none alerts.

    A fact the policy repeats in several sections changes in each ("age threshold 14 → 13" in the
    children's, the collection and the contact sections): said once, with how many sections said it."""
    from monitor.meaning.significance import said_in_order
    from monitor.store.queries import not_shown, without_substance

    def summary(c) -> str:
        return c.summary or f"{c.change.kind}: {c.change.section}"

    alerting = [c for c in result.changes if c.alert_topics(result.alert_topics)]
    said, said_as = said_in_order(alerting, lambda c: c.severity, summary)
    summaries = [summary + (f" ({n} sections)" if n > 1 else "") for summary, n in said.items()]
    if len(summaries) > DETAILS_SHOWN:
        more = not_shown(alerting, list(said)[:DETAILS_SHOWN], said_as)
        summaries = [*summaries[:DETAILS_SHOWN], f"… and {more} more (policy-monitor diff {result.source})"]
    if summaries or result.status != "changed":
        return "; ".join(summaries)
    total = len(result.changes)
    plural = f"{total} change{'s' * (total != 1)}"
    kind = without_substance([(c.change.kind, c.substantive, c.not_rated) for c in result.changes])
    if kind is not None:  # the words of `history` and the web for the same version
        return kind if not total else f"{plural}, {kind}"
    # a change not rated (a language without a topic model, a rating step that failed) was not judged
    # harmless: say so, with why, rather than count it among those rated outside the watched topics
    unrated = Counter(c.not_rated for c in result.changes if c.not_rated)
    form = sum(1 for c in result.changes if not c.not_rated and not c.substantive)
    counts = [(n, what) for n, what in ((form, "form only"),  # spelling, order, layout: `diff --all` shows them
                                        (total - unrated.total() - form, "none to watched topics"),
                                        *((n, f"not rated ({why})") for why, n in unrated.items())) if n]
    if len(counts) == 1:
        return f"{plural}, {counts[0][1]}"
    return f"{plural}: " + ", ".join(f"{n} {what}" for n, what in counts)


def _blink_details(result) -> str:
    """What a blink back did to the alerts of the changes it undid: withdrew those a channel received
    (`policy.reverted`) and superseded those never delivered; and to those it restored: queued again the ones
    superseded before; "(no alert)" only when it touched none."""
    done = []
    if n := len(result.reverted_alerts):
        done.append(f"policy.reverted withdraws {n} alert{'s' * (n != 1)}")
    if n := len(result.superseded_alerts):
        done.append(f"supersedes {n} undelivered alert{'s' * (n != 1)} (none will be sent)")
    if n := len(result.requeued_alerts):
        done.append(f"the change is back: {n} alert{'s' * (n != 1)} never delivered "
                    f"{'go' if n != 1 else 'goes'} out now")
    back = f"back to the text of v{result.reverts_to}"
    return f"{back}: {'; '.join(done)}" if done else f"{back} (no alert)"


def print_check_results(results, captured=None) -> None:
    """The check table; `captured` (an import's archived versions, one per result) puts when and from where
    each was captured in place of the source's name."""
    table = Table("captured (UTC)" if captured else "source", "status", "version",
                  "would alert" if captured else "alert topics", "details")
    for at, r in enumerate(results):
        if r.failed:
            details = r.error or ""
        elif r.reverts_to:
            details = _blink_details(r)
        else:
            details = _change_details(r)
        if r.drastic:
            details = f"{r.drastic}; {details}" if details else r.drastic
        version = f"v{r.previous_version} → v{r.version}" if r.previous_version else (f"v{r.version}" if r.version
                                                                                     else "-")
        first = f"{_moment(captured[at].captured_at)} {captured[at].label}" if captured else r.source
        first = escape(first)
        table.add_row(first, f"[{STATUS_STYLE[r.status]}]{r.status}[/]", version,
                      ", ".join(r.alert_topics) or "-", escape(details))
    out.print(table)


def _moment(when) -> str:
    """A capture's date, with its time when it has one (an archive named by day has none)."""
    return f"{when:%Y-%m-%d}" if (when.hour, when.minute, when.second) == (0, 0, 0) else f"{when:%Y-%m-%d %H:%M}"


def source_row(store: Store, name: str) -> Source:
    from monitor.store.database import Store

    with store.session() as session:
        row = Store.source(session, name)
    if row is None:
        raise UnknownSourceError(f"unknown source {name!r}: it has never been checked (see `policy-monitor sources`)")
    return row


# -- commands ------------------------------------------------------------------------------------

@app.command()
def validate(ctx: typer.Context) -> None:
    """Check sources.yaml and list every problem with its line and field."""
    from monitor.config import config_warnings
    from monitor.meaning.model import available_languages

    config = ctx_obj(ctx).config()
    n, c = len(config.sources), len(config.channels)
    out.print(f"{config.path}: OK - {n} source{'s' * (n != 1)}, {c} channel{'s' * (c != 1)}", highlight=False,
              soft_wrap=True)
    for warning in config_warnings(config, available_languages()):
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)


@app.command()
def sources(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the configured sources with their last check and number of versions."""
    from monitor.store.queries import source_overview

    obj = ctx_obj(ctx)
    rows = source_overview(obj.store(read_only=True), obj.config())
    if as_json:
        return print_json(rows)
    table = Table("name", Column("url", overflow="fold"), "interval", "last check (UTC)", "outcome", "versions")
    for r in rows:
        checked = r["last_checked_at"][:16].replace("T", " ") if r["last_checked_at"] else "never"
        table.add_row(r["name"], escape("\n".join(r["urls"])), r["interval"], checked,
                      r["last_outcome"] or "-", str(r["versions"]))
    out.print(table)


@app.command()
def check(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Sources to check (default: all).")] = None,
    as_json: JsonOption = False,
    no_deliver: Annotated[bool, typer.Option("--no-deliver", help="Store alerts but do not send them now.")] = False,
) -> None:
    """Check sources once now; store new versions and queue alerts, then make one delivery pass (of the named
    sources' alerts when sources are named)."""
    import asyncio

    from monitor.cli.progress import check_progress
    from monitor.pipeline import check_all

    obj = ctx_obj(ctx)
    config = obj.working_config()
    chosen = list(config.sources)
    if names:
        unknown = [n for n in names if config.source(n) is None]
        if unknown:
            fail(_not_configured(config, unknown))
        chosen = [config.source(n) for n in dict.fromkeys(names)]
    store = obj.store(deferred=True)  # claims need no SQLAlchemy: the first request goes out sooner
    with check_progress(len(chosen), enabled=err.is_terminal) as advance:
        results = asyncio.run(check_all(chosen, config=config, store=store, on_result=advance))
    if not no_deliver:
        from monitor.notify.delivery import deliver_pending

        # the named sources' alerts only: alerts of others held back with --no-deliver stay for `alerts deliver`
        asyncio.run(deliver_pending(store, config, sources=[s.name for s in chosen] if names else None))
    if as_json:
        print_json_results(results)
    else:
        print_check_results(results)
    raise typer.Exit(EXIT_SOURCE_FAILED if any(r.failed for r in results) else EXIT_OK)


def print_json_results(results) -> None:
    """`{"results": [...]}` exactly as `print_json` writes it, one result at a time: 10,000 results are
    never one list of dicts and one string in memory."""
    if not results:
        return print_json({"results": []})
    sys.stdout.write('{\n  "results": [\n')
    last = len(results) - 1
    for i, result in enumerate(results):
        text = indented_json(result.to_json())
        sys.stdout.write("    " + text.replace("\n", "\n    ") + (",\n" if i < last else "\n"))
    sys.stdout.write("  ]\n}\n")


def indented_json(data: dict) -> str:
    """`json.dumps(data, indent=2, ensure_ascii=False, default=str)`, the same text. A flat dict (str keys, every
    value a scalar or an empty list or dict: an unchanged or failed check's result) goes through the C encoder
    with the indenting written as its item separator (a raw newline never occurs inside encoded JSON), ~10×
    the indenting encoder, which is pure Python; anything else through the indenting encoder itself."""
    import json

    if data and all(isinstance(key, str) and (not value or not isinstance(value, (list, tuple, dict)))
                    for key, value in data.items()):
        return "{\n  " + json.dumps(data, ensure_ascii=False, default=str, separators=(",\n  ", ": "))[1:-1] + "\n}"
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


@app.command()
def history(ctx: typer.Context, name: str, as_json: JsonOption = False) -> None:
    """List the stored versions of a source, with blinks back and alert topics marked."""
    from monitor.store.queries import version_history

    store = ctx_obj(ctx).store(read_only=True)
    source = source_row(store, name)
    rows = version_history(store, source)
    if as_json:
        return print_json(rows)
    if not rows:  # checked, never stored: say so rather than print an empty table
        failures = source.consecutive_failures
        tried = (f"; its last check ({source.last_checked_at:%Y-%m-%d %H:%M} UTC) ended {source.last_outcome!r} "
                 f"({failures} failure{'s' * (failures != 1)} in a row): `policy-monitor status` says why"
                 if source.last_checked_at and source.last_outcome else "")
        out.print(f"{name}: no version stored yet{tried}", highlight=False, markup=False, soft_wrap=True)
        return None
    table = Table("version", "fetched (UTC)", "size", "changes", "alert topics", "note")
    for r in rows:
        note = (f"blink back to v{r['reverts_to']}" if r["reverts_to"] else
                f"reverted in v{r['reverted_in']}" if r["reverted_in"] else r["without_substance"] or "")
        if r["imported"]:  # captured by someone else, read from an archive (`import`)
            note = f"{note}; imported" if note else "imported"
        table.add_row(str(r["version"]), r["fetched_at"][:16].replace("T", " "), f"{r['chars']:,} chars",
                      str(r["changes"]),
                      ", ".join(r["alert_topics"]) or "-", note)
    out.print(table)


@app.command()
def show(
    ctx: typer.Context,
    name: str,
    version: Annotated[int | None, typer.Argument(parser=_version_number,
                       help="Version number (default: latest).")] = None,
    sections: Annotated[bool, typer.Option("--sections", help="Print the section tree instead.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Print the normalized text of a version (or its section tree)."""
    from monitor.store.queries import version_detail

    obj = ctx_obj(ctx)
    store = obj.store(read_only=True)
    config = obj.optional_config()
    configured = config.source(name) if config else None
    detail = version_detail(store, source_row(store, name), version,
                            language=configured.language if configured else "en", with_sections=as_json or sections)
    if as_json:
        return print_json(detail)
    if sections:
        for s in detail["sections"]:
            topics = f"  [{', '.join(s['topics'])}]" if s["topics"] else ""
            out.print(f"{'  ' * max(s['level'] - 1, 0)}{s['path'].split(' › ')[-1] or '(preamble)'}{topics}",
                      highlight=False, markup=False, soft_wrap=True)
    else:
        sys.stdout.write(detail["text"] + "\n")


@app.command()
def diff(
    ctx: typer.Context,
    name: str,
    old: Annotated[int | None, typer.Argument(parser=_version_number,
                   help="Older version (default: the one before NEW).")] = None,
    new: Annotated[int | None, typer.Argument(parser=_version_number,
                   help="Newer version (default: latest).")] = None,
    fmt: Annotated[Literal["rich", "text", "markdown", "json"], typer.Option(
        "--format", help="rich (on a terminal; text when piped), text, markdown or json.")] = "rich",
    show_all: Annotated[bool, typer.Option("--all", help="Include form-only edits, moved sections and date "
                                                         "stamps.")] = False,
) -> None:
    """Show what changed between two versions, section by section."""
    from monitor.store.queries import render_diff

    obj = ctx_obj(ctx)
    store = obj.store(read_only=True)
    config = obj.optional_config()   # the source's own `topics:` and `language`, as its checks rated them
    source = config.source(name) if config is not None else None
    render_diff(out, store, source_row(store, name), old, new, fmt=fmt, show_all=show_all, source_config=source)


@app.command()
def renormalize(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Sources (default: all in the database).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-derive stored texts from stored raw pages with the current normalizer (no fetching); say which were
    skipped and why (exit code 1 when a stored page cannot be read with today's select/remove)."""
    from monitor.store.queries import PRUNED_REASON, renormalize_sources

    obj = ctx_obj(ctx)
    report = renormalize_sources(obj.store(), obj.optional_config(), names or None)
    unreadable = [s for s in report["skipped"] if s["reason"] != PRUNED_REASON]
    if as_json:
        print_json(report)
        raise typer.Exit(EXIT_SOURCE_FAILED if unreadable else EXIT_OK)
    for r in report["rederived"]:
        out.print(f"{r['source']} v{r['version']}: text changed ({r['old_hash'][:8]} → {r['new_hash'][:8]})",
                  soft_wrap=True, highlight=False)
    grouped: dict[tuple[str, str], list[int]] = {}
    for s in report["skipped"]:
        grouped.setdefault((s["source"], s["reason"]), []).append(s["version"])
    for (source, reason), seqs in grouped.items():
        shown = ", ".join(f"v{n}" for n in seqs[:SKIPPED_SHOWN]) + (" …" if len(seqs) > SKIPPED_SHOWN else "")
        out.print(f"{escape(source)}: skipped {len(seqs)} version{'s' * (len(seqs) != 1)} ({shown}), stored text "
                  f"kept: {escape(reason)}", soft_wrap=True, highlight=False)
    done, skipped = len(report["rederived"]), len(report["skipped"])
    out.print(f"{done} version{'s' * (done != 1)} re-derived" + (f", {skipped} skipped" if skipped else ""),
              soft_wrap=True, highlight=False)
    if unreadable:  # as `check` rejects such a page: the config (or the page) needs a look
        raise typer.Exit(EXIT_SOURCE_FAILED)


@app.command()
def migrate(
    ctx: typer.Context,
    to: Annotated[str | None, typer.Option("--to", metavar="REVISION", help="Undo the migrations above REVISION "
                  "(e.g. 0003) to go back to an older release; stop the daemon and back up first.")] = None,
) -> None:
    """Create the database or upgrade its schema to this release's (the reading commands never do)."""
    if to is not None:
        return _migrate_down(ctx, to)
    store = ctx_obj(ctx).store()
    where = store.location
    if not store.applied:
        from monitor.store.plain import head_revisions

        at = ", ".join(sorted(head_revisions()))
        out.print(f"{where}: schema already up to date ({at})" if at else f"{where}: schema already up to date",
                  highlight=False, markup=False, soft_wrap=True)
        return
    for revision, doc in store.applied:
        out.print(f"applied {revision}: {doc}", highlight=False, markup=False, soft_wrap=True)
    out.print(f"{where}: schema upgraded to {store.applied[-1][0]} ({len(store.applied)} migration(s))",
              highlight=False, markup=False, soft_wrap=True)


def _migrate_down(ctx: typer.Context, revision: str) -> None:
    from monitor.config import resolve_database_url
    from monitor.scheduler import running_daemon
    from monitor.store.database import Store

    obj = ctx_obj(ctx)
    url = resolve_database_url(obj.db_url, obj.optional_config())
    try:  # opened read-only first: a missing SQLite file is an error here, never created
        Store(url, read_only=True).dispose()
    except SchemaNotCurrentError as exc:
        if not exc.current:  # no policy-monitor schema at all: nothing to undo
            raise
    store = Store(url, migrate=False)
    if other := running_daemon(store):
        fail(f"a daemon is running on this database ({other}); stop it before changing the schema")
    undone = store.downgrade(revision)
    for rev, doc in undone:
        out.print(f"undone {rev}: {doc}", highlight=False, markup=False, soft_wrap=True)
    out.print(f"{store.location}: schema at {revision} ({len(undone)} migration(s) undone)", highlight=False,
              markup=False, soft_wrap=True)


@app.command()
def run(ctx: typer.Context) -> None:
    """Run the daemon: check every source at its interval and deliver alerts, until stopped."""
    from monitor.config import resolve_config_path
    from monitor.scheduler import run_daemon

    obj = ctx_obj(ctx)
    raise typer.Exit(run_daemon(obj.working_config(), obj.store(),
                                config_path=str(resolve_config_path(obj.config_path)), db_url=obj.db_url))


def main(argv: list[str] | None = None) -> None:
    """Entry point: expected failures become one clear line and exit code 2 (config/usage), 3 (the database
    could not be opened) or 1."""
    try:
        # click returns a command's typer.Exit code instead of raising when not in standalone mode
        code = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except ConfigNotFoundError as exc:  # not an invalid config: none at all
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_USAGE)
    except ConfigError as exc:
        n = len(exc.problems)
        err.print(f"[red]invalid config[/red] ({n} problem{'s' * (n != 1)}):", highlight=False)
        for problem in exc.problems:
            err.print(f"  {problem}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(EXIT_USAGE)
    except UsageError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_USAGE)
    except DatabaseUnavailableError as exc:  # may come back (a server restarting): systemd restarts `run` on it
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_DATABASE)
    except PolicyMonitorError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_SOURCE_FAILED)
    except KeyboardInterrupt:
        sys.exit(130)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument…
        exc.show()
        sys.exit(EXIT_USAGE)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


@app.command("import")
def import_archive(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The source (in sources.yaml) whose history this is; it must have "
                                             "no stored version yet.")],
    path: Annotated[Path, typer.Argument(help="A folder of captures named by date (2021-10-05.html, "
                                              "007_2021-10-05T12-30-00.md…), or a git repository with --git-path.")],
    git_path: Annotated[str | None, typer.Option("--git-path", metavar="FILE", help="The policy's file in the "
                        "git repository PATH: each commit that changed it is a capture at its author date.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be stored; change nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Fill a source's history from an archive of earlier captures, dated as captured: each is read, judged
    and rated as a check would, and none is alerted."""
    from monitor.backfill import backfill, ensure_no_versions
    from monitor.capture.archive import read_archive

    obj = ctx_obj(ctx)
    config = obj.config()
    source = config.source(name)
    if source is None:
        raise UsageError(_not_configured(config, [name]))
    store = _store_if_any(obj) if dry_run else obj.store()
    ensure_no_versions(store, source)  # before reading a whole archive for nothing
    archived = read_archive(path, git_path)
    done = backfill(source, archived, config=config, store=store, dry_run=dry_run)
    if as_json:
        return print_json({"results": [{"captured_at": b.archived.captured_at.isoformat(timespec="seconds"),
                                        "from": b.archived.label, **b.result.to_json()} for b in done]})
    print_check_results([b.result for b in done], captured=[b.archived for b in done])
    stored = sum(1 for b in done if b.result.status in ("new", "changed"))
    same = sum(1 for b in done if b.result.status == "unchanged")
    refused = sum(1 for b in done if b.result.failed)
    verb = "would store" if dry_run else "stored"
    out.print(f"{verb} {stored} version{'s' * (stored != 1)} of {name} from {len(done)} capture"
              f"{'s' * (len(done) != 1)} ({same} with the text of the one before, {refused} rejected); no alert "
              f"is sent for an imported change", highlight=False, soft_wrap=True)


def _not_configured(config: Config, names: list[str]) -> str:
    """The one wording of `check` and `import` for names that no source of the config has."""
    named = ", ".join(repr(n) for n in names)
    return (f"unknown source{'s' * (len(names) != 1)} {named}: add {'them' if len(names) != 1 else 'it'} to "
            f"{config.path} first (configured: {', '.join(s.name for s in config.sources) or 'none'})")


def _store_if_any(obj) -> Store | None:
    """The database for reading, or None where there is none yet (a dry run before the first check)."""
    from monitor.errors import NoDatabaseError

    try:
        return obj.store(read_only=True)
    except NoDatabaseError:
        return None


# Command groups owned by other stages register themselves on `app`.
import monitor.cli.history  # noqa: E402,F401  (timeline, export, feed, prune; `history` is a command here)
from monitor.cli import alerts, daemon, demo, web, workers  # noqa: E402,F401
