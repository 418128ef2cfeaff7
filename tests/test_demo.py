"""`policy-monitor demo`: offline (in a network namespace with only loopback), through the real commands,
leaving nothing behind unless --keep; its sample policies are the vendored real recordings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from monitor.demo.scenario import policy_text, rounds

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("policy-monitor")

EXPECTED = (
    "│ frank  │ new ",
    "adds recipients: advertising partners, data brokers",
    "retention period 24 months → 5 years",
    "age threshold 13 → 16",
    "layout only: no clause changed",                      # signal's cosmetic edit: a version, no alert
    "an error or maintenance page",                        # frank's maintenance page: rejected
    "back to the text of v1 (no alert)",                   # signal's blink
    "$ policy-monitor history frank",
    "$ policy-monitor diff frank --format text",
    "[modified] Children — medium: age threshold 13 → 16",
    "Subject: [policy-monitor] frank: minors, retention, sharing changed (high)",
    '"type": "policy.changed"',
)


def why_no_loopback_only_namespace() -> str | None:
    """Why a new network namespace cannot be made here (None when it can)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare (util-linux) and ip (iproute2)"
    probe = subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot create a network namespace here (needs root or CAP_SYS_ADMIN): {probe.stderr.strip()}"
    return None


def test_the_demo_runs_with_only_loopback_and_leaves_nothing_behind(tmp_path):
    why_not = why_no_loopback_only_namespace()
    if why_not:
        pytest.skip(why_not)
    here, scratch = tmp_path / "cwd", tmp_path / "tmp"
    here.mkdir()
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "POLICY_MONITOR_CONFIG": "/nonexistent/sources.yaml",
           "POLICY_MONITOR_DB": "sqlite:////nonexistent/monitor.db", "COLUMNS": "100"}
    # --config and --db name things that do not exist: the demo must not read them
    command = (f"ip link set lo up && exec {CLI} --config missing.yaml --db sqlite:///nowhere/x.db demo")
    done = subprocess.run(["unshare", "-n", "sh", "-c", command], cwd=here, env=env, capture_output=True,
                          text=True, timeout=120)

    assert done.returncode == 0, done.stderr[-2000:]
    for line in EXPECTED:
        assert line in done.stdout, line
    assert list(here.iterdir()) == [] and list(scratch.iterdir()) == []
    assert "Traceback" not in done.stderr


def test_keep_leaves_a_database_the_reading_commands_explore(tmp_path, cli, monkeypatch):
    kept = tmp_path / "kept"
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("no_proxy", "intranet.example")

    result = cli("demo", "--keep", kept)

    assert result.exit_code == 0, result.stderr
    assert "NO_PROXY" not in os.environ and os.environ["no_proxy"] == "intranet.example"  # as it found them
    names = {p.name for p in kept.iterdir()}  # and SQLite's companions: demo.db-wal, demo.db-shm, …
    assert {"demo.db", "sources.yaml"} <= names and all(n.startswith("demo.db") for n in names - {"sources.yaml"})
    assert f"Kept in {kept}/" in result.stdout
    db = f"sqlite:///{kept / 'demo.db'}"
    frank = json.loads(cli("--db", db, "history", "frank", "--json").stdout)
    signal = json.loads(cli("--db", db, "history", "signal", "--json").stdout)
    assert [(v["version"], v["alert_topics"]) for v in frank] == [(1, []), (2, ["minors", "retention", "sharing"])]
    assert [(v["version"], v["alert_topics"], v["reverts_to"]) for v in signal] == [(1, [], None), (2, [], None),
                                                                                    (3, [], 1)]
    [alert] = json.loads(cli("--db", db, "alerts", "--json").stdout)
    assert alert["channel"] == "privacy-team" and alert["status"] == "pending" and alert["attempts"] == 0

    again = cli("demo", "--keep", kept)
    assert again.exit_code == 2 and "exists already" in again.stderr


def test_the_bundled_policies_are_the_vendored_real_recordings():
    with tarfile.open(ROOT / "tests" / "corpus" / "policies.tar.xz") as archive:
        for name in ("frank", "signal"):
            recorded = archive.extractfile(f"policies/{name}.md").read().decode("utf-8")
            assert policy_text(name) == recorded


def test_every_round_edits_something_real():
    served = [step.pages for step in rounds()]
    assert [sorted(pages) for pages in served] == [["frank", "signal"]] * 3
    assert served[0]["frank"].body != served[1]["frank"].body
    assert served[0]["signal"].body != served[1]["signal"].body
    assert served[2]["signal"] == served[0]["signal"]       # the blink serves round 1's page again
    assert served[2]["frank"].status == 200 and "maintenance" in served[2]["frank"].body


def test_a_demo_that_does_not_go_as_it_should_says_so_and_fails(cli, monkeypatch):
    import monitor.demo.scenario as scenario

    first = scenario.rounds()[0]
    broken = scenario.Round(first.title, first.story, {**first.pages, "frank": scenario.Serving("down", status=503)},
                            first.expect)
    monkeypatch.setattr(scenario, "rounds", lambda: [broken])

    result = cli("demo")

    assert result.exit_code == 1
    assert "the demo did not go as it should: round 1: frank was error (HTTP 503 Service Unavailable" in result.stderr
    assert "expected new" in result.stderr
