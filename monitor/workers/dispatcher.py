"""`policy-monitor dispatcher`: queue each source's check at its interval with jitter, and hand back dead workers' jobs.

The schedule lives in the `dispatch` table, one row per source: `due_at` is the interval's beat and
`next_run_at` that beat plus this run's jitter (10% of the interval, at most 5 minutes, as in the
daemon). A source never dispatched before starts from its last check in the database
(`plan_first_run`, as the daemon's restart does). When `next_run_at` comes, the dispatcher queues a
check job whose engine lock and queueing lock are the source's (`source_lock`): at most one check
queued or running per source fleet-wide. If the last one still waits or runs, the new run is merged
into it (the daemon's `max_instances=1` and coalescing), and the beat moves on by whole intervals, so
a late run never makes the next ones bunch up. A check that started late and ended just before its
source's next beat moves that beat to an interval after it started (`too_soon`): the site is never
asked twice within an interval. A failed check brings `next_run_at` forward (the worker does that).

Any number of dispatchers may run: one leads (a session advisory lock, freed when its process dies),
the others wait to take over. The leader also:

- hands back jobs of dead workers every heartbeat: a worker whose pid is gone (same host) or whose
  heartbeat is stale (any host) gets its source locks and alert claims freed, then its running jobs
  re-queued, so the next worker finds the source free and the check runs again — with the store's
  constraints (one version per seq, one alert per idempotency key) keeping the result exactly once;
- queues a delivery pass every `daemon.delivery_interval`, for retries (checks that queue alerts ask
  for one at once).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import signal
from datetime import datetime, timedelta

import psycopg
from procrastinate import exceptions as engine_errors
from sqlalchemy import text, update
from sqlmodel import delete, select

from monitor.config import Config, SourceConfig, reload_config
from monitor.scheduler import JITTER_FRACTION, MAX_JITTER, plan_first_run
from monitor.store.database import Alert, DispatchRow, Source, Store, WorkerRow, utcnow
from monitor.workers import fleet
from monitor.workers.engine import (
    CHECK_TASK,
    DELIVER_LOCK,
    DELIVER_TASK,
    build_app,
    conninfo,
    describe,
    is_outage,
    outage_wait,
    prepare_database,
    source_lock,
)

log = logging.getLogger("monitor.workers")
LEADER_LOCK = 727_276     # advisory lock held by the dispatcher that leads
BATCH = 500               # due sources queued per round
MAX_SLEEP = 1.0           # the longest a dispatcher sleeps between rounds (config reloads, stop, standby)
LEAD_CHECK_TIMEOUT = 5.0  # seconds a leader waits for PostgreSQL to confirm it still holds the lock
MIN_SLEEP = 0.1           # the shortest: due checks are queued in rounds of 0.1 s, not one round per check


def jitter_for(interval: float) -> float:
    """The daemon's jitter: 10% of the interval, at most 5 minutes."""
    return min(interval * JITTER_FRACTION, MAX_JITTER)


def advance(due_at: datetime, interval: float, now: datetime) -> datetime:
    """The next beat after `now` on the grid due_at + k·interval (pure; missed beats are merged).

    >>> from datetime import UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> advance(t, 60, t + timedelta(seconds=1)) - t, advance(t, 60, t + timedelta(seconds=150)) - t
    (datetime.timedelta(seconds=60), datetime.timedelta(seconds=180))
    """
    beats = max(1, math.floor((now - due_at).total_seconds() / interval) + 1)
    return due_at + timedelta(seconds=beats * interval)


def too_soon(last_started: datetime, interval: float, now: datetime) -> bool:
    """Would a check now come sooner after the last one than the interval less its jitter allows? (pure)

    >>> from datetime import UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> too_soon(t, 60, t + timedelta(seconds=10)), too_soon(t, 60, t + timedelta(seconds=55))
    (True, False)
    """
    return (now - last_started).total_seconds() < interval - jitter_for(interval)


def run_dispatcher(config: Config, url: str, *, config_path: str) -> int:
    store = prepare_database(url)
    try:
        return asyncio.run(Dispatcher(config, store, url, config_path=config_path).run())
    except KeyboardInterrupt:
        return 130
    finally:
        store.dispose()


class Dispatcher:
    """One `policy-monitor dispatcher` process (leading or standing by)."""

    def __init__(self, config: Config, store: Store, url: str, *, config_path: str):
        self.config, self.store, self.url = config, store, url
        self.config_path = config_path
        self.app = build_app(url)
        self.leader = False
        self._stop = asyncio.Event()
        self._synced = False
        self._row_id: int | None = None
        self.queued = 0

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        if hasattr(signal, "SIGHUP"):
            loop.add_signal_handler(signal.SIGHUP, self.reload)
        daemon = self.config.daemon
        self._row_id = fleet.register(self.store, "dispatcher", daemon.heartbeat)
        async with self.app.open_async():
            log.info(f"dispatcher started: {len(self.config.sources)} sources", extra={"pid": os.getpid()})
            lock_conn: psycopg.AsyncConnection | None = None
            next_beat = next_reap = next_delivery = 0.0
            outages = 0  # database errors in a row: the wait before trying again doubles, up to OUTAGE_WAIT
            try:
                while not self._stop.is_set():
                    clock = loop.time()
                    try:
                        lock_conn = await self._hold_or_seek_lead(lock_conn, first=next_beat == 0.0)
                        if clock >= next_beat:
                            fleet.beat(self.store, self._row_id, running=int(self.leader), done=self.queued)
                            next_beat = clock + self.config.daemon.heartbeat
                        wait = MAX_SLEEP
                        if self.leader:
                            if clock >= next_reap:
                                await self.reap()
                                next_reap = clock + min(self.config.daemon.heartbeat, 5.0)
                            if clock >= next_delivery:
                                await self.queue_delivery()
                                next_delivery = clock + self.config.daemon.delivery_interval
                            wait = await self.queue_due()
                        outages = 0
                    except Exception as exc:  # the database went away: stand down, keep trying, never exit
                        if not is_outage(exc):
                            raise  # a bug is not waited out
                        outages += 1
                        wait = outage_wait(outages)
                        log.warning(f"database unavailable ({describe(exc)}); "
                                    f"{'standing down, ' if self.leader else ''}trying again in {wait:.0f} s")
                        self.leader = False
                        lock_conn = await _closed(lock_conn)
                    try:
                        await asyncio.wait_for(self._stop.wait(), timeout=max(wait, MIN_SLEEP))
                    except TimeoutError:
                        pass
            finally:
                await _closed(lock_conn)
                fleet.stopped(self.store, self._row_id)
        log.info("dispatcher stopped")
        return 0

    async def _hold_or_seek_lead(self, lock_conn: psycopg.AsyncConnection | None, *, first: bool
                                 ) -> psycopg.AsyncConnection:
        """The connection holding (or trying for) the leader's advisory lock. A leader asks it a question each
        round: a session that died (a dropped connection, a restarted server) took the lock with it, and another
        dispatcher may lead now, so this one stands down and tries for the lock again like a standby."""
        if lock_conn is not None and self.leader and not await _holds_lead(lock_conn):
            log.warning("dispatcher lost its connection, and the leader lock with it: standing down")
            self.leader = False
            lock_conn = await _closed(lock_conn)
        if lock_conn is None:  # keepalives: a peer gone without a word (a half-open connection) is noticed
            lock_conn = await psycopg.AsyncConnection.connect(
                conninfo(self.url), autocommit=True, connect_timeout=10, keepalives=1, keepalives_idle=10,
                keepalives_interval=5, keepalives_count=3)
        if not self.leader:
            try:
                cursor = await lock_conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,))
                self.leader = bool((await cursor.fetchone())[0])
            except BaseException:
                await _closed(lock_conn)  # the caller keeps no connection it cannot close
                raise
            if self.leader:
                log.info("dispatcher leads: queueing checks")
            elif first:
                log.info("another dispatcher leads; standing by to take over")
        return lock_conn

    def reload(self) -> None:
        if (new := reload_config(self.config_path, log)) is None:
            return
        self.config = new
        self._synced = False
        log.info(f"reload: {len(self.config.sources)} sources")

    # -- the schedule -----------------------------------------------------------------------------

    def sync_sources(self, now: datetime) -> None:
        """One `dispatch` row per configured source: new ones planned from their last check, removed ones gone."""
        sources = {s.name: s for s in self.config.sources}
        with self.store.session() as session:
            planned = set(session.exec(select(DispatchRow.source)))
            last = {name: at for name, at in session.exec(select(Source.name, Source.last_checked_at))}
            for name in planned - set(sources):
                session.exec(delete(DispatchRow).where(DispatchRow.source == name))
            new = [s for name, s in sources.items() if name not in planned]
            spread = len(new) / self.config.daemon.concurrency
            for source in new:
                plan = plan_first_run(source.interval, last.get(source.name), now, overdue_spread=spread)
                session.add(DispatchRow(source=source.name, due_at=plan.first_run, next_run_at=plan.first_run))
        self._synced = True

    async def queue_due(self) -> float:
        """Queue the checks that are due; returns seconds until the next one is (at most MAX_SLEEP)."""
        now = utcnow()
        if not self._synced:
            self.sync_sources(now)
        with self.store.session() as session:
            due = list(session.exec(select(DispatchRow).where(DispatchRow.next_run_at <= now)
                                    .order_by(DispatchRow.next_run_at).limit(BATCH)))
        busy = self._busy({row.source for row in due})
        last = self._last_starts({row.source for row in due})
        for row in due:
            source = self.config.source(row.source)
            if source is None:
                continue
            started = last.get(row.source)
            if row.source in busy:  # its last check still waits or runs: this run merges into it, as in the daemon
                log.debug(f"check {source.name}: the last one has not finished; this run is skipped",
                          extra={"source": source.name})
            elif started is not None and too_soon(started, source.interval, now):
                # the last check started late (a queue, a slow worker) and ended just now: the next comes an
                # interval after it, so the site is never asked twice within one interval
                beat = started + timedelta(seconds=source.interval)
                self._plan(row.source, beat, source.interval, now)
                continue
            else:
                await self._queue_check(source)
            beat = advance(row.due_at, source.interval, now)
            self._plan(row.source, beat, source.interval, now)
        if len(due) == BATCH:
            return 0.0
        with self.store.session() as session:
            soonest = session.exec(select(DispatchRow.next_run_at).order_by(DispatchRow.next_run_at).limit(1)).first()
        return MAX_SLEEP if soonest is None else min(MAX_SLEEP, (soonest - utcnow()).total_seconds())

    def _plan(self, name: str, beat: datetime, interval: float, now: datetime) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(update(DispatchRow).where(DispatchRow.source == name).values(
                due_at=beat, next_run_at=beat + timedelta(seconds=random.uniform(0, jitter_for(interval))),
                queued_at=now))

    def _last_starts(self, names: set[str]) -> dict[str, datetime]:
        """When the last check of each of `names` started, for those whose last check succeeded (a failed one
        is retried sooner on purpose: `retry_delay`)."""
        with self.store.session() as session:
            rows = session.exec(select(Source.name, Source.last_checked_at, Source.last_outcome)
                                .where(Source.name.in_(names)))
            return {name: at for name, at, outcome in rows
                    if at is not None and outcome not in ("error", "rejected")}

    def _busy(self, names: set[str]) -> set[str]:
        """The sources among `names` with a check job queued or running."""
        if not names:
            return set()
        locks = {source_lock(name): name for name in names}
        with self.store.engine.connect() as conn:
            held = conn.execute(text("SELECT DISTINCT lock FROM procrastinate_jobs "
                                     "WHERE status IN ('todo', 'doing') AND lock = ANY(:locks)"),
                                {"locks": list(locks)}).scalars().all()
        return {locks[lock] for lock in held}

    async def _queue_check(self, source: SourceConfig) -> None:
        lock = source_lock(source.name)
        try:
            await self.app.configure_task(CHECK_TASK, lock=lock, queueing_lock=lock).defer_async(source=source.name)
            self.queued += 1
        except engine_errors.AlreadyEnqueued:  # the last run still waits for a worker: this run is that one
            log.debug(f"check {source.name}: the last one is still queued", extra={"source": source.name})

    async def queue_delivery(self) -> None:
        try:
            await self.app.configure_task(DELIVER_TASK, lock=DELIVER_LOCK, queueing_lock=DELIVER_LOCK).defer_async()
        except engine_errors.AlreadyEnqueued:
            pass

    # -- dead workers -----------------------------------------------------------------------------

    async def reap(self) -> int:
        """Hand back the jobs of dead workers (their locks and claims freed first); returns how many."""
        now = fleet.db_now(self.store)
        with self.store.session() as session:
            rows = list(session.exec(select(WorkerRow).where(WorkerRow.stopped_at.is_(None))))
        dead = [row for row in rows if fleet.is_dead(row, now)]  # a dead dispatcher holds nothing, but is listed
        for row in dead:
            freed = self._free_owner(row.name, utcnow())
            with self.store.engine.begin() as conn:
                conn.execute(update(WorkerRow).where(WorkerRow.id == row.id).values(stopped_at=now))
            log.warning(f"{row.role} {row.name} is gone (last heartbeat {row.heartbeat_at:%H:%M:%S}); freed "
                        f"{freed[0]} source lock(s) and {freed[1]} alert claim(s)",
                        extra={"worker": row.name, "locks": freed[0], "claims": freed[1]})
        dead_engine_ids = [row.engine_id for row in dead if row.engine_id is not None]
        stale = fleet.stale_after(self.config.daemon.heartbeat)
        with self.store.engine.connect() as conn:
            jobs = conn.execute(text(
                "SELECT j.id FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id "
                "WHERE j.status = 'doing' AND (j.worker_id = ANY(:dead) OR w.id IS NULL "
                "OR w.last_heartbeat < now() - make_interval(secs => :stale))"),
                {"dead": dead_engine_ids, "stale": stale}).scalars().all()
        for job_id in jobs:
            try:
                await self.app.job_manager.retry_job_by_id_async(job_id, retry_at=now)
            except engine_errors.ConnectorException as exc:
                if not isinstance(exc.__cause__, psycopg.errors.RaiseException):
                    raise
                # the engine's own refusal: the job finished or was handed back between the query and now
                log.info(f"job {job_id}: no longer running when its worker was found gone ({describe(exc)})")
                continue
            log.warning(f"job {job_id}: its worker is gone; queued again", extra={"job": job_id})
        await self.app.job_manager.prune_stalled_workers(stale)
        return len(jobs)

    def _free_owner(self, owner: str, now: datetime) -> tuple[int, int]:
        with self.store.engine.begin() as conn:
            locks = conn.execute(update(Source).where(Source.lock_owner == owner)
                                 .values(lock_owner=None, lock_expires_at=None)).rowcount
            claims = conn.execute(update(Alert).where(Alert.claimed_by == owner, Alert.status == "pending")
                                  .values(claimed_by=None, next_attempt_at=now)).rowcount
        return locks, claims


async def _holds_lead(conn: psycopg.AsyncConnection) -> bool:
    """Whether this session still holds the leader lock: asked of PostgreSQL (a connection that answers may not
    be the session that took the lock, behind a pooler), within LEAD_CHECK_TIMEOUT (a connection that hangs has
    lost it for all we know)."""
    try:
        cursor = await asyncio.wait_for(conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = %s "
            "AND objsubid = 1 AND pid = pg_backend_pid() AND granted)", (LEADER_LOCK,)), LEAD_CHECK_TIMEOUT)
        return bool((await cursor.fetchone())[0])
    except (psycopg.Error, OSError):  # TimeoutError is an OSError
        return False


async def _closed(conn: psycopg.AsyncConnection | None) -> None:
    """Close a connection that may already be broken; None, to put in its place."""
    if conn is not None:
        try:
            await conn.close()
        except psycopg.Error:
            pass
    return None
