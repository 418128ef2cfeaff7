"""False alerts on form-only edits of real policies: each edit class of `tests/form_edits.py`, per split.

Every policy of the chosen split (by `data/splits.json`) is rewritten by each form-only edit (spelling
swapped, a term replaced throughout, paragraphs split or swapped, a heading inserted…) and the edited
page is judged after the recorded one through the real normalizer, sections, diff and significance.
Prints, per edit, how many pages it changed and how many of those would alert (the false-alert rate),
then the total. The policies are Open Terms Archive contributors' recordings (ODC-BY 1.0).

Usage: .venv/bin/python benchmarks/bench_form_edits.py [--split dev|test] [--show] [--workers N]
`--split dev` (default) is the train and dev policies, the ones read while tuning; `--split test` is
reported once, as the held-out figure, and never with `--show` (which lists each alert's service,
edit and summary, for reading).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.form_edits import EDITS, Outcome, edited_outcomes, services_of  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--show", action="store_true", help="list each alert (dev split only)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.show and args.split == "test":
        parser.error("--show reads the test split's text: it is for the dev split only")
    services = services_of("train", "dev") if args.split == "dev" else services_of("test")
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    with ProcessPoolExecutor(args.workers) as pool:
        for found in pool.map(edited_outcomes, services, chunksize=2):
            outcomes.extend(found)
    seconds = time.perf_counter() - started
    counts = Counter((o.edit, o.verdict) for o in outcomes)
    print(f"{args.split}: {len(services)} real policies, {len(outcomes)} edited pages, {seconds:.0f} s")
    print(f"{'edit':22} {'pages':>6} {'same':>5} {'quiet':>6} {'alert':>6}")
    for edit in EDITS:
        pages = sum(counts[(edit, v)] for v in ("same", "quiet", "alert"))
        print(f"{edit:22} {pages:6} {counts[(edit, 'same')]:5} {counts[(edit, 'quiet')]:6} {counts[(edit, 'alert')]:6}")
    alerted = sum(1 for o in outcomes if o.verdict == "alert")
    print(f"{'total':22} {len(outcomes):6} {'':5} {'':6} {alerted:6}  "
          f"false-alert rate {alerted / max(len(outcomes), 1):.2%}")
    if args.show:
        for o in outcomes:
            if o.verdict == "alert":
                print(f"  {o.service} / {o.edit}: " + " | ".join(a[:160] for a in o.alerts[:3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
