"""The daemon (`policy-monitor run`): check every source at its interval, deliver alerts, stop and reload cleanly.

Design. One asyncio event loop runs everything, driven by APScheduler 3's `AsyncIOScheduler`: the
checks are coroutines (`check_source` awaits the network), so an asyncio scheduler runs them as
tasks in the same loop as the one shared `Fetcher` (whose per-host turns keep us polite to each
host and whose connection pool is reused) without threads. Each source is one job:

- an `IntervalTrigger` at the source's `interval` with a jitter of 10% (at most 5 minutes), so
  sources drift apart instead of firing in lockstep;
- its first run is derived from the database, not from the start time: a source checked recently
  runs when its last Check row says it is due (plus jitter), so a restart does not re-check
  everything; sources never checked or overdue run soon, spread so that about `concurrency` of
  them start per second (never more than half their interval late);
- `max_instances=1` and `coalesce=True`: never two checks of one source in this process, and
  missed runs collapse into one. A `check` command in another process is kept apart by the
  per-source lock in the database (`Store.try_lock`, taken by `check_source`);
- a global `asyncio.Semaphore(daemon.concurrency)` bounds checks in flight.
- a failed check brings the source's next run forward (`retry_delay`: `daemon.failure_retry`,
  doubling per failure in a row, until the regular run comes first).

Two more jobs write the heartbeat (`DaemonState`, every `daemon.heartbeat`) that `status` reads,
and deliver pending alerts (every `daemon.delivery_interval`, for retries) in the same process.
Alerts do not wait for that tick: a commit that queues alerts (`outbox.on_queued`) asks for a
delivery pass at once, and so does the start (what a crash left behind). Passes are coalesced and
never run two at a time: asked for while one runs, one more follows it (`request_delivery`).

Signals. SIGTERM/SIGINT: stop scheduling, let in-flight checks finish and make a last delivery pass
(and one more for alerts those checks queue) for up to `grace` seconds, then cancel the rest. A
check writes everything it learned in one transaction with no await inside it, so a cancelled
check leaves nothing half-written (at most a fetch that was thrown away). A second SIGTERM/SIGINT
cancels at once. SIGHUP re-reads sources.yaml: added, removed and changed sources take effect at
once; an invalid file is logged with every problem and the running config stays. `database:`
changes need a restart.

Logs: one line per check on the `monitor.daemon` logger (source, outcome, duration_ms, version,
error) in the format chosen by `--log-format`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import select

from monitor.capture.browser import BrowserPool
from monitor.capture.fetch import Fetcher
from monitor.config import Config, SourceConfig, reload_config, sources_digest
from monitor.errors import EXIT_DAEMON_RUNNING
from monitor.logs import adopt_library_logs
from monitor.notify.delivery import deliver_pending
from monitor.notify.feed import refresh_feed
from monitor.notify.outbox import on_queued
from monitor.offline import FirstRound
from monitor.offload import CpuPool, pool_size
from monitor.outcome import CheckResult
from monitor.pipeline import LOCK_OWNER, browser_settings, check_source, fetch_settings
from monitor.store.database import DaemonState, Source, Store, pid_alive, utcnow

log = logging.getLogger("monitor.daemon")

SHUTDOWN_GRACE = 10.0      # seconds in-flight checks get to finish after SIGTERM/SIGINT
DELIVERY_SETTLE = 0.1      # seconds a requested delivery pass waits, so a burst of queued alerts is one pass
STARTUP_SPREAD = 30.0      # default spread of overdue sources' first runs (the daemon passes its own)
MAX_JITTER = 300.0
JITTER_FRACTION = 0.1


def run_daemon(config: Config, store: Store, *, config_path: str, db_url: str | None = None,
               grace: float = SHUTDOWN_GRACE) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code (0 after a clean stop, 4 when another daemon
    runs on this database).

    The grace period in-flight checks get at shutdown may be set with the environment variable
    POLICY_MONITOR_SHUTDOWN_GRACE (seconds), e.g. shorter under a supervisor with a tight stop timeout.
    """
    adopt_library_logs("apscheduler")  # e.g. a run skipped because the last one still runs
    try:
        grace = float(os.environ.get("POLICY_MONITOR_SHUTDOWN_GRACE", grace))
    except ValueError:
        log.warning(f"POLICY_MONITOR_SHUTDOWN_GRACE is not a number of seconds; using {grace:g}s")
    daemon = Daemon(config, store, config_path=config_path, grace=grace)
    try:
        return asyncio.run(daemon.run())
    except KeyboardInterrupt:  # a signal before the handlers were installed
        return 130


@dataclass(frozen=True)
class Plan:
    """When a source's job first runs and how its trigger jitters."""

    first_run: datetime
    jitter: float
    overdue: bool


def retry_delay(interval: float, failures: int, base: float) -> float | None:
    """Seconds until a failing source is tried again (pure): `base` doubled per failure in a row,
    or None when its regular run comes first (or retries are off)."""
    if base <= 0 or failures < 1:
        return None
    delay = base * 2 ** min(failures - 1, 30)
    return delay if delay < interval else None


def plan_first_run(interval: float, last_checked_at: datetime | None, now: datetime, *,
                   overdue_spread: float = STARTUP_SPREAD, rng: random.Random | None = None) -> Plan:
    """First run of a source's job from its last check in the database (pure, for restarts).

    >>> plan = plan_first_run(3600, now - timedelta(minutes=10), now)          # doctest: +SKIP
    >>> plan.first_run >= now + timedelta(minutes=50), plan.overdue            # doctest: +SKIP
    (True, False)
    """
    rng = rng or random
    jitter = min(interval * JITTER_FRACTION, MAX_JITTER)
    if last_checked_at is None or last_checked_at + timedelta(seconds=interval) <= now:
        spread = min(interval / 2, overdue_spread)
        return Plan(now + timedelta(seconds=rng.uniform(0, spread)), jitter, True)
    due = last_checked_at + timedelta(seconds=interval)
    return Plan(due + timedelta(seconds=rng.uniform(0, jitter)), jitter, False)


class Daemon:
    """The long-running process behind `policy-monitor run`."""

    def __init__(self, config: Config, store: Store, *, config_path: str, grace: float = SHUTDOWN_GRACE):
        from monitor.store.deferred import DeferredStore

        self.config = config
        self.store = DeferredStore.beside(store)  # a check's own statements through sqlite3 on a SQLite file
        self.config_path = config_path
        self.grace = grace
        self.fetcher: Fetcher | None = None
        self.browser: BrowserPool | None = None
        self.cpu: CpuPool | None = None   # the process pool for normalizing and comparing (monitor.offload)
        self.scheduler: AsyncIOScheduler | None = None
        self._limit = asyncio.Semaphore(config.daemon.concurrency)
        self._inflight: set[asyncio.Task] = set()
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._signals = 0
        self._delivery: asyncio.Task | None = None   # the one delivery task; passes run one at a time in it
        self._delivery_wanted = False
        self._first_round = FirstRound(s.name for s in config.sources)  # says once if no source is reachable

    # -- life cycle -------------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        other = running_daemon(self.store)
        if other:
            log.error(f"another daemon is running on this database ({other}); stop it first")
            # its own code: that daemon may have crashed on another host, its heartbeat fresh a while yet, so
            # the systemd unit retries this (not 2, which it never retries) and the run starts once it is stale
            return EXIT_DAEMON_RUNNING
        released = release_dead_locks(self.store)
        self._write_state(started_at=utcnow().isoformat(), stopped_at="", pid=str(os.getpid()),
                          host=socket.gethostname(), heartbeat_interval=str(self.config.daemon.heartbeat))
        workers = pool_size(self.config.daemon.cpu_processes, len(self.config.sources))
        # the browser is launched only when a `render: browser` source is first due, then shared
        async with CpuPool(workers) as cpu, Fetcher(fetch_settings(self.config)) as fetcher, \
                BrowserPool(browser_settings(self.config)) as browser:
            self.fetcher, self.browser, self.cpu = fetcher, browser, cpu
            self.scheduler = AsyncIOScheduler(event_loop=loop, timezone="UTC", job_defaults={
                "max_instances": 1, "coalesce": True, "misfire_grace_time": None})
            overdue = self._schedule_sources(self.config.sources)
            self._schedule_housekeeping()
            self.scheduler.start()
            self._install_signal_handlers(loop)
            n = len(self.config.sources)
            log.info(f"daemon started: {n} source{'s' * (n != 1)}, {overdue} due now",
                     extra={"sources": len(self.config.sources), "due": overdue, "pid": os.getpid(),
                            "released_locks": released})
            self.heartbeat()
            refresh_feed(self.store, self.config.feed, self.config.web)  # readers find the file from the start
            stop_listening = on_queued(lambda: loop.call_soon_threadsafe(self.request_delivery))
            try:
                self.request_delivery()  # what the last run left pending (or claimed, and died) goes out now
                await self._stop.wait()
                await self._shutdown()
            finally:
                stop_listening()
        self._write_state(stopped_at=utcnow().isoformat())
        log.info("daemon stopped")
        return 0

    def request_stop(self) -> None:
        """First call: stop gracefully. Second call: cancel in-flight checks now."""
        self._signals += 1
        if self._signals > 1:
            log.warning("second stop signal: cancelling in-flight checks now")
            for task in list(self._inflight):
                task.cancel()
        self._stopping = True
        if self._stop is not None:
            self._stop.set()

    async def _shutdown(self) -> None:
        assert self.scheduler is not None
        self.scheduler.pause()  # no new runs; running ones keep going
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace
        self.request_delivery()  # the last pass; alerts queued by checks still finishing get one more
        checks = len([t for t in self._inflight if not t.done() and t is not self._delivery])
        log.info(f"stopping: waiting up to {self.grace:g}s for {checks} check{'s' * (checks != 1)} in flight "
                 f"and a last delivery pass",
                 extra={"in_flight": checks})
        while pending := {t for t in self._inflight if not t.done()}:  # a finishing check may ask for a pass
            remaining = deadline - loop.time()
            if remaining > 0:
                await asyncio.wait(pending, timeout=remaining)
                continue
            log.warning(f"stopping: abandoning {len(pending)} unfinished task{'s' * (len(pending) != 1)}; "
                        f"a check abandoned stores nothing, "
                        f"an alert whose delivery was cut short goes out again at the next pass",
                        extra={"abandoned": len(pending)})
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            break
        self.scheduler.shutdown(wait=False)

    def _install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        if hasattr(signal, "SIGHUP"):
            loop.add_signal_handler(signal.SIGHUP, self.reload)

    # -- scheduling ---------------------------------------------------------------------------------

    def _schedule_sources(self, sources: tuple[SourceConfig, ...] | list[SourceConfig]) -> int:
        """Add one job per source, first runs derived from the database; returns how many are due now."""
        last = self._last_checks()
        now = utcnow()
        due_now = sum(plan_first_run(s.interval, last.get(s.name), now).overdue for s in sources)
        # overdue sources start at about `concurrency` per second: soon, but not all in the same instant
        spread = due_now / self.config.daemon.concurrency
        overdue = 0
        for source in sources:
            plan = plan_first_run(source.interval, last.get(source.name), now, overdue_spread=spread)
            overdue += plan.overdue
            self._add_source_job(source, plan)
        return overdue

    def _add_source_job(self, source: SourceConfig, plan: Plan) -> None:
        assert self.scheduler is not None
        trigger = IntervalTrigger(seconds=source.interval, start_date=plan.first_run, jitter=plan.jitter or None,
                                  timezone="UTC")
        # next_run_time set explicitly: the trigger would add its jitter to the first run too
        self.scheduler.add_job(self._check_job, trigger, args=[source.name], id=_job_id(source.name),
                               name=f"check {source.name}", replace_existing=True, next_run_time=plan.first_run)

    def _schedule_housekeeping(self) -> None:
        assert self.scheduler is not None
        daemon = self.config.daemon
        self.scheduler.add_job(self._heartbeat_job, IntervalTrigger(seconds=daemon.heartbeat, timezone="UTC"),
                               id="heartbeat", name="heartbeat", replace_existing=True)
        # the start and every commit that queues alerts ask for a pass themselves: the tick is for retries
        self.scheduler.add_job(self._deliver_job, IntervalTrigger(seconds=daemon.delivery_interval, timezone="UTC"),
                               id="deliver", name="deliver alerts", replace_existing=True)

    def _last_checks(self) -> dict[str, datetime | None]:
        with self.store.session() as session:
            return {name: at for name, at in session.exec(select(Source.name, Source.last_checked_at))}

    # -- jobs ---------------------------------------------------------------------------------------

    async def _check_job(self, name: str) -> None:
        if self._stopping:
            return
        async with self._limit:
            source = self.config.source(name)
            if self._stopping or source is None or self.fetcher is None:
                return
            task = asyncio.current_task()
            assert task is not None
            self._inflight.add(task)
            try:  # never raises but for cancellation: an unexpected error is an `error` result, as in `check`
                result = await check_source(source, config=self.config, store=self.store, fetcher=self.fetcher,
                                            browser=self.browser, cpu=self.cpu)
            except asyncio.CancelledError:  # only our shutdown cancels checks: said here, not as a job error
                log.warning(f"check {name}: abandoned at shutdown", extra={"source": name, "outcome": "abandoned"})
                return
            finally:
                self._inflight.discard(task)
        log_check(result, retry_in=self._retry_if_failed(source, result))
        if notice := self._first_round.note(result):
            log.warning(notice, extra={"event": "offline"})

    def _retry_if_failed(self, source: SourceConfig, result: CheckResult) -> float | None:
        """Bring a failed source's next run forward (see `retry_delay`); returns the delay, if any."""
        if not result.failed:
            return None
        try:
            with self.store.session() as session:  # the check just recorded its failure streak there
                failures = session.exec(select(Source.consecutive_failures).where(Source.name == source.name)).first()
        except Exception:  # the database is away: the regular schedule still runs
            return None
        delay = retry_delay(source.interval, failures or 1, self.config.daemon.failure_retry)
        job = self.scheduler.get_job(_job_id(source.name)) if self.scheduler and not self._stopping else None
        if delay is None or job is None:
            return None
        retry_at = utcnow() + timedelta(seconds=delay)
        if job.next_run_time is not None and job.next_run_time <= retry_at:
            return None
        job.modify(next_run_time=retry_at)
        return delay

    async def _deliver_job(self) -> None:
        if not self._stopping:
            self.request_delivery()

    def request_delivery(self) -> None:
        """Ask for a delivery pass now (in the event loop's thread). Coalesced: requests that come while
        a pass waits to start make that one pass; requests while a pass runs make one more pass after it.
        Never two passes at once. A second stop signal ends delivery: nothing is asked for after it."""
        if self._signals > 1:
            return
        self._delivery_wanted = True
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.get_running_loop().create_task(self._deliver_while_wanted())
            self._inflight.add(self._delivery)  # a stop lets a pass finish, so no alert waits out a lease
            self._delivery.add_done_callback(self._inflight.discard)

    async def _deliver_while_wanted(self) -> None:
        while self._delivery_wanted:
            await asyncio.sleep(DELIVERY_SETTLE)  # the rest of a burst commits meanwhile: one pass for all
            self._delivery_wanted = False
            try:
                await deliver_pending(self.store, self.config)  # logs its own summary line
            except Exception as exc:
                log.error(f"alert delivery failed: {type(exc).__name__}: {exc}",
                          exc_info=log.isEnabledFor(logging.DEBUG))

    async def _heartbeat_job(self) -> None:
        self.heartbeat()  # a coroutine job runs in the loop; a plain function would run in a thread

    def heartbeat(self) -> None:
        try:
            self._write_state(heartbeat=utcnow().isoformat(), sources=str(len(self.config.sources)),
                              sources_digest=sources_digest(self.config), in_flight=str(len(self._inflight)))
        except Exception as exc:
            log.error(f"heartbeat not written: {type(exc).__name__}: {exc}")

    def _write_state(self, **values: str) -> None:
        now = utcnow()
        with self.store.session() as session:
            for key, value in values.items():
                row = session.get(DaemonState, key)
                if row is None:
                    session.add(DaemonState(key=key, value=value, updated_at=now))
                else:
                    row.value, row.updated_at = value, now

    # -- reload ------------------------------------------------------------------------------------

    def reload(self) -> None:
        """SIGHUP: apply a new sources.yaml, or keep the running one when the new one is invalid."""
        if (new := reload_config(self.config_path, log)) is None:
            return
        added, removed, changed = self.apply_config(new)
        n = len(new.sources)
        log.info(f"reload: {n} source{'s' * (n != 1)} ({len(added)} added, {len(removed)} removed, "
                 f"{len(changed)} changed)", extra={"added": added, "removed": removed, "changed": changed})

    def apply_config(self, new: Config) -> tuple[list[str], list[str], list[str]]:
        """Swap in a validated config; returns the names of added, removed and changed sources."""
        assert self.scheduler is not None
        old = {s.name: s for s in self.config.sources}
        fresh = {s.name: s for s in new.sources}
        added = [n for n in fresh if n not in old]
        removed = [n for n in old if n not in fresh]
        changed = [n for n in fresh if n in old and fresh[n] != old[n]]
        if new.database != self.config.database:
            log.warning("reload: `database:` changed; restart the daemon to use the new database")
        daemon_changed, fetch_changed = new.daemon != self.config.daemon, new.fetch != self.config.fetch
        self.config = new  # running jobs look their source up by name at each run
        for name in removed:
            job = self.scheduler.get_job(_job_id(name))
            if job is not None:
                job.remove()
        last = self._last_checks()
        now = utcnow()
        rescheduled = added + [n for n in changed if fresh[n].interval != old[n].interval]
        spread = len(rescheduled) / new.daemon.concurrency
        for name in rescheduled:
            plan = plan_first_run(fresh[name].interval, last.get(name), now, overdue_spread=spread)
            self._add_source_job(fresh[name], plan)
        if daemon_changed:
            self._limit = asyncio.Semaphore(new.daemon.concurrency)
            self._schedule_housekeeping()
        if (daemon_changed or fetch_changed) and self.fetcher is not None:
            self.fetcher.settings = fetch_settings(new)
        return added, removed, changed


def log_check(result: CheckResult, retry_in: float | None = None) -> None:
    """The one structured log line per check."""
    extra = {"source": result.source, "outcome": result.status, "duration_ms": int(result.duration * 1000),
             "version": result.version, "error": result.error}
    if retry_in is not None:
        extra["retry_in_s"] = round(retry_in, 1)
    if result.reverts_to is not None:
        extra["reverts_to"] = result.reverts_to
    if result.alert_topics:
        extra["alert_topics"] = result.alert_topics
    if result.status == "skipped":
        log.info(f"check {result.source}: skipped, another process is checking it", extra=extra)
    elif result.failed:
        log.warning(f"check {result.source}: {result.status}: {result.error}", extra=extra)
    else:
        log.info(f"check {result.source}: {result.status}", extra=extra)


def release_dead_locks(store: Store) -> int:
    """Free source locks held by processes of this host that no longer exist (e.g. after `kill -9`)."""
    host = socket.gethostname()
    released = 0
    with store.session() as session:
        for row in session.exec(select(Source).where(Source.lock_owner.is_not(None))):
            owner_host, _, pid = (row.lock_owner or "").rpartition(":")
            if owner_host == host and row.lock_owner != LOCK_OWNER and pid.isdigit() and not pid_alive(int(pid)):
                row.lock_owner, row.lock_expires_at = None, None
                released += 1
    return released


def running_daemon(store: Store) -> str | None:
    """Describe another live daemon using this database (fresh heartbeat, not stopped), else None."""
    with store.session() as session:
        state = {row.key: row.value for row in session.exec(select(DaemonState))}
    try:
        heartbeat = datetime.fromisoformat(state.get("heartbeat", ""))
        interval = float(state.get("heartbeat_interval") or 30)
        stopped = datetime.fromisoformat(state["stopped_at"]) if state.get("stopped_at") else None
    except ValueError:
        return None
    if stopped is not None and stopped >= heartbeat:
        return None
    age = (utcnow() - heartbeat).total_seconds()
    if age > 3 * interval + 5:
        return None  # stale: it died without saying so
    host, pid = state.get("host", ""), state.get("pid", "")
    if host == socket.gethostname() and (not pid.isdigit() or int(pid) == os.getpid() or not pid_alive(int(pid))):
        return None  # killed on this machine (kill -9, power loss): its heartbeat is just not stale yet
    return f"pid {pid} on {host}, last heartbeat {age:.0f}s ago"


def _job_id(name: str) -> str:
    return f"source:{name}"


