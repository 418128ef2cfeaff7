"""Say once, plainly, when the daemon's first round reached no source at all: the machine is likely offline."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.capture.fetch import NO_CONNECTION
from monitor.outcome import CheckResult


def never_connected(result: CheckResult) -> bool:
    """Did this check fail before any server answered (DNS, refused, unreachable network)?"""
    return (result.status == "error" and result.http_status is None
            and (result.error or "").startswith(NO_CONNECTION))


class FirstRound:
    """Watches the first check of each source; `note()` returns the one message to log when every one of
    them failed to connect, and None otherwise (and always None after the first round is decided)."""

    def __init__(self, names: Iterable[str]):
        self._waiting = set(names)
        self._decided = not self._waiting
        self._first_error = ""

    def note(self, result: CheckResult) -> str | None:
        if self._decided or result.source not in self._waiting or result.status == "skipped":
            return None
        if not never_connected(result):
            self._decided = True  # one source answered: the network works, failures are the sources'
            return None
        self._waiting.discard(result.source)
        self._first_error = self._first_error or result.error or ""
        if self._waiting:
            return None
        self._decided = True
        return ("no source could be reached: the first check of every source failed before any server answered "
                f"(e.g. {self._first_error}); this machine seems to have no internet access or no DNS. "
                "The daemon keeps retrying. To see what policy-monitor does without "
                "a network, run `policy-monitor demo`")
