"""Source health: when a source is reported failing, recovered or unstable (pure rules + one store update).

A source is **failing** once `daemon.failure_threshold` checks in a row ended `error` or `rejected`:
one `source.failing` alert per channel, not one per check. The next successful check queues one
`source.recovered`. A source is **unstable** when at least `UNSTABLE_BLINKS` of its last
`UNSTABLE_WINDOW` successful checks returned to content seen before (A → B → A: A/B tests, CDN
variants); it is reported once and may be reported again only after it settled, i.e. after
`UNSTABLE_WINDOW` successful checks in a row without a blink back.

`after_check()` runs inside the check's own transaction (called by the pipeline right after the
Check row is added), so an alert is queued exactly when the check that caused it is committed: a
crash loses both or neither, and the idempotency keys make a replay harmless. `is_quiet()` tells the
pipeline, from the counters its own update returned, when there is nothing to do (the common case),
so that a check reads no more rows for its source's health.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from monitor.outcome import FAILED
from monitor.store.plain import SourceHealth

if TYPE_CHECKING:
    from sqlmodel import Session

    from monitor.config import Config, SourceConfig
    from monitor.outcome import CheckResult
    from monitor.store.database import Check, Source

# The rules (`failure_event`, `is_quiet`) are pure and decide every check; the queries behind `after_check`
# import SQLAlchemy where they run: a check that leaves health alone never loads it (`check` on SQLite).

UNSTABLE_WINDOW = 10   # successful checks looked at
UNSTABLE_BLINKS = 3    # blinks back among them that make a source unstable

FailureEvent = Literal["source.failing", "source.recovered"]
StabilityEvent = Literal["unstable", "settled"]

log = logging.getLogger("monitor.notify.health")


def is_failing(*, consecutive_failures: int, failing_reported: bool, threshold: int) -> bool:
    """Whether a source counts as failing, the one predicate of `status` and the web view's `?status=failing`:
    `threshold` failed (`error` or `rejected`) checks in a row, or reported failing and not yet recovered.

    >>> is_failing(consecutive_failures=4, failing_reported=False, threshold=3)
    True
    >>> is_failing(consecutive_failures=1, failing_reported=False, threshold=3)
    False
    """
    return consecutive_failures >= threshold or failing_reported


def failure_event(*, failed: bool, consecutive_failures: int, failing_reported: bool,
                  threshold: int) -> FailureEvent | None:
    """What a check's outcome means for the failing/recovered state.

    `consecutive_failures` counts this check too. A source is reported failing once, when the
    count reaches the threshold, and recovered once, at the first success after being reported.

    >>> failure_event(failed=True, consecutive_failures=3, failing_reported=False, threshold=3)
    'source.failing'
    >>> failure_event(failed=True, consecutive_failures=4, failing_reported=True, threshold=3) is None
    True
    """
    if failed:
        return "source.failing" if consecutive_failures >= threshold and not failing_reported else None
    return "source.recovered" if failing_reported else None


def stability_event(blinks: Sequence[bool], *, unstable_reported: bool, window: int = UNSTABLE_WINDOW,
                    min_blinks: int = UNSTABLE_BLINKS) -> StabilityEvent | None:
    """`blinks` says, for the most recent successful checks (oldest first), which returned to earlier content.

    >>> stability_event([False, True, False, True, True], unstable_reported=False)
    'unstable'
    >>> stability_event([False] * 10, unstable_reported=True)
    'settled'
    """
    recent = list(blinks)[-window:]
    if not unstable_reported:
        # Only a check that blinked can make a source unstable: a quiet check never raises the alarm.
        return "unstable" if recent and recent[-1] and sum(recent) >= min_blinks else None
    return "settled" if len(recent) >= window and not any(recent) else None


def is_quiet(counters: SourceHealth, *, failed: bool, blinked: bool, threshold: int) -> bool:
    """Whether a check leaves the source's health as it was: no failing/recovered event, and no
    stability to re-assess (only a blink back, or a source already reported unstable, needs that).

    >>> is_quiet(SourceHealth(0, False, False), failed=False, blinked=False, threshold=3)
    True
    >>> is_quiet(SourceHealth(3, False, False), failed=True, blinked=False, threshold=3)
    False
    """
    event = failure_event(failed=failed, consecutive_failures=counters.consecutive_failures,
                          failing_reported=counters.failing_reported, threshold=threshold)
    return event is None and (failed or not (counters.unstable_reported or blinked))


@dataclass(frozen=True)
class HealthChange:
    """What `after_check` did, for logs and tests."""

    event: str | None = None   # source.failing | source.recovered | source.unstable | source.settled
    alerts: int = 0


def after_check(session: Session, config: Config, source: SourceConfig, row: Source, check: Check,
                result: CheckResult) -> HealthChange:
    """Update the source's health flags after `check` (already added) and queue health alerts."""
    session.flush()  # gives `check` its id, part of the alerts' stable keys
    failed = result.status in FAILED
    event = failure_event(failed=failed, consecutive_failures=row.consecutive_failures,
                          failing_reported=row.failing_reported, threshold=config.daemon.failure_threshold)
    if event in ("source.failing", "source.recovered"):
        from monitor.notify.outbox import enqueue_event_alert  # with the rating stage: only when there is news
    if event == "source.failing":
        first, last_success = _streak_bounds(session, row.id, check.id)
        data = {"consecutive_failures": row.consecutive_failures, "error": result.error or result.status,
                "since": first.started_at.isoformat() if first else None,
                "last_success": last_success.started_at.isoformat() if last_success else None}
        alerts = enqueue_event_alert(session, config, source, event, data,
                                     key_parts=("failing-since", first.id if first else check.id))
        row.failing_reported = True
        failures = row.consecutive_failures
        log.warning(f"source {source.name} is failing: {failures} failed check{'s' * (failures != 1)} in a row",
                    extra={"source": source.name, "event": event, "error": result.error})
        return HealthChange(event, len(alerts))
    if event == "source.recovered":
        first, _ = _streak_bounds(session, row.id, check.id)
        streak = _count_failed_between(session, row.id, first.id if first else check.id, check.id)
        data = {"consecutive_failures": streak, "since": first.started_at.isoformat() if first else None}
        alerts = enqueue_event_alert(session, config, source, event, data,
                                     key_parts=("recovered", first.id if first else check.id))
        row.failing_reported = False
        log.info(f"source {source.name} recovered after {streak} failed check{'s' * (streak != 1)}",
                 extra={"source": source.name, "event": event})
        return HealthChange(event, len(alerts))
    if failed:
        return HealthChange()
    return _stability(session, config, source, row, check)


def _stability(session: Session, config: Config, source: SourceConfig, row: Source, check: Check) -> HealthChange:
    from sqlmodel import col, select

    from monitor.store.database import Check

    if not row.unstable_reported and not (check.outcome == "changed" and check.reverts_to is not None):
        return HealthChange()  # only a blink can make a stable source unstable (stability_event): no query
    from monitor.notify.outbox import enqueue_event_alert

    recent = list(session.exec(
        select(Check).where(Check.source_id == row.id, col(Check.outcome).not_in(FAILED))
        .order_by(col(Check.id).desc()).limit(UNSTABLE_WINDOW)
    ))[::-1]
    blinks = [c.outcome == "changed" and c.reverts_to is not None for c in recent]
    event = stability_event(blinks, unstable_reported=row.unstable_reported)
    if event == "settled":
        row.unstable_reported = False
        log.info(f"source {source.name} settled: no blink back in {UNSTABLE_WINDOW} checks",
                 extra={"source": source.name, "event": "source.settled"})
        return HealthChange("source.settled")
    if event != "unstable":
        return HealthChange()
    flips = sorted({c.version_seq for c in recent if c.version_seq is not None and c.outcome == "changed"})
    times = sum(blinks)
    data = {"reason": f"returned to earlier content {times} time{'s' * (times != 1)} in the last {len(recent)} checks",
            "versions": flips}
    alerts = enqueue_event_alert(session, config, source, "source.unstable", data, key_parts=("unstable", check.id))
    row.unstable_reported = True
    log.warning(f"source {source.name} is unstable: {data['reason']}",
                extra={"source": source.name, "event": "source.unstable"})
    return HealthChange("source.unstable", len(alerts))


def _streak_bounds(session: Session, source_id: int, current_id: int) -> tuple[Check | None, Check | None]:
    """The first failed check of the failure streak ending before `current_id`, and the last success before it."""
    from sqlmodel import col, select

    from monitor.store.database import Check

    last_success = session.exec(
        select(Check).where(Check.source_id == source_id, Check.id < current_id,
                            col(Check.outcome).not_in(FAILED))
        .order_by(col(Check.id).desc()).limit(1)
    ).first()
    first_failed = session.exec(
        select(Check).where(Check.source_id == source_id, Check.id > (last_success.id if last_success else 0),
                            Check.id <= current_id, col(Check.outcome).in_(FAILED))
        .order_by(col(Check.id)).limit(1)
    ).first()
    return first_failed, last_success


def _count_failed_between(session: Session, source_id: int, first_id: int, current_id: int) -> int:
    from sqlalchemy import func
    from sqlmodel import col, select

    from monitor.store.database import Check

    return session.exec(
        select(func.count()).select_from(Check).where(
            Check.source_id == source_id, Check.id >= first_id, Check.id < current_id,
            col(Check.outcome).in_(FAILED))
    ).one()
