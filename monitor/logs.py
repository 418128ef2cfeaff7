"""Logging to stderr, as text or one JSON object per line; secrets never pass through here."""

from __future__ import annotations

import json
import logging
import sys
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


def adopt_library_logs(name: str) -> None:
    """A library's warnings and errors (logger `name`) in our format, through our handlers, one line each and
    each repeated line at most once a minute; its info lines stay out (we log what matters ourselves). A
    database outage makes a pool or a task engine say the same thing several times a second, each with a
    traceback of its own internals: what the operator needs is that it happened, which our line says."""
    theirs = logging.getLogger(name)
    # a handler, not a logger filter: records of the library's own child loggers (procrastinate.utils…) reach
    # the handlers of `name` but never its filters
    theirs.handlers[:] = [_LibraryLines(logging.getLogger("monitor").handlers)]
    theirs.setLevel(logging.WARNING)
    theirs.propagate = False


class _LibraryLines(logging.Handler):
    """Hands a library's records to our handlers one line each (an exception named, not traced), a line said
    again within REPEAT_AFTER seconds dropped."""

    REPEAT_AFTER = 60.0

    def __init__(self, targets: list[logging.Handler]) -> None:
        super().__init__()
        self.targets = list(targets)
        self._said: dict[tuple[str, str], float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = (record.name, str(record.msg)[:80])
        if record.created - self._said.get(key, float("-inf")) < self.REPEAT_AFTER:
            return
        self._said[key] = record.created
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line = next((part.strip() for part in str(error).splitlines() if part.strip()), "")
            record.msg = f"{' '.join(record.getMessage().split())} ({type(error).__name__}: {line[:200]})"
            record.args, record.exc_info, record.exc_text = None, None, None
        else:
            record.msg, record.args = " ".join(record.getMessage().split()), None
        for target in self.targets:
            target.handle(record)


def setup_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("monitor")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
