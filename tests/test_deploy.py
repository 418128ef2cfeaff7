"""deploy/policy-monitor.service: a unit systemd accepts, running unprivileged and hardened."""

from __future__ import annotations

import re
import shutil
import subprocess
from configparser import ConfigParser
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "policy-monitor.service"
MISSING_BINARY = re.compile(r"^policy-monitor\.service: Command (\S+) is not executable: No such file or directory$")

analyzer = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                              reason="systemd-analyze is not installed (Debian package `systemd`; `make test` "
                                     "installs it)")


def verify(unit: Path) -> list[str]:
    """What `systemd-analyze verify` says about a unit file, one complaint a line (it exits 0 on many)."""
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    return [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]


def service() -> dict[str, list[str]]:
    """The [Service] section, each key with all its values (systemd allows a key more than once)."""
    values: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").split("[Service]", 1)[1].split("\n[", 1)[0].splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
    return values


@analyzer
def test_systemd_accepts_the_unit_but_for_the_binary_not_installed_here():
    complaints = verify(UNIT)
    assert len(complaints) <= 1, complaints
    for complaint in complaints:
        match = MISSING_BINARY.match(complaint)
        assert match and not Path(match[1]).exists(), complaint


@analyzer
def test_the_verification_does_catch_a_mistake(tmp_path):
    broken = tmp_path / "policy-monitor.service"
    broken.write_text(UNIT.read_text(encoding="utf-8").replace("ProtectSystem=strict", "ProtectSystem=strictly"),
                      encoding="utf-8")
    assert any("protect system value" in c for c in verify(broken))


@analyzer
def test_systemd_rates_its_exposure_ok():
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(UNIT)], capture_output=True,
                          text=True, timeout=60)
    level = re.search(r"Overall exposure level for policy-monitor\.service: ([\d.]+) (\w+)", done.stdout)
    assert level, done.stdout[-500:] + done.stderr
    assert float(level[1]) <= 2.0 and level[2] == "OK"


def test_it_runs_unprivileged_restarts_on_failure_and_reads_secrets_from_a_file():
    unit = service()
    assert unit["User"] == ["policy-monitor"] and unit["Group"] == ["policy-monitor"]
    assert unit["Restart"] == ["on-failure"] and unit["RestartPreventExitStatus"] == ["2"]
    assert "4" not in unit["RestartPreventExitStatus"][0].split()  # another daemon running: retried until it is gone
    assert unit["EnvironmentFile"] == ["-/etc/policy-monitor/secrets.env"]
    assert unit["ExecStart"][0].endswith("policy-monitor --log-format json run")
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "CapabilityBoundingSet": ""}.items():
        assert unit[key] == [value], key
    state = "/var/lib/" + unit["StateDirectory"][0]
    assert unit["ReadWritePaths"] == [state] and unit["WorkingDirectory"] == [state]
    assert unit["Environment"][1] == f"POLICY_MONITOR_DB=sqlite:///{state}/policy-monitor.db"


def test_the_unit_parses_as_ini_with_the_three_sections():
    parser = ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    assert parser.sections() == ["Unit", "Service", "Install"]
    assert parser["Install"]["WantedBy"] == "multi-user.target"
