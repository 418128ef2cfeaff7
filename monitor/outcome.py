"""What one check of one source found: the typed result that `check`, the daemon, alerts and health read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the rating stage is imported by a check only when a text changed
    from monitor.meaning.significance import RatedChange

Status = Literal["new", "changed", "unchanged", "error", "rejected", "skipped"]
FAILED: tuple[Status, ...] = ("error", "rejected")  # the outcomes that count as a failure, everywhere
# "skipped": another process was checking the source; nothing was learned and nothing failed


@dataclass
class CheckResult:
    """What one check of one source found; `to_json()` is the public `check --json` shape."""

    source: str
    url: str
    status: Status
    version: int | None = None
    previous_version: int | None = None
    reverts_to: int | None = None
    error: str | None = None
    alert_topics: list[str] = field(default_factory=list)
    reverted_alerts: list[str] = field(default_factory=list)  # webhook ids of the alerts a blink back undid
    superseded_alerts: list[str] = field(default_factory=list)  # …and of those it stopped before any delivery
    requeued_alerts: list[str] = field(default_factory=list)  # superseded ones whose change it restored, sent now
    changes: list[RatedChange] = field(default_factory=list)
    # the guard's reason when the new version is a drastic change (most of the text gone, another document at
    # the address) stored because an immediate re-fetch served the same text
    drastic: str | None = None
    http_status: int | None = None
    duration: float = 0.0

    @property
    def failed(self) -> bool:
        """A failed check counts against the source (exit code 1, health events); a skip does not."""
        return self.status in FAILED

    @property
    def severity(self) -> str:
        """The highest severity among the alert-worthy changes ("low" when none)."""
        from monitor.meaning.significance import SEVERITY_RANK

        ranks = [SEVERITY_RANK[c.severity] for c in self.changes if c.alert_topics(self.alert_topics)]
        return next(k for k, v in SEVERITY_RANK.items() if v == max(ranks, default=0))

    def to_json(self) -> dict:
        return {
            "source": self.source, "url": self.url, "status": self.status, "version": self.version,
            "previous_version": self.previous_version, "reverts_to": self.reverts_to, "error": self.error,
            "alert_topics": self.alert_topics, "reverted_alerts": self.reverted_alerts,
            "superseded_alerts": self.superseded_alerts, "requeued_alerts": self.requeued_alerts,
            "drastic": self.drastic, "changes": [c.to_json() for c in self.changes],
        }
