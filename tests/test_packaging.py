"""The installed wheel works on its own: templates, schema and migrations ship inside it."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.pages import render_policy, seed_text

ROOT = Path(__file__).parents[1]
# The installed wheel must be what runs: no PYTHONPATH may point back into a checkout.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.fixture(scope="module")
def installed_cli(tmp_path_factory) -> Path:
    """A fresh venv with only the built wheel installed; dependencies come from the dev venv's
    site-packages through a .pth file, so the test needs no network and no second download."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(work / "dist"), str(ROOT)], check=True, capture_output=True)
    wheel = next((work / "dist").glob("policy_monitor-*.whl"))
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True)
    # Dependencies only: the dev venv's editable `monitor` must not shadow the wheel's copy.
    deps = [p for p in site.getsitepackages() if "site-packages" in p]
    (Path(target) / "zz_deps.pth").write_text("\n".join(deps) + "\n")
    return env_dir / "bin" / "policy-monitor"


@pytest.mark.slow
def test_wheel_ships_templates_schema_and_migrations(installed_cli, tmp_path):
    python = installed_cli.parent / "python"
    probe = subprocess.run(
        [str(python), "-c", "import monitor, importlib.resources as r; p = r.files('monitor'); "
         "print(monitor.__file__); print(sorted(x.name for x in (p / '_alerts').iterdir())); "
         "print(sorted(x.name for x in (p / 'store' / 'migrations' / 'versions').iterdir() "
         "if x.name.endswith('.py')))"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=CLEAN_ENV).stdout.splitlines()
    assert str(ROOT) not in probe[0], "the wheel's package, not the checkout, must be imported"
    assert "webhook.schema.json" in probe[1]
    assert any(name.startswith("0001") for name in eval(probe[2]))


@pytest.mark.slow
def test_installed_cli_checks_a_loopback_source(installed_cli, site, tmp_path):
    url = site.set("/privacy", render_policy(seed_text(2)))
    (tmp_path / "sources.yaml").write_text(f"sources:\n  - name: wemet\n    url: {url}\n")

    run = subprocess.run([str(installed_cli), "check", "--json"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=60, env=CLEAN_ENV)

    assert run.returncode == 0, run.stderr
    [result] = json.loads(run.stdout)["results"]
    assert result["status"] == "new" and result["version"] == 1
    assert (tmp_path / "policy-monitor.db").exists()


@pytest.mark.slow
def test_the_installed_demo_runs_from_the_wheels_own_sample_policies(installed_cli, tmp_path):
    command = [str(installed_cli), "demo"]
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:  # no network, if we can
        command = ["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {installed_cli} demo"]

    run = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120,
                         env={**CLEAN_ENV, "COLUMNS": "120"})

    assert run.returncode == 0, run.stderr
    assert "age threshold 13 → 16" in run.stdout and "back to the text of v1 (no alert)" in run.stdout
    assert list(tmp_path.iterdir()) == []
