"""Write data/splits.json: every corpus service → train / dev / test, split by policy text.

Services whose policies share much of their text (one company's several products, e.g. Google's)
form one group and land in one split, so a test policy's text is never in any training data.
Run once; the committed file is the split. Usage: python -m training.build_splits CORPUS_DIR
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from training.segments import segments_of

SEED = 20261203
SHARED_FRACTION = 0.3  # share of the smaller policy's paragraphs found in the other: one group


def _groups(paragraph_sets: dict[str, set[str]]) -> list[list[str]]:
    parent = {name: name for name in paragraph_sets}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    names = sorted(paragraph_sets)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            small = min(len(paragraph_sets[a]), len(paragraph_sets[b])) or 1
            if len(paragraph_sets[a] & paragraph_sets[b]) / small >= SHARED_FRACTION:
                parent[root(b)] = root(a)
    grouped: dict[str, list[str]] = {}
    for name in names:
        grouped.setdefault(root(name), []).append(name)
    return sorted(grouped.values())


def main(corpus: Path) -> None:
    paragraph_sets = {
        path.stem: {" ".join(s.text.lower().split()) for s in segments_of(path.stem, path.read_text())}
        for path in sorted((corpus / "policies").glob("*.md"))
    }
    with_history = {p.name for p in (corpus / "histories").iterdir() if p.is_dir()}
    groups = _groups(paragraph_sets)
    rng = random.Random(SEED)
    rng.shuffle(groups)
    # histories first, so both dev and test get enough of them for issue 12's pairs
    split: dict[str, str] = {}
    counts = {"hist": {"train": 0, "dev": 0, "test": 0}, "other": {"train": 0, "dev": 0, "test": 0}}
    share = {"train": 0.55, "dev": 0.15, "test": 0.30}
    for group in groups:
        kind = "hist" if any(name in with_history for name in group) else "other"
        done = counts[kind]
        total = sum(done.values()) + 1
        # the split that is furthest below its share takes the group
        target = min(share, key=lambda s: done[s] / total - share[s])
        for name in group:
            split[name] = target
        done[target] += len(group)
    payload = {
        "about": "service → split; services sharing ≥30% of their paragraphs are one group in one split. "
                 "Built by training/build_splits.py from Open Terms Archive contributors' texts (ODC-BY 1.0).",
        "seed": SEED,
        "groups": [g for g in groups if len(g) > 1],
        "services": dict(sorted(split.items())),
    }
    out = Path(__file__).resolve().parent.parent / "data" / "splits.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(counts), len(groups), "groups")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus"))
