"""CLI commands about the daemon: `status` (registered on the app in common.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from monitor.cli.common import EXIT_OK, EXIT_SOURCE_FAILED, JsonOption, app, ctx_obj, out, print_json

if TYPE_CHECKING:
    from monitor.config import Config, DaemonConfig
    from monitor.store.database import DaemonState, Store

STALE_HEARTBEATS = 3  # a daemon that missed this many heartbeats is reported as not running


@app.command()
def status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the daemon's heartbeat or the workers and queue, the checks due, the failing sources and the alerts
    not delivered (exit 1 while a source or an alert channel is failing, or a fleet has no dispatcher or no
    worker for its work)."""
    obj = ctx_obj(ctx)
    report = daemon_status(obj.store(read_only=True), obj.optional_config())
    if as_json:
        print_json(report)
    else:
        _print_status(report)
    failing = report["failing"] or report["alerts"]["failing_channels"] or report.get("fleet_problems")
    raise typer.Exit(EXIT_SOURCE_FAILED if failing else EXIT_OK)


def daemon_status(store: Store, config: Config | None, now: datetime | None = None) -> dict:
    """The `status --json` document: daemon liveness, per-source schedule, due and failing sources, the outbox."""
    from sqlmodel import select

    from monitor.config import DaemonConfig, sources_digest
    from monitor.notify.health import is_failing
    from monitor.store.database import DaemonState, Source, utcnow
    from monitor.store.delivery_health import outbox_health
    from monitor.workers.fleet import fleet_status

    now = now or utcnow()
    daemon_cfg = config.daemon if config else DaemonConfig()
    with store.session() as session:
        state = {row.key: row for row in session.exec(select(DaemonState))}
        rows = {row.name: row for row in session.exec(select(Source))}
        last_errors = _last_errors(session, [r.id for r in rows.values() if r.consecutive_failures])
    names = [s.name for s in config.sources] if config else sorted(rows)
    intervals = {s.name: s.interval for s in config.sources} if config else {}

    sources, due, failing = [], [], []
    for name in names:
        row = rows.get(name)
        interval = intervals.get(name)
        last = row.last_checked_at if row else None
        next_due = (last + timedelta(seconds=interval)) if (last and interval) else None
        is_due = interval is not None and (last is None or next_due <= now)
        failures = row.consecutive_failures if row else 0
        failing_now = bool(row) and is_failing(consecutive_failures=failures, failing_reported=row.failing_reported,
                                               threshold=daemon_cfg.failure_threshold)
        entry = {"source": name, "last_checked_at": _iso(last), "last_outcome": row.last_outcome if row else None,
                 "next_due": _iso(next_due) if next_due else (_iso(now) if is_due else None), "due": is_due,
                 "consecutive_failures": failures, "failing": failing_now,
                 "unstable": bool(row and row.unstable_reported)}
        sources.append(entry)
        checking = bool(row and row.lock_owner and row.lock_expires_at and row.lock_expires_at > now)
        entry["checking"] = checking
        if is_due and not checking:  # one being checked right now is not waiting for its check
            due.append({"source": name, "overdue_seconds": int((now - next_due).total_seconds()) if next_due else None,
                        "never_checked": last is None})
        if failing_now:
            failing.append({"source": name, "consecutive_failures": failures,
                            "last_outcome": row.last_outcome, "error": last_errors.get(row.id),
                            "reported": row.failing_reported})
    outbox = outbox_health(store, config.channels if config else None)
    daemon = _daemon_part(state, now, daemon_cfg)
    running_with = state["sources_digest"].value if "sources_digest" in state else None
    # the daemon runs with another list of sources than this file's: edited since, not reloaded (SIGHUP)
    daemon["config_loaded"] = (None if config is None or daemon["state"] != "running" or not running_with
                               else running_with == sources_digest(config))
    daemon["sources_loaded"] = int(state["sources"].value) if "sources" in state and state["sources"].value else None
    report = {"daemon": daemon, "sources": sources, "due": due, "failing": failing, "alerts": outbox.to_json()}
    if (fleet := fleet_status(store, daemon_running=daemon["state"] == "running")) is not None:
        report.update(fleet)  # the distributed mode ran on this database
    return report


def _daemon_part(state: dict[str, DaemonState], now: datetime, daemon_cfg: DaemonConfig) -> dict:
    def value(key: str) -> str | None:
        row = state.get(key)
        return row.value if row and row.value else None

    heartbeat = _parse(value("heartbeat"))
    if heartbeat is None:
        return {"state": "never-run", "pid": None, "host": None, "heartbeat": None, "heartbeat_age_seconds": None,
                "started_at": None, "stopped_at": None}
    interval = float(value("heartbeat_interval") or daemon_cfg.heartbeat)
    age = (now - heartbeat).total_seconds()
    stopped = _parse(value("stopped_at"))
    if stopped is not None and stopped >= heartbeat:
        running = "stopped"
    else:
        running = "running" if age <= STALE_HEARTBEATS * interval + 5 else "not-responding"
    return {"state": running, "pid": int(value("pid")) if (value("pid") or "").isdigit() else None,
            "host": value("host"), "heartbeat": _iso(heartbeat), "heartbeat_age_seconds": round(age, 1),
            "started_at": _iso(_parse(value("started_at"))), "stopped_at": _iso(stopped)}


def _last_errors(session, source_ids: list[int]) -> dict[int, str | None]:
    from sqlmodel import select

    from monitor.store.database import Check

    errors: dict[int, str | None] = {}
    for source_id in source_ids:
        check = session.exec(select(Check).where(Check.source_id == source_id)
                             .order_by(Check.id.desc()).limit(1)).first()
        errors[source_id] = check.error if check else None
    return errors


def _print_status(report: dict) -> None:
    d = report["daemon"]
    if d["state"] == "never-run" and "workers" in report:
        pass  # the distributed mode runs here: its workers are listed below
    elif d["state"] == "never-run":
        out.print("daemon: has never run on this database", soft_wrap=True)
    elif d["state"] == "not-responding":  # killed, crashed or hung: it stopped writing without saying so
        where = f"pid {d['pid']} on {d['host']}" if d["pid"] else "unknown process"
        out.print(f"daemon: not running (last heartbeat {_ago(d['heartbeat_age_seconds'])}, at {d['heartbeat']}; "
                  f"{where}, started {d['started_at']}, never said it stopped)", highlight=False, soft_wrap=True)
    else:
        where = f"pid {d['pid']} on {d['host']}" if d["pid"] else "unknown process"
        out.print(f"daemon: {d['state']} ({where}), last heartbeat {d['heartbeat']} "
                  f"({_ago(d['heartbeat_age_seconds'])}), started {d['started_at']}", highlight=False, soft_wrap=True)
    if d.get("config_loaded") is False:
        out.print(f"[yellow]the running daemon has not loaded this sources.yaml[/yellow] (it runs with "
                  f"{d['sources_loaded']} sources, the file lists {len(report['sources'])}): send it SIGHUP "
                  "(`systemctl reload policy-monitor`) to check the new list", highlight=False, soft_wrap=True)
    if "workers" in report:
        _print_fleet(report)
    out.print(f"sources: {len(report['sources'])} · due now: {len(report['due'])} · "
              f"failing: {len(report['failing'])}", highlight=False, soft_wrap=True)
    if report["due"]:
        table = Table("due source", "overdue by", title=None)
        for item in report["due"]:
            table.add_row(item["source"], "never checked" if item["never_checked"] else _span(item["overdue_seconds"]))
        out.print(table)
    if report["failing"]:
        table = Table("failing source", "failed checks in a row", "last error")
        for item in report["failing"]:
            error = item["error"] or item["last_outcome"] or ""
            table.add_row(item["source"], str(item["consecutive_failures"]), escape(error))
        out.print(table)
    _print_outbox(report["alerts"])


def _print_outbox(alerts: dict) -> None:
    if not alerts["channels"]:  # every alert delivered (or none queued): nothing to say, as with no due source
        return
    # discarded ones apart: a user's choice, and `alerts retry --failed` would send them after all
    discarded = f" · discarded: {alerts['discarded']}" if alerts["discarded"] else ""
    # without a config, a failed channel may be one removed from it, which never fails: none is judged
    failing = (len(alerts["failing_channels"]) if alerts["failing_judged"]
               else "not judged without a config (sources.yaml)")
    out.print(f"alerts pending: {alerts['pending']} (retrying: {alerts['retrying']}) · failed: {alerts['failed']}"
              f"{discarded} · failing channels: {failing}", highlight=False, soft_wrap=True)
    table = Table("alert channel", "pending", "retrying", "failed", "discarded", "state")
    for c in alerts["channels"]:
        state = "failing" if c["failing"] else "retrying" if c["retrying"] else "waiting" if c["waiting"] else ""
        table.add_row(escape(c["channel"]), str(c["pending"]), str(c["retrying"]), str(c["failed"]),
                      str(c["discarded"]), state)
    out.print(table)
    for c in alerts["channels"]:  # never tried: the delivering process lacks the channel's configuration
        if c["waiting"]:
            out.print(f"{c['channel']}: {c['waiting']} waiting: {c['waiting_for']}", highlight=False,
                      soft_wrap=True, markup=False)
    if alerts["failed"] or alerts["retrying"]:
        retry = "; `policy-monitor alerts retry --failed` sends the failed ones again" if alerts["failed"] else ""
        out.print(f"their errors: `policy-monitor alerts` (the web view's /alerts){retry}",
                  highlight=False, soft_wrap=True, markup=False)


def _print_fleet(report: dict) -> None:
    q = report["queue"]
    out.print(f"queue: {q['due']} due · {q['running']} running · {q['failed']} failed · {q['later']} to retry later "
              f"· {q['scheduled_sources']} sources scheduled", highlight=False, soft_wrap=True)
    if not report["workers"]:
        out.print("workers: none running", highlight=False, soft_wrap=True)
    else:
        table = Table("role", "host:pid", "state", "heartbeat", "running", "done")
        for w in report["workers"]:
            state = w["state"]
            if w["role"] == "dispatcher" and state == "running":  # its `running` is 1 while it leads
                state, running = ("leading" if w["running"] else "standing by"), "-"
            else:
                running = str(w["running"])
            table.add_row(w["role"], escape(f"{w['host']}:{w['pid']}"), state, _ago(w["heartbeat_age_seconds"]),
                          running, str(w["done"]))
        out.print(table)
    for problem in report.get("fleet_problems", []):
        out.print(f"[red]{escape(problem)}[/red]", highlight=False, soft_wrap=True)


def _ago(seconds: float | None) -> str:
    return "-" if seconds is None else f"{_span(seconds)} ago"


def _span(seconds: float) -> str:
    seconds = int(seconds)
    for limit, size, unit in ((120, 1, "s"), (7200, 60, "m"), (172800, 3600, "h")):
        if seconds < limit:
            return f"{seconds // size}{unit}"
    return f"{seconds // 86400}d"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _parse(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
