"""Draw a second round of training paragraphs (train and dev policies only; never the test split), in
batches for two independent labellers, as `make_batches` does for the first round.

Usage: python -m training.more_batches CORPUS_DIR PER_POLICY FIRST_BATCH_NUMBER
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from training.make_batches import _CANDIDATE, MAX_SEGMENT_CHARS, ROOT, SEGMENT_BATCH, _clip
from training.segments import segments_of

SEED = 8


def main(corpus: Path, per_policy: int, first: int) -> None:
    split = json.loads((ROOT / "data" / "splits.json").read_text())["services"]
    drawn_path = ROOT / "data" / "labelling" / "segments_drawn.jsonl"
    drawn = [json.loads(line) for line in drawn_path.read_text().splitlines()]
    seen = {" ".join(d["text"].lower().split()) for d in drawn} | {d["id"] for d in drawn}
    rng = random.Random(SEED)
    items = []
    for path in sorted((corpus / "policies").glob("*.md")):
        part = split[path.stem]
        if part == "test":
            continue
        fresh = [s for s in segments_of(path.stem, path.read_text())
                 if s.id not in seen and " ".join(s.text.lower().split()) not in seen]
        rng.shuffle(fresh)
        half = per_policy // 2
        chosen = fresh[:half]
        chosen += [s for s in fresh[half:] if _CANDIDATE.search(s.text)][:per_policy - half]
        for s in chosen:
            seen.add(" ".join(s.text.lower().split()))
            items.append({"id": s.id, "service": s.service, "split": part, "heading": s.heading,
                          "text": _clip(s.text, MAX_SEGMENT_CHARS),
                          "drawn": "random" if s in chosen[:half] else "candidate"})
    rng.shuffle(items)
    out = ROOT / "data" / "labelling" / "batches"
    out.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(items), SEGMENT_BATCH), start=first):
        batch = [{k: s[k] for k in ("id", "heading", "text")} for s in items[start:start + SEGMENT_BATCH]]
        (out / f"seg_{number:02d}.jsonl").write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in batch))
    with drawn_path.open("a", encoding="utf-8") as f:
        f.writelines(json.dumps(s, ensure_ascii=False) + "\n" for s in items)
    print(f"{len(items)} more segments from {len({s['service'] for s in items})} train/dev policies")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
