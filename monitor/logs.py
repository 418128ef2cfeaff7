"""Logging to stderr, as text or one JSON object per line; secrets never pass through here."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        data.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class TextFormatter(logging.Formatter):
    """For people: the message, then only the fields it does not already say (JSON keeps them all)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        extra = " ".join(f"{k}={v}" for k, v in vars(record).items()
                         if k not in _RESERVED and v is not None and not (isinstance(v, str) and v in message))
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = f"{ts} {record.levelname.lower():7} {message}" + (f" {extra}" if extra else "")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def adopt_library_logs(name: str, *, lost_connection: Callable[[BaseException], bool] | None = None) -> None:
    """A library's warnings and errors (logger `name`) in our format, through our handlers; its info lines stay
    out (we log what matters ourselves).

    `lost_connection` (the distributed mode passes `is_outage`): a database outage makes a pool or a task engine
    say the same thing several times a second, each with a traceback of its own internals, while what the
    operator needs is that it happened, which our own line says. So a record about an exception it accepts is
    one line, and a line said again within a minute (such a record, or one with no exception) is dropped. Every
    other record, an error of ours that a library reports with its traceback included, passes whole."""
    theirs = logging.getLogger(name)
    # a handler, not a logger filter: records of the library's own child loggers (procrastinate.utils…) reach
    # the handlers of `name` but never its filters
    theirs.handlers[:] = [_LibraryLines(lost_connection)]
    theirs.setLevel(logging.WARNING)
    theirs.propagate = False


class _LibraryLines(logging.Handler):
    """Hands a library's records to our handlers (those of the `monitor` logger when the record comes), outage
    records one line each and said at most once every REPEAT_AFTER seconds (see `adopt_library_logs`)."""

    REPEAT_AFTER = 60.0
    REMEMBERED = 1000  # lines remembered at most (messages with ids in them differ): older ones are forgotten

    def __init__(self, lost_connection: Callable[[BaseException], bool] | None) -> None:
        super().__init__()
        self.lost_connection = lost_connection
        self._said: dict[tuple[str, str], float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record = self._shortened(record)
            if record is None:
                return
            for target in logging.getLogger("monitor").handlers or [logging.lastResort]:
                if target is not None and record.levelno >= target.level:
                    target.handle(record)
        except Exception:  # noqa: BLE001 — a log line must never break the library that logs it
            self.handleError(record)

    def _shortened(self, record: logging.LogRecord) -> logging.LogRecord | None:
        """The record to hand on (a copy when shortened), or None to drop a repeat."""
        error = record.exc_info[1] if record.exc_info else None
        if self.lost_connection is None or (error is not None and not self.lost_connection(error)):
            return record
        message = " ".join(record.getMessage().split())
        if error is not None:
            message = f"{message} ({error_line(error)})"
        key = (record.name, message)
        if record.created - self._said.get(key, float("-inf")) < self.REPEAT_AFTER:
            return None
        if len(self._said) >= self.REMEMBERED:
            self._said = {k: at for k, at in self._said.items() if record.created - at < self.REPEAT_AFTER}
        self._said[key] = record.created
        short = logging.makeLogRecord(record.__dict__)
        short.msg, short.args, short.exc_info, short.exc_text, short.stack_info = message, None, None, None, None
        return short


def error_line(error: BaseException) -> str:
    """An error in one line for a log: its type and the first line of its text (a database error's later lines
    quote SQL and its parameters)."""
    line = next((part.strip() for part in str(error).splitlines() if part.strip()), "")
    return f"{type(error).__name__}: {line[:200]}" if line else type(error).__name__


def setup_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("monitor")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
