"""The task engine (procrastinate on the store's PostgreSQL): its app, task names, locks, and schema at start-up."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from procrastinate import App, PsycopgConnector
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from procrastinate.schema import SchemaManager
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.engine import make_url

from monitor.errors import DatabaseUnavailableError, UsageError
from monitor.logs import adopt_library_logs, error_line
from monitor.store.database import Store
from monitor.store.url_password import redact_url

log = logging.getLogger("monitor.workers")

CHECK_TASK = "policy_monitor.check"        # args: source (name); one job per due check
DELIVER_TASK = "policy_monitor.deliver"    # no args: one delivery pass over the outbox
DELIVER_LOCK = "deliver"                   # one delivery pass queued and one running, fleet-wide
SCHEMA_LOCK = 727_275                      # advisory lock: one process sets up a new database at a time
HAND_BACK_ATTEMPTS = 5                     # a check cut short (SIGTERM past the grace, a lost database) is re-run


def source_lock(name: str) -> str:
    """The engine's lock and queueing lock for one source: one check queued and one running, fleet-wide.

    The store's lock (`Store.try_lock`, taken by `check_source`) guards the same thing for every
    process, `check` included; a job whose worker died hands both back (see `dispatcher.reap`)."""
    return f"source:{name}"


def conninfo(url: str) -> str:
    """The libpq connection string for a SQLAlchemy PostgreSQL URL; UsageError for any other database."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise UsageError(f"the distributed mode (worker, dispatcher) needs PostgreSQL, not {parsed.drivername}: "
                         f"use `policy-monitor run` on SQLite, or move up with `policy-monitor migrate-db`")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class HandBack(BaseRetryStrategy):
    """Re-run a job that did not finish: cancelled at shutdown, or the worker lost its database.

    A check never raises for anything a page does (`check_source` turns it into a result), so an
    exception here is about the worker, not the source: the job goes back to the queue at once."""

    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        if job.attempts >= HAND_BACK_ATTEMPTS:
            return None
        return RetryDecision(retry_in={"seconds": 1})


def build_app(url: str) -> App:
    """A procrastinate app on the store's database (psycopg 3 pool); tasks are added by whoever runs them."""
    adopt_library_logs("procrastinate", lost_connection=is_outage)  # its per-job info lines stay out
    adopt_library_logs("psycopg.pool", lost_connection=is_outage)  # "error connecting in 'pool-1'", many a second
    return App(connector=PsycopgConnector(conninfo=conninfo(url), timeout=connection_wait()))


def connection_wait() -> float:
    """Seconds the queue's pool waits for a database connection before it counts as an outage (which a worker
    or dispatcher logs and waits out): POLICY_MONITOR_DB_WAIT, default 30."""
    try:
        return max(1.0, float(os.environ.get("POLICY_MONITOR_DB_WAIT", "30")))
    except ValueError:
        log.warning("POLICY_MONITOR_DB_WAIT is not a number of seconds; using 30")
        return 30.0


OUTAGE_WAIT = 30.0  # the longest wait between tries while the database is unavailable
# what a lost database raises, wrapped or not: psycopg's operational and interface errors (a pool that found no
# connection in time, PoolTimeout, is one), SQLAlchemy's wrappers of them, the network below (timeouts included)
_OUTAGES = (psycopg.OperationalError, psycopg.InterfaceError, sqlalchemy_exc.OperationalError,
            sqlalchemy_exc.InterfaceError, sqlalchemy_exc.DisconnectionError, OSError)


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says the database went away (and may come back), here or in what it wraps (procrastinate's
    ConnectorException wraps psycopg's errors). A bug or a refused statement (an integrity error, a job that
    changed state meanwhile) is no outage: it must not be waited out for ever."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, _OUTAGES):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def describe(exc: BaseException) -> str:
    """One line for a log: the wrapped error's (ConnectorException's own text is empty)."""
    return error_line(exc.__cause__ or exc)


def outage_wait(outages: int) -> float:
    """How long to wait after this many database errors in a row: 2, 4, 8… seconds, up to OUTAGE_WAIT."""
    return min(OUTAGE_WAIT, 2.0 ** outages)


def prepare_database(url: str) -> Store:
    """Open the store, applying our migrations and the engine's schema if missing, one process at a time.

    Every worker and dispatcher calls this at start, so a fleet started on an empty database needs no
    manual schema step: the first takes the advisory lock and builds everything, the others wait for it
    and find nothing left to do."""
    try:
        conn = psycopg.connect(conninfo(url), autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:  # a wrong port, host or database name: one line, exit 3, as `check`
        raise DatabaseUnavailableError(f"cannot open database {redact_url(url)}: {describe(exc)}") from None
    except psycopg.Error as exc:  # a URL libpq cannot read (an unknown parameter): the user's to fix, exit 2
        raise UsageError(f"cannot open database {redact_url(url)}: {describe(exc)}") from None
    with _advisory_lock(conn, SCHEMA_LOCK):
        store = Store(url)
        if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is None:
            conn.execute(SchemaManager.get_schema())  # type: ignore[arg-type]  (no parameters: % stays as is)
            log.info("applied the task engine's schema (procrastinate)")
    for revision, doc in store.applied:
        log.info(f"applied migration {revision}: {doc}")
    return store


def engine_ready(store: Store) -> bool:
    """Has the engine's schema been applied to this database (a worker or dispatcher ever started)?"""
    if store.engine.dialect.name != "postgresql":
        return False
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None


@contextmanager
def _advisory_lock(conn: psycopg.Connection, key: int) -> Iterator[psycopg.Connection]:
    """Hold the advisory lock `key` on `conn`, then close it."""
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield conn
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


