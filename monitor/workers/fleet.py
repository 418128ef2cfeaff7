"""The fleet's processes in the `worker` table: registering, heartbeats, who is dead, and what `status` shows."""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

from sqlalchemy import func, text, update
from sqlmodel import select

from monitor.logs import error_line
from monitor.store.database import DispatchRow, Source, Store, WorkerRow, pid_alive, process_owner

log = logging.getLogger("monitor.workers")

STALE_HEARTBEATS = 3   # like the daemon's: a process that missed this many heartbeats is not running
STALE_MARGIN = 5.0


def stale_after(heartbeat: float) -> float:
    """Seconds without a heartbeat after which a worker is taken for dead (its jobs are handed back)."""
    return STALE_HEARTBEATS * heartbeat + STALE_MARGIN


def db_now(store: Store) -> datetime:
    """PostgreSQL's clock: heartbeats are written and judged by it, so machines' clocks need not agree."""
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT now()")).scalar_one()


def register(store: Store, role: str, heartbeat: float) -> int:
    """Add this process to the `worker` table; returns its row id."""
    now = db_now(store)
    row = WorkerRow(name=process_owner(), role=role, host=socket.gethostname(), pid=os.getpid(),
                    heartbeat_interval=heartbeat, started_at=now, heartbeat_at=now)
    with store.session() as session:
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def beat(store: Store, row_id: int, *, running: int, done: int, engine_id: int | None = None) -> None:
    values: dict = {"heartbeat_at": func.now(), "running": running, "done": done}
    if engine_id is not None:
        values["engine_id"] = engine_id
    with store.engine.begin() as conn:
        conn.execute(update(WorkerRow).where(WorkerRow.id == row_id).values(**values))


def stopped(store: Store, row_id: int) -> None:
    """Mark this process's row stopped, as a worker or dispatcher ends; best effort: a database gone by then
    leaves the row to go stale, and the leading dispatcher reaps it."""
    try:
        with store.engine.begin() as conn:
            conn.execute(update(WorkerRow).where(WorkerRow.id == row_id)
                         .values(stopped_at=func.now(), heartbeat_at=func.now(), running=0))
    except Exception as exc:  # noqa: BLE001 — stopping must not fail on it
        log.warning(f"could not mark this process stopped ({error_line(exc.__cause__ or exc)}); its row goes stale")


def is_dead(row: WorkerRow, now: datetime) -> bool:
    """Stopped, silent for too long (`now` from `db_now`), or (on this host) its pid no longer exists."""
    if row.stopped_at is not None:
        return True
    if (now - row.heartbeat_at).total_seconds() > stale_after(row.heartbeat_interval):
        return True
    return row.host == socket.gethostname() and not pid_alive(row.pid)



def fleet_status(store: Store, *, daemon_running: bool = False) -> dict | None:
    """The `workers` and `queue` parts of `status --json`, or None when the distributed mode never ran here.

    `fleet_problems` lists what keeps the fleet from checking, none while the plain daemon runs (it checks
    instead: a fleet stopped is no stall).

    Workers listed: the live ones and those that died without saying so (not the cleanly stopped).
    queue: `due` jobs waiting for a worker, `running`, `failed` (kept for inspection), and
    `scheduled`, the sources the dispatcher plans, `overdue` of them not yet queued although due."""
    from monitor.workers.engine import engine_ready

    if not engine_ready(store):
        return None
    now = db_now(store)  # the heartbeats' clock
    with store.session() as session:
        rows = list(session.exec(select(WorkerRow).where(WorkerRow.stopped_at.is_(None))
                                 .order_by(WorkerRow.role, WorkerRow.host, WorkerRow.pid)))
        scheduled = session.exec(select(func.count()).select_from(DispatchRow)).one()
        overdue = session.exec(select(func.count()).select_from(DispatchRow)
                               .where(DispatchRow.next_run_at <= now)).one()
        locked = session.exec(select(func.count()).select_from(Source).where(Source.lock_owner.is_not(None))).one()
        counts = dict(session.connection().execute(text(
            "SELECT CASE WHEN status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now()) THEN 'due' "
            "WHEN status = 'todo' THEN 'later' WHEN status = 'doing' THEN 'running' ELSE status::text END, "
            "count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing', 'failed') GROUP BY 1")).all())
    workers = []
    for row in rows:
        age = (now - row.heartbeat_at).total_seconds()
        workers.append({"role": row.role, "host": row.host, "pid": row.pid, "started_at": _iso(row.started_at),
                        "heartbeat": _iso(row.heartbeat_at), "heartbeat_age_seconds": round(age, 1),
                        "state": "not-responding" if is_dead(row, now) else "running",
                        "running": row.running, "done": row.done})
    queue = {"due": counts.get("due", 0), "later": counts.get("later", 0), "running": counts.get("running", 0),
             "failed": counts.get("failed", 0), "scheduled_sources": scheduled, "overdue_sources": overdue,
             "locked_sources": locked}
    return {"workers": workers, "queue": queue, "fleet_problems": [] if daemon_running else _stalls(workers, queue)}


def _stalls(workers: list[dict], queue: dict) -> list[str]:
    """What keeps a fleet from checking: no dispatcher to queue the scheduled sources, no worker for the jobs
    queued. (`status` says them and exits 1.)"""
    live = {role: [w for w in workers if w["role"] == role and w["state"] == "running"]
            for role in ("dispatcher", "worker")}
    problems = []
    if queue["scheduled_sources"] and not live["dispatcher"]:
        problems.append(f"no dispatcher running: nothing is being queued ({queue['overdue_sources']} of "
                        f"{queue['scheduled_sources']} scheduled sources due); start `policy-monitor dispatcher`")
    if queue["due"] and not live["worker"]:
        problems.append(f"no worker running: {queue['due']} queued checks wait; start `policy-monitor worker`")
    return problems


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None
