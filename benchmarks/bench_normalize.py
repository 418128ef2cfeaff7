"""Benchmark: normalize the largest seed rendered as a realistic HTML page; print median ms/page."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.capture.normalize import normalize  # noqa: E402
from tests.pages import render_policy, seed_numbers, seed_text  # noqa: E402

ROUNDS = 30


def main() -> None:
    seed = max(seed_numbers(), key=lambda n: len(seed_text(n)))
    page = render_policy(seed_text(seed), noise=3, wrap=100)
    normalize(page)  # warm-up: imports, regex compilation
    timings = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        normalize(page)
        timings.append((time.perf_counter() - start) * 1000)
    print(f"normalize: seed {seed:03d} page of {len(page) / 1024:.0f} KiB, {ROUNDS} rounds: "
          f"median {statistics.median(timings):.1f} ms/page (min {min(timings):.1f}, max {max(timings):.1f})")


if __name__ == "__main__":
    main()
