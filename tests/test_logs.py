"""Log lines: text for people (no field said twice), JSON for machines (every field)."""

from __future__ import annotations

import json
import logging

from monitor.logs import JsonFormatter, TextFormatter


def record(msg: str, exc_info=None, **fields) -> logging.LogRecord:
    rec = logging.LogRecord("monitor.daemon", logging.WARNING, __file__, 1, msg, (), exc_info)
    rec.__dict__.update(fields)
    return rec


CHECK = dict(source="gone", outcome="error", duration_ms=947, version=None, error="HTTP 404 File not found")


def test_text_line_gives_the_message_then_only_what_it_does_not_already_say():
    line = TextFormatter().format(record("check gone: error: HTTP 404 File not found", **CHECK))

    assert line.endswith(" warning check gone: error: HTTP 404 File not found duration_ms=947")


def test_json_line_keeps_every_field():
    data = json.loads(JsonFormatter().format(record("check gone: error: HTTP 404 File not found", **CHECK)))

    assert data["level"] == "warning" and data["logger"] == "monitor.daemon"
    assert {k: data[k] for k in CHECK} == CHECK


def test_both_formats_keep_the_traceback_of_an_unexpected_error():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys
        exc_info = sys.exc_info()

    assert "RuntimeError: boom" in TextFormatter().format(record("alert 3: unexpected error", exc_info))
    assert "RuntimeError: boom" in json.loads(JsonFormatter().format(record("x", exc_info)))["exc"]
