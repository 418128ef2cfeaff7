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


# -- a library's records (adopt_library_logs) -------------------------------------------------------------------

def _raised(error: BaseException):
    try:
        raise error
    except BaseException:  # noqa: BLE001
        import sys
        return sys.exc_info()


def test_a_librarys_outage_records_are_one_line_once_a_minute_and_our_errors_pass_whole(tmp_path, monkeypatch):
    import io

    import psycopg

    from monitor.logs import adopt_library_logs, setup_logging
    from monitor.workers.engine import is_outage

    setup_logging("json")
    stream = io.StringIO()
    monkeypatch.setattr(logging.getLogger("monitor").handlers[0], "stream", stream)
    adopt_library_logs("trial_library", lost_connection=is_outage)
    library = logging.getLogger("trial_library.utils")  # a child logger: its records reach the parent's handler

    lost = _raised(psycopg.OperationalError("connection failed: connection to server at \"127.0.0.1\"\nrefused"))
    for _ in range(3):  # an outage says the same thing several times a second
        library.error("listener error: %s", "ConnectorException('\nDatabase error.\n')", exc_info=lost)
    library.warning("error connecting in 'pool-1': refused")
    library.warning("error connecting in 'pool-1': refused")
    ours = [_raised(KeyError("source")), _raised(ZeroDivisionError("division by zero"))]
    for info in ours:  # an error of ours that the library reports: its traceback is ours to read
        library.error("Job check ended with status: Error", exc_info=info)
    library.warning("bad %d", "not a number")  # a library's own formatting mistake breaks nothing

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["msg"] for line in lines[:2]] == [
        "listener error: ConnectorException(' Database error. ') (OperationalError: connection failed: connection to "
        "server at \"127.0.0.1\")",
        "error connecting in 'pool-1': refused"]
    assert all("exc" not in line for line in lines[:2])
    assert [("KeyError" in line["exc"], "ZeroDivisionError" in line["exc"]) for line in lines[2:4]] == [
        (True, False), (False, True)]
    assert len(lines) == 4
