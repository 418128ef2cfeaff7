"""The exceptions policy-monitor raises: one hierarchy users and our own stages can catch."""

from __future__ import annotations

from dataclasses import dataclass

# README.md "Exit codes": here, not in the CLI, so the daemon (monitor/scheduler.py) returns them without it
EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE, EXIT_DATABASE = 0, 1, 2, 3
# `run` while another daemon's heartbeat is fresh: not a usage error (2, which systemd does not restart), as
# that daemon may have died on another host; restarted, the run starts once its heartbeat is stale
EXIT_DAEMON_RUNNING = 4


class PolicyMonitorError(Exception):
    """Base of every error policy-monitor raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem in a config file, located precisely enough to fix it."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}"


class ConfigError(PolicyMonitorError):
    """sources.yaml is missing or invalid; `problems` lists every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigNotFoundError(ConfigError):
    """There is no config file where one was looked for; the message says where, and how to name another."""

    def __init__(self, path: str, message: str):
        super().__init__([Problem(path, None, "file", message)])
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(PolicyMonitorError):
    """A command asked for something that does not exist; the CLI exits 2, as for a bad option."""


class UnknownSourceError(UsageError):
    """A command named a source that is not in the config (or not in the database)."""


class NoSuchVersionError(UsageError):
    """A command named a version a source does not have (or there are too few versions to compare)."""


class DatabaseNotReadyError(UsageError):
    """A read-only command found no usable database; it never creates or upgrades one, so the CLI exits 2."""


class NoDatabaseError(DatabaseNotReadyError):
    """A read-only command was pointed at a SQLite file that does not exist."""

    def __init__(self, path: str):
        self.path = path
        super().__init__(f"no database at {path} (run `check` first, or pass --db)")


class SchemaNotCurrentError(DatabaseNotReadyError):
    """The database's schema is not the one this release reads: behind (or empty), or made by a newer release.

    `current` holds the database's revisions (empty: no policy-monitor schema), `head` this release's.
    """

    def __init__(self, where: str, current: tuple[str, ...], head: tuple[str, ...], *, newer: bool = False):
        self.where, self.current, self.head, self.newer = where, current, head, newer
        at = f"is at schema revision {', '.join(current)}" if current else "has no policy-monitor schema"
        want = ", ".join(head)
        if newer:
            message = (f"database {where} {at}, newer than this policy-monitor knows (latest {want}): "
                       f"upgrade policy-monitor")
        else:
            message = (f"database {where} {at}, this policy-monitor needs {want}: "
                       f"run `policy-monitor migrate` to upgrade it")
        super().__init__(message)


class FetchError(PolicyMonitorError):
    """The page could not be fetched: transport error, timeout, HTTP status >= 400, size cap, redirect loop.

    `transient` says whether trying again later may succeed (timeouts, 5xx, 429), so callers decide
    whether to retry without parsing messages.
    """

    def __init__(self, message: str, *, transient: bool = False, status_code: int | None = None):
        super().__init__(message)
        self.transient = transient
        self.status_code = status_code


class ContentRejected(PolicyMonitorError):
    """A 2xx body that is not plausibly the policy (empty, captcha, `select` matched nothing, ...)."""


class SelectorMatchedNothing(ContentRejected):
    """The source's `select` CSS selector matched no element of the page."""


class DeliveryError(PolicyMonitorError):
    """An alert could not be delivered. `permanent` failures are not retried (e.g. HTTP 410)."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class StoreError(PolicyMonitorError):
    """The database could not be opened or migrated."""


class DatabaseUnavailableError(StoreError):
    """The database could not be opened: a server not reachable or refusing us, a SQLite file whose directory
    is missing or not writable. Not a failed source, not a usage error (it can come back): the CLI exits 3."""
