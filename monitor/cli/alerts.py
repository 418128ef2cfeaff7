"""CLI commands for the alerts outbox: `alerts [deliver|retry]` and `test-alert`."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from monitor.cli.common import (
    EXIT_OK,
    EXIT_SOURCE_FAILED,
    CommandGroup,
    JsonOption,
    app,
    ctx_obj,
    err,
    fail,
    out,
    print_json,
)

if TYPE_CHECKING:
    from monitor.store.database import Alert

alerts_app = typer.Typer(
    cls=CommandGroup,
    help="List queued, delivered and failed alerts; `deliver` sends due ones, `retry` re-queues failed ones.",
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,  # plain help, as the main app's (monitor.cli.common)
)
app.add_typer(alerts_app, name="alerts")


def _short(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S") if when else "-"


def _next_attempt(when: datetime) -> str:
    from monitor.notify.listing import is_due

    return "due now" if is_due(when) else f"next attempt {_short(when)} UTC"


def _status_cell(row: dict[str, Any]) -> str:
    """`delivered 11-23 19:08`, `pending, next 11-23 19:09:12`, `pending, due now`, `failed`: the one time
    that matters per status."""
    if row["status"] == "delivered":
        return f"delivered {row['delivered_at'][5:16].replace('T', ' ')}"
    if row["status"] == "pending":
        from monitor.notify.listing import is_due

        if is_due(row["next_attempt_at"]):
            return "pending, due now"
        return f"pending, next {row['next_attempt_at'][5:19].replace('T', ' ')}"
    return row["status"]


@alerts_app.callback()
def alerts(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="Only alerts with this status: pending, failed, "
                                                "delivered or superseded (undone by a revert).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Show at most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List alerts, newest first: pending (with the next attempt), delivered, failed (with the error)."""
    from monitor.notify.listing import ALERT_STATUSES as STATUSES
    from monitor.notify.listing import list_alerts

    if ctx.invoked_subcommand is not None:
        return
    if status is not None and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}")
    if limit < 1:
        fail("--limit must be at least 1")
    rows = list_alerts(ctx_obj(ctx).store(read_only=True), status, limit)
    if as_json:
        return print_json(rows)
    if not rows:
        out.print(f"no {status + ' ' if status else ''}alerts")
        return
    table = Table("id", "channel", "alert", "status (UTC)", "tries", "last error")
    for column in (0, 4):
        table.columns[column].no_wrap = True
    for column in table.columns[1:]:
        column.overflow = "fold"  # a narrow terminal wraps a long channel name or word, never hides its end
    for r in rows:
        table.add_row(str(r["id"]), r["channel"], r["summary"], _status_cell(r), str(r["attempts"]),
                      r["last_error"] or "")
    out.print(table, markup=False, highlight=False)


@alerts_app.command()
def deliver(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Make one delivery pass now over every due pending alert."""
    import asyncio

    from monitor.notify.delivery import deliver_pending

    obj = ctx_obj(ctx)
    report = asyncio.run(deliver_pending(obj.store(), obj.config()))
    if as_json:
        return print_json(report.to_json())
    for o in report.outcomes:
        # "unconfigured" (the JSON word) is an alert held back, not attempted: say it waits
        line = f"alert {o.alert} → {o.channel}: {'waiting' if o.status == 'unconfigured' else o.status}: {o.detail}"
        if o.next_attempt_at is not None:
            line += f" ({_next_attempt(o.next_attempt_at)})"
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    out.print(f"{report.delivered} delivered, {report.retrying} to retry, {report.failed} failed"
              + (f", {report.unconfigured} waiting for a channel missing from the config or its secret"
                 if report.unconfigured else ""), highlight=False, soft_wrap=True)


@alerts_app.command()
def retry(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Alert ids (see `policy-monitor alerts`).")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Re-queue every failed alert.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Re-queue failed (or pending) alerts for delivery now, with a fresh count of attempts."""
    from sqlalchemy import update
    from sqlmodel import select

    from monitor.store.database import Alert, utcnow

    if bool(ids) == failed:
        fail("name alert ids or use --failed (not both)")
    store = ctx_obj(ctx).store()
    with store.session() as session:
        if failed:
            chosen = list(session.exec(select(Alert).where(Alert.status == "failed")))
        else:
            chosen = _alerts_by_id(session, ids, refuse=_not_retryable)
        now = utcnow()
        for alert in chosen:
            # created_at moves too, so max_age counts from the re-queue rather than giving up at once
            session.execute(update(Alert).where(Alert.id == alert.id, Alert.status.not_in(_FINAL))
                            .values(status="pending", attempts=0, next_attempt_at=now, created_at=now))
    _report_ids("requeued", "re-queued", sorted(a.id for a in chosen), as_json,
                "they go out with the next delivery pass (`policy-monitor alerts deliver`)")


_FINAL = ("delivered", "superseded")  # never sent (again): the channel has it, or a revert withdrew it


def _not_retryable(alert: Alert) -> str | None:
    """Why `alerts retry` must not re-queue this alert, or None."""
    if alert.status == "delivered":
        return "was already delivered"
    if alert.status == "superseded":  # its change no longer stands: sending it now would report a stale text
        return ("was superseded: the policy returned to an earlier text before it was delivered, so it is "
                "never sent (see `policy-monitor alerts --status superseded`)")
    return None


def _report_ids(key: str, verb: str, ids: list[int], as_json: bool, hint: str) -> None:
    if as_json:
        return print_json({key: ids})
    listed = f": {', '.join(map(str, ids))}; {hint}" if ids else ""
    out.print(f"{len(ids)} alert{'s' * (len(ids) != 1)} {verb}{listed}", highlight=False, soft_wrap=True)


def _alerts_by_id(session, ids: list[int], *, refuse: Callable[[Alert], str | None]) -> list[Alert]:
    """The alerts named, or a usage error naming the ids that do not exist or cannot be acted on."""
    from sqlmodel import select

    from monitor.store.database import Alert

    chosen = list(session.exec(select(Alert).where(Alert.id.in_(ids))))
    missing = sorted(set(ids) - {a.id for a in chosen})
    if missing:
        fail(f"no alert with id {', '.join(map(str, missing))}")
    refused: dict[str, list[int]] = {}
    for alert in sorted(chosen, key=lambda a: a.id):
        if why := refuse(alert):
            refused.setdefault(why, []).append(alert.id)
    if refused:
        fail("; ".join(f"alert {', '.join(map(str, refused_ids))} {why}" for why, refused_ids in refused.items()))
    return chosen


@alerts_app.command()
def discard(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Alert ids (see `policy-monitor alerts`).")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Every pending alert of this channel "
                                                "(e.g. one removed from the config).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Stop trying to deliver pending alerts: they become `failed` ("discarded"), stay listed, and
    `alerts retry` can bring them back."""
    from sqlalchemy import update
    from sqlmodel import select

    from monitor.store.database import Alert, utcnow
    from monitor.store.delivery_health import DISCARDED

    if bool(ids) == bool(channel):
        fail("name alert ids or use --channel (not both)")
    store = ctx_obj(ctx).store()
    with store.session() as session:
        if channel:
            chosen = list(session.exec(select(Alert).where(Alert.status == "pending", Alert.channel == channel)))
        else:
            chosen = _alerts_by_id(session, ids, refuse=lambda a: None if a.status == "pending" else "is not pending")
        message = f"{DISCARDED} on {utcnow():%Y-%m-%d %H:%M} UTC"  # `status` tells it from a failure by it
        for alert in chosen:
            session.execute(update(Alert).where(Alert.id == alert.id, Alert.status == "pending")
                            .values(status="failed", last_error=message))
    _report_ids("discarded", "discarded", sorted(a.id for a in chosen), as_json,
                "`policy-monitor alerts retry ID` re-queues one")


@app.command("test-alert")
def test_alert(
    ctx: typer.Context,
    channel: Annotated[str, typer.Argument(help="A channel name from sources.yaml `channels:`.")],
) -> None:
    """Send a sample alert to one channel now and print what the server answered."""
    from monitor.errors import DeliveryError
    from monitor.notify.channel import Outgoing
    from monitor.notify.delivery import send_now
    from monitor.notify.outbox import alert_id, envelope
    from monitor.store.database import utcnow

    config = ctx_obj(ctx).config()
    if channel not in config.channels:
        fail(f"unknown channel {channel!r} (configured: {', '.join(config.channels) or 'none'})")
    now = utcnow()
    payload = envelope("test", {"channel": channel, "message": f"Sent by `policy-monitor test-alert` from "
                                f"{socket.gethostname()} at {now:%Y-%m-%d %H:%M:%S} UTC."}, now)
    outgoing = Outgoing(alert_id("test", channel, now.isoformat()), channel, payload)
    kind = config.channels[channel].type
    import asyncio

    try:
        detail = asyncio.run(send_now(config, channel, outgoing))
    except DeliveryError as exc:
        err.print(f"{channel} ({kind}): failed: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_SOURCE_FAILED) from None
    out.print(f"{channel} ({kind}): sent: {detail}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_OK)
