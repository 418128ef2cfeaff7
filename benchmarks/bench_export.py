"""Export, timeline and prune on big histories: wall time and peak RSS of the real command for 10k and 100k
versions, to show that memory does not grow with the number of versions (everything is streamed).

    .venv/bin/python benchmarks/bench_export.py            # 10k and 100k versions
    .venv/bin/python benchmarks/bench_export.py --sizes 10000 --formats jsonl,git

Each figure is one run of `policy-monitor` in a child process on a SQLite database of one source whose
versions are ~2 kB texts with one material change each (built in bulk by tests/history_helpers.py);
peak RSS is the child's (for git, the larger of it and its `git fast-import`); `startup` (`--version`:
the interpreter and imports) is the floor every command starts from; CPU time is the child's
and its children's (git's too), the figure to read on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The database is built in a child process: a child starts with its parent's peak RSS as its own (the
# kernel keeps the high-water mark across fork and exec), so this process must stay small to measure.
FILL = ("import sys; sys.path.insert(0, {root!r}); from monitor.store.database import Store; "
        "from tests.history_helpers import fill_database; store = Store({db!r}); fill_database(store, {size}); "
        "store.dispose()")

COMMANDS = {
    "startup": ["--version"],  # the baseline: interpreter and imports
    "json": ["export", "big", "--format", "json", "--out", "{out}"],
    "jsonl": ["export", "big", "--format", "jsonl", "--out", "{out}"],
    "csv": ["export", "big", "--format", "csv", "--out", "{out}"],
    "markdown": ["export", "big", "--format", "markdown", "--out", "{out}"],
    "git": ["export", "big", "--format", "git", "--out", "{out}/git"],
    "timeline": ["timeline", "--json"],
    "prune": ["prune", "--raw-older-than", "30", "--dry-run"],
}


def measure(db: str, args: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in bytes) of `policy-monitor --db DB ARGS`, stdout discarded."""
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "monitor", "--db", db, *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed: {child.stderr.read().decode()}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--formats", default=",".join(COMMANDS))
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        for size in (int(s) for s in options.sizes.split(",")):
            db = f"sqlite:///{folder}/{size}.db"
            started = time.monotonic()
            subprocess.run([sys.executable, "-c", FILL.format(root=str(ROOT), db=db, size=size)], check=True)
            megabytes = Path(f"{folder}/{size}.db").stat().st_size / 1e6
            print(f"{size:,} versions: database {megabytes:,.0f} MB, built in {time.monotonic() - started:.1f} s",
                  flush=True)
            for name in options.formats.split(","):
                out = Path(folder) / f"out-{size}-{name}"
                out.mkdir()
                seconds, cpu, peak = measure(db, [a.replace("{out}", str(out)) for a in COMMANDS[name]])
                written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
                extra = f", {written:,.0f} MB written" if written else ""
                print(f"  {name:9} {seconds:7.1f} s wall, {cpu:6.1f} s CPU   peak RSS {peak / 2**20:6.1f} MiB{extra}",
                      flush=True)


if __name__ == "__main__":
    main()
