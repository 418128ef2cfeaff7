"""Score change attribution on the labelled change pairs without the network: normalize both recorded
texts, compare them with `changes_between` and read the alert topics, as `check` would.

Usage: python -m training.pair_eval [dev|test]   (dev = pairs of train and dev services)
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from monitor.capture.normalize import normalize
from monitor.meaning.names import WATCHED
from monitor.meaning.significance import changes_between

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ROOT / "data" / "labels" / "pairs.jsonl"


def labelled_pairs(split: str) -> list[dict]:
    wanted = {"dev": ("train", "dev"), "test": ("test",)}[split]
    rows = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["split"] in wanted and r["label"] is not None]


def attribute(before_path: str, after_path: str, watched=WATCHED) -> tuple[set[str], list]:
    old = normalize(Path(before_path).read_text(encoding="utf-8"), content_type="text/markdown")
    new = normalize(Path(after_path).read_text(encoding="utf-8"), content_type="text/markdown")
    if old == new:
        return set(), []
    changes = changes_between(old, new, watched)
    return {t for c in changes for t in c.alert_topics(watched)}, changes


def main(split: str) -> None:
    drawn = {json.loads(line)["id"]: json.loads(line)
             for line in (ROOT / "data" / "labelling" / "pairs_drawn.jsonl").read_text().splitlines()}
    counts: Counter[str] = Counter()
    errors = []
    for pair in labelled_pairs(split):
        item = drawn[pair["id"]]
        predicted, changes = attribute(item["before_path"], item["after_path"])
        gold = set(pair["label"]["topics"]) & set(WATCHED) if pair["label"]["material"] else set()
        for topic in WATCHED:
            p, g = topic in predicted, topic in gold
            counts[f"{topic} tp"] += p and g
            counts[f"{topic} fp"] += p and not g
            counts[f"{topic} fn"] += g and not p
        if not pair["label"]["material"]:
            counts["cosmetic"] += 1
            counts["cosmetic alerted"] += bool(predicted)
        if predicted != gold:
            errors.append((pair["id"], sorted(gold), sorted(predicted),
                           [(c.change.section[-40:], c.topics, c.summary[:80]) for c in changes
                            if c.alert_topics(WATCHED)][:4]))
    tp = sum(counts[f"{t} tp"] for t in WATCHED)
    fp = sum(counts[f"{t} fp"] for t in WATCHED)
    fn = sum(counts[f"{t} fn"] for t in WATCHED)
    print(f"{split}: {len(labelled_pairs(split))} pairs; topic precision {tp / max(1, tp + fp):.3f} "
          f"recall {tp / max(1, tp + fn):.3f} (tp {tp}, fp {fp}, fn {fn}); cosmetic pairs alerted "
          f"{counts['cosmetic alerted']} of {counts['cosmetic']}")
    for t in WATCHED:
        print(f"  {t:<10} tp {counts[f'{t} tp']:>3} fp {counts[f'{t} fp']:>3} fn {counts[f'{t} fn']:>3}")
    if "-v" in sys.argv:
        for e in errors:
            print(e)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] in ("dev", "test") else "dev")
