"""Replay benchmark: every recorded version of 45 real policies through the real `check` path, scored
against the labelled change pairs, per split.

Each history's versions are served in order on loopback inside page chrome that changes on every
fetch (navigation, cookie banner, build ids) and checked by `check_source` with a real SQLite file
(tests/replay.py, shared with the no-crash test and the significance floors). Prints per split (dev =
services of the train and dev splits, test = test services, never tuned on): topic precision and
recall (micro over sharing/retention/minors), false alerts on cosmetic pairs, alerts on blinks
(a version returning to an earlier text), the alert rate and seconds per check.

Usage: .venv/bin/python benchmarks/bench_replay.py [--split dev|test] [--misses]

`--split dev` replays and scores only the dev services (train + dev): tune with it, and never look at
the test split's figures or misses while tuning; without `--split` every split is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.replay import labelled_pairs, load_histories, replay_all, score  # noqa: E402

# printed split → the splits.json splits it scores ("dev" is every service tuning may look at)
SPLITS = {"dev": ("train", "dev"), "test": ("test",)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--misses", action="store_true", help="list the pairs where alerts and labels differ")
    parser.add_argument("--split", choices=sorted(SPLITS), help="replay and score only this split's services "
                        "(default: all splits)")
    args = parser.parse_args()
    show_misses = args.misses
    splits = json.loads((ROOT / "data" / "splits.json").read_text())["services"]
    shown = {args.split: SPLITS[args.split]} if args.split else SPLITS
    wanted_services = {s for s, split in splits.items() if any(split in w for w in shown.values())}
    histories = load_histories(services=sorted(wanted_services))
    started = time.perf_counter()
    replays = replay_all(histories)
    wall = time.perf_counter() - started
    pairs = labelled_pairs()
    print(f"{sum(len(v) for v in histories.values())} versions of {len(histories)} policies replayed in {wall:.0f} s "
          f"wall on 2 processes; {len(pairs)} labelled pairs\n")
    print(f"{'split':<6} {'services':>8} {'pairs':>5} {'topic P':>7} {'topic R':>7} {'cosmetic alerted':>17} "
          f"{'blinks alerted':>15} {'alert rate':>10} {'s/check':>8}")
    for name, wanted in shown.items():
        services = {s for s in histories if splits.get(s) in wanted}
        s = score(replays, pairs, services)
        print(f"{name:<6} {len(services):>8} {s.pairs:>5} {s.precision:>7.3f} {s.recall:>7.3f} "
              f"{f'{s.cosmetic_alerted} of {s.cosmetic}':>17} {f'{s.blinks_alerted} of {s.blinks}':>15} "
              f"{s.alerting_checks / max(1, s.changed_checks):>10.2f} {s.seconds / max(1, s.checks):>8.3f}")
        if show_misses:
            print("\n".join("    " + m for m in s.misses))
    crashes = sum(len(r.crashes) for r in replays)
    print(f"\ncrashes: {crashes}")


if __name__ == "__main__":
    main()
