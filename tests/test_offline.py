"""A daemon started on a machine without network says so once and points to `policy-monitor demo`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from monitor.offline import FirstRound, never_connected
from monitor.outcome import CheckResult
from tests.conftest import write_config
from tests.test_demo import why_no_loopback_only_namespace


def result(name: str, status: str = "error", error: str | None = None, http_status: int | None = None):
    return CheckResult(name, f"https://{name}.example/privacy", status, error=error, http_status=http_status)


def test_the_notice_comes_once_when_every_first_check_failed_to_connect():
    first = FirstRound(["a", "b", "c"])
    notes = [first.note(result("a", error="cannot resolve host name (a.example:443) after 3 attempts")),
             first.note(result("b", error="connection refused (b.example:443)")),
             first.note(result("c", error="connect timed out after 30.0s (c.example:443)")),
             first.note(result("a", error="cannot resolve host name (a.example:443)"))]
    assert notes[:2] == [None, None] and notes[3] is None
    assert notes[2].startswith("no source could be reached") and "policy-monitor demo" in notes[2]
    assert "e.g. cannot resolve host name (a.example:443) after 3 attempts" in notes[2]


@pytest.mark.parametrize("answered", [
    result("b", error="HTTP 503 Service Unavailable", http_status=503),
    result("b", status="rejected", error="a captcha or bot wall, not the policy"),
    result("b", status="new"),
])
def test_one_source_that_answered_means_the_network_works(answered):
    first = FirstRound(["a", "b"])
    assert first.note(result("a", error="cannot resolve host name (a.example:443)")) is None
    assert first.note(answered) is None
    assert first.note(result("b", error="cannot resolve host name (b.example:443)")) is None
    assert not never_connected(answered)


def test_make_run_without_network_says_so_once_and_points_to_the_demo(tmp_path):
    why_not = why_no_loopback_only_namespace()
    if why_not:
        pytest.skip(why_not)
    config = write_config(tmp_path / "sources.yaml", sources=[
        {"name": "google", "url": "https://policies.google.com/privacy"},
        {"name": "wikimedia", "url": "https://foundation.wikimedia.org/wiki/Policy:Privacy_policy"}],
        fetch={"retries": 0})
    log_path = tmp_path / "daemon.log"
    command = (f"ip link set lo up && exec {sys.executable} -m monitor --config {config} "
               f"--db sqlite:///{tmp_path / 'monitor.db'} --log-format json run")
    with log_path.open("wb") as log:
        daemon = subprocess.Popen(["unshare", "-n", "sh", "-c", command], stderr=log, stdout=subprocess.DEVNULL,
                                  env={**os.environ, "POLICY_MONITOR_SHUTDOWN_GRACE": "2"})
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and '"event": "offline"' not in log_path.read_text():
                time.sleep(0.1)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    notices = [line for line in lines if line.get("event") == "offline"]
    assert len(notices) == 1, lines
    assert "cannot resolve host name" in notices[0]["msg"] and "`policy-monitor demo`" in notices[0]["msg"]
    assert [line["msg"].split(":")[0] for line in lines if line.get("outcome") == "error"].count("check google") == 1
