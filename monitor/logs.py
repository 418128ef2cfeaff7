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
    """A library's warnings and errors (logger `name`) in our format, through our handlers; its info
    lines stay out (we log what matters ourselves)."""
    theirs = logging.getLogger(name)
    theirs.handlers[:] = logging.getLogger("monitor").handlers
    theirs.setLevel(logging.WARNING)
    theirs.propagate = False


def setup_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("monitor")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
