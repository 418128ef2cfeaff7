"""`policy-monitor worker`: run the engine's check and delivery jobs with the spine, politely, until SIGTERM.

A worker is a procrastinate worker (jobs fetched with `FOR UPDATE SKIP LOCKED`, woken by LISTEN/NOTIFY)
whose two tasks call what `check` and the daemon call:

- `policy_monitor.check(source)`: `check_source` (the store's lock taken, one transaction) inside one
  of the fleet's check slots, fetching through the fleet's per-host turns (`turns.py`). A failed
  check brings the source's next run forward as in the daemon (`retry_delay`). A check that queued
  alerts asks for a delivery job at once;
- `policy_monitor.deliver()`: one `deliver_pending` pass (leases, claims with host:pid, today's
  retries and backoff); its engine lock makes it one pass at a time fleet-wide.

SIGTERM/SIGINT: fetch no new job, let running ones finish for up to the grace period
(POLICY_MONITOR_SHUTDOWN_GRACE, default 10 s); a job still running then is cancelled and handed back
to the queue (`HandBack`), having written nothing (a check writes in one transaction at its end).
SIGHUP re-reads sources.yaml. `kill -9` loses nothing either: the dispatcher sees the worker's pid
gone (same host) or its heartbeat stale (any host), frees its source locks and alert claims, and
hands its jobs back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import timedelta

from procrastinate import exceptions as engine_errors
from procrastinate.jobs import DeleteJobCondition
from procrastinate.worker import Worker
from sqlalchemy import update

from monitor.config import Config, reload_config
from monitor.notify.delivery import deliver_pending
from monitor.notify.outbox import on_queued
from monitor.pipeline import check_source, fetch_settings
from monitor.scheduler import SHUTDOWN_GRACE, log_check, retry_delay
from monitor.store.database import DispatchRow, Store, utcnow
from monitor.workers import fleet
from monitor.workers.engine import (
    CHECK_TASK,
    DELIVER_LOCK,
    DELIVER_TASK,
    OUTAGE_WAIT,
    HandBack,
    build_app,
    conninfo,
    describe,
    is_outage,
    outage_wait,
    prepare_database,
)
from monitor.workers.turns import SharedFetcher, SharedTurns

log = logging.getLogger("monitor.workers")
POLL_INTERVAL = 1.0   # seconds between polls for jobs when no NOTIFY came (scheduled retries)


def run_worker(config: Config, url: str, *, config_path: str, grace: float = SHUTDOWN_GRACE) -> int:
    """Run one worker until SIGTERM/SIGINT; returns the exit code."""
    try:
        grace = float(os.environ.get("POLICY_MONITOR_SHUTDOWN_GRACE", grace))
    except ValueError:
        log.warning(f"POLICY_MONITOR_SHUTDOWN_GRACE is not a number of seconds; using {grace:g}s")
    store = prepare_database(url)
    try:
        return asyncio.run(WorkerProcess(config, store, url, config_path=config_path, grace=grace).run())
    except KeyboardInterrupt:
        return 130
    finally:
        store.dispose()


class _EngineWorker(Worker):
    """procrastinate's worker, stopping when its heartbeat or its listener fails (and saying which, in one line).

    The engine stops when the first of its side tasks ends; its periodic deferrer, with no periodic task
    registered, ends at once, so a heartbeat that failed later went unnoticed: the worker ran on, unheartbeated,
    and the dispatcher handed its running jobs to another worker. Here the deferrer waits for ever, so the
    failed task is the first to end, the engine stops, and `WorkerProcess._work` starts another."""

    side_task_failure: tuple[str, BaseException | None] | None = None  # (task name, what it raised, if anything)

    async def _periodic_deferrer(self) -> None:
        await asyncio.Event().wait()

    async def _monitor_side_tasks(self, side_tasks: list[asyncio.Task]) -> None:
        done, _ = await asyncio.wait(side_tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and (exc := task.exception()) is not None:
                self.side_task_failure = (task.get_name(), exc)
        if self.side_task_failure is None:  # a side task that ended without an error is no less gone
            self.side_task_failure = (next(iter(done)).get_name(), None)
        self.stop()


class WorkerProcess:
    """One `policy-monitor worker`: the engine's worker, our tasks, heartbeats and signals."""

    def __init__(self, config: Config, store: Store, url: str, *, config_path: str, grace: float):
        self.config, self.store, self.url = config, store, url
        self.config_path = config_path
        self.grace = grace
        self.app = build_app(url)
        self.fetcher: SharedFetcher | None = None
        self.turns: SharedTurns | None = None
        self.engine: Worker | None = None
        self._stopping = asyncio.Event()
        self.running = 0
        self.done = 0
        self._row_id: int | None = None
        self._register_tasks()

    def _register_tasks(self) -> None:
        @self.app.task(name=CHECK_TASK, retry=HandBack(), pass_context=False)
        async def check(source: str) -> str:
            return await self.check(source)

        @self.app.task(name=DELIVER_TASK, retry=HandBack(), pass_context=False)
        async def deliver() -> str:
            return await self.deliver()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        daemon = self.config.daemon
        async with self.app.open_async():
            async with SharedTurns(conninfo(self.url), per_host_delay=daemon.per_host_delay,
                                   slots=daemon.concurrency) as turns, \
                    SharedFetcher(fetch_settings(self.config), turns) as fetcher:
                self.turns, self.fetcher = turns, fetcher
                self._row_id = fleet.register(self.store, "worker", daemon.heartbeat)
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(sig, self.request_stop)
                if hasattr(signal, "SIGHUP"):
                    loop.add_signal_handler(signal.SIGHUP, self.reload)
                stop_listening = on_queued(lambda: loop.call_soon_threadsafe(self.request_delivery))
                beating = loop.create_task(self._heartbeats())
                log.info(f"worker started: {len(self.config.sources)} sources configured, up to "
                         f"{daemon.concurrency} checks at once fleet-wide", extra={"pid": os.getpid()})
                try:
                    await self._work()
                finally:
                    stop_listening()
                    beating.cancel()
                    await asyncio.gather(beating, return_exceptions=True)
                    fleet.stopped(self.store, self._row_id)
        log.info("worker stopped")
        return 0

    async def _work(self) -> None:
        """Take and run jobs until asked to stop. A database outage stops the engine's worker (its pool found no
        connection, or its heartbeat or listener lost theirs); this one logs it, waits (2, 4… up to 30 s) and
        starts another, never exiting for it. The wait grows only while outages follow each other closely."""
        daemon = self.config.daemon
        outages = 0
        while not self._stopping.is_set():
            self.engine = _EngineWorker(
                self.app, name="policy-monitor", concurrency=daemon.concurrency, wait=True,
                fetch_job_polling_interval=POLL_INTERVAL, shutdown_graceful_timeout=self.grace,
                listen_notify=True, delete_jobs=DeleteJobCondition.SUCCESSFUL, install_signal_handlers=False,
                update_heartbeat_interval=daemon.heartbeat,
                stalled_worker_timeout=fleet.stale_after(daemon.heartbeat))
            started = asyncio.get_running_loop().time()
            try:
                await self.engine.run()
                failed = self.engine.side_task_failure  # its heartbeat or listener, or None: asked to stop
                if failed is None or self._stopping.is_set():
                    return
                task, exc = failed
                if exc is not None and not is_outage(exc):
                    raise exc  # a bug is not waited out
                why = f"{task}: {describe(exc)}" if exc is not None else f"{task} ended"
            except Exception as exc:
                if not is_outage(exc):
                    raise
                if self._stopping.is_set():
                    return
                why = describe(exc)
            if asyncio.get_running_loop().time() - started > OUTAGE_WAIT:
                outages = 0  # it had worked since the last outage: this one starts the waits afresh
            outages += 1
            wait = outage_wait(outages)
            log.warning(f"database unavailable ({why}); taking jobs again in {wait:.0f} s")
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)
            except TimeoutError:
                pass

    def request_stop(self) -> None:
        log.info(f"stopping: no new jobs; running ones get up to {self.grace:g}s, then go back to the queue")
        self._stopping.set()
        if self.engine is not None:
            self.engine.stop()

    def reload(self) -> None:
        """SIGHUP: use a new sources.yaml for the next jobs; keep the running config if it is invalid."""
        if (new := reload_config(self.config_path, log)) is None:
            return
        self.config = new
        if self.fetcher is not None:
            self.fetcher.settings = fetch_settings(self.config)
        log.info(f"reload: {len(self.config.sources)} sources")

    # -- the tasks --------------------------------------------------------------------------------

    async def check(self, name: str) -> str:
        source = self.config.source(name)
        if source is None:  # removed from sources.yaml after the job was queued
            log.info(f"check {name}: not in the config any more; skipped", extra={"source": name})
            return "unknown source"
        assert self.turns is not None and self.fetcher is not None
        self.running += 1
        try:
            async with self.turns.slot():
                result = await check_source(source, config=self.config, store=self.store, fetcher=self.fetcher)
        finally:
            self.running -= 1
            self.done += 1
        log_check(result, retry_in=self._retry_if_failed(name, source.interval, result))
        return result.status

    async def deliver(self) -> str:
        self.running += 1
        try:
            report = await deliver_pending(self.store, self.config)
        finally:
            self.running -= 1
            self.done += 1
        return f"{report.delivered} delivered, {report.retrying} to retry, {report.failed} failed"

    def request_delivery(self) -> None:
        """A check queued alerts: queue a delivery pass (one waits at most; a running one does not count)."""
        asyncio.get_running_loop().create_task(self._defer_delivery())

    async def _defer_delivery(self) -> None:
        try:
            await self.app.configure_task(DELIVER_TASK, lock=DELIVER_LOCK, queueing_lock=DELIVER_LOCK).defer_async()
        except engine_errors.AlreadyEnqueued:
            pass
        except Exception as exc:  # the alerts are in the outbox: the dispatcher's tick delivers them
            log.warning(f"could not queue a delivery pass: {type(exc).__name__}: {exc}")

    def _retry_if_failed(self, name: str, interval: float, result) -> float | None:
        """After a failed check, bring the source's next run forward as the daemon does."""
        if not result.failed:
            return None
        with self.store.session() as session:
            row = Store.source(session, name)
            failures = row.consecutive_failures if row else 0
        delay = retry_delay(interval, failures, self.config.daemon.failure_retry)
        if delay is None:
            return None
        at = utcnow() + timedelta(seconds=delay)
        with self.store.engine.begin() as conn:
            conn.execute(update(DispatchRow).where(DispatchRow.source == name, DispatchRow.next_run_at > at)
                         .values(next_run_at=at))
        return delay

    async def _heartbeats(self) -> None:
        assert self._row_id is not None
        missed = 0
        while True:
            try:
                engine_id = self.engine.worker_id if self.engine else None
                fleet.beat(self.store, self._row_id, running=self.running, done=self.done, engine_id=engine_id)
                if missed:
                    log.info(f"heartbeat written again after {missed} missed")
                missed = 0
            except Exception as exc:  # noqa: BLE001 — a missed heartbeat is logged once an outage, the worker goes on
                if not missed:
                    log.warning(f"heartbeat not written ({describe(exc)}); trying every heartbeat")
                missed += 1
            await asyncio.sleep(min(self.config.daemon.heartbeat, 1.0) if self._engine_id_missing()
                                else self.config.daemon.heartbeat)

    def _engine_id_missing(self) -> bool:
        return self.engine is None or self.engine.worker_id is None

