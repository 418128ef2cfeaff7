"""Edits of whole real policies: false alerts on form-only edits, misses on material ones, per split.

Every policy of the chosen split (by `data/splits.json`) is rewritten by each edit of
`tests/policy_edits.py` and the edited page is judged after the recorded one through the real
normalizer, sections, diff and significance. Form-only edits (spelling swapped, a term replaced
throughout, paragraphs split or swapped, a heading inserted…) must not alert; material edits (an age
limit or a retention period changed, a sale allowed, a recipient added, the children's section
removed…) must alert with their topic. Prints, per edit, the pages it changed and the verdicts, then
the false-alert rate and the recall. The policies are Open Terms Archive contributors' recordings
(ODC-BY 1.0).

Usage: .venv/bin/python benchmarks/bench_policy_edits.py [--split dev|test] [--show] [--workers N]
`--split dev` (default) is the train and dev policies, the ones read while tuning; `--split test` is
reported once, as the held-out figure, and never with `--show` (which lists each false alert and
miss with its service, edit and summaries, for reading).
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

from tests.policy_edits import FORM_EDITS, MATERIAL_EDITS, Outcome, edited_outcomes, services_of  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--show", action="store_true", help="list each false alert and miss (dev split only)")
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
    print(f"\n{'form-only edit':26} {'pages':>6} {'same':>5} {'quiet':>6} {'alert':>6}")
    for edit in FORM_EDITS:
        pages = sum(counts[(edit, v)] for v in ("same", "quiet", "alert"))
        print(f"{edit:26} {pages:6} {counts[(edit, 'same')]:5} {counts[(edit, 'quiet')]:6} {counts[(edit, 'alert')]:6}")
    form = [o for o in outcomes if o.expected is None]
    alerted = sum(o.verdict == "alert" for o in form)
    print(f"{'all form-only':26} {len(form):6} {'':5} {'':6} {alerted:6}  "
          f"false alerts {alerted / max(len(form), 1):.2%}")
    # a material edit alerting for a topic besides its own: the change's attribution reached further
    wider = Counter(o.edit for o in outcomes if o.verdict == "found" and _topics(o) - {o.expected})
    print(f"\n{'material edit':26} {'topic':>9} {'pages':>6} {'found':>6} {'missed':>7} {'+other topic':>13}")
    for edit, (_, topic) in MATERIAL_EDITS.items():
        pages = counts[(edit, "found")] + counts[(edit, "missed")] + counts[(edit, "same")]
        print(f"{edit:26} {topic:>9} {pages:6} {counts[(edit, 'found')]:6} {counts[(edit, 'missed')]:7} "
              f"{wider[edit]:13}")
    material = [o for o in outcomes if o.expected is not None]
    found = sum(o.verdict == "found" for o in material)
    print(f"{'all material':26} {'':>9} {len(material):6} {found:6} {len(material) - found:7}  "
          f"recall {found / max(len(material), 1):.1%}")
    if args.show:
        for o in outcomes:
            wide = o.verdict == "found" and _topics(o) - {o.expected}
            if o.verdict in ("alert", "missed") or wide or (o.verdict == "same" and o.expected is not None):
                print(f"  {'other topic' if wide else o.verdict}: {o.service} / {o.edit}: "
                      + " | ".join(a[:160] for a in o.alerts[:3]))
    return 0


def _topics(outcome: Outcome) -> set[str]:
    return {t for alert in outcome.alerts for t in alert.split(":", 1)[0].split(",")}


if __name__ == "__main__":
    sys.exit(main())
