"""CLI commands of the distributed mode: `worker`, `dispatcher` and `migrate-db` (on the app of common.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from monitor.cli.common import EXIT_OK, EXIT_SOURCE_FAILED, app, ctx_obj, err, out


def _database(ctx: typer.Context) -> tuple:
    from monitor.config import resolve_config_path, resolve_database_url

    obj = ctx_obj(ctx)
    config = obj.working_config()
    return config, resolve_database_url(obj.db_url, config), str(resolve_config_path(obj.config_path))


@app.command()
def worker(ctx: typer.Context) -> None:
    """Run a worker of the distributed mode (PostgreSQL): checks and alert deliveries, until stopped.

    Any number, on any machine, with the same sources.yaml and database; concurrency and per_host_delay are fleet-wide.
    """
    from monitor.workers.engine import conninfo
    from monitor.workers.worker import run_worker

    config, url, path = _database(ctx)
    conninfo(url)  # a clear error for SQLite before anything starts
    raise typer.Exit(run_worker(config, url, config_path=path))


@app.command()
def dispatcher(ctx: typer.Context) -> None:
    """Queue each source's check at its interval for the workers, and hand back the jobs of dead workers.

    Run one; a second one stands by and takes over if the first dies."""
    from monitor.workers.dispatcher import run_dispatcher
    from monitor.workers.engine import conninfo

    config, url, path = _database(ctx)
    conninfo(url)
    raise typer.Exit(run_dispatcher(config, url, config_path=path))


@app.command("migrate-db")
def migrate_db(
    source_url: Annotated[str, typer.Option("--from", metavar="URL", help="Database to copy, e.g. "
                                            "sqlite:///policy-monitor.db (left unchanged).")],
    target_url: Annotated[str, typer.Option("--to", metavar="URL", help="Database to copy into, e.g. "
                                            "postgresql+psycopg://user@host/policy_monitor.")],
    force: Annotated[bool, typer.Option("--force", help="Empty the target's policy-monitor tables first if it "
                                        "holds other data (it is lost).")] = False,
) -> None:
    """Copy every table with its history into another database and verify the counts; safe to re-run."""
    from monitor.config import database_url_problem
    from monitor.store.copy import copy_database
    from monitor.store.database import Store

    for option, url in (("--from", source_url), ("--to", target_url)):
        if problem := database_url_problem(url):
            from monitor.errors import UsageError

            raise UsageError(f"{option}: {problem}")
    source = Store(source_url, read_only=True)
    target = Store(target_url)
    for revision, doc in target.applied:
        err.print(f"{target.location}: applied {revision}: {doc}", highlight=False, markup=False, soft_wrap=True)

    def progress(table: str, copied: int) -> None:
        if err.is_terminal:
            err.print(f"  {table}: {copied:,} rows", end="\r", highlight=False)

    counts = copy_database(source, target, force=force, progress=progress)
    table = Table("table", "rows in source", "rows in target", "copied now", "check")
    for c in counts:
        table.add_row(c.table, f"{c.source:,}", f"{c.target:,}", f"{c.copied:,}", "ok" if c.ok else "MISMATCH")
    out.print(table)
    bad = [c.table for c in counts if not c.ok]
    if bad:
        err.print(f"[red]error:[/red] counts differ in {', '.join(bad)}; run the same command again to finish "
                  f"the copy", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_SOURCE_FAILED)
    total = sum(c.target for c in counts)
    out.print(f"{source.location} → {target.location}: {total:,} rows in {len(counts)} tables, counts verified",
              highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_OK)
