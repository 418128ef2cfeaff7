"""`import` on real recorded histories: captures read, judged and rated per second, CPU and peak RSS of the real
command, per history and in all.

    .venv/bin/python benchmarks/bench_import.py                 # every train/dev history service
    .venv/bin/python benchmarks/bench_import.py --services 5    # the five longest

The histories are Open Terms Archive recordings (ODC-BY 1.0) vendored in tests/corpus/histories.tar.xz; only
services of the train and dev splits (data/splits.json) are read. Each service's captures are written to a
folder as `NNN_DATE.md` and imported by `policy-monitor import` in a child process into a fresh SQLite file
(the config names the service); CPU time and peak RSS are the child's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The captures are written out by a child process: a child starts with its parent's peak RSS as its own (the
# kernel keeps the high-water mark across fork and exec), so this process must stay small to measure.
WRITE = ("import json, sys; from pathlib import Path; sys.path.insert(0, {root!r}); "
         "from tests.replay import load_histories; "
         "splits = json.loads(Path({root!r}, 'data', 'splits.json').read_text())['services']; "
         "[(Path({out!r}, name).mkdir(), [Path({out!r}, name, v.name + '.md').write_text(v.text, encoding='utf-8') "
         "for v in versions]) for name, versions in load_histories().items() if splits.get(name) in ('train', 'dev')]")


def run_import(name: str, folder: Path, cwd: Path) -> tuple[float, float, int, list[dict]]:
    """(wall s, CPU s, peak RSS bytes, the JSON rows) of `policy-monitor import NAME FOLDER --json`."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-m", "monitor", "--config", f"{name}.yaml", "--db",
                                  f"sqlite:///{name}.db", "import", name, str(folder), "--json"],
                                 stdout=out, stderr=err, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"import {name} failed: {err.read().decode()}")
        return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, json.loads(out.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=0, help="only the N longest histories (default: all)")
    options = parser.parse_args()
    totals = [0, 0, 0.0, 0.0, 0]  # captures, versions, wall, CPU, peak RSS
    print(f"{'service':24} {'captures':>8} {'stored':>6} {'wall s':>7} {'CPU s':>6} {'captures/s':>10} {'peak RSS':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        archives = Path(tmp, "archives")
        archives.mkdir()
        subprocess.run([sys.executable, "-c", WRITE.format(root=str(ROOT), out=str(archives))], check=True)
        sizes = {folder.name: len(list(folder.iterdir())) for folder in archives.iterdir()}
        chosen = sorted(sizes, key=lambda n: (-sizes[n], n))[:options.services or None]
        for name in chosen:
            folder = archives / name
            (Path(tmp) / f"{name}.yaml").write_text(
                f"sources:\n  - name: {name}\n    url: https://example.org/{name}/privacy\n", encoding="utf-8")
            wall, cpu, rss, rows = run_import(name, folder, Path(tmp))
            stored = sum(1 for r in rows if r["status"] in ("new", "changed"))
            totals = [totals[0] + len(rows), totals[1] + stored, totals[2] + wall, totals[3] + cpu,
                      max(totals[4], rss)]
            print(f"{name:24} {len(rows):8} {stored:6} {wall:7.2f} {cpu:6.2f} {len(rows) / wall:10.1f} "
                  f"{rss / 2**20:7.0f} MB")
    captures, stored, wall, cpu, rss = totals
    print(f"{'all':24} {captures:8} {stored:6} {wall:7.2f} {cpu:6.2f} {captures / wall:10.1f} {rss / 2**20:7.0f} MB")
    print(f"{len(chosen)} histories; {1000 * cpu / captures:.1f} CPU ms a capture (start-up of each command included)")


if __name__ == "__main__":
    main()
